"""Rank fusion: combine several rankings of the same passages into one.

Reciprocal rank fusion (Cormack et al., 2009): score(d) = sum over rankings
of 1 / (RRF_K + rank(d)), ranks starting at 1. It needs no score
calibration between dense cosines and BM25 scores, which live on different
scales. Pure functions over arrays; nothing here searches.
"""

from __future__ import annotations

import numpy as np

RRF_K = 60


def ranks(scores: np.ndarray) -> np.ndarray:
    """1-based rank of every item by descending score (ties share the best rank)."""
    scores = np.asarray(scores, dtype=np.float64)
    order = np.argsort(-scores, kind="stable")
    # ties: give every tied item the smallest rank of its group
    unique, first = np.unique(-scores[order], return_index=True)
    group = np.searchsorted(unique, -scores)
    return first[group].astype(np.float64) + 1


def rrf(score_lists: list[np.ndarray], *, k: int = RRF_K, weights: list[float] | None = None) -> np.ndarray:
    """Reciprocal-rank-fused score per item; items scoring 0 everywhere stay at 0.

    An item whose score in one ranking is exactly zero (e.g. no query word in a
    BM25 ranking) gets nothing from that ranking rather than a last-place share.
    """
    if not score_lists:
        raise ValueError("rrf needs at least one ranking")
    weights = weights or [1.0] * len(score_lists)
    fused = np.zeros(len(score_lists[0]), dtype=np.float64)
    for scores, weight in zip(score_lists, weights):
        scores = np.asarray(scores, dtype=np.float64)
        contribution = weight / (k + ranks(scores))
        fused += np.where(scores > 0, contribution, 0.0)
    return fused
