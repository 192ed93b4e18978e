"""Dense search: several embedded "views" per passage in one FAISS index.

Each passage is embedded as a whole (with its heading, so "Risks" context is
in the vector), each of its sentences on its own, so a question that matches
one sentence of a long passage is not drowned by the rest, and by its heading
when it is the only passage of its section. A
passage's dense score is the best cosine over its views. Cosine similarity =
L2-normalised vectors in an inner-product index (``IndexFlatIP``). Past
``APPROXIMATE_FROM`` vectors an HNSW graph replaces exact search.
This module decides what to embed, builds the FAISS index and turns view hits
into passage scores; it does not encode, tokenise or fuse.
"""

from __future__ import annotations

from dataclasses import dataclass

import faiss
import numpy as np

from .passages import Passage
from .text import sentence_spans

#: Exact search below this many vectors; an HNSW index from there on. Measured
#: (bench/RESULTS.md, section 6, search only, the app's k=512 call): at 100,000
#: vectors HNSW takes 2.8 ms against exact 6.4 ms with recall@10 0.998 and
#: recall@100 0.999; at 30,000 it is still slower than exact (2.2 vs 1.9 ms).
APPROXIMATE_FROM = 100_000
HNSW_NEIGHBOURS = 32
#: Candidates kept per insertion. With faiss's default (40) the app's call on 1M
#: vectors found 0.978 of the exact top 10 and 0.958 of the top 100, and still only
#: 0.988 of the top 100 at efSearch 2048; 200 costs about 4-7x the graph build.
HNSW_EF_CONSTRUCTION = 200
#: Views read per question; indexes up to SEARCH_ALL_UP_TO vectors are read whole.
SEARCH_DEPTH = 512
SEARCH_ALL_UP_TO = 4096
#: Candidates per search: at least the depth read (fewer would truncate the results).
#: Twice it: at 1M vectors recall@100 0.999 instead of a thin 0.992, recall@512 0.985
#: instead of 0.948, for 2 ms more (4.5 ms; exact search 57 ms).
HNSW_EF_SEARCH = 2 * SEARCH_DEPTH


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
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
        index.hnsw.efSearch = HNSW_EF_SEARCH  # saved in dense.faiss with the graph
    else:
        index = faiss.IndexFlatIP(dim)
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def best_per_passage(
    scores: np.ndarray, ids: np.ndarray, owner: np.ndarray, n_passages: int, *, views: np.ndarray | None = None
) -> np.ndarray:
    """A passage's dense score is the best cosine among its retrieved views.

    ``scores``/``ids`` come from FAISS (ids < 0 are empty slots); ``owner[view]``
    is the passage of a view; ``views``, if given, a mask of the views that may
    count. Passages with no such view retrieved get -1. One scatter with
    ``np.maximum.at``: a whole-index search returns every view, and a loop or a
    sort over them cost more than the rest of the retrieval after the encode.
    """
    keep = ids >= 0
    if views is not None:
        keep &= views[np.clip(ids, 0, None)]
    best = np.full(n_passages, -1.0, dtype=np.float32)
    np.maximum.at(best, owner[ids[keep]], scores[keep])
    return best


@dataclass(frozen=True)
class PassageGroups:
    """Views grouped by their passage, so a passage's best cosine over a whole-index product is one
    ``np.maximum.reduceat`` (a small index is read whole: every view has a score, in view order).

    Before it, a whole-index search went through FAISS with k = every view, which sorts them, and
    then scattered the sorted scores back per view and per passage (``np.maximum.at``): about two
    thirds of reading a labelled message at build time (py-spy, 3,538 views), for no use."""

    order: np.ndarray  # the counted views, grouped by passage
    starts: np.ndarray  # where each group starts in ``order``
    passages: np.ndarray  # each group's passage
    n_passages: int

    @classmethod
    def of(cls, owner: np.ndarray, n_passages: int, *, views: np.ndarray | None = None) -> "PassageGroups":
        """``owner[view]``: a view's passage; ``views``: a mask of the views that may count."""
        counted = np.arange(len(owner)) if views is None else np.flatnonzero(views)
        order = counted[np.argsort(owner[counted], kind="stable")]
        grouped = owner[order]
        starts = np.flatnonzero(np.r_[True, grouped[1:] != grouped[:-1]]) if len(order) else np.zeros(0, np.int64)
        return cls(order, starts, grouped[starts], n_passages)

    def best(self, view_scores: np.ndarray) -> np.ndarray:
        """Each passage's best score among its counted views (``view_scores`` by view id); -1 for
        a passage with none: the same as ``best_per_passage`` over a whole-index search."""
        best = np.full(self.n_passages, -1.0, dtype=np.float32)
        if len(self.order):
            best[self.passages] = np.maximum.reduceat(view_scores[self.order], self.starts)
        return best


def cosine_per_view(scores: np.ndarray, ids: np.ndarray, n_views: int) -> np.ndarray:
    """Every view's cosine by view id, -1 where the search did not retrieve it (for picking sentences)."""
    keep = ids >= 0
    per_view = np.full(n_views, -1.0, dtype=np.float32)
    per_view[ids[keep]] = scores[keep]
    return per_view


def set_search_threads(threads: int) -> None:
    """Threads FAISS and numpy's BLAS may use per search, for the whole process.

    One per question, as for the encoder: FAISS's OpenMP default (every core)
    made an exact search of 100k vectors 6x slower (40 vs 6 ms) on the busy
    2-core machine, where every core already answers its own question
    (bench/RESULTS.md, section 6). Set when an index is put to answering
    questions, so a build before it (``python -m qa build``, or the first start)
    still uses every core.

    numpy's BLAS likewise: with its default of a thread per core, each small product a
    question makes (the labelled neighbours, 1,617 x 384) waited for a second core that
    was busy answering another question: 4.6 ms per product on the busy 2-core machine
    (profiled over questions.csv beside a cross-validation run), 0.4 ms with one thread.
    """
    from threadpoolctl import threadpool_limits

    faiss.omp_set_num_threads(max(1, threads))
    threadpool_limits(max(1, threads), user_api="blas")  # for the whole process, until set again


def apply_search_settings(index: faiss.Index) -> faiss.Index:
    """Today's efSearch on an HNSW graph read from disk (it is saved with the
    graph, so an index built under an older setting would keep it)."""
    hnsw = getattr(index, "hnsw", None)
    if hnsw is not None:
        hnsw.efSearch = HNSW_EF_SEARCH
    return index
