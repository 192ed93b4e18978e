"""`python -m qa` through a subprocess, with the real model and index."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from conftest import REPO


def run_qa(*args, index_dir, timeout=300, **extra_env):
    env = os.environ | {"HF_HUB_OFFLINE": "1", "QA_INDEX_DIR": str(index_dir), **extra_env}
    return subprocess.run([sys.executable, "-m", "qa", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_help_explains_itself(tmp_path):
    result = run_qa("--help", index_dir=tmp_path)
    assert result.returncode == 0
    for word in ("build", "passages", "ask", "check", "QA_INDEX_DIR"):
        assert word in result.stdout


def test_ask_json_done_criterion(index_copy):
    result = run_qa("ask", "--json", "can I drive home after my hip injection?", index_dir=index_copy)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert "have someone drive you home" in data["passages"][0]["text"]


def test_ask_text_prints_quotes_with_headings_and_k(index_copy):
    result = run_qa("ask", "-k", "2", "will the shot hurt?", index_dir=index_copy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("\n[") == 2 and "hip_injections.md" in result.stdout


def test_passages_table(tmp_path):
    result = run_qa("passages", index_dir=tmp_path)
    assert result.returncode == 0
    assert "Potential Benefits and Risks › Risks" in result.stdout and "passages" in result.stdout.splitlines()[-1]


def private_encoder_cache(folder):
    """A copy of the session's ONNX export without any kept vectors: a build's first."""
    import shutil
    from pathlib import Path

    session = Path(os.environ["QA_ENCODER_CACHE"])
    shutil.copytree(session, folder, ignore=shutil.ignore_patterns("labelled-vectors-*"))
    return folder


def test_build_then_check(tmp_path, few_labelled, monkeypatch):
    # A whole build (index, alternate questions, learned decisions) from a few labelled messages
    # (conftest.few_labelled); `check` must find all of it current for the same sets.
    from qa import Assistant
    from qa.encoder.kept_vectors import load_kept
    from qa.index_store import load_index
    from qa.decisions.policy import sign_clauses
    from qa.decisions.triage import triage
    from qa.reading import texts_to_encode
    from qa.text import clean_question
    from qa.training import read_labelled

    cache = private_encoder_cache(tmp_path / "encoders")
    env = {"QA_TRAINING_DIR": str(few_labelled), "QA_ENCODER_CACHE": str(cache)}
    built = run_qa("build", index_dir=tmp_path / "idx", **env)
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "idx" / "decisions.json").is_file()
    checked = run_qa("check", index_dir=tmp_path / "idx", **env)
    assert checked.returncode == 0 and checked.stdout.startswith("ok:")
    stale = run_qa("check", index_dir=tmp_path / "idx")  # the full labelled sets: other alternates and decisions
    assert stale.returncode == 2 and "python -m qa build" in stale.stderr

    # The build kept its labelled messages' question vectors (one or two texts each, a message's
    # sentences when it has several, a warning sign's own clause: qa.reading.texts_to_encode) and its
    # index's views' (the document's and the alternate questions'), by hash, no words:
    (kept_file,) = cache.glob("labelled-vectors-*.npz")
    kept = load_kept(kept_file, dimension=384)
    messages = read_labelled(few_labelled)
    views = {v.text for v in load_index(tmp_path / "idx", dimension=384).views}
    questions = {m.question for m in messages}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    loaded = Assistant.load(corpus_dir=REPO / "corpus", index_dir=tmp_path / "idx", rebuild="never")._loaded
    read = {t for q in questions
            for t in texts_to_encode(clean_question(q), retriever=loaded.retriever, warning_signs=loaded.warning_signs)}
    told = {c for q in map(clean_question, questions) for c in sign_clauses(triage(q, loaded.warning_signs), q)}
    assert told and told <= read  # the few labelled sets' red flags tell some signs beside a question
    assert len(questions) + len(views) <= len(kept) <= len(read) + len(views)
    assert not any(m.question.encode() in kept_file.read_bytes() for m in messages if len(m.question) > 20)
    # and the next build, in a new folder, reads them instead of encoding: the same decisions (the labelled
    # vectors to the bit; the fitted weights as two fits of the same numbers, which differ by ~1e-8 between
    # processes) and the same file of kept vectors.
    again = run_qa("build", index_dir=tmp_path / "idx2", **env)
    assert again.returncode == 0, again.stderr
    first, second = (json.loads((tmp_path / name / "decisions.json").read_text())["payload"] for name in ("idx", "idx2"))
    assert_same_numbers(first, second, rel=1e-6)
    assert first["models"]["covered_vectors"] == second["models"]["covered_vectors"]
    assert load_kept(kept_file, dimension=384).keys() == kept.keys()


def assert_same_numbers(a, b, *, rel: float, path: str = "") -> None:
    """Equal JSON structures whose numbers agree within ``rel`` (or ``rel`` absolute near 0), all else exactly."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same_numbers(a[key], b[key], rel=rel, path=f"{path}/{key}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            assert_same_numbers(x, y, rel=rel, path=f"{path}[{i}]")
    elif isinstance(a, float):
        assert a == pytest.approx(b, rel=rel, abs=rel), path
    else:
        assert a == b, path


@pytest.mark.parametrize("args,fragment", [(("check",), "python -m qa build"), (("ask", ""), "type a question")])
def test_errors_are_one_line_without_traceback(request, tmp_path, args, fragment):
    # `check` finds no index; `ask` gets an index (a copy of the session's) and an empty question.
    index_dir = tmp_path / "empty" if args[0] == "check" else request.getfixturevalue("index_copy")
    result = run_qa(*args, index_dir=index_dir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert fragment in result.stderr + result.stdout
