"""Shared fixtures: one real index and one real Assistant per test session.

The index is built with the real model into a temporary folder, so no test
writes into the repository. Tests that damage an index copy it first. The
encoder cache (the model's ONNX export, about 9 s, and the labelled messages'
question vectors a build keeps: qa.encoder.kept_vectors) is one temporary
folder for the session, shared by both xdist workers and every subprocess a
test starts; set QA_ENCODER_CACHE to keep one across sessions. The two
workers build the session index one after the other (a file lock), so the
second takes the first's kept vectors, readings and fit instead of encoding,
reading and fitting on 6,000 messages again; while the first builds, the
second runs the files that need no index.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO / "corpus"
CORPUS_FILE = CORPUS_DIR / "hip_injections.md"
SEED_FILE = REPO.parent / "shared" / "seed" / "000_d9de166806160c3a.txt"


def pytest_configure(config):
    config.addinivalue_line("markers", "soak: long load test (deselect with -m 'not soak')")
    config.addinivalue_line("markers", "browser: drives headless Chromium")


#: The long files, run first (pytest.ini turns off pytest-xdist's reordering by test count),
#: so no worker is left running one of them alone at the end: each busy one (a server under
#: load for half a minute, the bench's builds, index rebuilds) beside one that mostly waits
#: (browsers, timeouts), as the two workers take them in turn.
LONG_FILES = ("test_soak.py", "test_feedback_browser.py", "test_bench_smoke.py", "test_web_browser.py",
              "test_index_failures.py", "test_security_connections.py", "test_deploy_rolling_restart.py",
              "test_deploy_index_update.py")
#: Files none of whose tests needs the session index: the second worker runs them while the first
#: builds it (a cold build reads and fits on every labelled message: minutes on 2 cores), instead
#: of waiting for it at its first long file.
INDEX_FREE_FILES = ("test_app.py", "test_bench_units.py", "test_chat_clinic.py", "test_feedback_redaction.py",
                    "test_feedback_store.py", "test_eval_cli.py", "test_eval_dataset.py", "test_architecture.py",
                    "test_pure_logic.py", "test_web_render.py", "test_security_payloads.py",
                    "test_corpus_and_passages.py", "test_eval_questions.py", "test_eval_matching.py",
                    "test_eval_metrics.py")
FIRST_FILES = (LONG_FILES[0], *INDEX_FREE_FILES, *LONG_FILES[1:])


def pytest_collection_modifyitems(items):
    """The files of ``FIRST_FILES`` first, in that order; the rest as collected (a stable sort).

    pytest-xdist deals each worker two files, then one more whenever it finishes one: the
    first worker builds the session index in the first long file, while the second takes
    the index-free files one after another until the build is (nearly) done."""
    rank = {name: i for i, name in enumerate(FIRST_FILES)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))


def _shared_tmp(tmp_path_factory) -> Path:
    """The session's temporary root: shared by the xdist workers (each has its own folder below it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextlib.contextmanager
def _one_worker_at_a_time(tmp_path_factory, name: str) -> Iterator[None]:
    """An exclusive lock shared by the xdist workers (flock: released if a worker dies)."""
    with (_shared_tmp(tmp_path_factory) / f"{name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session", autouse=True)
def encoder_cache(tmp_path_factory) -> Iterator[Path]:
    """QA_ENCODER_CACHE for the session (kept when already set), so no export lands in the repo."""
    folder = os.environ.get("QA_ENCODER_CACHE")
    if folder:
        yield Path(folder)
        return
    folder = _shared_tmp(tmp_path_factory) / "encoders"
    folder.mkdir(exist_ok=True)
    os.environ["QA_ENCODER_CACHE"] = str(folder)
    try:
        yield folder
    finally:
        os.environ.pop("QA_ENCODER_CACHE", None)


#: The session index build's own time limit (seconds), in place of the first test's while it runs.
SESSION_BUILD_TIMEOUT = 1800


@contextlib.contextmanager
def _timed_apart(request) -> Iterator[None]:
    """Time a session fixture's work apart from the test that set it up (pytest-timeout): while it
    runs, the limit is ``SESSION_BUILD_TIMEOUT``, and the test then gets its whole budget afresh.
    The session's one index build (minutes on a busy 2-core machine, or the wait for the other
    worker's) is not that test's time: under a file's short timeout (120-400 s) it failed every test
    behind it once the machine was busy."""
    item = getattr(request, "_pyfuncitem", None)
    try:
        from pytest_timeout import _get_item_settings
    except ImportError:  # pytest-timeout not installed: nothing to time
        item = None
    settings = _get_item_settings(item) if item is not None else None
    if settings is None or not settings.timeout or settings.func_only:
        yield
        return
    hook = request.config.pluginmanager.hook
    hook.pytest_timeout_cancel_timer(item=item)
    hook.pytest_timeout_set_timer(item=item, settings=settings._replace(timeout=SESSION_BUILD_TIMEOUT))
    try:
        yield
    finally:
        hook.pytest_timeout_cancel_timer(item=item)
        hook.pytest_timeout_set_timer(item=item, settings=settings)


@pytest.fixture(scope="session")
def built_index_dir(request, tmp_path_factory) -> Path:
    """A real index of the real corpus, built once per session (timed apart: ``_timed_apart``)."""
    from qa.assistant import build
    from qa.config import resolve_paths
    from qa.corpus import read_corpus
    from qa.encoder.embedder import Embedder

    import qa.training
    from helpers_reliability import replay_fit

    folder = tmp_path_factory.mktemp("index")
    state = _shared_tmp(tmp_path_factory) / "session-build-state.pickle"
    with _timed_apart(request), pytest.MonkeyPatch.context() as patch, \
            _one_worker_at_a_time(tmp_path_factory, "session-build"):
        _take_build_state(state)  # the other worker's readings and fit, when it built first
        # the real fit, kept for rebuilds that replay it (helpers_reliability)
        patch.setattr(qa.training, "fit_decisions", replay_fit(qa.training.fit_decisions))
        build(read_corpus(CORPUS_DIR), Embedder(), resolve_paths(corpus_dir=CORPUS_DIR, index_dir=folder))
        _SESSION_READINGS.update(_readings_cache() or ())  # the session corpus's readings stay for every test
        _give_build_state(state)
    return folder


def _take_build_state(state: Path) -> None:
    """Start from the readings and the fit of the worker that built the session index first.

    Reading the labelled messages over the index and fitting the decisions on them
    is most of a build once the vectors are kept (half a minute at 6,000 messages);
    both are pure functions of what the first worker's build read and fitted, so
    the second worker's build takes them instead of repeating them. Its index is
    still its own, built by the real code path.
    """
    import pickle

    import qa.assistant
    from helpers_reliability import _FITS

    if state.exists():
        readings, fits = pickle.loads(state.read_bytes())
        qa.assistant._READINGS.update(readings)
        _FITS.update(fits)


def _give_build_state(state: Path) -> None:
    """Leave this worker's session readings and fits for the other (written aside, then renamed)."""
    import pickle

    from helpers_reliability import _FITS

    if state.exists():
        return
    readings = {key: value for key, value in (_readings_cache() or {}).items() if key in _SESSION_READINGS}
    aside = state.with_suffix(".tmp")
    aside.write_bytes(pickle.dumps((readings, dict(_FITS)), protocol=5))
    aside.replace(state)


#: Keys of qa.assistant's readings cache made by the session index's build (see `readings_cache_per_test`).
_SESSION_READINGS: set = set()


def _readings_cache() -> dict | None:
    """qa.assistant's per-process cache of the labelled messages' readings, if qa.assistant is loaded."""
    cache = getattr(sys.modules.get("qa.assistant"), "_READINGS", None)
    return cache if isinstance(cache, dict) else None


@pytest.fixture(autouse=True)
def readings_cache_per_test() -> Iterator[None]:
    """What a test adds to qa.assistant's readings cache is dropped when it ends.

    A build reads the 6,000 labelled messages over its index (about half a
    minute) and keeps the readings per corpus for the process's later builds, for
    a few corpora only. Tests that build other corpora (an edited document, a
    cross-validation fold) would otherwise use up those places, and every later
    rebuild of the session's corpus would read everything again: a test's cost
    would depend on the tests before it. The session index's readings and those
    of fixtures set up before the test are kept. Nothing else is touched.
    """
    cache = _readings_cache()
    before = set(cache) if cache is not None else set()
    yield
    cache = _readings_cache()
    if cache is not None:
        for key in [k for k in cache if k not in before and k not in _SESSION_READINGS]:
            del cache[key]


#: Messages of each kind kept from each of at most FEW_SETS labelled sets by `few_labelled`
#: (about 190 messages), the sets spread over all of them.
FEW_PER_KIND = 2
FEW_SETS = 16


@pytest.fixture(scope="session")
def few_labelled(tmp_path_factory) -> Path:
    """eval/sets cut to FEW_PER_KIND messages of each kind of FEW_SETS sets, for QA_TRAINING_DIR.

    Sets of every kind and both classes of each decision remain, so a build with it still
    adds alternate questions and fits (and saves) the learned decisions, on about
    180 messages instead of 6,000. For a test whose subject is another part
    of a build (the bench, `python -m qa build` then `check`, a first start):
    answers then differ from the session index's, so never compare the two.
    """
    import csv
    from collections import Counter

    from qa.training import read_labelled, training_dir

    folder = tmp_path_factory.mktemp("few-labelled")
    by_set: dict[str, list] = {}
    for message in read_labelled(training_dir()):
        by_set.setdefault(message.source, []).append(message)
    names = sorted(by_set)
    for name in names[:: -(-len(names) // FEW_SETS)]:
        messages = by_set[name]
        seen: Counter = Counter()
        with (folder / f"{name}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(("id", "question", "kind", "answer_quote"))
            for m in messages:
                seen[m.kind] += 1
                if seen[m.kind] <= FEW_PER_KIND:
                    writer.writerow((m.id, m.question, m.kind, m.answer_quote))
    kept = read_labelled(folder)
    assert {m.urgent for m in kept} == {m.covered for m in kept} == {True, False}, "both classes of each decision"
    return folder


@pytest.fixture(scope="session")
def few_labelled_index(built_index_dir, few_labelled, tmp_path_factory) -> Path:
    """An index of the real corpus whose learned decisions were fitted on `few_labelled`: what
    a server or a build run with QA_TRAINING_DIR=few_labelled takes as current, so it starts
    without rebuilding. Built once, in this process, replaying the session index's vectors
    (helpers_reliability); the labelled messages it reads are encoded by the real model."""
    from qa.assistant import build
    from qa.config import resolve_paths
    from qa.corpus import read_corpus
    from qa.encoder.embedder import Embedder

    from helpers_reliability import replay_encoding, shared_index

    folder = tmp_path_factory.mktemp("few-labelled-index")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("QA_TRAINING_DIR", str(few_labelled))
        replay_encoding(patch, shared_index(built_index_dir, tmp_path_factory))
        build(read_corpus(CORPUS_DIR), Embedder(), resolve_paths(corpus_dir=CORPUS_DIR, index_dir=folder))
    return folder


@pytest.fixture(scope="session")
def assistant(built_index_dir):
    """The real Assistant (real model, FAISS, BM25) over the session index."""
    from qa import Assistant

    return Assistant.load(corpus_dir=CORPUS_DIR, index_dir=built_index_dir, rebuild="never")


@pytest.fixture
def index_copy(built_index_dir, tmp_path) -> Path:
    """A private copy of the session index that a test may damage."""
    target = tmp_path / "index"
    shutil.copytree(built_index_dir, target, symlinks=True)
    return target
