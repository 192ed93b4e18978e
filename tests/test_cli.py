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


def test_build_then_check(tmp_path, few_labelled):
    # A whole build (index, alternate questions, learned decisions) from a few labelled messages
    # (conftest.few_labelled); `check` must find all of it current for the same sets.
    built = run_qa("build", index_dir=tmp_path / "idx", QA_TRAINING_DIR=str(few_labelled))
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "idx" / "decisions.json").is_file()
    checked = run_qa("check", index_dir=tmp_path / "idx", QA_TRAINING_DIR=str(few_labelled))
    assert checked.returncode == 0 and checked.stdout.startswith("ok:")
    stale = run_qa("check", index_dir=tmp_path / "idx")  # the full labelled sets: other alternates and decisions
    assert stale.returncode == 2 and "python -m qa build" in stale.stderr


@pytest.mark.parametrize("args,fragment", [(("check",), "python -m qa build"), (("ask", ""), "type a question")])
def test_errors_are_one_line_without_traceback(request, tmp_path, args, fragment):
    # `check` finds no index; `ask` gets an index (a copy of the session's) and an empty question.
    index_dir = tmp_path / "empty" if args[0] == "check" else request.getfixturevalue("index_copy")
    result = run_qa(*args, index_dir=index_dir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr + result.stdout
    assert fragment in result.stderr + result.stdout
