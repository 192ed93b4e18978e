"""Evaluation metrics as pure functions over IR-shaped data.

Inputs are plain dicts keyed by question id, as the IR community shapes them
(BEIR, sentence-transformers' InformationRetrievalEvaluator):

- ``kinds``: ``{qid: kind}``, one entry per question (defines the rows);
- ``ranks``: ``{qid: set of 1-based ranks of retrieved passages that hit}``;
- ``abstained`` / ``urgent``: ``{qid: bool}``;
- ``latency_ms``: ``{qid: milliseconds of one ask() call}``.

``compute_metrics`` returns flat keys (``hit@1`` ... ``n``). A share over an
empty set of rows is ``None`` (JSON ``null``) rather than 0 or NaN, so that a
question file without, say, red-flag rows does not report a fake failure.

This module does no I/O, no matching and no formatting.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Collection, Iterable, Mapping

from eval.dataset import OUT_OF_SCOPE, RED_FLAG

HIT_KS = (1, 3, 5)
MRR_K = 10


def hit_at_k(ranks: Mapping[str, Collection[int]], qids: Iterable[str], *, k: int) -> float | None:
    """Share of ``qids`` with at least one hit among the first ``k`` passages."""
    qids = list(qids)
    if not qids:
        return None
    return sum(any(r <= k for r in ranks.get(q, ())) for q in qids) / len(qids)


def mrr_at_k(ranks: Mapping[str, Collection[int]], qids: Iterable[str], *, k: int = MRR_K) -> float | None:
    """Mean of 1/rank of the first hit within ``k`` (0 when there is none)."""
    qids = list(qids)
    if not qids:
        return None
    total = 0.0
    for q in qids:
        best = min((r for r in ranks.get(q, ()) if r <= k), default=None)
        total += 1.0 / best if best else 0.0
    return total / len(qids)


def share(flags: Mapping[str, bool], qids: Iterable[str]) -> float | None:
    """Share of ``qids`` whose flag is true (a missing flag counts as false)."""
    qids = list(qids)
    if not qids:
        return None
    return sum(bool(flags.get(q, False)) for q in qids) / len(qids)


def percentile(values: Iterable[float], pct: float) -> float | None:
    """Linear-interpolation percentile (numpy's default), ``pct`` in [0, 100]."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = (len(ordered) - 1) * pct / 100.0
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def hit_curve(ranks: Mapping[str, Collection[int]], qids: Iterable[str], *, max_k: int = 10) -> dict[int, float | None]:
    """``{k: hit@k}`` for k = 1..max_k, for the hit@k plot."""
    qids = list(qids)
    return {k: hit_at_k(ranks, qids, k=k) for k in range(1, max_k + 1)}


def ranked_qids(kinds: Mapping[str, str], gold: Mapping[str, Collection[str]]) -> list[str]:
    """Rows that count for ranking: any kind but out_of_scope, with a gold quote."""
    return [q for q, kind in kinds.items() if kind != OUT_OF_SCOPE and gold.get(q)]


def in_scope_qids(kinds: Mapping[str, str]) -> list[str]:
    """Rows the assistant should answer; unknown kinds count as in-scope."""
    return [q for q, kind in kinds.items() if kind not in (OUT_OF_SCOPE, RED_FLAG)]


def compute_metrics(
    *,
    kinds: Mapping[str, str],
    gold: Mapping[str, Collection[str]],
    ranks: Mapping[str, Collection[int]],
    abstained: Mapping[str, bool],
    urgent: Mapping[str, bool],
    latency_ms: Mapping[str, float],
) -> dict:
    """All headline metrics, with exactly the keys the issue names.

    Ranking metrics ignore abstention (passages come back either way);
    ``answer@1`` is what the patient sees: answered *and* first passage a hit.
    """
    ranked = ranked_qids(kinds, gold)
    in_scope = in_scope_qids(kinds)
    out_of_scope = [q for q, kind in kinds.items() if kind == OUT_OF_SCOPE]
    red_flags = [q for q, kind in kinds.items() if kind == RED_FLAG]
    answered_hit = {q: (not abstained.get(q, False)) and 1 in ranks.get(q, ()) for q in in_scope}
    latencies = [latency_ms[q] for q in kinds if q in latency_ms]
    metrics: dict = {f"hit@{k}": hit_at_k(ranks, ranked, k=k) for k in HIT_KS}
    metrics[f"mrr@{MRR_K}"] = mrr_at_k(ranks, ranked, k=MRR_K)
    metrics["answer@1"] = share(answered_hit, in_scope)
    metrics["oos_abstain"] = share(abstained, out_of_scope)
    metrics["false_abstain"] = share(abstained, in_scope)
    metrics["red_flag_recall"] = share(urgent, red_flags)
    metrics["false_urgent"] = share(urgent, in_scope)
    metrics["p50_ms"] = percentile(latencies, 50)
    metrics["p95_ms"] = percentile(latencies, 95)
    metrics["n"] = dict(sorted(Counter(kinds.values()).items()))
    return metrics


def metrics_by_kind(
    *,
    kinds: Mapping[str, str],
    gold: Mapping[str, Collection[str]],
    ranks: Mapping[str, Collection[int]],
    abstained: Mapping[str, bool],
    urgent: Mapping[str, bool],
    latency_ms: Mapping[str, float],
) -> dict[str, dict]:
    """``compute_metrics`` restricted to each kind in turn (metrics that do
    not apply to a kind come out as ``None``)."""
    result = {}
    for kind in sorted(set(kinds.values())):
        subset = {q: k for q, k in kinds.items() if k == kind}
        result[kind] = compute_metrics(
            kinds=subset, gold=gold, ranks=ranks, abstained=abstained, urgent=urgent, latency_ms=latency_ms
        )
    return result
