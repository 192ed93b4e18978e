"""Small linear models that learn the two decisions from labelled messages.

Rules catch the wordings someone thought of; every new set of patient messages
had wordings nobody did. A logistic regression over the question's sentence
vector (which retrieval computes anyway) plus a few named cues generalises
from the ~1,500 labelled messages in ``eval/sets/``: is this message urgent,
and does the document cover it. ``fit_model`` fits one (scikit-learn, only at
build time); ``LinearModel.probability`` is a dot product and a sigmoid, so
serving needs no scikit-learn and no pickle: a model is a few arrays and a
threshold, stored as plain JSON numbers (``to_json``/``from_json``).

``pick_threshold`` chooses where to cut, from probabilities the model gave
messages it did not train on (leave one set out): a missed case costs
``miss_cost`` false alarms. This module does not read files or encode text.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: Inverse regularisation strength (scikit-learn's C), chosen leave-one-set-out (docs/evaluation.md).
DEFAULT_C = 1.0


@dataclass(frozen=True)
class LinearModel:
    """``p = sigmoid(weights . features + bias)``; the decision is ``p >= threshold``."""

    weights: np.ndarray
    bias: float
    threshold: float
    cues: tuple[str, ...]  # names of the cue features after the vector, in order

    def probability(self, vector: np.ndarray, cues: Sequence[float]) -> float:
        z = float(np.dot(self.weights[: len(vector)], vector) + np.dot(self.weights[len(vector):], cues) + self.bias)
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> dict:
        return {"weights": [float(w) for w in self.weights], "bias": float(self.bias),
                "threshold": float(self.threshold), "cues": list(self.cues)}

    @classmethod
    def from_json(cls, data: dict) -> "LinearModel":
        weights = np.asarray(data["weights"], dtype=np.float64)
        if weights.ndim != 1 or not np.all(np.isfinite(weights)):
            raise ValueError("weights must be a list of finite numbers")
        threshold, bias = float(data["threshold"]), float(data["bias"])
        if not (0.0 <= threshold <= 1.0 and math.isfinite(bias)):
            raise ValueError("threshold must be within [0, 1] and bias finite")
        return cls(weights, bias, threshold, tuple(str(c) for c in data["cues"]))


def features(vectors: np.ndarray, cues: np.ndarray) -> np.ndarray:
    """The model's input rows: each message's vector, then its cues."""
    return np.hstack([np.asarray(vectors, dtype=np.float64), np.asarray(cues, dtype=np.float64)])


def fit_model(vectors: np.ndarray, cues: np.ndarray, labels: Sequence[bool], *, cue_names: tuple[str, ...],
              threshold: float = 0.5, c: float = DEFAULT_C) -> LinearModel:
    """Logistic regression with balanced classes (positives are the rarer kind)."""
    from sklearn.linear_model import LogisticRegression  # build time only

    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("training needs examples of both classes")
    fitted = LogisticRegression(C=c, class_weight="balanced", solver="newton-cholesky", max_iter=200).fit(
        features(vectors, cues), y)
    return LinearModel(fitted.coef_[0].copy(), float(fitted.intercept_[0]), threshold, cue_names)


def pick_threshold(probabilities: Sequence[float], labels: Sequence[bool], *, miss_cost: float,
                   candidates: Sequence[float] = tuple(np.linspace(0.02, 0.98, 49))) -> float:
    """The cut with the lowest cost (missed positives x ``miss_cost`` + false positives);
    among equal costs the highest cut, so an ordinary message is not flagged for nothing."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    best = min(candidates, key=lambda t: (miss_cost * np.sum(y & (p < t)) + np.sum(~y & (p >= t)), -t))
    return float(best)
