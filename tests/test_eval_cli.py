"""The CLI, runner and reports end to end, with a fake assistant (no model).

The fake follows the qa contract: ``ask(question, k=...)`` returns an object
whose ``to_dict()`` has passages (best first), ``abstained`` and ``urgent``.
The same paths run against the real assistant in ``test_eval_qa.py``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from eval import cli, runner
from eval.report import ARTIFACTS

REPO = Path(__file__).resolve().parent.parent
KEYS = {"hit@1", "hit@3", "hit@5", "mrr@10", "answer@1", "oos_abstain", "false_abstain",
        "red_flag_recall", "false_urgent", "p50_ms", "p95_ms", "n"}

CSV = (
    "id,question,kind,answer_quote\n"
    "a,What is PRP?,faq,your own blood\n"
    "b,can i drive home,section,drive you home\n"
    "o,hi,out_of_scope,\n"
    "r,fever and pus at the site,red_flag,Contact your doctor immediately\n"
)
# question -> (passages best first, abstained, urgent)
REPLIES = {
    "What is PRP?": (["PRP uses **your own blood**.", "Other text."], False, False),
    "can i drive home": (["Numbness lasts hours.", "Have someone drive you home."], False, False),
    "hi": (["Numbness lasts hours."], True, False),
    "fever and pus at the site": (["- Contact your doctor  immediately if..."], False, True),
}


# question -> the answer's debug, as the real assistant fills it (the others have none)
DEBUG = {"can i drive home": {"urgency_by": "learned_veto", "signs": ["numb"], "p_urgent": 0.081,
                              "rule_scope": "", "p_covered": 0.934}}


class FakeAnswer:
    def __init__(self, data, debug=None):
        self._data = data
        self.debug = debug or {}

    def to_dict(self):
        return self._data


class FakeAssistant:
    """Replies from REPLIES; the 'reversed' setting flips the passage order."""

    def __init__(self, *, reverse=False, fail_on=None):
        self.reverse, self.fail_on = reverse, fail_on

    def ask(self, question, *, k=10):
        if question == self.fail_on:
            raise RuntimeError("boom")
        texts, abstained, urgent = REPLIES.get(question, (["Warm up."], False, False))
        texts = list(reversed(texts)) if self.reverse else texts
        passages = [{"id": f"p{i}", "heading_path": ["Hip Injections", f"H{i}"], "text": t, "score": 1.0 / (i + 1)}
                    for i, t in enumerate(texts[:k])]  # no plain_text: exercises the Markdown fallback
        return FakeAnswer({"question": question, "message": "m", "passages": passages,
                           "abstained": abstained, "urgent": urgent}, DEBUG.get(question))

    def with_settings(self, settings):
        return FakeAssistant(reverse=settings == "reversed", fail_on=self.fail_on)


@pytest.fixture
def questions_csv(tmp_path):
    path = tmp_path / "questions.csv"
    path.write_text(CSV, encoding="utf-8")
    return path


@pytest.fixture
def fake(monkeypatch):
    assistant = FakeAssistant()
    monkeypatch.setattr(runner, "load_assistant", lambda: assistant)
    monkeypatch.setattr(runner, "retrieval_variants", lambda: {"dense": "plain", "bm25": "reversed"})
    return assistant


def test_json_prints_one_object_with_the_expected_metrics(fake, questions_csv, capsys):
    assert cli.main(["--json", "--questions", str(questions_csv)]) == 0
    out = capsys.readouterr().out
    metrics = json.loads(out)  # the whole of stdout is one JSON object
    assert set(metrics) == KEYS
    # ranked rows a, b, r: a and r hit at 1, b at 2 -> hit@1 = 2/3, hit@3 = 1, mrr = (1 + 1/2 + 1)/3
    assert metrics["hit@1"] == pytest.approx(2 / 3)
    assert metrics["hit@3"] == 1.0
    assert metrics["mrr@10"] == pytest.approx(2.5 / 3)
    # in-scope a, b: only a answered with a hit first -> 0.5; nobody abstained or urgent
    assert metrics["answer@1"] == 0.5
    assert (metrics["false_abstain"], metrics["false_urgent"]) == (0.0, 0.0)
    assert (metrics["oos_abstain"], metrics["red_flag_recall"]) == (1.0, 1.0)
    assert metrics["n"] == {"faq": 1, "out_of_scope": 1, "red_flag": 1, "section": 1}


def test_out_writes_the_four_artifacts(fake, questions_csv, tmp_path, capsys):
    out = tmp_path / "report"
    assert cli.main(["--out", str(out), "--questions", str(questions_csv), "--no-progress"]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(ARTIFACTS)
    assert set(json.loads((out / "metrics.json").read_text())) == KEYS
    table = pd.read_csv(out / "per_question.csv")
    assert list(table["id"]) == ["a", "b", "o", "r"]
    assert {"question", "kind", "gold", "top1_id", "top1_heading", "top3_id", "first_hit_rank",
            "abstained", "urgent"} <= set(table.columns)
    assert table.loc[table["id"] == "b", "first_hit_rank"].item() == 2
    assert table.loc[0, "top1_heading"] == "Hip Injections > H0"
    report = (out / "report.md").read_text()
    assert "## Metrics by kind" in report
    assert "**b**" in report and "came first: Hip Injections > H0: Numbness lasts hours." in report
    # How the decisions went, beside the miss: here a rule's warning the model vetoed.
    assert "decided: urgency: learned_veto (numb); p_urgent 0.08; scope: rules answer; p_covered 0.93" in report
    assert table.loc[table["id"] == "b", "decided"].item().startswith("urgency: learned_veto")
    assert table["decided"].isna().sum() == 3  # no debug, nothing made up
    assert (out / "hit_at_k.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "hit@1" in capsys.readouterr().out  # plain summary without --json


def test_compare_prints_one_row_per_variant(fake, questions_csv, tmp_path, capsys):
    assert cli.main(["--compare", "--questions", str(questions_csv), "--out", str(tmp_path / "c")]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("| variant | hit@1 |")
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["dense", "bm25"]
    # 'bm25' reverses the passages: a's hit moves to rank 2, b's to rank 1, r (one passage) stays 1,
    # so hit@1 = 2/3 (b, r), the same as 'dense' (a, r) though different rows hit.
    results = json.loads((tmp_path / "c" / "compare.json").read_text())
    assert list(results) == ["dense", "bm25"] and results["bm25"]["hit@1"] == pytest.approx(2 / 3)


def test_compare_json_is_one_object_keyed_by_variant(fake, questions_csv, capsys):
    assert cli.main(["--compare", "--json", "--questions", str(questions_csv)]) == 0
    results = json.loads(capsys.readouterr().out)
    assert list(results) == ["dense", "bm25"] and set(results["dense"]) == KEYS


def test_an_assistant_that_raises_gives_exit_1_and_names_the_question(monkeypatch, questions_csv, capsys):
    monkeypatch.setattr(runner, "load_assistant", lambda: FakeAssistant(fail_on="hi"))
    assert cli.main(["--json", "--questions", str(questions_csv)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "ask() raised on o ('hi')" in captured.err


def test_help_explains_itself():
    result = subprocess.run([sys.executable, "-m", "eval", "--help"], cwd=REPO, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for word in ("--questions", "--k", "--json", "--out", "--compare", "answer_quote", "red_flag_recall", "mrr@10"):
        assert word in result.stdout


@pytest.mark.parametrize("bad", ["0", "-3", "ten"])
def test_k_must_be_a_positive_whole_number(bad, capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(["--k", bad])
    assert info.value.code == 2


def test_table_formatting_keeps_shares_and_milliseconds_apart():
    from eval.report import compare_table

    # a share prints with 3 decimals, milliseconds with 1, a missing share as a dash
    table = compare_table({"bm25": {"hit@1": 0.5, "p50_ms": 0.664, "oos_abstain": None}})
    row = [cell.strip() for cell in table.splitlines()[2].split("|")[1:-1]]
    assert row[:2] == ["bm25", "0.500"]
    assert row[6] == "-" and row[10] == "0.7"


def test_the_decision_summary_gives_a_warning_signs_own_clause_when_it_was_read():
    from eval.outcome import decision_summary

    kept = {"urgency_by": "rules", "signs": ("fever",), "p_urgent": 0.05, "p_urgent_clause": 0.677,
            "rule_scope": "", "p_covered": 0.9}
    assert decision_summary(kept) == ("urgency: rules (fever); p_urgent 0.05; p_urgent_clause 0.68; "
                                      "scope: rules answer; p_covered 0.90")
    assert "clause" not in decision_summary({**kept, "p_urgent_clause": None})


@pytest.mark.parametrize("names", ["rules", "shipped,bogus", ","])
def test_techniques_must_name_known_ones_and_the_shipped_one(names, monkeypatch, capsys):
    """A bad ``--techniques`` is refused before any index is loaded (an hour's run would fail late)."""
    import eval.runner

    monkeypatch.setattr(eval.runner, "load_assistant", lambda: pytest.fail("loaded an assistant for a bad option"))
    assert cli.main(["--cross-validate", "--techniques", names]) == 2
    err = capsys.readouterr().err
    assert "--techniques" in err and "shipped" in err and "Traceback" not in err
