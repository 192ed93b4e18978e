"""Index artifacts: round trip, manifest, staleness, corruption, atomic layout.

The session index (conftest.py) is built with the real model; the rebuilds
here replay its vectors and its decisions' fit (helpers_reliability), and
the real model encodes only what it has not seen (the added section). An
edited corpus, stale and then rebuilt, is test_index_failures.py's
`test_edited_corpus_is_stale_then_rebuilt_and_answered`.
"""

from __future__ import annotations

import json
import shutil

import pytest

from qa import Assistant
from qa.assistant import index_alternates
from qa.corpus import read_corpus
from qa.errors import IndexCorrupt, IndexNotFound
from qa.index_store import CURRENT, FORMAT_VERSION, current_folder

from conftest import CORPUS_DIR
from helpers_reliability import replay_encoding, shared_index


@pytest.fixture(scope="module")
def shared(built_index_dir, tmp_path_factory):
    return shared_index(built_index_dir, tmp_path_factory)


def test_manifest_records_what_made_the_index(built_index_dir):
    manifest = json.loads((current_folder(built_index_dir) / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["model"]["dimension"] == 384 and manifest["model"]["fingerprint"]
    assert manifest["chunking"]["max_words"] == 120
    assert manifest["corpus"][0]["name"] == "hip_injections.md" and len(manifest["corpus"][0]["sha256"]) == 64
    assert manifest["passage_count"] > 20 and manifest["built_at"]
    assert {"faiss-cpu", "bm25s", "sentence-transformers"} <= set(manifest["libraries"])
    assert set(manifest["files"]) >= {"dense.faiss", "passages.jsonl", "views.jsonl"}
    assert (built_index_dir / CURRENT).is_symlink()


def test_save_then_load_gives_the_same_hits(assistant, index_copy):
    again = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_copy, rebuild="never")
    for question in ("will the shot hurt?", "what are the risks of a hip injection", "gel shot"):
        a, b = assistant.ask(question, k=5), again.ask(question, k=5)
        assert [p.id for p in a.passages] == [p.id for p in b.passages]
        assert [p.score for p in a.passages] == pytest.approx([p.score for p in b.passages])


def test_corrupt_faiss_file_is_refused_then_rebuilt(index_copy, shared, monkeypatch):
    faiss_file = current_folder(index_copy) / "dense.faiss"
    faiss_file.write_bytes(b"\x00garbage" * 100)
    with pytest.raises(IndexCorrupt, match="python -m qa build"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_copy, rebuild="never")
    replay_encoding(monkeypatch, shared)
    healed = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_copy)
    assert "drive you home" in healed.ask("can I drive home after the injection?").passages[0].text


def test_missing_index_names_the_fix(tmp_path):
    with pytest.raises(IndexNotFound, match="python -m qa build"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=tmp_path / "nowhere", rebuild="never")


def test_serving_assistant_switches_to_a_rebuilt_index(index_copy, shared, tmp_path, monkeypatch):
    """A build swapped in while serving is picked up by the next question (no restart). The new
    topic is one no labelled set calls out of scope: a topic that one does (parking) stays declined
    by the coverage model until its labels change (docs/content-team.md)."""
    import qa.assistant as assistant_module
    from qa.index_store import build_index

    replay_encoding(monkeypatch, shared)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS_DIR, corpus)
    serving = Assistant.load(corpus_dir=corpus, index_dir=index_copy, rebuild="never")
    before = serving.ask("are there lockers for my coat and bag at the clinic?")
    assert before.abstained

    doc = corpus / "hip_injections.md"
    doc.write_text(doc.read_text() + "\n## Lockers\n\nLockers for coats and bags are available in the clinic's waiting room.\n")
    build_index(read_corpus(corpus), serving.embedder, index_copy, alternates=index_alternates(corpus))
    monkeypatch.setattr(assistant_module, "REFRESH_SECONDS", 0.0)
    serving._next_refresh = 0.0
    after = serving.ask("are there lockers for my coat and bag at the clinic?")
    assert not after.abstained and "Lockers for coats" in after.passages[0].text
    assert serving.refresh() is False  # already current: nothing to do


def test_past_the_threshold_make_index_builds_hnsw_with_the_benched_settings(tmp_path, monkeypatch):
    import faiss
    import numpy as np

    from qa import dense

    monkeypatch.setattr(dense, "APPROXIMATE_FROM", 300)  # the real threshold needs 100,000 vectors
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((300, 16), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert isinstance(dense.make_index(vectors[:299]), faiss.IndexFlatIP)
    index = dense.make_index(vectors)
    faiss.write_index(index, str(tmp_path / "dense.faiss"))
    loaded = faiss.read_index(str(tmp_path / "dense.faiss"))
    # the search-time setting travels with the file, so a loaded index searches as the bench measured
    assert isinstance(loaded, faiss.IndexHNSWFlat) and loaded.hnsw.efSearch == dense.HNSW_EF_SEARCH >= dense.SEARCH_DEPTH
    assert index.hnsw.efConstruction == dense.HNSW_EF_CONSTRUCTION
    # 300 vectors and efSearch far above that: the graph search finds each vector itself first
    assert (loaded.search(vectors[:20], 1)[1][:, 0] == np.arange(20)).all()


def test_an_hnsw_graph_saved_under_an_older_efsearch_searches_with_todays(tmp_path, monkeypatch):
    import faiss
    import numpy as np

    from qa import dense

    monkeypatch.setattr(dense, "APPROXIMATE_FROM", 100)
    vectors = np.random.default_rng(1).standard_normal((100, 8), dtype=np.float32)
    old = dense.make_index(vectors)
    old.hnsw.efSearch = 16  # as an index built before the setting changed
    faiss.write_index(old, str(tmp_path / "dense.faiss"))
    loaded = dense.apply_search_settings(faiss.read_index(str(tmp_path / "dense.faiss")))
    assert loaded.hnsw.efSearch == dense.HNSW_EF_SEARCH
    flat = dense.apply_search_settings(faiss.IndexFlatIP(8))  # exact indexes pass through untouched
    assert isinstance(flat, faiss.IndexFlatIP)
