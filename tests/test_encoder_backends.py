"""The ONNX Runtime encoder against the PyTorch one, and what happens when ONNX can't be used.

Real model, real export (the session's, from conftest's QA_ENCODER_CACHE),
no fakes of the model. Vectors are unit length, so a row-wise dot product is
the cosine; the fp32 export differs from PyTorch by about 1e-6, so every
cosine must be at least 0.9999. A damaged cache or a failing export must
end in a working encoder (exported again, or PyTorch), never a crash and
never a half-written file in use.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from qa import Assistant, ModelNotFound, preload_encoder
from qa.corpus import read_corpus
from qa.dense import passage_views
from qa.encoder.embedder import Embedder
from qa.encoder.onnx_cache import RECORD, _Damaged, _open_checked, cache_key, load_onnx_encoder
from qa.encoder.onnx_cache import cache_folder as folder_of_export
from qa.encoder.onnx_encoder import OnnxUnavailable, pad_batch
from qa.encoder.onnx_export import unsupported_reason
from qa.passages import build_passages

from conftest import CORPUS_DIR

REPO = Path(__file__).resolve().parent.parent
MIN_COSINE = 0.9999
LONG_QUESTION = "will the steroid injection in my hip hurt and for how long " * 40  # ~480 tokens, cut at 256
MEDIUM_QUESTION = "how long until the hip injection works " * 20  # ~160 tokens: over 128, under 256
QUESTIONS = (
    "will the shot hurt?",
    "hip injecton afterwards can i drvie hom",  # misspelled
    "WHAT ABOUT BLOOD THINNERS",
    "  café naïve   ÉLAN  ",
    "💉😱",
    "",
    " ",
    MEDIUM_QUESTION,
    LONG_QUESTION,
)


@pytest.fixture(scope="module")
def onnx_embedder() -> Embedder:
    return Embedder(backend="onnx")


@pytest.fixture(scope="module")
def torch_embedder() -> Embedder:
    return Embedder(backend="torch")


@pytest.fixture(scope="module")
def cache_folder(onnx_embedder, encoder_cache) -> Path:
    """The session's export folder (the onnx_embedder made or found it)."""
    assert onnx_embedder.backend == "onnx"
    return folder_of_export(onnx_embedder.fingerprint, encoder_cache)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape and a.dtype == b.dtype == np.float32
    return np.sum(a * b, axis=1)


# ----------------------------------------------------------------- same vectors
def test_backends_are_what_was_asked(onnx_embedder, torch_embedder):
    assert (onnx_embedder.backend, torch_embedder.backend) == ("onnx", "torch")
    assert onnx_embedder.dimension == torch_embedder.dimension == 384
    assert onnx_embedder.fingerprint == torch_embedder.fingerprint  # an index built by one is current for the other


def test_same_vectors_on_every_corpus_passage_and_view(onnx_embedder, torch_embedder):
    passages = build_passages(read_corpus(REPO / "corpus"))
    texts = [p.text for p in passages] + [v.text for v in passage_views(passages)]
    assert len(texts) > 100
    worst = cosines(onnx_embedder.encode(texts), torch_embedder.encode(texts)).min()
    assert worst >= MIN_COSINE, worst


@pytest.mark.parametrize("question", QUESTIONS, ids=lambda q: repr(q[:20]))
def test_same_vector_for_awkward_questions(onnx_embedder, torch_embedder, question):
    onnx_vec, torch_vec = onnx_embedder.encode([question]), torch_embedder.encode([question])
    assert cosines(onnx_vec, torch_vec)[0] >= MIN_COSINE
    assert abs(np.linalg.norm(onnx_vec) - 1.0) < 1e-5


def test_long_questions_really_cross_the_truncation_limits(torch_embedder):
    """The two long questions only test truncation if they are longer than 128 and 256 tokens."""
    tokenizer = torch_embedder.model.model.tokenizer
    assert 128 < len(tokenizer(MEDIUM_QUESTION)["input_ids"]) < 256
    assert len(tokenizer(LONG_QUESTION)["input_ids"]) > 256


def test_truncation_is_at_256_tokens(onnx_embedder):
    """Words after token 256 change nothing; words between 128 and 256 do."""
    head = "hip " * 254  # [CLS] + 254 words + [SEP] = 256 tokens: everything after is cut
    base = onnx_embedder.encode([head])
    assert cosines(base, onnx_embedder.encode([head + "fever " * 50]))[0] > 0.999999
    assert cosines(onnx_embedder.encode(["hip " * 150]), onnx_embedder.encode(["hip " * 120 + "fever " * 30]))[0] < 0.99


def test_batch_equals_one_by_one(onnx_embedder, monkeypatch):
    """Padding a short text to the longest of its batch must not change its vector."""
    from qa.encoder import onnx_encoder

    texts = list(QUESTIONS)
    monkeypatch.setattr(onnx_encoder, "PAD_SLACK_TOKENS", 10_000)  # one run, however different the lengths
    together = onnx_embedder.encode(texts, batch_size=len(texts))  # every text padded to the longest
    alone = np.concatenate([onnx_embedder.encode([t]) for t in texts])
    assert cosines(together, alone).min() >= 0.99999


def test_runs_on_every_core_give_the_vectors_of_runs_one_after_another(onnx_embedder, monkeypatch):
    """A long encode (a build's) runs its batches on a thread per core: each batch is the same run."""
    model = onnx_embedder.model
    texts = [f"{q} ({i})" for i in range(12) for q in QUESTIONS]
    monkeypatch.setattr(model, "workers", 1)
    serial = onnx_embedder.encode(texts, batch_size=4)
    monkeypatch.setattr(model, "workers", 3)
    assert np.array_equal(onnx_embedder.encode(texts, batch_size=4), serial)


def test_queries_through_the_micro_batcher_match(onnx_embedder):
    texts = ["will the shot hurt?", "can I drive home"]
    assert cosines(onnx_embedder.encode_queries(texts), onnx_embedder.encode(texts)).min() >= 0.99999


def test_empty_list_gives_no_rows(onnx_embedder):
    assert onnx_embedder.encode([]).shape == (0, 384)


def test_pad_batch_pads_right_and_masks():
    ids, mask = pad_batch([[101, 7, 102], [101, 102]], pad_id=0)
    assert ids.tolist() == [[101, 7, 102], [101, 102, 0]]
    assert mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert ids.dtype == mask.dtype == np.int64


# ----------------------------------------------------------------- choosing
def test_qa_encoder_torch_picks_pytorch(monkeypatch):
    monkeypatch.setenv("QA_ENCODER", "torch")
    assert Embedder().backend == "torch"


def test_bad_qa_encoder_value_says_what_to_do(monkeypatch):
    from qa.errors import QAError

    monkeypatch.setenv("QA_ENCODER", "tensorrt")
    with pytest.raises(QAError, match="auto, onnx, torch"):
        Embedder()


def test_without_onnxruntime_auto_falls_back_with_one_warning(monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # `import onnxruntime` now raises ImportError
    monkeypatch.setenv("QA_ENCODER", "auto")
    with caplog.at_level(logging.WARNING, logger="qa.encoder"):
        embedder = Embedder()
        assert embedder.backend == "torch"
        embedder.encode(["will it hurt"])
    warnings = [r for r in caplog.records if r.name == "qa.encoder" and r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "onnxruntime is not installed" in warnings[0].getMessage()


def test_without_onnxruntime_explicit_onnx_is_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(OnnxUnavailable, match="QA_ENCODER=torch"):
        Embedder(backend="onnx").backend


def test_query_path_never_imports_torch(built_index_dir):
    """Once exported, loading the assistant and answering needs no torch or sentence-transformers."""
    code = ("import sys; from qa import Assistant; "
            f"a = Assistant.load(index_dir={str(built_index_dir)!r}, rebuild='never'); a.ask('will the shot hurt?'); "
            "print(a.embedder.backend, 'torch' in sys.modules, 'sentence_transformers' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(REPO), "QA_ENCODER": "auto"})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["onnx", "False", "False"]


# ----------------------------------------------------------------- damaged cache, failed export
def _weights(folder: Path) -> Path:
    (export,) = folder.glob("export-*")
    return export / "weights.bin"


def _damage_truncate(folder: Path) -> None:
    weights = _weights(folder)
    weights.write_bytes(weights.read_bytes()[: weights.stat().st_size // 2])


def _damage_flip(folder: Path) -> None:  # same size, one byte changed
    weights = _weights(folder)
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))


def _damage_graph(folder: Path) -> None:  # same size, one byte of the graph changed
    (graph,) = folder.glob("export-*/model.onnx")
    data = bytearray(graph.read_bytes())
    data[len(data) // 3] ^= 0x01
    graph.write_bytes(bytes(data))


def _damage_record(folder: Path) -> None:
    (folder / RECORD).write_text("{not json")


def _damage_probe(folder: Path) -> None:  # file intact, recorded PyTorch vectors wrong
    record = json.loads((folder / RECORD).read_text())
    record["probe"] = [[-x for x in row] for row in record["probe"]]
    (folder / RECORD).write_text(json.dumps(record))


def _damage_missing_file(folder: Path) -> None:
    _weights(folder).unlink()


@pytest.mark.parametrize("damage", [_damage_truncate, _damage_flip, _damage_graph, _damage_record, _damage_probe,
                                    _damage_missing_file],
                         ids=lambda f: f.__name__[8:])
def test_damaged_cache_is_detected(cache_folder, onnx_embedder, tmp_path, damage):
    folder = shutil.copytree(cache_folder, tmp_path / cache_folder.name)
    damage(folder)
    with pytest.raises(_Damaged):
        _open_checked(folder, onnx_embedder.fingerprint, onnx_embedder.path, 1)


def test_truncated_cache_is_exported_again(cache_folder, onnx_embedder, tmp_path, caplog):
    folder = shutil.copytree(cache_folder, tmp_path / cache_folder.name)
    _damage_truncate(folder)
    with caplog.at_level(logging.WARNING, logger="qa.encoder"):
        encoder = load_onnx_encoder(onnx_embedder.path, onnx_embedder.fingerprint, threads=1, cache_dir=tmp_path)
    assert "exporting it again" in caplog.text
    texts = ["will the shot hurt?", LONG_QUESTION]
    assert cosines(encoder.encode(texts), onnx_embedder.encode(texts)).min() >= 0.99999
    _open_checked(folder, onnx_embedder.fingerprint, onnx_embedder.path, 1)  # the cache is whole again
    assert len(list(folder.glob("export-*"))) == 1  # the damaged export is gone, not kept beside it


def test_export_that_fails_midway_leaves_nothing_in_use(onnx_embedder, tmp_path, monkeypatch, caplog):
    """The exporter writes half a file then dies: no export folder, no export.json, no temp debris."""
    import qa.encoder.onnx_export

    def half_then_crash(model, target: Path) -> None:
        target.write_bytes(b"\x08\x07" * 1000)
        raise RuntimeError("exporter died")

    monkeypatch.setattr(qa.encoder.onnx_export, "export_onnx", half_then_crash)
    with pytest.raises(OnnxUnavailable, match="exporter died"):
        load_onnx_encoder(onnx_embedder.path, onnx_embedder.fingerprint, threads=1, cache_dir=tmp_path)
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == []

    monkeypatch.setenv("QA_ENCODER_CACHE", str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="qa.encoder"):
        fallback = Embedder(backend="auto")  # PyTorch, and it works
        assert fallback.backend == "torch"
        assert fallback.encode(["will it hurt"]).shape == (1, 384)
    assert "falling back to PyTorch" in caplog.text


def test_an_export_removes_obsolete_formats_of_its_model_only(onnx_embedder, tmp_path):
    """Exports in a format this code cannot read are 87 MB of debris; the current format
    for another torch/onnxruntime version may belong to another environment."""
    from qa.encoder.onnx_cache import EXPORT_FORMAT, _remove_obsolete_formats

    fp = onnx_embedder.fingerprint
    current = tmp_path / f"{fp}-aaaaaaaa"
    old_format, other_version, other_model = (tmp_path / f"{fp}-bbbbbbbb", tmp_path / f"{fp}-cccccccc",
                                              tmp_path / f"{'0' * 16}-dddddddd")
    for folder, fmt in ((current, EXPORT_FORMAT), (old_format, "torchscript-opset17-meanpool-l2-v1"),
                        (other_version, EXPORT_FORMAT), (other_model, "torchscript-opset17-meanpool-l2-v1")):
        folder.mkdir()
        (folder / RECORD).write_text(json.dumps({"format": fmt}))
    _remove_obsolete_formats(current)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([current.name, other_version.name, other_model.name])


def test_unwritable_cache_falls_back(onnx_embedder, tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("QA_ENCODER_CACHE", str(blocker / "encoders"))
    with pytest.raises(OnnxUnavailable, match="QA_ENCODER_CACHE"):
        Embedder(backend="onnx").backend
    assert Embedder(backend="auto").backend == "torch"


def test_background_load_gives_the_caller_its_encoder(encoder_cache):
    embedder = Embedder(backend="onnx")
    embedder.start_loading()
    embedder.start_loading()  # a second call starts nothing new
    assert embedder.model is embedder.model
    assert embedder.backend == "onnx" and embedder.encode(["will it hurt"]).shape == (1, 384)


def test_background_load_hands_its_error_to_the_caller(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("QA_ENCODER_CACHE", str(blocker / "encoders"))
    embedder = Embedder(backend="onnx")
    embedder.start_loading()
    for _ in range(2):  # the error, then a fresh attempt that fails the same way
        with pytest.raises(OnnxUnavailable, match="QA_ENCODER_CACHE"):
            embedder.model


@pytest.fixture
def preloaded():
    """The encoders preload_encoder() started and nobody took yet; none are left behind."""
    from qa.encoder import embedder as embedder_module

    yield embedder_module._preloaded
    embedder_module._preloaded.clear()


def _load(index_dir: Path) -> Assistant:
    return Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")


def test_preloaded_encoder_is_handed_to_the_next_load_once(built_index_dir, encoder_cache, preloaded):
    preload_encoder()
    preload_encoder()  # a second call for the same model starts nothing new
    (started,) = preloaded.values()
    first, second = _load(built_index_dir), _load(built_index_dir)
    assert first.embedder is started and not preloaded
    assert second.embedder is not started  # handed over once; later loads are independent
    assert first.ask("will the shot hurt?").passages[0].heading_path == second.ask("will the shot hurt?").passages[0].heading_path


def test_load_uses_the_embedder_it_is_given(built_index_dir, onnx_embedder, preloaded):
    preload_encoder()
    loaded = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=built_index_dir, rebuild="never", embedder=onnx_embedder)
    assert loaded.embedder is onnx_embedder and len(preloaded) == 1  # the preloaded one stays for a later load


def test_preload_for_other_settings_is_not_handed_over(built_index_dir, encoder_cache, preloaded, monkeypatch):
    preload_encoder()
    (started,) = preloaded.values()
    monkeypatch.setenv("QA_ENCODER", "onnx")  # asked for by name now: other settings
    assert _load(built_index_dir).embedder is not started
    assert list(preloaded.values()) == [started]


def test_preload_of_a_missing_model_stays_quiet_and_the_load_says_why(tmp_path, monkeypatch, built_index_dir, preloaded):
    monkeypatch.setenv("QA_MODEL_PATH", str(tmp_path / "no-model"))
    preload_encoder()  # no exception here
    with pytest.raises(ModelNotFound, match="QA_MODEL_PATH"):
        _load(built_index_dir)


# ----------------------------------------------------------------- what the export reproduces
def _model_folder(tmp_path: Path, modules: list[str], pooling: dict) -> Path:
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps(pooling))
    entries = [{"idx": i, "name": str(i), "path": "" if i == 0 else ("1_Pooling" if i == 1 else f"{i}_{t}"),
                "type": f"sentence_transformers.models.{t}"} for i, t in enumerate(modules)]
    (tmp_path / "modules.json").write_text(json.dumps(entries))
    return tmp_path


@pytest.mark.parametrize("modules, pooling, ok", [
    (["Transformer", "Pooling", "Normalize"], {"pooling_mode_mean_tokens": True}, True),
    (["Transformer", "Pooling"], {"pooling_mode_mean_tokens": True, "pooling_mode_cls_token": False}, True),
    (["Transformer", "Pooling"], {"pooling_mode_cls_token": True}, False),  # CLS pooling: not in the graph
    (["Transformer", "Pooling", "Dense", "Normalize"], {"pooling_mode_mean_tokens": True}, False),  # extra layer
])
def test_export_refuses_layouts_it_cannot_reproduce(tmp_path, modules, pooling, ok):
    assert (unsupported_reason(_model_folder(tmp_path, modules, pooling)) is None) is ok


def test_bundled_model_is_supported(onnx_embedder):
    assert unsupported_reason(onnx_embedder.path) is None


def test_cache_key_changes_with_model_exporter_and_runtime():
    key = cache_key("a" * 16, "2.13.0", "1.32.0")
    assert key != cache_key("b" * 16, "2.13.0", "1.32.0")
    assert key != cache_key("a" * 16, "2.14.0", "1.32.0")
    assert key != cache_key("a" * 16, "2.13.0", "1.33.0")  # the optimised graph is onnxruntime's own
    assert key.startswith("a" * 16)
