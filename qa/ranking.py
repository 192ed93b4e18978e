"""Learned re-ranking: the labelled messages nearest a question vote for their passages.

An alternate question (``qa/alternates.py``) lifts its passage by its own cosine
alone: the single nearest labelled wording decides, and one stray neighbour
can put the wrong passage first. Here the ten alternate questions nearest the
question each vote for their passage, weighted by how near they are (a softmax
of their cosines), as a k-nearest-neighbour classifier would; a small linear
model, fitted on the labelled sets, then weighs that vote against the fused
score, the document's own cosine and BM25 for the best candidates of the fused
ranking. Leave one set out over 15 sets it took hit@1 from 0.901 to 0.924
through the whole assistant (docs/evaluation.md).

The functions here are pure: the retriever calls them with all of the index's
alternate questions; training (``qa.training.fit_ranking``) with those of the
message's own set left out, so no message votes for itself. The model is a
``LinearModel`` with no vector, its cues :data:`RANKING_FEATURES`, stored in
``decisions.json`` with the other learned decisions.
"""

from __future__ import annotations

import numpy as np

from .decisions.learned import LinearModel

#: The candidates of the fused ranking that are re-ranked (the rest keep their order below them).
RERANK_DEPTH = 20
#: Alternate questions that vote, and the softmax temperature of their cosines: leave one set
#: out gave hit@1 0.912, 0.915 and 0.912 at 0.02, 0.05 and 0.1 (docs/evaluation.md).
VOTE_NEIGHBOURS = 10
VOTE_TEMPERATURE = 0.05
#: What the model reads of each candidate, in order: its fused score; its best cosine over the
#: document's own views; its BM25 score over the best BM25 score; the neighbours' vote for it;
#: how far its fused score is under the first candidate's (the same within one question, it
#: lets a model fitted candidate by candidate compare across questions).
RANKING_FEATURES = ("fused", "document", "lexical", "vote", "gap")


def neighbour_vote(view_cosines: np.ndarray, owner: np.ndarray, alternate_ids: np.ndarray, n_passages: int) -> np.ndarray:
    """Per passage, the share of the nearest alternate questions' softmax weight that points to it.

    ``view_cosines``: the question's cosine with every view (-1 where not retrieved);
    ``alternate_ids``: the views that are alternate questions allowed to vote.
    """
    vote = np.zeros(n_passages, dtype=np.float64)
    if not len(alternate_ids):
        return vote
    cosines = view_cosines[alternate_ids]
    if len(cosines) > VOTE_NEIGHBOURS:
        nearest = np.argpartition(-cosines, VOTE_NEIGHBOURS - 1)[:VOTE_NEIGHBOURS]
    else:
        nearest = np.arange(len(cosines))
    nearest = nearest[cosines[nearest] > -1.0]  # only views the search retrieved
    if not len(nearest):
        return vote
    weights = np.exp((cosines[nearest] - cosines[nearest].max()) / VOTE_TEMPERATURE)
    np.add.at(vote, owner[alternate_ids[nearest]], weights / weights.sum())
    return vote


def candidate_features(candidates: np.ndarray, *, fused: np.ndarray, document: np.ndarray,
                       lexical_share: np.ndarray, vote: np.ndarray) -> np.ndarray:
    """One row of :data:`RANKING_FEATURES` per candidate passage (best fused first)."""
    top = fused[candidates[0]] if len(candidates) else 0.0
    return np.stack([fused[candidates], document[candidates], lexical_share[candidates], vote[candidates],
                     fused[candidates] - top], axis=1).astype(np.float64)


def rerank(candidates: np.ndarray, features: np.ndarray, model: LinearModel) -> tuple[np.ndarray, np.ndarray]:
    """The candidates in the model's order (ties keep the fused order), and the model's probability
    that each holds the answer, which becomes the passage's score (best first, as fused scores are)."""
    z = np.clip(features @ model.weights[: features.shape[1]] + model.bias, -50.0, 50.0)
    order = np.argsort(-z, kind="stable")
    return candidates[order], 1.0 / (1.0 + np.exp(-z[order]))
