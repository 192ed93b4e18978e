"""``python -m eval --urgency-folds``: the urgency decision fitted on some folds of sets, judged on the rest."""

from __future__ import annotations

import json

import pytest

from eval import cli, runner
from eval.urgency_folds import UrgencyCount, count, deal, urgency_folds


def test_count_names_missed_red_flags_and_false_alarms():
    assert count([True, False, True, False], [True, True, False, False]) == UrgencyCount(1, 2, 1, 2)
    assert UrgencyCount(1, 2, 3, 4) + UrgencyCount(1, 1, 1, 1) == UrgencyCount(2, 3, 4, 5)


def test_sets_are_dealt_in_turn_into_non_empty_folds():
    names = [f"s{i}" for i in range(7)]
    folds = deal(names, 3)
    assert folds == [["s0", "s3", "s6"], ["s1", "s4"], ["s2", "s5"]]
    assert len(deal(names, 20)) == 7 and deal(names, 1) == [names]


@pytest.fixture
def few_sets(monkeypatch, few_labelled, assistant):
    """The labelled sets cut small (``few_labelled``), read over the session's real index."""
    monkeypatch.setenv("QA_TRAINING_DIR", str(few_labelled))
    monkeypatch.setattr(runner, "load_assistant", lambda: assistant)
    from qa.training import read_labelled

    return read_labelled(few_labelled)


def test_every_labelled_message_is_judged_once_by_a_model_that_did_not_see_its_set(few_sets, assistant):
    names = sorted({m.source for m in few_sets})
    results = urgency_folds(assistant, folds=3, new_sets=names[:1])
    total = results["total"]
    assert total.red_flags == sum(m.urgent for m in few_sets)
    assert total.red_flags + total.others == len(few_sets)
    assert [n for fold, _ in results["folds"] for n in fold] and sorted(
        n for fold, _ in results["folds"] for n in fold) == names
    fresh = results["new_sets"]
    assert fresh.red_flags + fresh.others == sum(m.source == names[0] for m in few_sets)
    # The shipped settings make few errors even on a few messages per set: the counts are real decisions.
    assert total.missed <= total.red_flags // 4 and total.false_alarms <= total.others // 4


def test_the_command_prints_json_and_names_an_unknown_set(few_sets, capsys):
    assert cli.main(["--urgency-folds", "2", "--json", "--no-sentences", "--word-weight", "2"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert len(printed["folds"]) == 2 and printed["new_sets"] is None
    assert printed["total"]["red_flags"] == sum(m.urgent for m in few_sets)
    assert cli.main(["--urgency-folds", "--new-sets", "no_such_set"]) == cli.EXIT_USAGE
    assert "no labelled set named no_such_set" in capsys.readouterr().err


def test_the_veto_quantile_reaches_every_fit_and_a_bad_one_is_a_usage_error(few_sets, capsys, monkeypatch):
    import qa.training

    seen = []
    real_pick = qa.training.pick_veto
    monkeypatch.setattr(qa.training, "pick_veto", lambda *a, **kw: seen.append(kw["quantile"]) or real_pick(*a, **kw))
    assert cli.main(["--urgency-folds", "2", "--json", "--veto-quantile", "0.05"]) == 0
    assert seen and set(seen) == {0.05}  # every fold's fit (and none at the shipped 0)
    assert json.loads(capsys.readouterr().out)["total"]["red_flags"] == sum(m.urgent for m in few_sets)
    assert cli.main(["--urgency-folds", "2", "--veto-quantile", "1.5"]) == cli.EXIT_USAGE
    err = capsys.readouterr().err
    assert "quantile" in err and "Traceback" not in err


def _scored(rng, n):
    from eval.urgency_folds import Scored

    levels = ["", "warning", "personal", "emergency"]
    return [Scored(bool(rng.random() < 0.3), levels[int(rng.integers(4))], float(rng.random()),
                   None if rng.random() < 0.5 else float(rng.random())) for _ in range(n)]


def test_the_frontier_decides_every_message_as_the_policy_does():
    """``decide_all`` is the sweep's shortcut: at any fixed cut and veto it must agree with
    ``decide_urgency`` message by message, or the frontier would report settings that do not exist."""
    import numpy as np

    from eval.urgency_folds import decide_all
    from qa.decisions.policy import decide_urgency
    from qa.decisions.triage import Triage

    rng = np.random.default_rng(7)
    scored = _scored(rng, 400)
    for cut, veto in ((0.3, {"warning": 0.1, "personal": 0.25}), (0.6, {"warning": 0.5, "personal": 0.0}),
                      (0.02, {"warning": 0.0, "personal": 0.6})):
        fast = decide_all(scored, cut, veto)
        slow = [decide_urgency(Triage(urgent=s.level != "", emergency=s.level == "emergency", level=s.level),
                               s.probability, cut, veto_below=veto, clause_probability=s.clause).urgent for s in scored]
        assert fast.tolist() == slow


def test_the_frontier_finds_the_fewest_false_alarms_for_each_number_of_misses_allowed():
    import numpy as np

    from eval.urgency_folds import Scored, count, decide_all, frontier

    # Red flags the model ranks well but one (p 0.15, no rule); false alarms above and below it.
    scored = [Scored(True, "", 0.9, None), Scored(True, "", 0.15, None), Scored(True, "warning", 0.5, None),
              Scored(False, "", 0.2, None), Scored(False, "", 0.1, None), Scored(False, "personal", 0.05, None)]
    points = {p.most_missed: p for p in frontier(scored, misses=(0, 1))}
    # Catching the p 0.15 red flag takes a cut at or under 0.15, which flags the false alarm at 0.2;
    # the personal one is vetoed at any veto over 0.05.
    assert (points[0].count.missed, points[0].count.false_alarms) == (0, 1)
    assert (points[1].count.missed, points[1].count.false_alarms) == (1, 0)
    # Each point's settings do what it says, and allowing a miss never costs more false alarms.
    rng = np.random.default_rng(3)
    many = _scored(rng, 300)
    found = frontier(many)
    for point in found:
        assert count(decide_all(many, point.cut, point.veto), [s.red_flag for s in many]) == point.count
        assert point.count.missed <= point.most_missed
    assert [p.count.false_alarms for p in found] == sorted((p.count.false_alarms for p in found), reverse=True)


def test_the_frontier_is_printed_beside_the_folds_and_is_refused_without_them(few_sets, capsys):
    assert cli.main(["--urgency-folds", "2", "--frontier"]) == 0
    out = capsys.readouterr().out
    assert "| missed red flags allowed | fewest false alarms |" in out and "shipped settings, fitted per fold" in out
    assert cli.main(["--urgency-folds", "2", "--json", "--frontier"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["frontier"] and all(p["count"]["red_flags"] == printed["total"]["red_flags"]
                                       for p in printed["frontier"])
    assert cli.main(["--frontier"]) == cli.EXIT_USAGE
    assert "only go with --urgency-folds" in capsys.readouterr().err
