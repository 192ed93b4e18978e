"""Many threads at once, and a rebuild while the assistant is serving.

(a) `ask()` from many threads gives exactly the answers of one thread asking
in turn - with the answer cache switched off so every call really retrieves,
and with it on so threads race on the same cache entry. (b) While one
thread keeps asking through a loaded `Assistant` and another keeps loading
the index, a rebuild of an edited corpus runs into the same folder: no ask
fails or changes its answer (a loaded assistant keeps its in-memory index),
no load fails, and a fresh `Assistant.load(rebuild="never")` afterwards gets
the new index. Two white-box tests swap `current` at the worst moment of a
load to show where that guarantee ends.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from helpers_reliability import (
    CORPUS_DIR, REFERENCE_QUESTIONS, ReplayTable, check_answer, copy_corpus, copy_index, corpus_texts,
    same_answer, shared_index,
)

QUESTIONS = REFERENCE_QUESTIONS + (
    "does the injection hurt",
    "how soon can i go back to work",
    "what is a hip injection?",
    "can i shower after the injection?",
    "<script>alert(1)</script>",
    "💉😱",
    "",
)
PARKING = "\n## Parking\n\nPatients may park for free in the clinic's car park behind the building.\n"
PARKING_QUESTION = "where can I park my car?"


@pytest.fixture(scope="module")
def shared(built_index_dir, tmp_path_factory):
    return shared_index(built_index_dir, tmp_path_factory)


def fresh(assistant):
    """Same model and index, empty answer cache."""
    return assistant.with_settings(assistant.retriever.settings)


def run_threads(count: int, work) -> list:
    """`work(i)` in `count` threads released together; returns results in thread order."""
    barrier = threading.Barrier(count)

    def start(i):
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(start, range(count)))


def test_concurrent_asks_match_sequential_asks_without_cache(assistant, monkeypatch):
    import qa.assistant

    monkeypatch.setattr(qa.assistant, "CACHE_SIZE", 0)  # every call retrieves
    sequential = {q: fresh(assistant).ask(q).to_dict() for q in QUESTIONS}
    shared_assistant = fresh(assistant)
    threads = 8

    def work(i):  # each thread asks every question, starting at a different one
        order = QUESTIONS[i % len(QUESTIONS):] + QUESTIONS[: i % len(QUESTIONS)]
        return {q: shared_assistant.ask(q).to_dict() for q in order}

    for answers in run_threads(threads, work):
        assert answers.keys() == sequential.keys()
        assert all(same_answer(answers[q], sequential[q]) for q in sequential)
    assert shared_assistant.cached_answers == 0


def test_threads_racing_on_one_cache_entry_agree(assistant):
    racing = fresh(assistant)
    expected = fresh(assistant).ask("will the shot hurt?", k=4).to_dict()
    spellings = ("will the shot hurt?", "Will  the SHOT hurt?", "will the shot hurt?")
    results = run_threads(24, lambda i: racing.ask(spellings[i % 3], k=4).to_dict())
    for i, answer in enumerate(results):
        # Same answer, scores within a tolerance: encodes batched with other
        # threads' questions differ from a lone encode in the 7th decimal.
        assert same_answer(answer, {**expected, "question": " ".join(spellings[i % 3].split())})


def test_rebuild_while_serving_and_loading(assistant, shared, tmp_path, monkeypatch):
    """A loaded Assistant keeps answering from its in-memory index during a rebuild;
    loads during the rebuild get the old or the new index, whole; loads after it, the new one."""
    import qa.assistant
    from qa import Assistant
    from qa.corpus import read_corpus
    from qa.encoder.embedder import Embedder
    from qa.assistant import index_alternates
    from qa.index_store import build_index, current_folder, load_index

    monkeypatch.setattr(qa.assistant, "CACHE_SIZE", 0)
    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    old_folder = current_folder(index_dir)
    corpus_dir = copy_corpus(tmp_path / "corpus")
    (corpus_dir / "hip_injections.md").write_text((corpus_dir / "hip_injections.md").read_text() + PARKING)
    serving = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
    before = {q: serving.ask(q).to_dict() for q in (*REFERENCE_QUESTIONS, PARKING_QUESTION)}
    assert same_answer(before[REFERENCE_QUESTIONS[0]], assistant.ask(REFERENCE_QUESTIONS[0]).to_dict())

    building, built = threading.Event(), threading.Event()
    asked_during_build, loaded_during_build = threading.Event(), threading.Event()
    failures: list[str] = []
    loads = {"old": 0, "new": 0}

    def ask_forever():
        while not built.is_set():
            for q, want in before.items():
                try:
                    got = serving.ask(q).to_dict()
                except Exception as exc:  # ask() must never raise
                    failures.append(f"ask raised {exc!r}")
                    return
                # Once the build has swapped `current`, the serving assistant may switch to the new
                # index (it checks every REFRESH_SECONDS) before `built` is set: only an answer
                # finished while the old index was still current must be the old one.
                swapped = current_folder(index_dir) != old_folder
                if not swapped and not same_answer(got, want):  # answer_id: fresh per answer; scores within 1e-4
                    failures.append(f"answer changed during the rebuild for {q!r}")
                if building.is_set():
                    asked_during_build.set()

    def load_forever():
        while not built.is_set():
            try:
                index = load_index(index_dir)
            except Exception as exc:
                failures.append(f"load_index failed during the rebuild: {exc!r}")
                return
            if len(index.passages) != index.manifest["passage_count"]:
                failures.append("a load mixed two builds")
            loads["old" if index.folder == old_folder else "new"] += 1
            if building.is_set():
                loaded_during_build.set()

    embedder = Embedder()
    replay = ReplayTable(shared.table).encode_with(Embedder.encode)

    def encode(texts, **kwargs):
        # Hold the build half-way (after its temp folder exists) until both workers
        # have been served during it: overlap by construction, not by timing.
        building.set()
        for event in (asked_during_build, loaded_during_build):
            if not event.wait(timeout=120):
                failures.append("a worker made no progress during the build")
        return replay(embedder, texts, **kwargs)

    embedder.encode = encode
    workers = [threading.Thread(target=ask_forever), threading.Thread(target=load_forever)]
    for worker in workers:
        worker.start()
    try:
        new_folder = build_index(read_corpus(corpus_dir), embedder, index_dir, alternates=index_alternates(corpus_dir))
    finally:
        built.set()
        for worker in workers:
            worker.join(timeout=120)
    assert failures == []
    assert loads["old"] > 0
    after = Assistant.load(corpus_dir=corpus_dir, index_dir=index_dir, rebuild="never")
    assert after.index.folder == new_folder != old_folder
    parking = check_answer(after.ask(PARKING_QUESTION), corpus_texts(corpus_dir))
    assert "park for free" in parking["passages"][0]["text"]
    serving.refresh()  # it may have switched by itself already (see ask_forever)
    assert serving.index.folder == new_folder, "the running assistant switches to the new index"
    assert "park for free" in serving.ask(PARKING_QUESTION).passages[0].text


# ------------------------------------------------------------------ white box: a swap in the middle of a load
def _swap_during_load(monkeypatch, shared, tmp_path, rebuilds: int) -> Path:
    """After load_index has resolved `current` once, run `rebuilds` complete builds of an
    edited corpus into the same folder (as another process could), then let the load go on."""
    import qa.index_store as store
    from qa.assistant import index_alternates
    from qa.corpus import read_corpus
    from qa.encoder.embedder import Embedder

    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    corpus_dir = copy_corpus(tmp_path / "corpus")
    (corpus_dir / "hip_injections.md").write_text((corpus_dir / "hip_injections.md").read_text() + PARKING)
    embedder = Embedder()
    embedder.encode = ReplayTable(shared.table).encode_with(Embedder.encode).__get__(embedder)
    real_current_folder, calls = store.current_folder, [0]

    def current_folder(path):
        folder = real_current_folder(path)
        calls[0] += 1
        if calls[0] == 1:
            for _ in range(rebuilds):
                time.sleep(1.1)  # build ids carry a per-second timestamp
                store.build_index(read_corpus(corpus_dir), embedder, index_dir, alternates=index_alternates(corpus_dir))
        return folder

    monkeypatch.setattr(store, "current_folder", current_folder)
    return index_dir


def test_load_survives_a_swap_between_resolving_and_reading(monkeypatch, shared, tmp_path):
    from qa.index_store import load_index

    index_dir = _swap_during_load(monkeypatch, shared, tmp_path, rebuilds=1)
    index = load_index(index_dir)
    assert len(index.passages) == index.manifest["passage_count"]


def test_load_survives_its_build_being_cleaned_up(monkeypatch, shared, tmp_path):
    from qa.index_store import load_index

    index_dir = _swap_during_load(monkeypatch, shared, tmp_path, rebuilds=2)
    index = load_index(index_dir)
    assert len(index.passages) == index.manifest["passage_count"]
