"""Lexical search: BM25 (``bm25s``) over stemmed, stop-word-free tokens.

Tokenising is one pure function (:func:`lexical_tokens`) shared by indexing
and querying, so both sides always agree. This module does no fusion and no
query expansion; the retriever does.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import bm25s
import numpy as np
import Stemmer
from bm25s.stopwords import STOPWORDS_EN

from .decisions.function_words import GRAMMAR_WORDS
from .text import words

_STOPWORDS = frozenset(STOPWORDS_EN) | GRAMMAR_WORDS


@lru_cache(maxsize=1)
def _stemmer() -> Stemmer.Stemmer:
    return Stemmer.Stemmer("english")


def word_stems(text: str) -> list[str | None]:
    """The stem of every word of ``text`` in order, None for a stop word.

    One stemming pass that both the BM25 tokens and the word pairs are read from.
    """
    kept = [w.replace("’", "'").split("'")[0] for w in words(text)]
    stems = iter(_stemmer().stemWords([w for w in kept if w and w not in _STOPWORDS]))
    return [next(stems) if w and w not in _STOPWORDS else None for w in kept]


def lexical_tokens(text: str) -> list[str]:
    """Stemmed content words of ``text`` ("Injections hurt?" -> ["inject", "hurt"])."""
    return [stem for stem in word_stems(text) if stem is not None]


def word_pairs(text: str | list[str | None]) -> set[tuple[str, str]]:
    """Stems of every two adjacent content words ("sports medicine" -> ("sport", "medicin")),
    of a text or of its :func:`word_stems`."""
    stems = word_stems(text) if isinstance(text, str) else text
    return {(a, b) for a, b in zip(stems, stems[1:]) if a and b}


class LexicalIndex:
    """A BM25 index over documents given as token lists, one per passage."""

    def __init__(self, model: bm25s.BM25) -> None:
        self._model = model

    @classmethod
    def build(cls, documents: list[list[str]]) -> "LexicalIndex":
        model = bm25s.BM25()
        # An empty document would make bm25s' vocabulary empty; a placeholder
        # token that no query can produce keeps the matrix shape right.
        model.index([doc or ["\x00"] for doc in documents], show_progress=False)
        return cls(model)

    def known(self, tokens: list[str]) -> list[str]:
        """The tokens that occur somewhere in the indexed documents."""
        return [t for t in tokens if t in self._model.vocab_dict]

    def scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 score of every document for the query tokens (zeros if none known)."""
        known = self.known(tokens)
        n_docs = int(self._model.scores["num_docs"])
        if not known:
            return np.zeros(n_docs, dtype=np.float32)
        return np.asarray(self._model.get_scores(known), dtype=np.float32)

    def save(self, folder: Path) -> None:
        self._model.save(str(folder))

    @classmethod
    def load(cls, folder: Path) -> "LexicalIndex":
        return cls(bm25s.BM25.load(str(folder), mmap=False))
