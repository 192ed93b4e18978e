"""`python -m eval` through a subprocess against the real qa assistant.

Skipped until the qa library offers ``Assistant``. The runs read a copy of the
session's index in a temporary folder (``QA_INDEX_DIR``), so nothing is
written into the repository and no run builds one.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from eval.report import ARTIFACTS

qa = pytest.importorskip("qa")
if not hasattr(qa, "Assistant"):
    pytest.skip("qa.Assistant is not available yet", allow_module_level=True)

REPO = Path(__file__).resolve().parent.parent
KEYS = {"hit@1", "hit@3", "hit@5", "mrr@10", "answer@1", "oos_abstain", "false_abstain",
        "red_flag_recall", "false_urgent", "p50_ms", "p95_ms", "n"}
SMALL_CSV = (
    "id,question,kind,answer_quote\n"
    "faq-01,What conditions can a hip injection treat?,faq,commonly treat conditions like osteoarthritis\n"
    "sec-01,how long does a cortisone shot last,section,lasting weeks to months\n"
    "oos-01,How much does a knee replacement cost?,out_of_scope,\n"
    "red-01,theres pus coming out of where they put the needle,red_flag,Contact your doctor immediately\n"
)


@pytest.fixture(scope="module")
def env(tmp_path_factory, built_index_dir):
    import shutil

    index_dir = tmp_path_factory.mktemp("eval-qa") / "index"
    shutil.copytree(built_index_dir, index_dir, symlinks=True)
    return os.environ | {"HF_HUB_OFFLINE": "1", "QA_INDEX_DIR": str(index_dir)}


@pytest.fixture
def small_csv(tmp_path):
    path = tmp_path / "small.csv"
    path.write_text(SMALL_CSV, encoding="utf-8")
    return path


def _run(*args, env):
    return subprocess.run([sys.executable, "-m", "eval", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)


def test_json_stdout_is_exactly_one_object_with_every_key(small_csv, env):
    result = _run("--json", "--questions", str(small_csv), env=env)
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout)  # fails if anything else reached stdout
    assert set(metrics) == KEYS
    assert metrics["n"] == {"faq": 1, "out_of_scope": 1, "red_flag": 1, "section": 1}
    for key in KEYS - {"n"}:
        assert metrics[key] is None or metrics[key] >= 0


def test_out_writes_the_four_files(small_csv, env, tmp_path):
    out = tmp_path / "out"
    result = _run("--out", str(out), "--questions", str(small_csv), "--no-progress", env=env)
    assert result.returncode == 0, result.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted(ARTIFACTS)
    assert set(json.loads((out / "metrics.json").read_text())) == KEYS
