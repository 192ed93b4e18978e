"""The words of a message as features for the urgency model: TF-IDF of its words and word pairs.

A sentence vector says what a message is about, not how it stands towards it:
"my leg went numb" and "my leg went numb for an hour, fine now" sit close,
and so do "I have a fever" and "what if I get a fever". Word pairs carry that
("fine now", "what if", "no fever", "wore off", "my dog"), and a linear model
learns from the labelled messages which pairs count, instead of a rule per
wording (measured leave one set out in docs/evaluation.md).

``fit_words`` learns the vocabulary and inverse document frequencies with
scikit-learn's ``TfidfVectorizer`` at build time, leaving out the terms most
messages share (``MAX_MESSAGE_SHARE``); ``Words.features`` redoes its
transform for one message in plain Python (same tokens, sublinear counts,
smoothed idf, unit length), so serving needs no scikit-learn.
``tests/test_learned_decisions.py`` checks the two agree.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

#: scikit-learn's default token: two or more word characters.
TOKEN = re.compile(r"(?u)\b\w\w+\b")
#: A word or word pair must occur in this many labelled messages to be learned from.
MIN_MESSAGES = 2
#: ...and in at most this share of them (scikit-learn's ``max_df``). A term in one message in ten or
#: more ("and", "my", "the injection") says nothing about urgency, yet each message's words are
#: scaled to one length, so in a three-word message it weighed as much as a whole story's words:
#: "and the PRP?" was urgent on its "and" (a long red flag's many "and"s taught it). Over 43 sets
#: (``python -m eval --urgency-folds --new-sets dev_carers,dev_terse,dev_worried``, docs/evaluation.md,
#: "Sentences"): every term kept -> 2 + 1 red flags missed, 105 + 8 false alarms; 0.1 -> 1 + 0 and
#: 110 + 11 (another dealing of the sets into folds: 3 and 113 against 0 and 119; 0.2: 3 and 112;
#: 0.35: 3 and 109).
MAX_MESSAGE_SHARE = 0.1


def terms(text: str) -> list[str]:
    """The message's words and adjacent word pairs, lower-cased, as scikit-learn forms them."""
    tokens = TOKEN.findall(text.lower())
    return tokens + [f"{a} {b}" for a, b in zip(tokens, tokens[1:])]


@dataclass(frozen=True)
class Words:
    """A fitted vocabulary: ``vocabulary[term]`` is the term's column, ``idf`` its weight;
    every row is scaled to ``weight`` times unit length (its share against the sentence vector)."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    weight: float

    def features(self, text: str) -> tuple[np.ndarray, np.ndarray]:
        """The message's non-zero columns and their values (a sparse row)."""
        counts = Counter(t for t in terms(text) if t in self.vocabulary)
        if not counts:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        columns = np.fromiter((self.vocabulary[t] for t in counts), dtype=np.int64, count=len(counts))
        values = np.fromiter((1.0 + math.log(c) for c in counts.values()), dtype=np.float64, count=len(counts))
        values *= self.idf[columns]
        return columns, values * (self.weight / np.linalg.norm(values))

    def matrix(self, texts: Sequence[str]):
        """Sparse rows for fitting (scipy CSR: ten thousand columns, six thousand messages, a few
        dozen non-zero in each row; dense, they would take half a gigabyte)."""
        from scipy.sparse import csr_matrix  # build time only

        rows = [self.features(text) for text in texts]
        columns = np.concatenate([c for c, _ in rows]) if rows else np.zeros(0, dtype=np.int64)
        values = np.concatenate([v for _, v in rows]) if rows else np.zeros(0)
        starts = np.cumsum([0, *(len(c) for c, _ in rows)])
        return csr_matrix((values, columns, starts), shape=(len(texts), len(self.vocabulary)))

    def to_json(self) -> dict:
        ordered = sorted(self.vocabulary, key=self.vocabulary.__getitem__)
        return {"terms": ordered, "idf": [round(float(x), 6) for x in self.idf], "weight": float(self.weight)}

    @classmethod
    def from_json(cls, data: dict) -> "Words":
        ordered = [str(t) for t in data["terms"]]
        idf = np.asarray(data["idf"], dtype=np.float64)
        if idf.shape != (len(ordered),) or not np.all(np.isfinite(idf)) or len(set(ordered)) != len(ordered):
            raise ValueError("word features need one finite idf per distinct term")
        return cls({t: i for i, t in enumerate(ordered)}, idf, float(data["weight"]))


def fit_words(texts: Sequence[str], *, weight: float, max_share: float | None = None) -> Words:
    """Vocabulary and idf of ``texts`` (scikit-learn, build time only); ``max_share``: the most common a
    term may be (``MAX_MESSAGE_SHARE`` unless given), never under ``MIN_MESSAGES`` messages' worth."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    share = MAX_MESSAGE_SHARE if max_share is None else max_share
    most = max(share, MIN_MESSAGES / max(1, len(texts)))
    fitted = TfidfVectorizer(ngram_range=(1, 2), min_df=MIN_MESSAGES, max_df=most, sublinear_tf=True).fit(texts)
    return Words({str(t): int(i) for t, i in fitted.vocabulary_.items()}, fitted.idf_.astype(np.float64), weight)
