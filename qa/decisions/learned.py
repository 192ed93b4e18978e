"""Small linear models that learn the two decisions from labelled messages.

Rules catch the wordings someone thought of; every new set of patient messages
had wordings nobody did. A logistic regression over the question's sentence
vector (which retrieval computes anyway) plus a few named cues, or the
message's words (``qa.decisions.words``), generalises
from the ~2,000 labelled messages in ``eval/sets/``: is this message urgent,
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

from .words import Words, fit_words

#: Inverse regularisation strength (scikit-learn's C), chosen leave-one-set-out (docs/evaluation.md).
DEFAULT_C = 1.0


@dataclass(frozen=True)
class LinearModel:
    """``p = sigmoid(weights . features + bias)``; the decision is ``p >= threshold``."""

    weights: np.ndarray
    bias: float
    threshold: float
    cues: tuple[str, ...]  # names of the cue features after the vector, in order
    words: Words | None = None  # the message's words, after the cues (qa.decisions.words)

    def probability(self, vector: np.ndarray, cues: Sequence[float], text: str = "") -> float:
        end = len(vector) + len(cues)
        z = float(np.dot(self.weights[: len(vector)], vector) + np.dot(self.weights[len(vector):end], cues) + self.bias)
        if self.words is not None:
            columns, values = self.words.features(text)
            z += float(np.dot(self.weights[end + columns], values))
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, z))))

    def to_json(self) -> dict:
        return {"weights": [float(w) for w in self.weights], "bias": float(self.bias),
                "threshold": float(self.threshold), "cues": list(self.cues),
                "words": self.words.to_json() if self.words is not None else None}

    @classmethod
    def from_json(cls, data: dict) -> "LinearModel":
        weights = np.asarray(data["weights"], dtype=np.float64)
        if weights.ndim != 1 or not np.all(np.isfinite(weights)):
            raise ValueError("weights must be a list of finite numbers")
        threshold, bias = float(data["threshold"]), float(data["bias"])
        if not (0.0 <= threshold <= 1.0 and math.isfinite(bias)):
            raise ValueError("threshold must be within [0, 1] and bias finite")
        words = Words.from_json(data["words"]) if data.get("words") else None
        if words is not None and len(weights) <= len(words.vocabulary):
            raise ValueError("the weights do not cover the word features")
        return cls(weights, bias, threshold, tuple(str(c) for c in data["cues"]), words)


def features(vectors: np.ndarray, cues: np.ndarray, words=None):
    """The model's input rows: each message's vector, then its cues, then its word features
    (``words``: a scipy sparse matrix, and then so are the rows)."""
    parts = [np.asarray(vectors, dtype=np.float64), np.asarray(cues, dtype=np.float64)]
    if words is None:
        return np.hstack(parts)
    from scipy.sparse import csr_matrix, hstack  # build time only

    return hstack([csr_matrix(np.hstack(parts)), words], format="csr")


def fit_model(vectors: np.ndarray, cues: np.ndarray, labels: Sequence[bool], *, cue_names: tuple[str, ...],
              threshold: float = 0.5, c: float = DEFAULT_C, texts: Sequence[str] | None = None,
              word_weight: float = 0.0) -> LinearModel:
    """Logistic regression with balanced classes (positives are the rarer kind). With ``texts``
    and a ``word_weight``, the messages' words join the features, learned from these texts only;
    then liblinear fits it (thousands of word columns: newton-cholesky's Hessian would be their square)."""
    from sklearn.linear_model import LogisticRegression  # build time only

    y = np.asarray(labels, dtype=bool)
    if y.all() or not y.any():
        raise ValueError("training needs examples of both classes")
    words = fit_words(texts, weight=word_weight) if texts is not None and word_weight > 0 else None
    solver = "newton-cholesky" if words is None else "liblinear"
    fitted = LogisticRegression(C=c, class_weight="balanced", solver=solver, max_iter=2000).fit(
        features(vectors, cues, words.matrix(texts) if words is not None else None), y)
    return LinearModel(fitted.coef_[0].copy(), float(fitted.intercept_[0]), threshold, cue_names, words)


def pick_threshold(probabilities: Sequence[float], labels: Sequence[bool], *, miss_cost: float,
                   candidates: Sequence[float] = tuple(np.linspace(0.02, 0.98, 49))) -> float:
    """The cut with the lowest cost (missed positives x ``miss_cost`` + false positives);
    among equal costs the highest cut, so an ordinary message is not flagged for nothing."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels, dtype=bool)
    best = min(candidates, key=lambda t: (miss_cost * np.sum(y & (p < t)) + np.sum(~y & (p >= t)), -t))
    return float(best)


def pick_veto(probabilities: Sequence[float], labels: Sequence[bool], *, levels: Sequence[str],
              share: float, vetoed: Sequence[str] = ("warning", "personal"), quantile: float = 0.0) -> dict[str, float]:
    """Per level of the rules' warning (``levels``: each message's ``Triage.level``, "" when the
    rules did not flag it), how unlikely the model must find a message for that warning to be
    dropped: ``share`` of the least probability a real warning of that level got from a model
    that had not seen it. A level with no real warning among the rules' hits takes the least
    over every vetoed level; no veto (0) when there is none at all. Emergencies are never vetoed.

    Most false alarms are the rules' (a sign word in "what if I get a fever", "numb for an
    hour, fine now"), and the model, reading the message's words, tells many apart. Cutting
    where costs balance put the veto just under the least real warning (0.25 against 0.261),
    and real warnings of held-out sets fell under it (0.24-0.27): a margin below what was seen,
    as for the answered floor. Per level, because the levels are not equally good evidence: a
    real warning the rules caught on a ``personal`` sign alone ("my hip is red and hot") is one
    the model is sure of too (none under 0.5 leave one set out, against 0.24 for ``warning``),
    while a ``personal`` word is most of the false alarms ("numb for the afternoon, fine now").

    ``quantile`` > 0 takes that low quantile of the real warnings' probabilities instead of the
    least: the least can only fall as labelled sets are added (over 85 sets one real ``personal``
    warning got 0.016 and the veto fell to 0.012: docs/evaluation.md, "More data needs a sturdier
    veto"), a quantile holds. Shipped at 0 (the least) until one keeps every labelled red flag."""
    if not 0.0 <= quantile < 1.0:
        raise ValueError(f"the veto's quantile must be in [0, 1), not {quantile}")
    p = np.asarray(probabilities, dtype=np.float64)
    real = np.asarray(labels, dtype=bool)
    level = np.asarray(levels, dtype=object)
    least = {name: float(np.quantile(p[real & (level == name)], quantile, method="lower"))
             for name in vetoed if (real & (level == name)).any()}
    if not least:
        return {name: 0.0 for name in vetoed}
    floor = min(least.values())
    return {name: float(share * least.get(name, floor)) for name in vetoed}
