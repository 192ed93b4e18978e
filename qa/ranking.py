"""Learned re-ranking: the labelled messages nearest a question vote for their passages.

An alternate question (``qa/alternates.py``) lifts its passage by its own cosine
alone: the single nearest labelled wording decides, and one stray neighbour
can put the wrong passage first. Here the ten alternate questions nearest the
question each vote for their passage, weighted by how near they are (a softmax
of their cosines), as a k-nearest-neighbour classifier would, and the ten that
share the most words with it (BM25) vote again; a small linear model, fitted
on the labelled sets, then weighs the two votes against the fused score, the
document's own cosine and BM25 for the best candidates of the fused ranking.
Leave one set out over 15 sets it took hit@1 from 0.901 to 0.940 through the
whole assistant (docs/evaluation.md).

The functions here are pure: the retriever calls them with all of the index's
alternate questions; training (``qa.training.fit_ranking``) with those of the
message's own set left out, so no message votes for itself. The model is a
``LinearModel`` with no vector, its cues :data:`RANKING_FEATURES`, stored in
``decisions.json`` with the other learned decisions.
"""

from __future__ import annotations

import numpy as np

from .decisions.learned import LinearModel

#: The candidates of the fused ranking that are re-ranked (at least the ``k`` asked for).
RERANK_DEPTH = 20
#: Alternate questions that vote, and the softmax temperature of their cosines: leave one set
#: out gave hit@1 0.912, 0.915 and 0.912 at 0.02, 0.05 and 0.1 (docs/evaluation.md).
VOTE_NEIGHBOURS = 10
VOTE_TEMPERATURE = 0.05
#: The temperature of the word vote, over BM25 scores divided by the best one.
WORD_VOTE_TEMPERATURE = 0.1
#: What the model reads of each candidate, in order: its fused score; its best cosine over the
#: document's own views; its BM25 score over the best BM25 score; the neighbours' vote for it by
#: meaning (cosines) and by words (BM25 over the alternate questions: patients share words such as
#: "jab" or "gel shot" that the document never uses); how far its fused score is under the first
#: candidate's (the same within one question, it lets a model fitted candidate by candidate compare
#: across questions).
RANKING_FEATURES = ("fused", "document", "lexical", "vote", "gap", "word_vote")


def vote(similarities: np.ndarray, passages: np.ndarray, n_passages: int, *, temperature: float) -> np.ndarray:
    """Per passage, the share of the ``VOTE_NEIGHBOURS`` nearest voters' softmax weight that points to it.

    ``similarities[i]``: how near voter ``i`` (an alternate question allowed to vote) is to the
    question, above 0 (a cosine shifted by 1, or a BM25 share; 0: not retrieved, no shared word);
    ``passages[i]``: the passage it belongs to.
    """
    out = np.zeros(n_passages, dtype=np.float64)
    if len(similarities) > VOTE_NEIGHBOURS:
        nearest = np.argpartition(-similarities, VOTE_NEIGHBOURS - 1)[:VOTE_NEIGHBOURS]
    else:
        nearest = np.arange(len(similarities))
    nearest = nearest[similarities[nearest] > 0]
    if not len(nearest):
        return out
    weights = np.exp((similarities[nearest] - similarities[nearest].max()) / temperature)
    np.add.at(out, passages[nearest], weights / weights.sum())
    return out


def neighbour_vote(view_cosines: np.ndarray, owner: np.ndarray, alternate_ids: np.ndarray,
                   n_passages: int) -> np.ndarray:
    """The vote by meaning: ``view_cosines`` is the question's cosine with every view (-1 where
    not retrieved); ``alternate_ids`` the views that are alternate questions allowed to vote."""
    return vote(view_cosines[alternate_ids].astype(np.float64) + 1.0, owner[alternate_ids], n_passages,
                temperature=VOTE_TEMPERATURE)


def word_vote(bm25: np.ndarray, passages: np.ndarray, n_passages: int) -> np.ndarray:
    """The vote by words: ``bm25`` the question's BM25 score with each alternate question allowed
    to vote, ``passages`` theirs; scores are divided by the best one."""
    best = float(bm25.max()) if len(bm25) else 0.0
    if best <= 0:
        return np.zeros(n_passages, dtype=np.float64)
    return vote(bm25 / best, passages, n_passages, temperature=WORD_VOTE_TEMPERATURE)


def candidate_features(candidates: np.ndarray, *, fused: np.ndarray, document: np.ndarray,
                       lexical_share: np.ndarray, meaning_vote: np.ndarray, words_vote: np.ndarray) -> np.ndarray:
    """One row of :data:`RANKING_FEATURES` per candidate passage (best fused first)."""
    top = fused[candidates[0]] if len(candidates) else 0.0
    return np.stack([fused[candidates], document[candidates], lexical_share[candidates], meaning_vote[candidates],
                     fused[candidates] - top, words_vote[candidates]], axis=1).astype(np.float64)


def rerank(candidates: np.ndarray, features: np.ndarray, model: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    """The candidates in the model's order (ties keep the fused order), and the model's probability
    that each holds the answer, which becomes the passage's score (best first, as fused scores are)."""
    z = np.clip(features @ model.weights[: features.shape[1]] + model.bias, -50.0, 50.0)
    order = np.argsort(-z, kind="stable")
    return candidates[order], 1.0 / (1.0 + np.exp(-z[order]))
