"""SIGKILL in the middle of `build_index`: the previous index keeps serving.

A child process (`CHILD`, run with `python -c`) patches one step of
`qa.index_store.build_index` so that the process kills itself with SIGKILL
at a chosen, deterministic point - after writing a file, before or after
the rename, before the `current` symlink swap - then runs the real
build. Afterwards the previous index loads with rebuild="never" and gives
exactly the answers it gave before, the half-written `builds/tmp-*` folders
are not taken for an index, and the next build removes the debris. The
child replays the real model's vectors (helpers_reliability.ReplayTable) so
it needs no torch; everything else is the real build code.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from helpers_reliability import (
    CORPUS_DIR, ReplayTable, child_env, copy_index, reference_answers, replay_encoding, shared_index,
)

CHILD = r"""
import os, shutil, signal, sys
from pathlib import Path

import numpy as np

import qa.index_store as store
from qa.assistant import index_alternates
from qa.corpus import read_corpus
from qa.encoder.embedder import Embedder

point, corpus_dir, index_dir, table = sys.argv[1:5]
data = np.load(table, allow_pickle=True)
vectors = dict(zip(data["texts"].tolist(), data["vectors"]))


def die():
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


class Replay(Embedder):
    def encode(self, texts, **kwargs):
        if point == "while-encoding":
            die()
        return np.ascontiguousarray(np.stack([vectors[t] for t in texts]), dtype=np.float32)


def after(owner, name):
    real = getattr(owner, name)
    def wrapper(*args, **kwargs):
        result = real(*args, **kwargs)
        die()
        return result
    setattr(owner, name, wrapper)


def before(owner, name, call=1):
    real, calls = getattr(owner, name), [0]
    def wrapper(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            die()
        return real(*args, **kwargs)
    setattr(owner, name, wrapper)


if point == "after-passages-file":
    after(store, "_write_jsonl")  # its first call writes passages.jsonl
elif point == "after-faiss-file":
    after(store.faiss, "write_index")
elif point == "after-manifest-fsync":
    after(store, "_fsync_tree")  # the tmp-* folder is complete, manifest included
elif point == "after-rename":
    before(store.os, "symlink")  # builds/<id> is final but not yet pointed to
elif point == "before-swap":
    before(store.os, "replace", call=2)  # the .current-* link exists; `current` not yet swapped
elif point == "after-swap":
    before(store, "_remove_old_builds")  # the new index is current; cleanup never ran
elif point != "while-encoding":
    raise SystemExit(f"unknown kill point {point}")
store.build_index(read_corpus(Path(corpus_dir)), Replay(), Path(index_dir),
                 alternates=index_alternates(Path(corpus_dir)))
print("completed")
"""


@dataclass(frozen=True)
class KillPoint:
    name: str
    swapped: bool  # whether `current` already points to the new build when the process dies
    debris: str  # glob (relative to the index dir) that the crash leaves behind, "" for none


POINTS = (
    KillPoint("while-encoding", False, "builds/tmp-*"),
    KillPoint("after-passages-file", False, "builds/tmp-*/passages.jsonl"),
    KillPoint("after-faiss-file", False, "builds/tmp-*/dense.faiss"),
    KillPoint("after-manifest-fsync", False, "builds/tmp-*/manifest.json"),
    KillPoint("after-rename", False, ""),
    KillPoint("before-swap", False, ".current-*"),
    KillPoint("after-swap", True, ""),
)


def kill_build(point: str, index_dir: Path, table: Path, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, point, str(CORPUS_DIR), str(index_dir), str(table)],
        cwd=cwd, env=child_env(), capture_output=True, text=True, timeout=180,
    )
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr[-2000:])
    assert "completed" not in result.stdout
    return result


def current_name(index_dir: Path) -> str:
    return (index_dir / "current").resolve().name


@pytest.fixture(scope="module")
def shared(built_index_dir, tmp_path_factory):
    return shared_index(built_index_dir, tmp_path_factory)


@pytest.fixture(scope="module")
def reference(assistant):
    return reference_answers(assistant)


_CRASHED: dict[tuple[Path, str], Path] = {}


def crashed_dir(point: KillPoint, shared, tmp_path_factory) -> Path:
    """A copy of the shared index whose rebuild was SIGKILLed at `point`, made once
    per point and never changed (each test works on its own copy of it)."""
    key = (tmp_path_factory.getbasetemp(), point.name)
    if key not in _CRASHED:
        root = tmp_path_factory.mktemp(f"crash-{point.name}")
        index_dir = copy_index(shared.index_dir, root / "index")
        kill_build(point.name, index_dir, shared.table, root)
        _CRASHED[key] = index_dir
    return _CRASHED[key]


@pytest.mark.parametrize("point", POINTS, ids=[p.name for p in POINTS])
def test_kill_mid_build_leaves_previous_index_serving(point, shared, reference, tmp_path_factory, tmp_path):
    from qa import Assistant

    index_dir = copy_index(crashed_dir(point, shared, tmp_path_factory), tmp_path / "index")
    if point.debris:
        assert list(index_dir.glob(point.debris)), f"the kill at {point.name} happened mid-build"
    if point.swapped:
        assert current_name(index_dir) != current_name(shared.index_dir)
    else:
        assert current_name(index_dir) == current_name(shared.index_dir), "`current` still names the old build"
    assert not current_name(index_dir).startswith("tmp-")
    assistant = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
    assert reference_answers(assistant) == reference


@pytest.mark.parametrize("point", [pytest.param(p, id=p.name, marks=[])
                                   for p in POINTS])
def test_next_build_cleans_the_debris(point, shared, tmp_path_factory, tmp_path):
    from qa.corpus import read_corpus
    from qa.encoder.embedder import Embedder
    from qa.index_store import build_index, load_index

    index_dir = copy_index(crashed_dir(point, shared, tmp_path_factory), tmp_path / "index")
    embedder = Embedder()
    embedder.encode = ReplayTable(shared.table).encode_with(Embedder.encode).__get__(embedder)
    final = build_index(read_corpus(CORPUS_DIR), embedder, index_dir)
    assert current_name(index_dir) == final.name
    assert load_index(index_dir).passages == load_index(shared.index_dir).passages
    assert not list((index_dir / "builds").glob("tmp-*")), "temp folders of dead builds are removed"
    assert len(list((index_dir / "builds").iterdir())) <= 2, "the new build and at most one previous one"
    # decisions.json is the learned decisions' own artifact beside the index, not debris
    assert sorted(p.name for p in index_dir.iterdir()) == ["builds", "current", "decisions.json"], "no stray links or folders"


def test_first_build_killed_leaves_no_index_and_auto_builds_one(shared, reference, tmp_path, monkeypatch):
    """A complete tmp-* folder (killed just before the rename) is never loaded as an index."""
    from qa import Assistant
    from qa.errors import IndexNotFound

    index_dir = tmp_path / "index"
    kill_build("after-manifest-fsync", index_dir, shared.table, tmp_path)
    (tmp,) = (index_dir / "builds").glob("tmp-*")
    assert (tmp / "manifest.json").is_file() and not (index_dir / "current").exists()
    with pytest.raises(IndexNotFound, match="python -m qa build"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
    replay_encoding(monkeypatch, shared)
    assistant = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="auto")
    assert reference_answers(assistant) == reference
    assert not tmp.exists()


def test_killed_cli_build_keeps_the_old_index(shared, reference, tmp_path):
    """The real `python -m qa build`, SIGKILLed as soon as it has started a temp folder."""
    import time

    from qa import Assistant

    index_dir = copy_index(shared.index_dir, tmp_path / "index")
    before = current_name(index_dir)
    process = subprocess.Popen(
        [sys.executable, "-m", "qa", "--index-dir", str(index_dir), "--corpus-dir", str(CORPUS_DIR), "build"],
        cwd=tmp_path, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while not list((index_dir / "builds").glob("tmp-*")) and process.poll() is None:
            assert time.monotonic() < deadline, "the build never started a temp folder"
            time.sleep(0.01)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    if process.returncode != -signal.SIGKILL:
        pytest.skip("the build finished before it could be killed")
    assert current_name(index_dir) == before
    assistant = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
    assert reference_answers(assistant) == reference
