"""Fit the learned decisions from the labelled question sets, as part of an index build.

The labelled sets (``eval/sets/*.csv``, or ``QA_TRAINING_DIR``) say of each
message whether it is a red flag, whether the document covers it, and which
passage answers it. Each message is read exactly as a patient's would be
(``qa.reading``), and three logistic regressions are fitted on what the reading
gives: urgency and coverage on the question's vector (and the message's words,
or named retrieval cues), and the re-ranking of passages (``qa.ranking``) on
each candidate's scores and the vote of the nearest labelled wordings, never
its own set's. Each threshold is chosen on probabilities from models that did
not see the message's own set (leave one set out), so the cut is set where new
wordings land, not where training messages do.

``fit_decisions`` is pure over the readings; ``read_labelled``,
``save_decisions`` and ``load_decisions`` are the thin I/O. The models are one
artifact, ``<index dir>/decisions.json`` (plain JSON numbers, never a pickle):
written aside and swapped in whole, with a checksum and the fingerprint of
everything they were fitted from; ``python -m qa build`` refits them, and a
load refits them when a labelled set, a table, the corpus or the model changed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import os
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from .alternates import ALTERNATE_KIND, Alternate
from .clinic_tables import read_table
from .errors import IndexCorrupt, IndexNotFound, IndexStale
from .config import PROJECT_ROOT
from .decisions.learned import LinearModel, fit_model, pick_threshold, pick_veto
from .decisions.policy import EXACT_SCOPE_REASONS
from .decisions.signals import COVERAGE_CUES, URGENCY_CUES, neighbour_cues
from .dense import best_per_passage
from .ranking import (RANKING_FEATURES, RERANK_DEPTH, VOTE_NEIGHBOURS, VOTE_TEMPERATURE, WORD_VOTE_TEMPERATURE,
                      candidate_features, neighbour_vote, word_vote)
from .reading import Reading
from .retriever import RetrievalSettings, top_k
from .text import fold, strip_markdown

log = logging.getLogger("qa.training")
ENV_TRAINING_DIR = "QA_TRAINING_DIR"
DECISIONS_FILE = "decisions.json"
DECISIONS_FORMAT = 9  # 3: coverage reads the nearest labelled messages; 4: and the floor of what was answered;
# 5: urgency reads the message's words, and may veto a rule's warning; 6: the learned re-ranking (qa.ranking);
# 7: a veto per level of the rule's warning; 8: the labelled vectors as base64 float32, not JSON numbers;
# 9: urgency reads the message's sentences' vectors too (Reading.urgency_vector)
#: A missed red flag costs as much as this many false alarms when the urgency cut is chosen. The
#: project's yardstick is ten, but a cut picked at ten from the fitting sets' own held-out folds sits
#: too high for sets it never saw: 8 and 7 folds of the 49 sets (``python -m eval --urgency-folds``,
#: this set as a script's variable), missed red flags of 2,005 and false alarms of 6,226: at 10,
#: 4 and 172 / 3 and 174; at 20, 1 and 181 / 1 and 183; at 40, 1 and 190 / 0 and 211. Twenty is the
#: cheapest at ten false alarms a miss on both dealings.
URGENT_MISS_COST = 20.0
#: A rule's warning is dropped under this share of the least probability a real one got
#: (``pick_veto``). Leave one set out over 15 sets (docs/evaluation.md), against 109 false
#: alarms and no missed warning without a veto: at the least itself (a cost-balanced cut),
#: 3 missed and 62 false alarms; at half of it, none missed and 76 (of 360 and 1,617). With the
#: sentences' vectors and ``URGENCY_WORD_WEIGHT`` 3, every word kept (``python -m eval
#: --urgency-folds --new-sets dev_carers,dev_terse,dev_worried --veto-share S``: missed red flags
#: of 1,652 in 8 folds of 40 sets + of 225 in three new sets, then false alarms of 5,322 + 375):
#: 0.5 -> 2 + 1 missed, 134 + 11 false alarms; 0.75 -> 2 + 1 and 105 + 8; 1.0 -> 1 + 0 and 93 + 8
#: (docs/evaluation.md, "Sentences": the folds move these by a few either way).
VETO_SHARE = 0.75
#: The veto reads this quantile of the real warnings' probabilities (0: the least; ``pick_veto``).
#: A quantile holds as labelled sets are added, the least does not; in 8 folds of the 49 sets, 0.01
#: gives 2 missed and 159 false alarms against 1 and 181 (docs/evaluation.md): not yet shipped.
VETO_QUANTILE = 0.0
#: The levels of a rule's warning the model may veto, each with its own cut (``pick_veto``); never an
#: emergency. A ``warning`` sign (fever, pus, pain getting worse) is vetoed only when its own clause,
#: read alone, is unlikely too (``qa.decisions.policy.READ_ALONE_LEVELS``, which gives the figures):
#: a warning told now beside an everyday question ("I have a fever, can I go to work tomorrow?") got
#: p 0.04-0.16 from the model, which reads mostly the question, under the veto's 0.17.
#: ``tests/test_learned_decisions.py`` holds a grid of such messages.
VETOED_LEVELS = ("warning", "personal")
#: The word features' length against the unit-length sentence vector in the urgency model.
#: Leave one set out over 15 sets with a cost-balanced veto (docs/evaluation.md): 1 -> 5 missed,
#: 78 false alarms; 2 -> 1 and 68; 3 -> 3 and 70; 4 -> 2 and 72 (of 361 and 1,616). Over 43
#: sets with the sentences' vectors, as for ``VETO_SHARE``, at a veto share of 0.5: 2 -> 0 + 0
#: missed, 168 + 17 false alarms; 3 -> 2 + 1 and 134 + 11.
URGENCY_WORD_WEIGHT = 3.0
#: Declining a question the document answers costs this much of a confident answer to one it does not.
COVERED_MISS_COST = 0.5
#: The answered floor sits this far under the similarity answered training messages had to what
#: else is known to be answered, so a new wording of a rare topic keeps its answer...
ANSWERED_FLOOR_MARGIN = 0.05
#: ...taken at this quantile of them, not at their least: the least is one outlying wording, and
#: falls as the sets grow (0.43 over 15 sets, 0.37 over 39, where a pasted SQL line at 0.43 then
#: passed as a question). One answered message in 200 may fall under the quantile.
ANSWERED_FLOOR_QUANTILE = 0.005


def training_dir() -> Path:
    return Path(os.environ.get(ENV_TRAINING_DIR) or PROJECT_ROOT / "eval" / "sets")


@dataclass(frozen=True)
class LabelledMessage:
    id: str
    question: str
    kind: str
    source: str  # the set it came from (file name without .csv)
    answer_quote: str = ""  # verbatim document snippets separated by "||" (empty when not covered)

    @property
    def urgent(self) -> bool:
        return self.kind == "red_flag"

    @property
    def covered(self) -> bool:
        return self.kind != "out_of_scope"


@dataclass(frozen=True)
class Decisions:
    """The two fitted decision models, the vectors of the labelled messages the coverage model's
    neighbour cues are measured against (those the document answers, those it does not),
    the answered floor: a message further than this from everything known to be
    answered is outside what the coverage model was fitted on, and is declined rather
    than left to its extrapolation (a "DROP TABLE" line read as 0.34 likely covered);
    the urgency veto, and the re-ranking of passages."""

    urgency: LinearModel
    coverage: LinearModel
    covered_vectors: np.ndarray  # (messages, dimension), unit length
    not_covered_vectors: np.ndarray
    answered_floor: float = -1.0
    #: Per level of a rule's warning ("warning", "personal"): a message the urgency model puts under it is not urgent.
    urgency_veto: dict[str, float] = field(default_factory=dict)
    ranking: LinearModel | None = None  # the learned re-ranking of passages (qa.ranking); None: the fused order

    def nearest(self, vector: np.ndarray) -> tuple[float, float]:
        """Best cosines of ``vector`` with a covered and a not-covered labelled message (-1: none)."""
        if not self._labelled_vectors.size:
            return -1.0, -1.0
        cosines = self._labelled_vectors @ np.asarray(vector, dtype=np.float32)
        split = len(self.covered_vectors)
        return (float(cosines[:split].max()) if split else -1.0,
                float(cosines[split:].max()) if len(cosines) > split else -1.0)

    @cached_property
    def _labelled_vectors(self) -> np.ndarray:
        """Both kinds of labelled vector in one matrix, so a question reads them in one product:
        after an encode has evicted them from the cache, two products cost 0.26 ms and one 0.14."""
        parts = [m for m in (self.covered_vectors, self.not_covered_vectors) if len(m)]
        return np.ascontiguousarray(np.vstack(parts), dtype=np.float32) if parts else np.zeros((0, 0), np.float32)

    def to_json(self) -> dict:
        return {"format": DECISIONS_FORMAT, "urgency": self.urgency.to_json(), "coverage": self.coverage.to_json(),
                "covered_vectors": _matrix_json(self.covered_vectors),
                "not_covered_vectors": _matrix_json(self.not_covered_vectors),
                "answered_floor": float(self.answered_floor),
                "urgency_veto": {level: float(v) for level, v in self.urgency_veto.items()},
                "ranking": self.ranking.to_json() if self.ranking is not None else None}

    @classmethod
    def from_json(cls, data: dict) -> "Decisions":
        if data.get("format") != DECISIONS_FORMAT:
            raise ValueError(f"decisions format {data.get('format')!r}, expected {DECISIONS_FORMAT}")
        urgency, coverage = LinearModel.from_json(data["urgency"]), LinearModel.from_json(data["coverage"])
        floor = float(data["answered_floor"])
        veto = {str(level): float(v) for level, v in dict(data["urgency_veto"]).items()}
        if not -1.0 <= floor <= 1.0:
            raise ValueError("answered_floor must be a cosine")
        if not all(level in VETOED_LEVELS and 0.0 <= v <= urgency.threshold for level, v in veto.items()):
            raise ValueError("urgency_veto must map warning levels to probabilities under the urgency threshold")
        ranking = LinearModel.from_json(data["ranking"]) if data.get("ranking") else None
        if ranking is not None and (ranking.cues != RANKING_FEATURES or len(ranking.weights) != len(RANKING_FEATURES)):
            raise ValueError(f"the ranking model must read exactly {', '.join(RANKING_FEATURES)}")
        return cls(urgency, coverage, _vectors(data["covered_vectors"]), _vectors(data["not_covered_vectors"]), floor,
                   veto, ranking)


def _matrix_json(matrix: np.ndarray) -> dict:
    """A matrix of vectors as base64 of its float32 bytes: as JSON numbers the labelled vectors made
    a 6.6 MB file whose reading took a second of every server start (parse, checksum, arrays)."""
    values = np.ascontiguousarray(np.round(np.asarray(matrix, dtype=np.float64), 5), dtype="<f4")
    shape = list(values.shape) if values.size else [0, 0]
    return {"shape": shape, "float32_base64": base64.b64encode(values.tobytes()).decode("ascii")}


def _vectors(data: dict) -> np.ndarray:
    shape = tuple(int(n) for n in data["shape"])
    if len(shape) != 2 or min(shape) < 0:
        raise ValueError("neighbour vectors must be a matrix")
    raw = base64.b64decode(data["float32_base64"], validate=True)
    if len(raw) != 4 * shape[0] * shape[1]:
        raise ValueError("neighbour vectors: the bytes do not fill the shape")
    vectors = np.frombuffer(raw, dtype="<f4").astype(np.float32).reshape(shape)
    if not vectors.size:
        return np.zeros((0, 0), np.float32)
    if not np.all(np.isfinite(vectors)):
        raise ValueError("neighbour vectors must be finite numbers")
    return vectors


def read_labelled(folder: Path) -> list[LabelledMessage]:
    """Every row of every CSV in ``folder`` (columns id, question, kind)."""
    rows = []
    for path in sorted(folder.glob("*.csv")):
        for row in read_table(path, columns=("id", "question", "kind", "answer_quote")):
            if row["question"].strip() and row["kind"].strip():
                rows.append(LabelledMessage(row["id"], row["question"], row["kind"].strip(), path.stem,
                                            row["answer_quote"].strip()))
    return rows


#: Kinds of labelled message that become alternate questions of their passage: the
#: patients' wordings of what the document answers. Red flags are left out: they
#: are answered with the warning-signs guidance whatever passage ranks first.
ALTERNATE_KINDS = frozenset({"faq", "paraphrase", "section", "near_miss", "feedback"})


def labelled_alternates(messages: Sequence[LabelledMessage]) -> tuple[Alternate, ...]:
    """Each labelled in-scope message as an alternate question of the passage holding its first quote."""
    return tuple(Alternate(m.question.strip(), m.answer_quote.split("||")[0].strip())
                 for m in messages if m.kind in ALTERNATE_KINDS and m.answer_quote.strip() and m.question.strip())


def training_fingerprint(folder: Path, corpus_dir: Path, *, index: dict) -> dict:
    """What the decisions are fitted from: each labelled set and corpus table
    (glossary, warning signs, alternate questions...) by sha256, the index they
    read over (``index``: its model, corpus and chunking, as its manifest says),
    and the features the code reads, so a model fitted for other features is
    stale, not misread. ``sets`` is empty when there is nothing to learn from."""
    sets = sorted(folder.glob("*.csv")) if folder.is_dir() else []
    digest = lambda path: hashlib.sha256(path.read_bytes()).hexdigest()  # noqa: E731
    return {"features": {"format": DECISIONS_FORMAT, "urgency": list(URGENCY_CUES), "coverage": list(COVERAGE_CUES),
                         "urgency_words": URGENCY_WORD_WEIGHT, "veto_share": VETO_SHARE, "veto_quantile": VETO_QUANTILE,
                         "vetoed_levels": list(VETOED_LEVELS), "urgent_miss_cost": URGENT_MISS_COST,
                         "ranking": list(RANKING_FEATURES), "rerank_depth": RERANK_DEPTH,
                         "vote": [VOTE_NEIGHBOURS, VOTE_TEMPERATURE, WORD_VOTE_TEMPERATURE]},
            "index": index,
            "sets": [{"name": p.name, "sha256": digest(p)} for p in sets],
            "tables": [{"name": p.name, "sha256": digest(p)} for p in sorted(corpus_dir.glob("*.csv"))]}


#: Sets are dealt into this many folds for choosing thresholds: each message's
#: probability comes from a model fitted without its set (and a few others), in
#: a handful of fits instead of one per set, so a build stays quick.
THRESHOLD_FOLDS = 5


def _oof_probabilities(x_vectors, cues_for, labels, sources, *, cue_names, texts=None, word_weight=0.0) -> np.ndarray:
    """Each message's probability from a model fitted without its own set. ``cues_for(held)``:
    every message's cues with the sets ``held`` out of the neighbours they are measured against;
    ``texts``: the messages, when the model reads their words (its vocabulary from the fold's own)."""
    names = sorted(set(sources))
    fold_of = {name: i % THRESHOLD_FOLDS for i, name in enumerate(names)}
    out = np.zeros(len(labels))
    for fold in sorted(set(fold_of.values())):
        held = np.array([fold_of[s] == fold for s in sources])
        train_labels = [label for label, h in zip(labels, held) if not h]
        if len(set(train_labels)) < 2:
            out[held] = 0.5
            continue
        x_cues = cues_for(frozenset(name for name in names if fold_of[name] == fold))
        train_texts = None if texts is None else [t for t, h in zip(texts, held) if not h]
        model = fit_model(x_vectors[~held], x_cues[~held], train_labels, cue_names=cue_names, texts=train_texts,
                          word_weight=word_weight)
        held_texts = [""] * int(held.sum()) if texts is None else [t for t, h in zip(texts, held) if h]
        out[held] = [model.probability(v, c, t) for v, c, t in zip(x_vectors[held], x_cues[held], held_texts)]
    return out


@dataclass(frozen=True)
class NearestPerSet:
    """Each labelled message's best cosine with the wanted messages of every set (-1: none of that
    set is wanted): one product for all the ways sets are held out while fitting."""

    names: np.ndarray  # the sets, one column each
    best: np.ndarray  # (messages, sets)
    own: np.ndarray  # each message's own set's column


def nearest_per_set(vectors: np.ndarray, sources: Sequence[str], wanted: np.ndarray, *,
                    chunk: int = 1024) -> NearestPerSet:
    """``NearestPerSet`` of ``vectors``, a block of rows at a time (6,000 messages squared would be 300 MB)."""
    names, own = np.unique(np.asarray(sources), return_inverse=True)
    columns = [np.flatnonzero((own == i) & wanted) for i in range(len(names))]
    best = np.full((len(vectors), len(names)), -1.0)
    for start in range(0, len(vectors), chunk):
        similarity = vectors[start:start + chunk] @ vectors.T
        for i, ids in enumerate(columns):
            if len(ids):
                best[start:start + chunk, i] = similarity[:, ids].max(axis=1)
    return NearestPerSet(names, best, own)


def nearest_labelled(vectors: np.ndarray, sources: Sequence[str], wanted: np.ndarray,
                     *, held: frozenset[str] = frozenset(), per_set: NearestPerSet | None = None) -> np.ndarray:
    """Per message, its best cosine with a ``wanted`` labelled message of another set, leaving
    out the sets in ``held`` too: as a patient's message meets the labelled ones, never itself
    or its own set's siblings. -1 where there is none. ``per_set``: ``nearest_per_set`` of the
    same arguments, when many ``held`` are asked for."""
    per_set = per_set if per_set is not None else nearest_per_set(vectors, sources, wanted)
    other_set = np.arange(len(per_set.names))[None, :] != per_set.own[:, None]
    allowed = ~np.isin(per_set.names, list(held))[None, :] & other_set
    return np.where(allowed, per_set.best, -1.0).max(axis=1, initial=-1.0)


@dataclass(frozen=True)
class IndexViews:
    """What re-ranking a labelled message needs of the index it was read over, as plain data."""

    owner: np.ndarray  # the passage of each view
    alternates: tuple[str | None, ...]  # each view's text if it is an alternate question, else None
    passages: tuple[str, ...]  # each passage's text, Markdown stripped and folded (to find gold quotes in)


def index_views(index) -> IndexViews:
    """``index`` (a loaded ``qa.index_store.Index``) as the re-ranking's training reads it."""
    return IndexViews(np.array([v.passage for v in index.views], dtype=np.int64),
                      tuple(v.text.strip() if v.kind == ALTERNATE_KIND else None for v in index.views),
                      tuple(fold(strip_markdown(p.plain_text)) for p in index.passages))


def voters(views: IndexViews, sets_of: dict[str, set[str]], source: str) -> np.ndarray:
    """The alternate-question views that may vote for a message of set ``source``: the clinic's own
    rows, and labelled wordings some other set holds too; never its own set's (itself among them)."""
    return np.array([i for i, text in enumerate(views.alternates)
                     if text is not None and (text not in sets_of or sets_of[text] - {source})], dtype=np.int64)


@dataclass(frozen=True)
class RankingExample:
    """One labelled message re-ranked as a new one would be: its candidates (best fused first),
    their :data:`qa.ranking.RANKING_FEATURES`, and which of them hold its quote."""

    candidates: np.ndarray
    features: np.ndarray
    gold: np.ndarray


def ranking_examples(messages: Sequence[LabelledMessage], readings: Sequence[Reading], views: IndexViews,
                     *, lexical_weight: float = RetrievalSettings().lexical_weight) -> list[RankingExample]:
    """Each in-scope labelled message whose quote some passage holds, with its own set's alternate
    questions left out of the vote and of the fused score (``voters``)."""
    owner = np.asarray(views.owner)
    n = len(views.passages)
    document_views = np.array([text is None for text in views.alternates], dtype=bool)
    alternate_ids = np.flatnonzero(~document_views)  # the order of Query.alternate_lexical
    sets_of: dict[str, set[str]] = {}
    for m in messages:
        if m.kind in ALTERNATE_KINDS and m.answer_quote.strip():
            sets_of.setdefault(m.question.strip(), set()).add(m.source)
    allowed: dict[str, np.ndarray] = {}
    examples = []
    for m, r in zip(messages, readings):
        quotes = [fold(strip_markdown(q)) for q in m.answer_quote.split("||") if q.strip()]
        if m.kind not in ALTERNATE_KINDS or not quotes or r.query.view_cosines is None:
            continue
        gold = np.array([any(q in text for q in quotes) for text in views.passages])
        if not gold.any():
            continue
        if m.source not in allowed:
            allowed[m.source] = voters(views, sets_of, m.source)
        ids = allowed[m.source]
        cosines, lexical = r.query.view_cosines, r.query.lexical_scores
        document = best_per_passage(cosines, np.arange(len(cosines)), owner, n, views=document_views)
        fused_dense = np.maximum(document, best_per_passage(cosines[ids], ids, owner, n))
        share = lexical / lexical.max() if lexical.max() > 0 else np.zeros(n)
        fused = fused_dense + lexical_weight * share
        candidates = top_k(fused, RERANK_DEPTH)
        bm25 = r.query.alternate_lexical
        words = bm25[np.searchsorted(alternate_ids, ids)] if bm25 is not None else np.zeros(0)  # the voters' own
        features = candidate_features(candidates, fused=fused, document=document, lexical_share=share,
                                      meaning_vote=neighbour_vote(cosines, owner, ids, n),
                                      words_vote=word_vote(words, owner[ids], n))
        examples.append(RankingExample(candidates, features, gold[candidates]))
    return examples


def fit_ranking(examples: Sequence[RankingExample]) -> LinearModel | None:
    """The re-ranking model (qa.ranking), fitted candidate by candidate: does this passage hold the
    message's quote? None when there is nothing to learn from."""
    labels = [bool(g) for e in examples for g in e.gold]
    if len(set(labels)) < 2:
        return None
    features = np.vstack([e.features for e in examples])
    return fit_model(np.zeros((len(features), 0)), features, labels, cue_names=RANKING_FEATURES)


def fit_decisions(messages: Sequence[LabelledMessage], readings: Sequence[Reading],
                  views: IndexViews | None = None) -> Decisions:
    """Both models, thresholds chosen leave-one-set-out (see the module docstring), and with
    the index's ``views``, the re-ranking of passages (``fit_ranking``)."""
    vectors = np.array([r.vector for r in readings], dtype=np.float64)
    sources = [m.source for m in messages]
    # What the index holds as alternate questions, and the messages the document does not answer.
    covered = np.array([m.kind in ALTERNATE_KINDS and bool(m.answer_quote.strip()) for m in messages], dtype=bool)
    not_covered = np.array([not m.covered for m in messages], dtype=bool)
    retrieval = np.array([r.coverage_cues for r in readings], dtype=np.float64).reshape(len(readings), -1)

    best_document = np.array([max(r.query.document_cosines, default=-1.0) for r in readings])

    covered_per_set = nearest_per_set(vectors, sources, covered)
    not_covered_per_set = nearest_per_set(vectors, sources, not_covered)

    def coverage_cues_for(held: frozenset[str]) -> np.ndarray:
        near_covered = nearest_labelled(vectors, sources, covered, held=held, per_set=covered_per_set)
        near_not_covered = nearest_labelled(vectors, sources, not_covered, held=held, per_set=not_covered_per_set)
        neighbours = [neighbour_cues(c, n, best_cosine=b) for c, n, b in zip(near_covered, near_not_covered, best_document)]
        return np.hstack([retrieval, np.array(neighbours).reshape(len(readings), -1)])

    # How near each message came to something known to be answered, its own set left out.
    answered = np.maximum(nearest_labelled(vectors, sources, covered, per_set=covered_per_set), best_document)
    floor = answered_floor(answered, [m.covered for m in messages])

    labels = [m.covered for m in messages]
    forced = [0.0 if r.rule_scope.reason in EXACT_SCOPE_REASONS or a < floor else None  # exact refusals stay
              for r, a in zip(readings, answered)]
    oof = _oof_probabilities(vectors, coverage_cues_for, labels, sources, cue_names=COVERAGE_CUES)
    threshold = pick_threshold([f if f is not None else p for f, p in zip(forced, oof)], labels,
                               miss_cost=COVERED_MISS_COST)
    coverage = fit_model(vectors, coverage_cues_for(frozenset()), labels, cue_names=COVERAGE_CUES, threshold=threshold)
    urgency, veto = fit_urgency(messages, readings)
    return Decisions(urgency, coverage, vectors[covered].astype(np.float32),
                     vectors[not_covered].astype(np.float32), floor, veto,
                     fit_ranking(ranking_examples(messages, readings, views)) if views is not None else None)


def urgency_features(readings: Sequence[Reading], *, sentences: bool = True) -> np.ndarray:
    """What the urgency model reads beside the words: each message's ``Reading.urgency_vector`` (its
    vector, then its sentences'); with ``sentences=False``, its vector alone (decisions format 8,
    kept to measure what the sentences add: ``python -m eval --urgency-folds --no-sentences``)."""
    return np.array([r.urgency_vector if sentences else r.vector for r in readings], dtype=np.float64)


def clause_probability(model: LinearModel, reading: Reading, *, sentences: bool = True) -> float | None:
    """The urgency model's likeliest probability for the clauses a warning sign was told in, each read
    as a message of one sentence (its vector where the model reads the message's and its sentences':
    ``urgency_features``); None when there are none (``Reading.clauses``)."""
    told = [model.probability(np.concatenate([vector, vector]) if sentences else vector, (), clause)
            for vector, clause in reading.clause_vectors]
    return max(told, default=None)


def urgency_probabilities(model: LinearModel, reading: Reading) -> tuple[float, float | None]:
    """The shipped urgency model's probability for the message, and ``clause_probability``: the two
    ``qa.decisions.policy.decide_urgency`` weighs."""
    return model.probability(reading.urgency_vector, (), reading.message), clause_probability(model, reading)


def fit_urgency(messages: Sequence[LabelledMessage], readings: Sequence[Reading], *,
                word_weight: float = URGENCY_WORD_WEIGHT, veto_share: float = VETO_SHARE,
                veto_quantile: float = VETO_QUANTILE, sentences: bool = True) -> tuple[LinearModel, dict[str, float]]:
    """The urgency model, its cut and the veto of the rules' warnings (the module docstring says how
    each is chosen); the keywords are the shipped settings, open for measuring others."""
    labels = [m.urgent for m in messages]
    x = urgency_features(readings, sentences=sentences)
    no_cues = np.zeros((len(readings), 0))
    texts = [r.message for r in readings]
    oof = _oof_probabilities(x, lambda held: no_cues, labels, [m.source for m in messages], cue_names=URGENCY_CUES,
                             texts=texts, word_weight=word_weight)
    # A message the rules call urgent counts as flagged whatever the model says, before any veto.
    threshold = pick_threshold([1.0 if r.flags.urgent else p for r, p in zip(readings, oof)], labels,
                               miss_cost=URGENT_MISS_COST)
    model = fit_model(x, no_cues, labels, cue_names=URGENCY_CUES, threshold=threshold, texts=texts,
                      word_weight=word_weight)
    veto = pick_veto(oof, labels, levels=[r.flags.level for r in readings], share=veto_share, vetoed=VETOED_LEVELS,
                     quantile=veto_quantile)
    # Above the cut a veto would drop nothing the cut keeps.
    return model, {level: min(v, threshold) for level, v in veto.items()}


def answered_floor(nearest_answered: Sequence[float], covered: Sequence[bool]) -> float:
    """``ANSWERED_FLOOR_MARGIN`` under the ``ANSWERED_FLOOR_QUANTILE`` of the covered messages'
    ``nearest_answered`` (-1: none)."""
    values = [a for a, c in zip(nearest_answered, covered) if c]
    if not values:
        return -1.0
    return max(-1.0, float(np.quantile(values, ANSWERED_FLOOR_QUANTILE, method="lower")) - ANSWERED_FLOOR_MARGIN)


def fit_labelled(read: Callable[[list[str]], list[Reading]], training: Path,
                 views: IndexViews | None = None) -> tuple[Decisions | None, int]:
    """Read every labelled message in ``training`` (``read``: their readings, in order) and fit;
    ``(None, 0)`` when there are no sets."""
    messages = read_labelled(training) if training.is_dir() else []
    if not messages:
        log.warning("No labelled question sets in %s: the decisions use the rules alone.", training)
        return None, 0
    readings = read([m.question for m in messages])
    kept = [(m, r) for m, r in zip(messages, readings) if r.vector is not None]
    return fit_decisions([m for m, _ in kept], [r for _, r in kept], views), len(kept)


def save_decisions(path: Path, decisions: Decisions | None, *, inputs: dict, messages: int) -> None:
    """Write the models with the fingerprint of their inputs and a checksum, aside then swapped in whole."""
    payload = {"inputs": inputs, "messages": messages, "models": decisions.to_json() if decisions else None}
    body = json.dumps(payload, sort_keys=True)
    text = json.dumps({"sha256": hashlib.sha256(body.encode()).hexdigest(), "payload": payload}, sort_keys=True)
    tmp = path.with_name(f".{path.name}-{os.getpid()}-{uuid.uuid4().hex[:8]}")
    try:
        with tmp.open("w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)  # atomic: a reader sees the old file or the new one
    finally:
        tmp.unlink(missing_ok=True)


def load_decisions(path: Path, *, inputs: dict) -> Decisions | None:
    """The saved models; ``IndexStale`` when fitted on other inputs, ``IndexCorrupt`` when damaged,
    ``IndexNotFound`` when there is no file; None when fitted with no labelled sets."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise IndexNotFound(f"No learned decisions in {path.parent}: run `python -m qa build`.") from None
    except (OSError, ValueError) as exc:
        raise IndexCorrupt(f"{path} is unreadable: run `python -m qa build`.") from exc
    payload = data.get("payload") if isinstance(data, dict) else None
    body = json.dumps(payload, sort_keys=True)
    if not isinstance(payload, dict) or hashlib.sha256(body.encode()).hexdigest() != data.get("sha256"):
        raise IndexCorrupt(f"{path} is damaged (its checksum does not match): run `python -m qa build`.")
    if payload.get("inputs") != inputs:
        raise IndexStale(f"The learned decisions in {path} were fitted on other inputs (labelled sets, tables, "
                         "corpus, model or features): run `python -m qa build`.")
    try:
        return Decisions.from_json(payload["models"]) if payload.get("models") else None
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexCorrupt(f"{path} holds malformed models ({exc}): run `python -m qa build`.") from exc
