"""Leave one set out (``python -m eval --cross-validate``): a held-out set is neither a training
message nor an alternate question of the index it is scored on. Real model, real index, two small
sets cut from the labelled ones."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from eval.crossval import TECHNIQUES, cross_validate, table, technique_table, techniques
from qa.alternates import ALTERNATE_KIND
from qa.training import ALTERNATE_KINDS

SETS = Path(__file__).resolve().parents[1] / "eval" / "sets"


def _small_set(source: str, target: Path) -> Path:
    """The first rows of each kind of a labelled set: red flags, out-of-scope and in-scope questions."""
    with (SETS / f"{source}.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    picked = []
    for kind in ("red_flag", "out_of_scope", "faq", "paraphrase", "section"):
        picked += [r for r in rows if r["kind"] == kind][:3]
    with target.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["id", "question", "kind", "answer_quote"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(picked)
    return target


def test_each_held_out_set_is_scored_by_an_assistant_that_never_saw_it(assistant, tmp_path, monkeypatch):
    first, second = _small_set("questions", tmp_path / "first.csv"), _small_set("holdout", tmp_path / "second.csv")
    trained_on = []
    original = type(assistant).trained_on

    def recording(self, messages):
        trained_on.append({m.source for m in messages})
        built = original(self, messages)
        trained_on.append({v.text for v in built.index.views if v.kind == ALTERNATE_KIND})
        return built

    monkeypatch.setattr(type(assistant), "trained_on", recording)
    results = cross_validate(assistant, [first, second], k=5)

    assert set(results) == {"first", "second", "mean"}
    # The document-only assistant first (nothing to learn from), then one per held-out set, each from the other.
    assert trained_on[0] == set() and trained_on[1] == set()
    assert trained_on[2] == {"second"} and trained_on[4] == {"first"}
    first_questions = {r["question"].strip() for r in csv.DictReader(first.open(encoding="utf-8"))
                       if r["kind"] in ALTERNATE_KINDS}
    assert first_questions and not first_questions & trained_on[3]  # "first" held out: none of it is an alternate
    assert first_questions <= trained_on[5]  # while "second" is scored, "first" is
    for name in ("first", "second"):
        assert set(results[name]) == set(TECHNIQUES)
        assert results[name]["shipped"]["n"]["red_flag"] == 3
    mean = results["mean"]["shipped"]["hit@1"]
    assert mean == pytest.approx((results["first"]["shipped"]["hit@1"] + results["second"]["shipped"]["hit@1"]) / 2)
    assert "| **mean** |" in table(results)
    assert list(techniques(results)) == list(TECHNIQUES.values())
    assert technique_table(results).count("\n") == 1 + len(TECHNIQUES)


def test_shipped_alone_fits_once_per_set_and_shows_each_row_as_it_comes(assistant, tmp_path, monkeypatch):
    """``--techniques shipped``: no rules-alone or learned-alone variant is fitted or scored (half
    the work over 49 sets), and each held-out set's metrics are reported as soon as it is scored."""
    first, second = _small_set("questions", tmp_path / "first.csv"), _small_set("holdout", tmp_path / "second.csv")
    fits = []
    original = type(assistant).fit_decisions
    monkeypatch.setattr(type(assistant), "fit_decisions",
                        lambda self, messages, *a, **kw: fits.append(len(messages)) or original(self, messages, *a, **kw))
    seen = []
    results = cross_validate(assistant, [first, second], k=5, only=("shipped",),
                             on_set=lambda name, metrics: seen.append((name, sorted(metrics))))

    assert seen == [("first", ["shipped"]), ("second", ["shipped"])]
    assert len(fits) == 2  # one fit per held-out set: the shipped assistant's (all four: two each)
    assert set(results["mean"]) == {"shipped"} and results["first"]["shipped"]["n"]["red_flag"] == 3
    assert "(" not in table(results).splitlines()[2]  # no rules-alone figure in brackets
    assert technique_table(results).count("\n") == 2  # header, rule, the one technique
    with pytest.raises(ValueError, match="shipped"):
        cross_validate(assistant, [first], only=("rules",))
    with pytest.raises(ValueError, match="unknown technique"):
        cross_validate(assistant, [first], only=("shipped", "bogus"))
