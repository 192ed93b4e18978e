"""Pure metric functions on tiny hand-built IR-shaped fixtures.

Each expected value is worked out in a comment from the fixture beside it.
"""

from __future__ import annotations

import pytest

from eval.metrics import compute_metrics, hit_at_k, hit_curve, metrics_by_kind, mrr_at_k, percentile, share

# Three ranked questions: q1 hit at rank 1, q2 first hit at rank 3 (and 7), q3 no hit.
RANKS = {"q1": {1}, "q2": {3, 7}, "q3": set()}
QIDS = ["q1", "q2", "q3"]


def test_hit_at_k():
    # k=1: only q1 -> 1/3. k=3: q1 and q2 -> 2 of 3 = 0.667. k=5: still 2/3.
    assert hit_at_k(RANKS, QIDS, k=1) == pytest.approx(1 / 3)
    assert hit_at_k(RANKS, QIDS, k=3) == pytest.approx(2 / 3)
    assert hit_at_k(RANKS, QIDS, k=5) == pytest.approx(2 / 3)


def test_mrr_uses_first_hit_within_cutoff():
    # (1/1 + 1/3 + 0) / 3 = 0.444; with cutoff 2 q2's rank 3 no longer counts: (1 + 0 + 0)/3 = 0.333
    assert mrr_at_k(RANKS, QIDS, k=10) == pytest.approx(4 / 9)
    assert mrr_at_k(RANKS, QIDS, k=2) == pytest.approx(1 / 3)


def test_empty_row_sets_give_none_not_zero():
    assert hit_at_k(RANKS, [], k=1) is None
    assert mrr_at_k(RANKS, []) is None
    assert share({}, []) is None
    assert percentile([], 50) is None


def test_missing_entries_count_as_misses():
    # q9 has no ranks and no flag: hit@1 over [q1, q9] = 1/2, share of flags = 0/2.
    assert hit_at_k(RANKS, ["q1", "q9"], k=1) == 0.5
    assert share({}, ["q1", "q9"]) == 0.0


def test_percentile_interpolates_linearly():
    # sorted [10, 20, 30, 40]: p50 sits halfway between 20 and 30 = 25;
    # p95 at position 0.95 * 3 = 2.85 -> 30 + 0.85 * 10 = 38.5
    assert percentile([40, 10, 30, 20], 50) == 25
    assert percentile([40, 10, 30, 20], 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0


def test_hit_curve_is_monotone_and_keyed_one_to_ten():
    curve = hit_curve(RANKS, QIDS, max_k=10)
    assert list(curve) == list(range(1, 11))
    # 1/3 until k=3, then 2/3 (q3 never hits)
    assert curve[1] == pytest.approx(1 / 3) and curve[2] == pytest.approx(1 / 3)
    assert curve[3] == pytest.approx(2 / 3) and curve[10] == pytest.approx(2 / 3)


# A six-row run covering every kind plus a custom one:
#   f  faq       hit@1, answered, not urgent
#   p  paraphrase first hit rank 2, answered, marked urgent (false urgent)
#   c  custom    hit@1 but abstained (false abstain; counts as in-scope)
#   o1 oos       abstained            o2 oos answered
#   r  red_flag  hit@1, urgent
KINDS = {"f": "faq", "p": "paraphrase", "c": "custom", "o1": "out_of_scope", "o2": "out_of_scope", "r": "red_flag"}
GOLD = {"f": ("a",), "p": ("b",), "c": ("c",), "o1": (), "o2": (), "r": ("d",)}
HITS = {"f": {1}, "p": {2}, "c": {1}, "o1": set(), "o2": {1}, "r": {1}}
ABSTAINED = {"f": False, "p": False, "c": True, "o1": True, "o2": False, "r": False}
URGENT = {"f": False, "p": True, "c": False, "o1": False, "o2": False, "r": True}
LATENCY = {"f": 10.0, "p": 20.0, "c": 30.0, "o1": 40.0, "o2": 50.0, "r": 60.0}


def _metrics(**overrides):
    data = dict(kinds=KINDS, gold=GOLD, ranks=HITS, abstained=ABSTAINED, urgent=URGENT, latency_ms=LATENCY)
    return compute_metrics(**(data | overrides))


def test_compute_metrics_on_a_mixed_run():
    m = _metrics()
    assert list(m) == ["hit@1", "hit@3", "hit@5", "mrr@10", "answer@1", "oos_abstain", "false_abstain",
                       "red_flag_recall", "false_urgent", "p50_ms", "p95_ms", "n"]
    # ranked rows: f, p, c, r (o2's hit is ignored: out_of_scope has no gold).
    # hit@1: f, c, r = 3/4; hit@3: all four = 1.0; mrr: (1 + 1/2 + 1 + 1)/4 = 0.875
    assert m["hit@1"] == 0.75 and m["hit@3"] == 1.0 and m["hit@5"] == 1.0
    assert m["mrr@10"] == pytest.approx(0.875)
    # in-scope rows: f, p, c (custom kind counts). answered with hit first: only f -> 1/3
    assert m["answer@1"] == pytest.approx(1 / 3)
    # oos: o1 abstained, o2 not -> 0.5; false_abstain: c of (f, p, c) -> 1/3
    assert m["oos_abstain"] == 0.5
    assert m["false_abstain"] == pytest.approx(1 / 3)
    # red_flag_recall: r urgent -> 1.0; false_urgent: p of (f, p, c) -> 1/3
    assert m["red_flag_recall"] == 1.0
    assert m["false_urgent"] == pytest.approx(1 / 3)
    # latencies 10..60: p50 = 35; p95 at position 4.75 -> 50 + 0.75 * 10 = 57.5
    assert m["p50_ms"] == 35.0 and m["p95_ms"] == pytest.approx(57.5)
    assert m["n"] == {"custom": 1, "faq": 1, "out_of_scope": 2, "paraphrase": 1, "red_flag": 1}


def test_ranking_ignores_abstention_but_answer_at_1_does_not():
    # Everyone abstains: ranking unchanged (hit@1 = 3/4), answer@1 drops to 0.
    m = _metrics(abstained={q: True for q in KINDS})
    assert m["hit@1"] == 0.75
    assert m["answer@1"] == 0.0 and m["false_abstain"] == 1.0 and m["oos_abstain"] == 1.0


def test_metrics_by_kind_restricts_rows_and_leaves_inapplicable_metrics_none():
    by_kind = metrics_by_kind(kinds=KINDS, gold=GOLD, ranks=HITS, abstained=ABSTAINED, urgent=URGENT, latency_ms=LATENCY)
    assert set(by_kind) == {"custom", "faq", "out_of_scope", "paraphrase", "red_flag"}
    # paraphrase alone: first hit at rank 2 -> hit@1 0, hit@3 1, mrr 0.5; urgent -> false_urgent 1
    para = by_kind["paraphrase"]
    assert (para["hit@1"], para["hit@3"], para["mrr@10"], para["false_urgent"]) == (0.0, 1.0, 0.5, 1.0)
    assert para["oos_abstain"] is None and para["red_flag_recall"] is None
    # out_of_scope alone: no ranked rows at all -> ranking metrics None; oos_abstain 1 of 2
    oos = by_kind["out_of_scope"]
    assert oos["hit@1"] is None and oos["answer@1"] is None and oos["oos_abstain"] == 0.5
