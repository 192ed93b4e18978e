"""An encoder that remembers what it encoded: each text is encoded once.

Two users, both reading the labelled question sets, never a patient's words:
leave-one-set-out evaluation (``eval.crossval``) builds an index and reads every
labelled message once per held-out set (39 sets ran in 42 minutes with it), and
a build reads every labelled message as a patient's question to fit its
decisions (``qa.training``): three quarters of a build's time, so a build starts
from the vectors the last one kept on disk (``kept_vectors``). Vectors are those
of the wrapped encoder, so nothing a build or an evaluation decides changes.
Texts are remembered by a sha256 of the text, so the kept file holds no words.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping

import numpy as np


def text_key(method: str, text: str) -> bytes:
    """What a vector is remembered by: the encode method (a batched encode and a question's
    may differ in the last bits) and a sha256 of the text."""
    return hashlib.sha256(f"{method}\0{text}".encode("utf-8", "surrogatepass")).digest()


class RememberingEmbedder:
    """Wraps an ``Embedder``: ``encode`` and ``encode_queries`` encode only texts not seen
    before; ``known`` seeds it with vectors by ``text_key`` (kept from an earlier build)."""

    def __init__(self, embedder, known: Mapping[bytes, np.ndarray] | None = None) -> None:
        self._embedder = embedder
        self._vectors: dict[bytes, np.ndarray] = dict(known or {})
        self._used: dict[bytes, None] = {}  # keys asked for, in order: what a build keeps
        self._lock = threading.Lock()

    def __getattr__(self, name: str):  # name, fingerprint, dimension, backend, model...
        return getattr(self._embedder, name)

    def encode(self, texts: list[str], **options) -> np.ndarray:
        return self._remembered("encode", texts, lambda missing: self._embedder.encode(missing, **options))

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._remembered("query", texts, self._embedder.encode_queries)

    def prime_queries(self, texts: list[str]) -> None:
        """Encode the question texts not yet known in the wrapped encoder's large batches, to be
        found by ``encode_queries`` later: a build reading thousands of labelled messages one at a
        time encodes them in small batches (a batch and a lone question differ by about 1e-6)."""
        self._remembered("query", list(dict.fromkeys(texts)), lambda missing: self._embedder.encode(missing),
                         mark_used=False)

    def known_share(self, texts: list[str]) -> float:
        """The share of ``texts`` whose question vectors are known already (1.0 for none)."""
        if not texts:
            return 1.0
        with self._lock:
            return sum(text_key("query", t) in self._vectors for t in texts) / len(texts)

    def used(self) -> dict[bytes, np.ndarray]:
        """The vectors asked for so far, by ``text_key``, in the order first asked."""
        with self._lock:
            return {key: self._vectors[key] for key in self._used}

    def _remembered(self, method: str, texts: list[str], encode, *, mark_used: bool = True) -> np.ndarray:
        keys = [text_key(method, t) for t in texts]
        with self._lock:
            missing = {k: t for k, t in zip(keys, texts) if k not in self._vectors}
        if missing:
            fresh = encode(list(missing.values()))
            with self._lock:  # a text another thread encoded meanwhile keeps its first vector: every caller gets one
                for key, vector in zip(missing, np.asarray(fresh, dtype=np.float32)):
                    self._vectors.setdefault(key, vector)
        with self._lock:
            if mark_used:
                self._used.update(dict.fromkeys(keys))
            return np.stack([self._vectors[k] for k in keys]) if keys else np.zeros((0, self.dimension), np.float32)
