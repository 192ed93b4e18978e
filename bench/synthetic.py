"""Synthetic passages and vectors for the scale test: real text, recombined.

Each passage is one corpus sentence, varied so no two are identical: spliced
with the second half of another sentence, given a glossary term, or missing
a word. Vectors for the search-only test are real embeddings plus Gaussian
noise, re-normalised, so they cluster like real text does (uniform random
vectors on the sphere are a worst case no corpus looks like). Pure functions
of a seed; nothing here encodes or searches.
"""

from __future__ import annotations

import random

import numpy as np

MAX_WORDS = 30


def vary(rng: random.Random, sentences: list[str], terms: list[str]) -> str:
    words = rng.choice(sentences).split()
    op = rng.random()
    if op < 0.5 and len(sentences) > 1:
        other = rng.choice(sentences).split()
        cut_a = max(1, int(len(words) * rng.uniform(0.35, 0.65)))
        cut_b = int(len(other) * rng.uniform(0.35, 0.65))
        words = words[:cut_a] + other[cut_b:]
    if terms and rng.random() < 0.6:
        words.insert(rng.randrange(1, len(words) + 1), f"({rng.choice(terms)})")
    if len(words) > 6 and rng.random() < 0.4:
        del words[rng.randrange(1, len(words))]
    return " ".join(words[:MAX_WORDS])


def synthetic_texts(sentences: list[str], terms: list[str], n: int, *, seed: int = 0) -> list[str]:
    """``n`` distinct varied sentences (raises if the sources cannot give that many)."""
    rng = random.Random(seed)
    seen: dict[str, None] = {}
    tries = 0
    while len(seen) < n:
        tries += 1
        if tries > 50 * n:
            raise ValueError(f"only {len(seen)} distinct variations from {len(sentences)} sentences")
        seen.setdefault(vary(rng, sentences, terms), None)
    return list(seen)


def synthetic_passages(texts: list[str], headings: list[str], *, seed: int = 0):
    from qa.passages import Passage

    rng = random.Random(seed)
    return [Passage(id=f"syn-{i:06d}", source="synthetic.md", title="Synthetic corpus",
                    heading_path=(rng.choice(headings),), start=0, end=len(t), text=t, plain_text=t)
            for i, t in enumerate(texts)]


def noisy_vectors(base: np.ndarray, n: int, *, noise: float = 0.6, seed: int = 0, chunk: int = 100_000) -> np.ndarray:
    """``n`` unit vectors: rows of ``base`` (cycled) plus N(0, noise²/d) per dimension.

    A noise norm of about ``noise`` gives a cosine of about 1/sqrt(1 + noise²)
    (0.86 for 0.6) to the source row.
    """
    rng = np.random.default_rng(seed)
    dim = base.shape[1]
    out = np.empty((n, dim), dtype=np.float32)
    for start in range(0, n, chunk):
        stop = min(n, start + chunk)
        rows = base[np.arange(start, stop) % len(base)]
        block = rows + rng.standard_normal((stop - start, dim), dtype=np.float32) * (noise / np.sqrt(dim))
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out
