"""Broken artifacts underneath the assistant: each has one defined behaviour.

For every way an index can be damaged, stale or missing (`INDEX_CASES`):
`Assistant.load()` (rebuild="auto") rebuilds it and answers exactly as the
intact index does; `Assistant.load(rebuild="never")` raises the named
`qa.errors` class with a message naming the fix (`python -m qa build`); and
`python -m qa check` exits 2 with that one-line message and no traceback.
Broken corpora (`CORPUS_CASES`) cannot be repaired by a rebuild, so every
path gives a `CorpusError` that says what to add or fix. Crafted files get a
matching checksum in the manifest so they reach FAISS / bm25s / the JSON
reader - and must still give `IndexCorrupt`, not a crash. The rebuilds
replay the real model's vectors (see helpers_reliability.ReplayTable).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

from helpers_reliability import (
    CORPUS_DIR, REFERENCE_QUESTIONS, check_answer, copy_corpus, copy_index, corpus_texts, reference_answers,
    replay_encoding, run_cli, shared_index,
)
from qa.errors import CorpusError, IndexCorrupt, IndexNotFound, IndexStale

FIX = "python -m qa build"


# ------------------------------------------------------------------ damage helpers
def folder_of(index_dir: Path) -> Path:
    return (index_dir / "current").resolve()


def edit_manifest(index_dir: Path, change: Callable[[dict], None]) -> None:
    path = folder_of(index_dir) / "manifest.json"
    manifest = json.loads(path.read_text())
    change(manifest)
    path.write_text(json.dumps(manifest))


def craft(index_dir: Path, rel: str, data: bytes) -> None:
    """Replace an index file *and* its manifest checksum: only the content is wrong."""
    (folder_of(index_dir) / rel).write_bytes(data)
    edit_manifest(index_dir, lambda m: m["files"].__setitem__(rel, hashlib.sha256(data).hexdigest()))


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(b ^ 0xFF for b in data[middle:middle + 16])
    path.write_bytes(bytes(data))


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def faiss_bytes(dimension: int, count: int) -> bytes:
    """A valid FAISS file of `count` random unit vectors."""
    import faiss

    vectors = np.random.default_rng(0).normal(size=(count, dimension)).astype(np.float32)
    faiss.normalize_L2(vectors)
    index = faiss.IndexFlatIP(dimension)
    index.add(vectors)
    return faiss.serialize_index(index).tobytes()


def first_bm25_file(index_dir: Path) -> Path:
    return sorted(p for p in (folder_of(index_dir) / "bm25").iterdir() if p.is_file())[0]


def set_model(key: str, value) -> Callable[[dict], None]:
    return lambda m: m["model"].__setitem__(key, value)


def other_dimension_faiss(index_dir: Path) -> None:
    """A well-formed 768-d index with the right vector count, checksums and manifest updated."""
    count = json.loads((folder_of(index_dir) / "manifest.json").read_text())["view_count"]
    craft(index_dir, "dense.faiss", faiss_bytes(768, count))
    edit_manifest(index_dir, set_model("dimension", 768))


@dataclass(frozen=True)
class Damage:
    id: str
    damage: Callable[[Path], None]
    error: type | tuple[type, ...]  # what rebuild="never" raises
    auto: bool = True  # also rebuild through Assistant.load (seconds each: one per mechanism is enough)
    subprocess: bool = False  # run `python -m qa check` in a real process (crafted files: prove no crash)


INDEX_CASES = (
    # damaged bytes: the manifest's sha256 no longer matches
    Damage("faiss-bytes-flipped", lambda d: flip_bytes(folder_of(d) / "dense.faiss"), IndexCorrupt),
    Damage("faiss-truncated", lambda d: truncate(folder_of(d) / "dense.faiss"), IndexCorrupt, auto=False),
    Damage("faiss-deleted", lambda d: (folder_of(d) / "dense.faiss").unlink(), IndexCorrupt, auto=False),
    Damage("passages-truncated", lambda d: truncate(folder_of(d) / "passages.jsonl"), IndexCorrupt),
    Damage("passages-emptied", lambda d: (folder_of(d) / "passages.jsonl").write_text(""), IndexCorrupt, auto=False),
    Damage("views-line-dropped", lambda d: (folder_of(d) / "views.jsonl").write_text(
        "".join((folder_of(d) / "views.jsonl").read_text().splitlines(keepends=True)[1:])), IndexCorrupt, auto=False),
    Damage("bm25-file-flipped", lambda d: flip_bytes(first_bm25_file(d)), IndexCorrupt),
    # the manifest itself
    Damage("manifest-not-json", lambda d: (folder_of(d) / "manifest.json").write_text("{not json"), IndexCorrupt),
    Damage("manifest-a-list", lambda d: (folder_of(d) / "manifest.json").write_text("[1, 2]"), IndexCorrupt, auto=False),
    Damage("manifest-without-files", lambda d: edit_manifest(d, lambda m: m.pop("files")), IndexCorrupt, auto=False),
    Damage("manifest-deleted", lambda d: (folder_of(d) / "manifest.json").unlink(), IndexNotFound),
    Damage("manifest-file-outside", lambda d: edit_manifest(
        d, lambda m: m["files"].__setitem__("../../../etc/passwd", "0" * 64)), IndexCorrupt),
    # built from something else
    Damage("other-model-fingerprint", lambda d: edit_manifest(d, set_model("fingerprint", "0123456789abcdef")), IndexStale),
    Damage("other-model-name", lambda d: edit_manifest(d, set_model("name", "all-mpnet-base-v2")), IndexStale, auto=False),
    Damage("other-corpus-sha256", lambda d: edit_manifest(
        d, lambda m: m["corpus"][0].__setitem__("sha256", "0" * 64)), IndexStale),
    Damage("other-corpus-file", lambda d: edit_manifest(
        d, lambda m: m["corpus"].append({"name": "extra.md", "sha256": "0" * 64})), IndexStale, auto=False),
    Damage("other-format-version", lambda d: edit_manifest(d, lambda m: m.__setitem__("format_version", 0)), IndexStale),
    Damage("future-format-version", lambda d: edit_manifest(d, lambda m: m.__setitem__("format_version", 99)), IndexStale,
           auto=False),
    Damage("other-chunking", lambda d: edit_manifest(
        d, lambda m: m["chunking"].__setitem__(next(iter(m["chunking"])), -1)), IndexStale, auto=False),
    Damage("other-dimension-in-manifest", lambda d: edit_manifest(d, set_model("dimension", 768)), (IndexStale, IndexCorrupt)),
    # crafted files: the checksum matches, the content is wrong
    Damage("crafted-faiss-random-bytes", lambda d: craft(d, "dense.faiss", os.urandom(4096)), IndexCorrupt,
           subprocess=True),
    Damage("crafted-faiss-header-only", lambda d: craft(d, "dense.faiss", b"IxFI" + os.urandom(60)), IndexCorrupt,
           auto=False, subprocess=True),
    Damage("crafted-faiss-fewer-vectors", lambda d: craft(d, "dense.faiss", faiss_bytes(384, 3)), IndexCorrupt,
           auto=False, subprocess=True),
    Damage("crafted-faiss-other-dimension", other_dimension_faiss, (IndexStale, IndexCorrupt), subprocess=True),
    Damage("crafted-passages-wrong-fields", lambda d: craft(d, "passages.jsonl", b'{"evil": 1}\n' * 40), IndexCorrupt,
           subprocess=True),
    Damage("crafted-passages-not-json", lambda d: craft(d, "passages.jsonl", b"<script>alert(1)</script>\n"), IndexCorrupt,
           auto=False, subprocess=True),
    Damage("crafted-bm25-random-bytes", lambda d: craft(
        d, first_bm25_file(d).relative_to(folder_of(d)).as_posix(), os.urandom(2048)), IndexCorrupt, subprocess=True),
    # nothing there
    Damage("index-dir-missing", lambda d: shutil.rmtree(d), IndexNotFound, subprocess=True),
    Damage("index-dir-empty", lambda d: [shutil.rmtree(d), d.mkdir()], IndexNotFound, auto=False),
    Damage("current-dangling", lambda d: shutil.rmtree(d / "builds"), IndexNotFound),
    Damage("current-is-empty-folder", lambda d: [(d / "current").unlink(), (d / "current").mkdir()], IndexNotFound),
)


def cases_for(kind: str):
    return [pytest.param(c, id=c.id) for c in INDEX_CASES if kind != "auto" or c.auto]


@pytest.fixture(scope="module")
def shared(built_index_dir, tmp_path_factory):
    return shared_index(built_index_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def reference(assistant):
    return reference_answers(assistant)


@pytest.fixture
def damaged(shared, tmp_path, request):
    case: Damage = request.param
    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    case.damage(index_dir)
    return case, index_dir


def check_cli(index_dir: Path, corpus_dir: Path, cwd: Path, fix: str, *, capsys=None) -> None:
    """`python -m qa check` exits 2 with one `error: ...` line naming the fix.

    With `capsys`, `qa.cli.main` runs in this process (milliseconds instead of
    a second of imports); otherwise in a real subprocess, which also proves a
    crafted file cannot crash the interpreter.
    """
    argv = ("--index-dir", str(index_dir), "--corpus-dir", str(corpus_dir), "check")
    if capsys is not None:
        from qa.cli import main

        capsys.readouterr()
        code = main(list(argv))
        err = capsys.readouterr().err
    else:
        result = run_cli(*argv, cwd=cwd, timeout=120)
        code, err = result.returncode, result.stderr.decode("utf-8", "replace")
    assert code == 2, err
    assert "Traceback" not in err, err
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: ") and fix in last, err


@pytest.mark.parametrize("damaged", cases_for("never"), indirect=True)
def test_never_raises_naming_the_fix(damaged):
    from qa import Assistant

    case, index_dir = damaged
    with pytest.raises(case.error, match=re.escape(FIX)):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")


@pytest.mark.parametrize("damaged", cases_for("check"), indirect=True)
def test_check_exits_2_naming_the_fix(damaged, tmp_path, capsys):
    case, index_dir = damaged
    check_cli(index_dir, CORPUS_DIR, tmp_path, FIX, capsys=None if case.subprocess else capsys)


@pytest.mark.parametrize("damaged", cases_for("auto"), indirect=True)
def test_auto_rebuilds_and_answers_as_before(damaged, shared, reference, monkeypatch):
    from qa import Assistant
    from qa.index_store import load_index

    _, index_dir = damaged
    replay_encoding(monkeypatch, shared)
    assistant = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="auto")
    assert reference_answers(assistant) == reference
    # the rebuild repaired the folder: it now loads with no rebuild at all
    assert load_index(index_dir, expected=_expected(assistant)).manifest == assistant.manifest


def _expected(assistant) -> dict:
    from qa.assistant import index_alternates
    from qa.corpus import read_corpus
    from qa.index_store import expected_manifest
    from qa.passages import ChunkingSettings

    corpus_dir = assistant.paths.corpus_dir
    return expected_manifest(read_corpus(corpus_dir), assistant.embedder, ChunkingSettings(), index_alternates(corpus_dir))


def test_index_copied_without_symlinks_can_be_rebuilt(shared, tmp_path, reference, monkeypatch):
    from qa import Assistant

    index_dir = tmp_path / "index"
    shutil.copytree(shared.index_dir, index_dir, symlinks=False)  # `current` becomes a real folder
    assert not (index_dir / "current").is_symlink()
    edit_manifest(index_dir, set_model("fingerprint", "0123456789abcdef"))  # now stale: must rebuild
    replay_encoding(monkeypatch, shared)
    assistant = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="auto")
    assert reference_answers(assistant) == reference


# ------------------------------------------------------------------ index folder not writable
CANNOT_WRITE = "Cannot write the index"


def test_index_path_is_a_regular_file(tmp_path):
    """The portable way to make `index/` unwritable, even for root."""
    from qa import Assistant

    index_dir = tmp_path / "index"
    index_dir.write_text("not a folder")
    with pytest.raises(IndexNotFound, match=f"{CANNOT_WRITE}.*QA_INDEX_DIR"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="auto")
    with pytest.raises(IndexNotFound, match=re.escape(FIX)):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
    check_cli(index_dir, CORPUS_DIR, tmp_path, FIX)
    assert index_dir.read_text() == "not a folder"


def test_index_parent_is_a_regular_file(tmp_path):
    from qa import Assistant

    (tmp_path / "blocker").write_text("")
    with pytest.raises(IndexNotFound, match=f"{CANNOT_WRITE}.*QA_INDEX_DIR"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=tmp_path / "blocker" / "index", rebuild="auto")


def test_read_only_empty_index_dir_names_the_fix(tmp_path):
    from qa import Assistant

    index_dir = tmp_path / "index"
    index_dir.mkdir()
    index_dir.chmod(0o555)
    try:
        probe = index_dir / "probe"
        try:
            probe.mkdir()
        except PermissionError:
            pass
        else:
            pytest.skip("running as root: chmod 555 does not stop root from writing "
                        "(test_index_path_is_a_regular_file covers an unwritable index/)")
        with pytest.raises(IndexNotFound, match=f"{CANNOT_WRITE}.*QA_INDEX_DIR"):
            Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="auto")
    finally:
        index_dir.chmod(0o755)


def _refuse_writes(monkeypatch) -> list:
    """Every build attempt fails as on a read-only filesystem; returns the attempts."""
    import qa.assistant

    attempts = []

    def build_index(*args, **kwargs):
        attempts.append(args)
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(qa.assistant, "build_index", build_index)
    return attempts


def test_current_index_in_read_only_dir_loads_without_writing(shared, tmp_path, reference, monkeypatch):
    from qa import Assistant

    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    attempts = _refuse_writes(monkeypatch)
    assistant = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="auto")
    assert attempts == []
    assert reference_answers(assistant) == reference


def test_stale_index_in_read_only_dir_names_the_fix(shared, tmp_path, monkeypatch):
    from qa import Assistant

    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    edit_manifest(index_dir, set_model("fingerprint", "0123456789abcdef"))
    attempts = _refuse_writes(monkeypatch)
    with pytest.raises(IndexNotFound, match=f"{CANNOT_WRITE}.*(Permission denied).*QA_INDEX_DIR"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="auto")
    assert len(attempts) == 1


# ------------------------------------------------------------------ broken corpus
@dataclass(frozen=True)
class CorpusDamage:
    id: str
    damage: Callable[[Path], None]
    message: str  # fragment of the CorpusError message: what to do


MD = "hip_injections.md"
CORPUS_CASES = (
    CorpusDamage("corpus-file-deleted", lambda c: (c / MD).unlink(), "add the clinic's document"),
    CorpusDamage("corpus-dir-missing", lambda c: shutil.rmtree(c), "create it with at least one .md file"),
    CorpusDamage("corpus-file-empty", lambda c: (c / MD).write_text(""), "add the clinic's document text"),
    CorpusDamage("corpus-file-whitespace", lambda c: (c / MD).write_text("\n \n\t\n"), "add the clinic's document text"),
    CorpusDamage("corpus-not-utf8", lambda c: (c / MD).write_bytes("Hüfte".encode("latin-1")), "Save it as UTF-8"),
)


@pytest.mark.parametrize("case", CORPUS_CASES, ids=[c.id for c in CORPUS_CASES])
def test_broken_corpus_is_a_clear_error_everywhere(case, shared, tmp_path, capsys):
    from qa import Assistant

    corpus_dir = copy_corpus(tmp_path / "corpus")
    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    case.damage(corpus_dir)
    for rebuild in ("auto", "never", "always"):
        with pytest.raises(CorpusError, match=re.escape(case.message)):
            Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, rebuild=rebuild)
    check_cli(index_dir, corpus_dir, tmp_path, case.message, capsys=capsys)
    assert folder_of(index_dir).name == folder_of(shared.index_dir).name, "the old index is left alone"


def strip_headings(corpus_dir: Path) -> None:
    path = corpus_dir / MD
    path.write_text(re.sub(r"(?m)^#{1,6}\s+", "", path.read_text()))


def test_edited_corpus_is_stale_then_rebuilt_and_answered(shared, few_labelled, tmp_path, monkeypatch, capsys, caplog):
    """The document edited twice over, rebuilt once: its headings removed (it is still
    indexed and answered) and a paragraph added (its text is found). The rebuild fits the
    learned decisions on conftest's `few_labelled` (they are not what this test is about):
    reading all 1,500 labelled messages over a new corpus took most of its time."""
    import logging

    from qa import Assistant
    from qa.assistant import index_alternates
    from qa.corpus import read_corpus
    from qa.encoder.embedder import Embedder
    from qa.index_store import expected_manifest, load_index
    from qa.passages import ChunkingSettings

    corpus_dir = copy_corpus(tmp_path / "corpus")
    strip_headings(corpus_dir)
    added = "\nPatients may park for free in the clinic's car park behind the building.\n"
    (corpus_dir / MD).write_text((corpus_dir / MD).read_text() + added)
    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    expected = expected_manifest(read_corpus(corpus_dir), Embedder(), ChunkingSettings(), index_alternates(corpus_dir))
    with pytest.raises(IndexStale, match="corpus changed.*" + re.escape(FIX)):
        load_index(index_dir, expected=expected)
    with pytest.raises(IndexStale, match="corpus changed.*" + re.escape(FIX)):
        Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, rebuild="never")
    check_cli(index_dir, corpus_dir, tmp_path, FIX, capsys=capsys)
    replay_encoding(monkeypatch, shared)
    monkeypatch.setenv("QA_TRAINING_DIR", str(few_labelled))
    with caplog.at_level(logging.WARNING, logger="qa"):
        assistant = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, rebuild="auto")
    assert sum("Rebuilding" in r.getMessage() for r in caplog.records) == 1
    corpus = corpus_texts(corpus_dir)
    assert not any(p.heading_path for p in assistant.passages)
    parking = check_answer(assistant.ask("where can I park my car?"), corpus)
    assert "park for free" in parking["passages"][0]["text"]
    answer = check_answer(assistant.ask("how long does a hip injection last?"), corpus)
    assert not answer["abstained"] and not answer["input_error"]
    # Triage still runs over the rebuilt index: the rules flag the warning sign, whatever decisions a fit
    # on a few messages per set learned (docs/evaluation.md, "Known weaknesses").
    urgent = check_answer(assistant.with_decisions(None).ask(REFERENCE_QUESTIONS[4]), corpus)
    assert urgent["urgent"] and "When to Seek Medical Attention" in urgent["passages"][0]["text"]


def test_deleted_warning_signs_do_not_silently_disable_triage(shared, tmp_path, monkeypatch):
    from qa import Assistant

    corpus_dir = copy_corpus(tmp_path / "corpus")
    (corpus_dir / "warning_signs.csv").unlink()
    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    try:
        assistant = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, rebuild="never")
    except CorpusError as exc:
        assert "warning_signs.csv" in str(exc)
        return
    except IndexStale as exc:  # the tables changed, so the learned decisions must be refitted: said, not silent
        assert "python -m qa build" in str(exc)
        return
    assert assistant.ask(REFERENCE_QUESTIONS[4]).urgent
