"""Hybrid retrieval: a patient's question -> ranked passages with evidence.

Steps (each can be switched off in ``RetrievalSettings`` so the eval can show
what it buys): spelling correction against the corpus vocabulary; glossary
expansion of lay terms; dense search over passage, sentence and heading views
with the question also read without the document's topic words; BM25 over
stemmed words; fusion of the two (cosine plus a share of the normalised BM25
score by default, reciprocal rank fusion as the compared variant). The retriever
ranks; it does not decide whether to answer (``scope.py``) or how to word the
answer (``answer.py``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cache

import numpy as np

from .encoder.embedder import Embedder
from .decisions.function_words import FUNCTION_WORDS
from .decisions.learned import LinearModel
from .alternates import ALTERNATE_KIND
from .dense import SEARCH_ALL_UP_TO, SEARCH_DEPTH, PassageGroups, best_per_passage, cosine_per_view
from .fusion import RRF_K, rrf
from .glossary import Glossary, document_terms, matches
from .index_store import Index
from .lexical import LexicalIndex, lexical_tokens, word_pairs, word_stems
from .decisions.message import split_message
from .passages import Passage
from .ranking import RERANK_DEPTH, candidate_features, neighbour_vote, rerank, word_vote
from .spelling import SpellingCorrector
from .text import words


@dataclass(frozen=True)
class RetrievalSettings:
    """Which retrieval techniques are on. The defaults are the measured best."""

    dense: bool = True
    lexical: bool = True
    sentences: bool = True  # sentence-level views in dense scoring
    glossary: bool = True
    spelling: bool = True
    focus: bool = True  # also match the question without the document's topic words
    focus_weight: float = 1.0  # weight of the focused question's direction
    dense_weight: float = 1.0  # weight of the dense ranking in RRF (lexical: 1.0)
    rrf_k: int = RRF_K
    fusion: str = "score"  # "score": cosine + lexical_weight * BM25 / max BM25; or "rrf"
    lexical_weight: float = 0.15


def retrieval_variants() -> dict[str, RetrievalSettings]:
    """Named settings for side-by-side evaluation: each row adds one technique."""
    plain = dict(sentences=False, glossary=False, spelling=False, focus=False, fusion="rrf")
    return {
        "dense only": RetrievalSettings(lexical=False, **plain),
        "bm25 only": RetrievalSettings(dense=False, **plain),
        "hybrid (rrf)": RetrievalSettings(**plain),
        "+ sentence views": RetrievalSettings(**(plain | dict(sentences=True))),
        "+ glossary": RetrievalSettings(**(plain | dict(sentences=True, glossary=True))),
        "+ spelling": RetrievalSettings(**(plain | dict(sentences=True, glossary=True, spelling=True))),
        "+ topic focus": RetrievalSettings(fusion="rrf"),
        "default (score fusion)": RetrievalSettings(),
    }


@dataclass(frozen=True)
class Query:
    """What the retriever made of a question."""

    text: str  # cleaned question as typed
    corrected: str  # after spelling correction
    expansions: tuple[str, ...]  # glossary document terms added
    tokens: tuple[str, ...]  # BM25 tokens (with expansions)
    unknown_words: tuple[str, ...]  # content words neither in corpus nor glossary
    focused: str = ""  # the question without the document's topic words, if that differs
    asked_unknown_words: tuple[str, ...] = ()  # those of unknown_words in the asking part
    ask: str = ""  # the part of the corrected question that asks, without the story around it (qa.decisions.message)
    #: The encoder's vector of ``dense_text`` (set by ``search``): the learned decisions read it, so
    #: deciding costs no second encode.
    vector: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: The passages' cosines, and the first one's BM25 score, in the ranking the document's own
    #: views give, without the alternate questions (set by ``search``). Deciding whether the
    #: document answers reads these (qa/alternates.py): a labelled message that is itself an
    #: alternate question must not vouch for itself, nor a question near one borrow its cover.
    document_cosines: tuple[float, ...] = field(default=(), compare=False)
    document_lexical: float = field(default=0.0, compare=False)
    #: The best cosine of the question's own vector with one of the clinic's alternate
    #: questions (-1 when there are none or dense search is off):
    #: a wording the clinic has said the document answers (qa.decisions.policy.ALTERNATE_MATCH).
    alternate_cosine: float = field(default=-1.0, compare=False)
    #: The same, over the clinic's own rows only (``corpus/alternate_questions.csv``), not the labelled sets'.
    clinic_alternate_cosine: float = field(default=-1.0, compare=False)
    #: The vectors of the texts the caller asked to be encoded with the question, in its one encoder
    #: call (``search``'s ``extra_texts``: the urgency model's sentences, qa.reading); empty otherwise.
    extra_vectors: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: The question's cosine with every view of the index (-1 where not retrieved) and each
    #: passage's BM25 score (set by ``search``): training re-ranks labelled messages from these
    #: with their own set's alternate questions left out (qa.training.fit_ranking).
    view_cosines: np.ndarray | None = field(default=None, compare=False, repr=False)
    lexical_scores: np.ndarray | None = field(default=None, compare=False, repr=False)
    #: BM25 of the question's words against each alternate question (in view order; None when
    #: there are none): the re-ranking's vote by words.
    alternate_lexical: np.ndarray | None = field(default=None, compare=False, repr=False)

    @property
    def dense_text(self) -> str:
        if not self.expansions:
            return self.corrected
        return f"{self.corrected} ({'; '.join(self.expansions)})"


@dataclass(frozen=True)
class Hit:
    """One retrieved passage with the evidence for it."""

    passage: Passage
    score: float  # what the ranking sorted by: the fused score, or the learned re-ranking's probability
    dense: float  # best cosine over the passage's views (-1 if dense is off)
    lexical: float  # BM25 score
    best_sentence: str  # the passage sentence closest to the question (plain text)
    document_dense: float = -1.0  # best cosine over the document's own views (no alternate questions)


#: A stem found in at least this share of passages is the document's topic
#: ("hip", "inject"): it tells passages apart poorly.
TOPIC_SHARE = 0.3


def document_frequencies(stems_per_passage: list[list[str | None]]) -> Counter:
    """In how many passages each stem occurs, from each passage's :func:`word_stems`."""
    return Counter(t for stems in stems_per_passage for t in set(stems) if t is not None)


def topic_stems(frequencies: Counter, n_passages: int) -> frozenset[str]:
    """Stems that occur in at least ``TOPIC_SHARE`` of the passages."""
    floor = max(2, TOPIC_SHARE * n_passages)
    return frozenset(t for t, c in frequencies.items() if c >= floor)


def document_words(passages: tuple[Passage, ...]) -> frozenset[str]:
    """Every word of the passages and their headings."""
    return frozenset(w for p in passages for w in words(f"{p.heading} {p.plain_text}"))


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` best scores, best first; ties keep document order.

    ``argpartition`` first, so a 100k-passage corpus is not fully sorted per query.
    """
    if k < len(scores):
        candidates = np.argpartition(-scores, k - 1)[:k]
        threshold = scores[candidates].min()
        candidates = np.flatnonzero(scores >= threshold)  # keep every tie at the border
    else:
        candidates = np.arange(len(scores))
    order = candidates[np.lexsort((candidates, -scores[candidates]))]
    return order[:k]


#: Shorter "sentences" are list fragments, highlighted only when nothing else is.
MIN_SENTENCE_WORDS = 4
#: A stem found in at most this many passages names something specific.
RARE_MAX_PASSAGES = 2


@cache
def function_word_stems() -> frozenset[str]:
    """Stems of :data:`FUNCTION_WORDS`, worked out once per process, not per retriever."""
    return frozenset(lexical_tokens(" ".join(FUNCTION_WORDS)))


def rare_stems(frequencies: Counter) -> frozenset[str]:
    """Stems of at least 6 letters found in at most ``RARE_MAX_PASSAGES`` passages."""
    return frozenset(t for t, c in frequencies.items() if c <= RARE_MAX_PASSAGES and len(t) >= 6)


def encoded_texts(query: Query) -> list[str]:
    """What the search encodes for ``query``: the question, and its focused form when it has one."""
    return [query.dense_text, query.focused] if query.focused else [query.dense_text]


class Retriever:
    def __init__(
        self,
        index: Index,
        embedder: Embedder,
        glossary: Glossary,
        corrector: SpellingCorrector,
        settings: RetrievalSettings = RetrievalSettings(),
        *,
        known_words: frozenset[str] | None = None,
        clinic_questions: frozenset[str] = frozenset(),
    ) -> None:
        """``known_words``: :func:`document_words` of the index, when the caller
        already has it (it is the same for every setting); ``clinic_questions``: the clinic's own
        alternate questions (``corpus/alternate_questions.csv``), as against labelled wordings."""
        self.index = index
        self.embedder = embedder
        self.glossary = glossary
        self.corrector = corrector
        self.settings = settings
        self._kind = np.array([v.kind == "passage" for v in index.views])
        self._alternate = np.array([v.kind == ALTERNATE_KIND for v in index.views], dtype=bool)
        self._document_views = ~self._alternate
        self._alternate_ids = np.flatnonzero(self._alternate)
        self._owner = np.array([v.passage for v in index.views], dtype=np.int64)
        self._alternate_owner = self._owner[self._alternate_ids]  # the passage each alternate question votes for
        self.clinic_questions = frozenset(q.strip() for q in clinic_questions)
        self._clinic_in_alternates = np.array([index.views[i].text.strip() in self.clinic_questions
                                               for i in self._alternate_ids], dtype=bool)
        # A small index is read whole: one product with all its vectors gives every passage a score
        # (qa.dense.PassageGroups). A large one is searched, and the alternate questions' own vectors
        # are kept apart, to compare with the question's own (unfocused) vector.
        self._search_whole = index.dense.ntotal <= SEARCH_ALL_UP_TO
        self._view_matrix = (index.dense.reconstruct_n(0, index.dense.ntotal) if self._search_whole
                             else np.zeros((0, index.dense.d), np.float32))
        self._counted = self._kind if not settings.sentences else np.ones(len(index.views), dtype=bool)
        self._groups = PassageGroups.of(self._owner, len(index.passages), views=self._counted)
        self._document_groups = PassageGroups.of(self._owner, len(index.passages),
                                                 views=self._counted & self._document_views)
        self._alternate_vectors = (np.stack([index.dense.reconstruct(int(i)) for i in self._alternate_ids])
                                   if len(self._alternate_ids) and not self._search_whole
                                   else np.zeros((0, index.dense.d), np.float32))
        # Patients' words, as they wrote them (the vote by words of qa.ranking): built here from the
        # index's own views, a few milliseconds, so the index on disk needs no second BM25 folder.
        alternate_tokens = [lexical_tokens(index.views[i].text) for i in self._alternate_ids]
        self._alternate_lexical = LexicalIndex.build(alternate_tokens) if alternate_tokens else None
        self.document_words = known_words if known_words is not None else document_words(index.passages)
        stems_per_passage = [word_stems(p.plain_text) for p in index.passages]  # one stemming pass for both
        frequencies = document_frequencies(stems_per_passage)
        self._topic_stems = topic_stems(frequencies, len(index.passages))
        self._plain_stems = function_word_stems()  # "big", "exactly", "put"
        self._rare_stems = rare_stems(frequencies)
        self._document_pairs = frozenset().union(*map(word_pairs, stems_per_passage))
        self._tokens_by_view: dict[int, frozenset[str]] = {}
        self._sentence_views: list[list[int]] = [[] for _ in index.passages]
        for j, view in enumerate(index.views):
            # A passage's own question heading is context, not an answer to highlight.
            if view.kind == "sentence" and self._sentence_text(j) not in index.passages[view.passage].heading_path:
                self._sentence_views[view.passage].append(j)

    def analyse(self, question: str) -> Query:
        s = self.settings
        corrected = self.corrector.correct(question) if s.spelling else question
        found = matches(corrected, self.glossary, document_phrase=self._in_document_phrase) if s.glossary else []
        added = tuple(document_terms(found))
        lay_stems = set(lexical_tokens(" ".join(lay for lay, _ in found)))
        # A lay word stands for its document terms: searching it too would
        # match the document's other senses of it ("gel shots" for "shot"),
        # unless it is all the question is about ("how big is the needle?").
        own = [t for t in lexical_tokens(corrected) if t not in lay_stems]
        meant = lexical_tokens(" ".join(added))
        if lay_stems and not any(t not in self._topic_stems and t not in self._plain_stems for t in own + meant):
            own = lexical_tokens(corrected)
        tokens = own + meant
        if s.focus:
            # The document's topic words ("hip", "injection") favour whichever
            # passage repeats them most; drop them when the question has others.
            specific = [t for t in tokens if t not in self._topic_stems]
            tokens = specific or tokens
        question_words = words(corrected)
        stems = {w: lexical_tokens(w) for w in question_words}
        unknown = tuple(
            w for w in question_words
            if w not in FUNCTION_WORDS and not w.isdigit() and stems[w] and w not in self.document_words
            and not set(stems[w]) & lay_stems and not self.index.lexical.known(stems[w])
        )
        ask = split_message(corrected).ask
        asked = set(words(ask))
        asked_unknown = tuple(w for w in unknown if w in asked)
        focused = ""
        if s.focus:
            kept = [w for w in question_words if not set(stems[w]) & self._topic_stems]
            if kept and len(kept) < len(question_words) and any(stems[w] for w in kept):
                focused = " ".join(kept + list(added))
        return Query(question, corrected, added, tuple(tokens), unknown, focused, asked_unknown, ask)

    def _in_document_phrase(self, lay: str, question: str) -> bool:
        """Is ``lay`` used in the question next to a word it also stands next to in the document?"""
        lay_stems = lexical_tokens(lay)
        if not lay_stems:
            return False
        asked = word_pairs(question)
        return any(
            pair in self._document_pairs and pair not in word_pairs(lay)
            for pair in asked
            if pair[0] in lay_stems or pair[1] in lay_stems
        )

    def search(self, question: str, *, k: int = 3, ranker: LinearModel | None = None,
               document_only: bool = False, extra_texts: tuple[str, ...] = ()) -> tuple[Query, list[Hit]]:
        """The question's reading and its ``k`` best passages; ``ranker`` (the learned re-ranking,
        qa.ranking) re-orders the best candidates of the fused ranking when there are
        alternate questions to vote and the default score fusion is on.

        ``document_only``: rank by the document's own views, without the alternate questions'
        vote or the re-ranking (which reads that vote). For a follow-up read with the question
        before it: that text is no patient's question (half of it is the earlier one), and the
        patients' wordings it lands nearest pull towards the earlier question's passage ("which
        type is used for it" after "can hip injections help osteoarthritis": the conditions list).
        The alternate questions' cosines are still measured (the scope decision reads them).

        ``extra_texts``: encoded in the same encoder call as the question (one batch, not a second
        call), their vectors on ``Query.extra_vectors``; ignored when dense search is off."""
        query = self.analyse(question)
        n = len(self.index.passages)
        dense_scores = document_scores = np.full(n, -1.0, dtype=np.float32)
        view_scores = np.full(0, -1.0, dtype=np.float32)
        alternate = clinic = -1.0
        if self.settings.dense:
            texts = encoded_texts(query)
            encoded = self.embedder.encode_queries(texts + list(extra_texts))
            dense_scores, document_scores, view_scores, vector, alternates = self._dense(query, encoded[: len(texts)])
            query = replace(query, vector=vector, extra_vectors=encoded[len(texts):])
            if len(alternates):
                alternate = float(alternates.max())
                clinic = float(alternates[self._clinic_in_alternates].max(initial=-1.0))
        lexical_scores = self.index.lexical.scores(list(query.tokens)) if self.settings.lexical else np.zeros(n, np.float32)
        fused = self._fuse(document_scores if document_only else dense_scores, lexical_scores)
        # The ranking the document alone gives (no alternate questions): what coverage is decided on.
        document_order = top_k(self._fuse(document_scores, lexical_scores) if alternate > -1.0 and not document_only
                               else fused, max(1, k))
        query = replace(query, alternate_cosine=alternate, clinic_alternate_cosine=clinic,
                        document_cosines=tuple(float(document_scores[i]) for i in document_order),
                        document_lexical=float(lexical_scores[document_order[0]]) if n else 0.0,
                        view_cosines=view_scores, lexical_scores=lexical_scores,
                        alternate_lexical=(self._alternate_lexical.scores(lexical_tokens(query.corrected))
                                           if self._alternate_lexical is not None else None))
        s = self.settings
        if ranker is not None and alternate > -1.0 and not document_only and s.dense and s.lexical and s.fusion == "score":
            candidates = top_k(fused, max(k, RERANK_DEPTH))
            top = float(lexical_scores.max()) if n else 0.0
            features = candidate_features(
                candidates, fused=fused, document=document_scores,
                lexical_share=lexical_scores / top if top > 0 else np.zeros(n),
                meaning_vote=neighbour_vote(view_scores, self._owner, self._alternate_ids, n),
                words_vote=word_vote(query.alternate_lexical, self._alternate_owner, n))
            order, probabilities = rerank(candidates, features, ranker)
            order = order[: max(1, k)]
            score = dict(zip(order.tolist(), probabilities.tolist()))
        else:
            order = top_k(fused, max(1, k))
            score = {int(i): float(fused[i]) for i in order}
        hits = [
            Hit(
                passage=self.index.passages[i],
                score=score[int(i)],
                dense=float(dense_scores[i]),
                lexical=float(lexical_scores[i]),
                best_sentence=self._best_sentence(i, query, view_scores),
                document_dense=float(document_scores[i]),
            )
            for i in order
        ]
        return query, hits

    def _fuse(self, dense_scores: np.ndarray, lexical_scores: np.ndarray) -> np.ndarray:
        """One score per passage from the dense and lexical scores, as the settings say."""
        s = self.settings
        if s.dense and s.lexical and s.fusion == "score":
            top = float(lexical_scores.max()) if len(lexical_scores) else 0.0
            return dense_scores + s.lexical_weight * (lexical_scores / top if top > 0 else 0.0)
        if s.dense and s.lexical:
            return rrf([np.clip(dense_scores, 1e-6, None), lexical_scores], weights=[s.dense_weight, 1.0], k=s.rrf_k)
        if s.dense:
            return dense_scores.astype(np.float64)
        return lexical_scores.astype(np.float64)

    def rare_term_match(self, query: Query, hits: list[Hit]) -> bool:
        """Does the top passage share a rare document term with the question?"""
        if not hits:
            return False
        asked = set(lexical_tokens(query.corrected)) & self._rare_stems
        return bool(asked & set(lexical_tokens(hits[0].passage.plain_text)))

    def _dense(self, query: Query,
               encoded: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Best cosine per passage (over all its views, then over the document's own), the cosine
        of every view searched, the question's own vector, and its cosine with each alternate
        question (in ``_alternate_ids`` order; none when the index has none). ``encoded``: the
        vectors of ``encoded_texts(query)``."""
        own = vector = encoded[0]
        if query.focused:
            # Mean of the two directions: cosine with it is (about) the mean of
            # the cosines with the full and the focused question.
            vector = encoded[0] + self.settings.focus_weight * encoded[1]
            vector /= np.linalg.norm(vector)
        if self._search_whole:
            return self._dense_whole(query, vector, own)
        # A large index: the best SEARCH_DEPTH views by FAISS (exact, or HNSW past APPROXIMATE_FROM).
        scores, ids = self.index.dense.search(vector.reshape(1, -1), SEARCH_DEPTH)
        scores, ids = scores[0], ids[0]
        if not self.settings.sentences:
            passage_views = self._kind[np.clip(ids, 0, None)]
            scores, ids = scores[passage_views], ids[passage_views]
        n = len(self.index.passages)
        best = best_per_passage(scores, ids, self._owner, n)
        view_scores = cosine_per_view(scores, ids, self.index.dense.ntotal)
        if not len(self._alternate_ids):
            return best, best, view_scores, own, np.zeros(0, np.float32)
        document = best_per_passage(scores, ids, self._owner, n, views=self._document_views)
        return best, document, view_scores, own, self._alternate_vectors @ own

    def _dense_whole(self, query: Query, vector: np.ndarray, own: np.ndarray):
        """``_dense`` for an index read whole: one product with every view's vector, the question's
        own vector beside the search vector when the alternate questions need it. Alternate
        questions are matched as whole questions: the question as asked against each, not the
        topic-focused search vector (with which even the same words score about 0.86)."""
        wanted = len(self._alternate_ids) and query.focused  # unfocused, the search vector is the own one
        cosines = self._view_matrix @ (np.stack([vector, own], axis=1) if wanted else vector[:, None])
        every_view = cosines[:, 0]
        view_scores = every_view if self.settings.sentences else np.where(self._counted, every_view, -1.0).astype(np.float32)
        best = self._groups.best(every_view)
        if not len(self._alternate_ids):
            return best, best, view_scores, own, np.zeros(0, np.float32)
        document = self._document_groups.best(every_view)
        own_cosines = cosines[:, 1] if wanted else every_view
        return best, document, view_scores, own, own_cosines[self._alternate_ids]

    def _sentence_tokens(self, view_id: int) -> frozenset[str]:
        """BM25 tokens of a sentence view, worked out on first use and kept."""
        tokens = self._tokens_by_view.get(view_id)
        if tokens is None:
            tokens = self._tokens_by_view[view_id] = frozenset(lexical_tokens(self._sentence_text(view_id)))
        return tokens

    def _sentence_text(self, view_id: int) -> str:
        view = self.index.views[view_id]
        return self.index.passages[view.passage].plain_text[view.start : view.end]

    def _best_sentence(self, passage_index: int, query: Query, scores: np.ndarray) -> str:
        """The passage's sentence with the highest cosine, plus a word-overlap tiebreak.

        Whole sentences beat list fragments ("Rheumatologists") when there are any.
        """
        view_ids = self._sentence_views[passage_index]
        if not view_ids:
            return self.index.passages[passage_index].plain_text.strip()
        whole = [j for j in view_ids if len(self._sentence_text(j).split()) >= MIN_SENTENCE_WORDS]
        view_ids = whole or view_ids
        query_tokens = set(query.tokens)

        def score(j: int) -> float:
            overlap = len(query_tokens & self._sentence_tokens(j))
            return (float(scores[j]) if j < len(scores) else -1.0) + 0.05 * overlap

        return self._sentence_text(max(view_ids, key=score))
