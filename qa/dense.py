"""Dense search: several embedded "views" per passage in one FAISS index.

Each passage is embedded as a whole (with its heading, so "Risks" context is
in the vector), and each of its sentences on its own, so a question that
matches one sentence of a long passage is not drowned by the rest. A
passage's dense score is the best cosine over its views. Cosine similarity =
L2-normalised vectors in an inner-product index (``IndexFlatIP``). Past
``APPROXIMATE_FROM`` vectors an HNSW graph replaces exact search.
This module builds and searches vectors; it does not tokenise or fuse.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from .passages import Passage
from .text import sentence_spans

#: Exact search up to this many vectors; an HNSW index beyond (see bench/).
APPROXIMATE_FROM = 200_000
HNSW_NEIGHBOURS = 32
HNSW_EF_SEARCH = 512  # the retriever reads 512 views deep; efSearch below that truncates


@dataclass(frozen=True)
class View:
    """One embedded text: a whole passage, or one sentence of it."""

    passage: int  # index into the passage list
    kind: str  # "passage" or "sentence"
    start: int  # span in the passage's plain text (whole text for "passage")
    end: int
    text: str


def passage_views(passages: list[Passage], *, sentences: bool = True) -> list[View]:
    """The texts to embed for every passage, in a fixed order."""
    views: list[View] = []
    per_heading: dict[tuple, int] = {}
    for passage in passages:
        per_heading[(passage.source, passage.heading_path)] = per_heading.get((passage.source, passage.heading_path), 0) + 1
    for i, passage in enumerate(passages):
        plain = passage.plain_text
        # Only the nearest heading: the full path repeats the document's topic
        # ("...How a Hip Injection is Performed") in every vector.
        context = passage.heading_path[-1] if passage.heading_path else passage.title
        text = plain if plain.startswith(context) else f"{context}: {plain}"
        views.append(View(i, "passage", 0, len(plain), text))
        heading = passage.heading_path[-1] if passage.heading_path else ""
        if heading and per_heading[(passage.source, passage.heading_path)] == 1 and not plain.startswith(heading):
            # A section answered by one passage: its heading ("Benefits") is a
            # question-like handle for it.
            views.append(View(i, "heading", 0, 0, " ".join(passage.heading_path)))
        if not sentences:
            continue
        spans = sentence_spans(plain)
        if len(spans) > 1:
            views.extend(View(i, "sentence", s, e, plain[s:e]) for s, e in spans)
    return views


def make_index(vectors: np.ndarray) -> faiss.Index:
    """Exact inner-product index, or HNSW past ``APPROXIMATE_FROM`` vectors."""
    dim = vectors.shape[1]
    if len(vectors) >= APPROXIMATE_FROM:
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efSearch = HNSW_EF_SEARCH
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


@dataclass(frozen=True)
class DenseResult:
    """Per-passage best cosine, and which view gave it."""

    passage_scores: np.ndarray  # shape (n_passages,), -1 where not retrieved
    best_view: np.ndarray  # shape (n_passages,), view index or -1


def search(index: faiss.Index, views: list[View], n_passages: int, query: np.ndarray, *, depth: int = 256) -> DenseResult:
    """Best view score per passage among the top ``depth`` views."""
    # Small indexes are searched whole, so every passage gets a score.
    depth = index.ntotal if index.ntotal <= 4096 else min(depth, index.ntotal)
    scores, ids = index.search(np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32), max(1, depth))
    passage_scores = np.full(n_passages, -1.0, dtype=np.float32)
    best_view = np.full(n_passages, -1, dtype=np.int64)
    for score, view_id in zip(scores[0], ids[0]):
        if view_id < 0:
            continue
        p = views[view_id].passage
        if score > passage_scores[p]:
            passage_scores[p] = score
            best_view[p] = view_id
    return DenseResult(passage_scores, best_view)
