"""Shared helpers for the reliability tests (bad input, broken indexes, crashes, concurrency, soak).

Building the real index (model + FAISS + BM25) takes seconds, so the tests
share conftest.py's session index (`built_index_dir`); a test that damages
an index works on a copy (`copy_index`). Rebuilds after
the first reuse the real model's vectors (`ReplayTable`) and the real fit of
the learned decisions (`replay_encoding`) so a test pays for the build code
path, not for re-encoding the same texts or refitting the same readings. This module
holds no assertions about *what* the assistant answers, only that an answer
is well formed and quotes the corpus verbatim. Nothing here writes into the
repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CORPUS_DIR = REPO / "corpus"

ANSWER_TYPES = {
    "question": str, "message": str, "passages": list, "best_sentence": str, "confidence": float,
    "abstained": bool, "urgent": bool, "emergency": bool, "related_questions": list,
    "input_error": (str, type(None)), "reason": str, "answer_id": str, "uncovered_parts": list,
}
PASSAGE_TYPES = {
    "id": str, "heading_path": str, "source": str, "start": int, "end": int,
    "text": str, "plain_text": str, "score": float,
}

#: Questions whose answers are compared before and after a crash, a rebuild or under load.
REFERENCE_QUESTIONS = (
    "will the shot hurt?",
    "how long does a hip injection last?",
    "can I drive home after the injection?",
    "what are the risks of a steroid injection?",
    "I have a fever and the hip is red and swollen after the injection",
    "what is the capital of France?",
)


# --------------------------------------------------------------------- environment
def child_env(**extra: str) -> dict[str, str]:
    """Environment for a `python -m qa` / `python app.py` subprocess: offline, repo importable."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(REPO)}
    env.update(extra)
    return env


def run_cli(*args: str, cwd: Path, timeout: float = 180, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m qa ARGS` in a subprocess, bytes-safe, never in the repo's cwd."""
    return subprocess.run(
        [sys.executable, "-m", "qa", *args], cwd=cwd, env=env or child_env(),
        capture_output=True, timeout=timeout,
    )


# --------------------------------------------------------------------- shared index
@dataclass(frozen=True)
class SharedIndex:
    index_dir: Path  # read-only: copy it before damaging anything
    table: Path  # the real model's vectors for every view text (see ReplayTable)


_SHARED: dict[Path, SharedIndex] = {}


def shared_index(built_index_dir: Path, tmp_path_factory) -> SharedIndex:
    """The session index of conftest.py plus a table of its real vectors."""
    if built_index_dir not in _SHARED:
        import faiss

        from qa.index_store import current_folder

        folder = current_folder(built_index_dir)
        texts = [json.loads(line)["text"] for line in (folder / "views.jsonl").read_text().splitlines() if line]
        dense = faiss.read_index(str(folder / "dense.faiss"))
        table = tmp_path_factory.mktemp("reliability-vectors") / "vectors.npz"
        np.savez(table, texts=np.array(texts, dtype=object), vectors=dense.reconstruct_n(0, dense.ntotal))
        _SHARED[built_index_dir] = SharedIndex(built_index_dir, table)
    return _SHARED[built_index_dir]


def copy_index(src: Path, dst: Path) -> Path:
    """A private copy of an index folder; `current` is a relative symlink, kept as a link."""
    shutil.copytree(src, dst, symlinks=True)
    return dst


def copy_corpus(dst: Path) -> Path:
    shutil.copytree(CORPUS_DIR, dst)
    return dst


class ReplayTable:
    """The real model's vectors by text, so rebuilding an unchanged corpus skips
    the model; texts it has not seen are encoded by the real model (and kept)."""

    def __init__(self, path: Path) -> None:
        data = np.load(path, allow_pickle=True)
        self.vectors = dict(zip(data["texts"].tolist(), data["vectors"]))

    def encode_with(self, real_encode):
        table = self.vectors

        def encode(embedder, texts, **kwargs):
            texts = list(texts)
            missing = list(dict.fromkeys(t for t in texts if t not in table))
            if missing:
                table.update(zip(missing, real_encode(embedder, missing, **kwargs)))
            if not texts:
                return np.zeros((0, len(next(iter(table.values())))), dtype=np.float32)
            return np.ascontiguousarray(np.stack([table[t] for t in texts]), dtype=np.float32)

        return encode


def replay_encoding(monkeypatch, shared: SharedIndex) -> None:
    """Patch `Embedder.encode` to replay the real model's vectors (see ReplayTable), and
    the learned decisions' fit to replay the real fit of the very same labelled
    messages and readings when this session already made it (see `replay_fit`)."""
    import qa.assistant
    import qa.training
    from qa.encoder.embedder import Embedder

    monkeypatch.setattr(Embedder, "encode", ReplayTable(shared.table).encode_with(Embedder.encode))
    fit = replay_fit(qa.training.fit_decisions)
    monkeypatch.setattr(qa.training, "fit_decisions", fit)
    monkeypatch.setattr(qa.assistant, "fit_decisions", fit)


#: Decisions the real fit made this session, by the digest of everything it was given.
_FITS: dict[str, object] = {}
#: The inputs of this process's recent fits and their digests, for the same-objects check.
_SEEN: list[tuple[list, list, object, str]] = []
SEEN_FITS = 3


def replay_fit(real_fit):
    """`fit_decisions` for a rebuild: the real fit, once per distinct input. The fit is a
    pure function of the messages and their readings (logistic regressions with a
    deterministic solver), so equal inputs, compared whole (pickled, then sha256),
    give the decisions it returned before; any other input is fitted for real.

    A rebuild of the session's corpus passes the very reading objects this process
    read before (qa.assistant keeps them): those are recognised by identity, since
    pickling 6,000 readings (200 MB) for the digest took seconds per rebuild."""
    import hashlib
    import pickle

    def fit(messages, readings, views=None):
        messages, readings = list(messages), list(readings)
        key = next((k for m, r, v, k in _SEEN if _same_objects(r, readings) and m == messages and _same_views(v, views)),
                   None)
        if key is None:
            key = hashlib.sha256(pickle.dumps((messages, readings, views), protocol=5)).hexdigest()
            _SEEN.append((messages, readings, views, key))  # kept alive: their ids stay theirs
            if len(_SEEN) > SEEN_FITS:  # the first (the session index's) stays; other corpora's go
                del _SEEN[1]
        if key not in _FITS:
            _FITS[key] = real_fit(messages, readings, views)
        return _FITS[key]

    return fit


def _same_objects(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


def _same_views(a, b) -> bool:
    """Equal ``qa.training.IndexViews`` (or both None)."""
    if a is None or b is None:
        return a is b
    return (np.array_equal(a.owner, b.owner) and a.alternates == b.alternates and a.passages == b.passages)


# --------------------------------------------------------------------- answers
def corpus_texts(corpus_dir: Path = CORPUS_DIR) -> dict[str, str]:
    return {p.name: p.read_text(encoding="utf-8") for p in sorted(corpus_dir.glob("*.md"))}


def _encodable(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_answer_dict(data: dict, corpus: dict[str, str]) -> None:
    """`Answer.to_dict()` has exactly the documented keys and types, is JSON-ready,
    and every passage is verbatim corpus text at [start:end]."""
    assert set(data) == set(ANSWER_TYPES), sorted(set(data) ^ set(ANSWER_TYPES))
    for key, kind in ANSWER_TYPES.items():
        assert isinstance(data[key], kind), (key, type(data[key]))
    assert data["message"].strip(), "every answer says something"
    assert 0.0 <= data["confidence"] <= 1.0
    assert len(data["related_questions"]) <= 3
    assert all(isinstance(q, str) and q for q in data["related_questions"])
    for passage in data["passages"]:
        assert set(passage) == set(PASSAGE_TYPES), sorted(set(passage) ^ set(PASSAGE_TYPES))
        for key, kind in PASSAGE_TYPES.items():
            assert isinstance(passage[key], kind), (key, type(passage[key]))
        source = corpus[passage["source"]]
        assert 0 <= passage["start"] < passage["end"] <= len(source)
        assert passage["text"] == source[passage["start"]:passage["end"]], "passages are verbatim corpus text"
    if data["input_error"] is not None:
        assert data["abstained"] and data["passages"] == [] and data["message"] == data["input_error"]
        assert data["reason"] == "input_error"
    # The web page and the CLI print this as UTF-8 JSON: no lone surrogates anywhere.
    json.dumps(data, ensure_ascii=False).encode("utf-8")


def check_answer(answer, corpus: dict[str, str]) -> dict:
    from qa import Answer

    assert isinstance(answer, Answer)
    data = answer.to_dict()
    check_answer_dict(data, corpus)
    return data


def reference_answers(assistant, questions=REFERENCE_QUESTIONS, *, k: int = 3) -> dict[str, dict]:
    """Answers to compare across a crash, a rebuild or a reload; the random answer_id
    (a fresh one per answer, for feedback) is left out."""
    return {q: without_answer_id(assistant.ask(q, k=k).to_dict()) for q in questions}


def without_answer_id(answer: dict) -> dict:
    return {key: value for key, value in answer.items() if key != "answer_id"}


SCORE_TOLERANCE = 1e-4


def same_answer(actual: dict, expected: dict) -> bool:
    """Answers are the same: every field equal, scores and confidence within
    ``SCORE_TOLERANCE``. Questions encoded in a shared batch (qa/batching.py)
    get cosines that differ from a lone encode in the 7th decimal."""
    def strip(answer: dict) -> dict:
        answer = {k: v for k, v in answer.items() if k != "clinic"}  # the REST API adds the clinic's contact details
        return {**answer, "confidence": None, "answer_id": None,  # answer_id: random per answer
                "passages": [{**p, "score": None} for p in answer.get("passages", [])]}

    if strip(actual) != strip(expected):
        return False
    scores = [(a["score"], b["score"]) for a, b in zip(actual["passages"], expected["passages"])]
    scores.append((actual["confidence"], expected["confidence"]))
    return all(abs(a - b) <= SCORE_TOLERANCE for a, b in scores)
