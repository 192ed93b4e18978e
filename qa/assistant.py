"""The one object the shells use: load once, then ``ask`` many times.

``Assistant.load`` reads the corpus, loads (or builds, when missing, stale or
damaged) the index and prepares the model; ``ask`` turns any input into an
``Answer`` and never raises. Repeated questions are served from a bounded
cache keyed on the normalised question. When ``python -m qa build`` swaps in
a new index while the assistant serves, the next question after the swap
(checked at most every ``REFRESH_SECONDS``) switches to it in one step; until
the new index is complete, the old one keeps answering. This module wires the
parts together; the logic lives in the modules it calls.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from . import answer as answers
from .alternates import Alternate, load_alternates
from .config import MAX_QUESTION_CHARS, Paths, resolve_paths
from .corpus import CorpusFile, read_corpus
from .dense import set_search_threads
from .encoder.embedder import Embedder, embedder_for, torch_threads
from .encoder.kept_vectors import kept_vectors_path, load_kept, save_kept
from .encoder.onnx_cache import default_cache_dir
from .encoder.remembering import RememberingEmbedder
from .errors import IndexCorrupt, IndexNotFound, IndexStale, QAError
from .glossary import Glossary, load_glossary
from .index_store import Index, build_index, current_folder, expected_manifest, load_index
from .decisions.not_covered import NotCoveredTerm, absent_from, load_not_covered
from .passages import ChunkingSettings, Passage
from .decisions.followup import in_context, leans_on_previous
from .decisions.policy import Urgency, decide_scope, decide_urgency
from .decisions.signals import neighbour_cues
from .decisions.scope import ScopeDecision
from .reading import Reading, read_message, texts_to_encode
from .training import (DECISIONS_FILE, Decisions, LabelledMessage, fit_decisions, fit_labelled,
                       index_views, labelled_alternates, load_decisions, read_labelled, save_decisions, training_dir,
                       training_fingerprint, urgency_probabilities)
from .retriever import Hit, RetrievalSettings, Retriever, document_words
from .decisions.function_words import FUNCTION_WORDS
from .spelling import build_corrector, wordpiece_dictionary
from .text import clean_question, fold, words
from .decisions.triage import WarningSign, load_warning_signs

log = logging.getLogger("qa")
CACHE_SIZE = 2048
MAX_K = 10
REFRESH_SECONDS = 2.0


@dataclass(frozen=True)
class _Loaded:
    """Everything that changes together when a new index is swapped in."""

    index: Index
    glossary: Glossary
    warning_signs: tuple[WarningSign, ...]
    not_covered: tuple[NotCoveredTerm, ...]
    retriever: Retriever
    guidance: Passage | None
    question_headings: tuple[str, ...]
    positions: dict[str, int]  # passage id -> its place in document order (for the neighbouring sections)
    decisions: Decisions | None = None  # the learned models of this index (None: the rules alone)


class Assistant:
    """Answers patient questions by quoting the clinic's corpus."""

    def __init__(self, *, paths: Paths, embedder: Embedder, loaded: _Loaded, settings: RetrievalSettings,
                 auto_refresh: bool = True) -> None:
        self.paths = paths
        self.auto_refresh = auto_refresh
        self.embedder = embedder
        self.settings = settings
        self._loaded = loaded
        self._cache: OrderedDict[tuple, answers.Answer] = OrderedDict()
        self._lock = threading.Lock()
        self._next_refresh = time.monotonic() + REFRESH_SECONDS
        self._decisions_stamp = _decisions_stamp(paths)

    # ----------------------------------------------------------------- loading
    @classmethod
    def load(
        cls,
        *,
        corpus_dir: str | Path | None = None,
        index_dir: str | Path | None = None,
        model_path: str | Path | None = None,
        settings: RetrievalSettings = RetrievalSettings(),
        rebuild: str = "auto",
        progress: bool = False,
        embedder: Embedder | None = None,
    ) -> "Assistant":
        """Load everything; ``rebuild="auto"`` rebuilds a missing, stale or damaged
        index, ``"never"`` raises instead, ``"always"`` rebuilds regardless.
        ``embedder``: one to use instead of the model at ``model_path`` (a
        benchmark's trial encoder)."""
        if rebuild not in ("auto", "never", "always"):
            raise ValueError('rebuild must be "auto", "never" or "always"')
        paths = resolve_paths(corpus_dir=corpus_dir, index_dir=index_dir, model_path=model_path)
        files = read_corpus(paths.corpus_dir)
        if embedder is None:
            embedder = embedder_for(paths.model_path)  # loading on another core while the index is read and prepared
        loaded = _load_or_build(files, embedder, paths, rebuild, progress,
                                prepare=lambda index: _prepare(index, embedder, paths.corpus_dir, settings))
        return cls(paths=paths, embedder=embedder, loaded=loaded, settings=settings)

    def with_settings(self, settings: RetrievalSettings) -> "Assistant":
        """Same model and index, other retrieval settings (for evaluation)."""
        current = self._loaded
        retriever = Retriever(current.index, self.embedder, current.glossary, current.retriever.corrector, settings,
                              known_words=current.retriever.document_words,
                              clinic_questions=current.retriever.clinic_questions)
        return Assistant(paths=self.paths, embedder=self.embedder, loaded=replace(current, retriever=retriever),
                         settings=settings, auto_refresh=self.auto_refresh)

    def with_embedder(self, embedder: Embedder) -> "Assistant":
        """Same index, decisions and settings, another encoder of the same model (evaluation's
        remembering one: ``qa.encoder.remembering``)."""
        return Assistant(paths=self.paths, embedder=embedder, loaded=self._loaded, settings=self.settings,
                         auto_refresh=False)

    def with_decisions(self, decisions: Decisions | None) -> "Assistant":
        """Same model, index and settings, other learned decisions (None: the rules alone).

        The evaluation's leave-one-set-out runs use it: decisions fitted without a
        set, then that set asked."""
        return Assistant(paths=self.paths, embedder=self.embedder, loaded=replace(self._loaded, decisions=decisions),
                         settings=self.settings, auto_refresh=False)

    def read_labelled(self, questions: list[str]) -> list[Reading]:
        """Labelled messages read as a build reads them to train (the rules alone, over this index),
        from the vectors the last build kept where it can (``qa.encoder.kept_vectors``)."""
        embedder = self.embedder if isinstance(self.embedder, RememberingEmbedder) else _remembering(self.embedder)
        return _read_labelled(self._loaded, embedder, self.paths, questions)

    def fit_decisions(self, messages: list[LabelledMessage]) -> Decisions:
        """Decisions fitted on ``messages`` as a build would fit them, read over this index."""
        readings = _read_labelled(self._loaded, self.embedder, self.paths, [m.question for m in messages])
        kept = [(m, r) for m, r in zip(messages, readings) if r.vector is not None]
        return fit_decisions([m for m, _ in kept], [r for _, r in kept], index_views(self.index))

    def trained_on(self, messages: list[LabelledMessage]) -> "Assistant":
        """The assistant a build would make if ``messages`` were every labelled set: their
        in-scope wordings as alternate questions in a new index (held in memory), decisions
        fitted over it (none: the rules alone over the clinic's own file). Leave-one-set-out
        evaluation uses it, so a held-out set is neither an alternate question nor a
        training message."""
        alternates = load_alternates(self.paths.corpus_dir) + labelled_alternates(messages)
        with tempfile.TemporaryDirectory(prefix="qa-trained-") as folder:
            build_index(read_corpus(self.paths.corpus_dir), self.embedder, Path(folder), alternates=alternates)
            index = load_index(Path(folder), dimension=self.embedder.dimension)
        trained = self.over_index(index)
        return trained.with_decisions(trained.fit_decisions(messages) if messages else None)

    def over_index(self, index: Index) -> "Assistant":
        """Same model, corpus files and settings over another (e.g. synthetic)
        index held in memory; it never switches to the index on disk."""
        return Assistant(paths=self.paths, embedder=self.embedder,
                         loaded=replace(_prepare(index, self.embedder, self.paths.corpus_dir, self.settings),
                                        decisions=self._loaded.decisions),
                         settings=self.settings, auto_refresh=False)

    def refresh(self) -> bool:
        """Switch to the index ``current`` now points to, if it changed.

        Returns True when it switched. A new index that fails to load leaves the
        old one answering (and says so in the log).
        """
        try:
            folder = current_folder(self.paths.index_dir)
        except QAError:
            return False
        stamp = _decisions_stamp(self.paths)
        if folder == self._loaded.index.folder and stamp == self._decisions_stamp:
            return False
        try:
            index = load_index(self.paths.index_dir, dimension=self.embedder.dimension)
            loaded = _prepare(index, self.embedder, self.paths.corpus_dir, self.settings)
        except QAError as exc:
            log.warning("New index not used, still answering from the previous one: %s", exc)
            return False
        try:
            loaded = replace(loaded, decisions=load_decisions(self.paths.index_dir / DECISIONS_FILE,
                                                              inputs=_decision_inputs(index, self.paths)))
        except QAError as exc:  # a build refits them right after the index: keep the current ones until the file changes
            log.warning("Learned decisions not refreshed (%s); keeping the current ones.", exc)
            loaded = replace(loaded, decisions=self._loaded.decisions)
        self._decisions_stamp = stamp
        with self._lock:
            self._loaded = loaded  # one assignment: a question sees the old or the new index, never a mix
            self._cache.clear()
        log.info("Switched to the index built at %s.", index.manifest.get("built_at"))
        return True

    def clear_cache(self) -> None:
        """Forget cached answers (benchmarks measure uncached questions)."""
        with self._lock:
            self._cache.clear()

    @property
    def cached_answers(self) -> int:
        return len(self._cache)

    # ------------------------------------------------------------- properties
    @property
    def index(self) -> Index:
        return self._loaded.index

    @property
    def glossary(self) -> Glossary:
        return self._loaded.glossary

    @property
    def decisions(self) -> Decisions | None:
        """The learned decisions answering now (None: the rules alone)."""
        return self._loaded.decisions

    @property
    def retriever(self) -> Retriever:
        return self._loaded.retriever

    @property
    def manifest(self) -> dict:
        return self._loaded.index.manifest

    @property
    def passages(self) -> tuple[Passage, ...]:
        return self._loaded.index.passages

    def corpus_markdown(self, source: str) -> str:
        """The whole Markdown text of one corpus file, as indexed."""
        if source not in {p.source for p in self.passages}:
            raise QAError(f"No corpus file named {source!r}.")
        return (self.paths.corpus_dir / source).read_text(encoding="utf-8")

    # ------------------------------------------------------------------ asking
    def ask(self, question: object, k: object = 3, *, history: object = ()) -> answers.Answer:
        """Answer any input; never raises (bad input gets an explanatory Answer).

        ``history``: the patient's earlier questions in this conversation, oldest
        first. An elliptical follow-up ("and how long does it last?") is searched
        together with the question it follows (``qa.decisions.followup``);
        anything that is not a list of strings is ignored.
        """
        if not isinstance(question, str):
            return answers.input_problem("", "Please type your question as text.")
        try:
            k = max(1, min(int(k), MAX_K))
        except OverflowError:  # an infinite k asks for as many passages as allowed
            k = MAX_K if k > 0 else 1
        except (TypeError, ValueError):
            k = 3
        if len(question) > MAX_QUESTION_CHARS:
            return answers.input_problem(
                clean_question(question[:MAX_QUESTION_CHARS]),
                f"Your question is too long ({len(question):,} characters). "
                f"Please keep it under {MAX_QUESTION_CHARS:,} characters.",
            )
        cleaned = clean_question(question)
        if not cleaned:
            return answers.input_problem(cleaned, "Please type a question about hip injections.")
        self._maybe_refresh()
        earlier = _earlier_questions(history) if leans_on_previous(cleaned) else []
        key = (fold(cleaned), tuple(fold(h) for h in earlier), k)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
        if cached is not None:
            return cached if cached.question == cleaned else replace(cached, question=cleaned)
        try:
            loaded = self._loaded
            result = self._answer(loaded, cleaned, k, searched=cleaned)
            searched = in_context(cleaned, earlier)
            if result.abstained and searched != cleaned:  # alone it found nothing: read it as a follow-up
                # Urgent or not as the message itself: the context finds the passage, and the earlier
                # messages were triaged when they were sent ("and after that?" after "after they numb
                # the skin what happens" describes no sign).
                alone = Urgency(result.urgent, result.emergency, result.debug.get("urgency_by", ""))
                in_light = self._answer(loaded, cleaned, k, searched=searched, urgency=alone)
                result = in_light if not in_light.abstained else result
        except Exception:  # never let a patient see a traceback; keep the text out of logs
            log.exception("ask() failed (question text withheld)")
            return answers.Answer(question=cleaned, message=answers.NOT_COVERED, abstained=True, reason="internal_error")
        with self._lock:
            self._cache[key] = result
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def _maybe_refresh(self) -> None:
        now = time.monotonic()
        if not self.auto_refresh or now < self._next_refresh:
            return
        self._next_refresh = now + REFRESH_SECONDS
        self.refresh()

    @staticmethod
    def _answer(loaded: _Loaded, question: str, k: int, *, searched: str,
                urgency: Urgency | None = None) -> answers.Answer:
        """``searched``: the question as read in the conversation (itself, or a follow-up with its context);
        ``urgency``: already decided on the message alone (a follow-up read in context), else decided here."""
        reading = _read(loaded, question, searched=searched, k=k + 5, for_urgency=urgency is None)
        hits = reading.hits
        decided, scope, chances = _decide(loaded.decisions, reading)
        if urgency is not None:  # the probability read here did not decide
            chances.pop("p_urgent", None)
        urgency = urgency or decided
        shown, uncovered = hits, ()
        if len(reading.asked) > 1:
            # "does it hurt after, and what can I take for it?": each question is read and decided on
            # its own; a passage for each covered one comes first, the others are named, never dropped.
            parts = [(q, _read(loaded, q, searched=q, k=k + 5, for_urgency=False)) for q in reading.asked]
            covered = [(q, r) for q, r in parts if not _decide(loaded.decisions, r)[1].abstain]
            shown = _first_of_each([r.hits[:1] for _, r in covered], hits)
            uncovered = tuple(q for q, r in parts if (q, r) not in covered) if covered else ()
            # Some part is covered: answer it (a not-covered part, such as the cost, is named instead).
            scope = ScopeDecision(False, "") if covered else scope
        result = answers.compose(
            question=question, hits=shown[:k], k=k, abstain=scope.abstain, reason=scope.reason,
            urgent=urgency.urgent, emergency=urgency.emergency, guidance=loaded.guidance, uncovered_parts=uncovered,
            related=_related(shown, question, shown=k,
                             neighbours=_neighbour_sections(loaded.index.passages, loaded.positions, shown),
                             candidates=loaded.question_headings),
        )
        query = reading.query
        return replace(result, debug={"corrected": query.corrected, "expansions": query.expansions,
                                      "unknown_words": query.unknown_words,
                                      "asked_unknown_words": query.asked_unknown_words,
                                      "not_covered_topic": reading.topic, "signs": reading.flags.signs,
                                      "rule_scope": reading.rule_scope.reason, "urgency_by": urgency.reason,
                                      "alternate_cosine": round(query.alternate_cosine, 4), **chances})


def _read(loaded: _Loaded, question: str, *, searched: str, k: int, for_urgency: bool = True) -> Reading:
    return read_message(question, searched=searched, retriever=loaded.retriever, warning_signs=loaded.warning_signs,
                        not_covered=loaded.not_covered, k=k,
                        ranker=loaded.decisions.ranking if loaded.decisions is not None else None,
                        for_urgency=for_urgency)


def _decide(decisions: Decisions | None, reading: Reading) -> tuple[Urgency, ScopeDecision, dict]:
    """The rules' decisions, refined by the learned models when the index has them."""
    alternate, clinic = reading.query.alternate_cosine, reading.query.clinic_alternate_cosine
    if decisions is None or reading.vector is None:
        return (decide_urgency(reading.flags, None, 1.0),
                decide_scope(reading.rule_scope, None, 0.0, alternate_cosine=alternate,
                             clinic_alternate_cosine=clinic), {})
    p_urgent, p_clause = urgency_probabilities(decisions.urgency, reading)
    nearest_covered, nearest_not_covered = decisions.nearest(reading.vector)
    best = max(reading.query.document_cosines, default=-1.0)
    cues = (*reading.coverage_cues, *neighbour_cues(nearest_covered, nearest_not_covered, best_cosine=best))
    p_covered = decisions.coverage.probability(reading.vector, cues)
    return (decide_urgency(reading.flags, p_urgent, decisions.urgency.threshold, veto_below=decisions.urgency_veto,
                           clause_probability=p_clause),
            decide_scope(reading.rule_scope, p_covered, decisions.coverage.threshold, alternate_cosine=alternate,
                         clinic_alternate_cosine=clinic, nearest_not_covered=nearest_not_covered,
                         nearest_answered=max(nearest_covered, best), answered_floor=decisions.answered_floor),
            {"p_urgent": round(p_urgent, 4), **({"p_urgent_clause": round(p_clause, 4)} if p_clause is not None else {}),
             "p_covered": round(p_covered, 4),
             "nearest_covered": round(nearest_covered, 4), "nearest_not_covered": round(nearest_not_covered, 4)})


def build(files: list[CorpusFile], embedder: Embedder, paths: Paths, *, progress: bool = False) -> Path:
    """Build the index, then fit the learned decisions over it (``python -m qa build``); return the index folder."""
    remembering = _remembering(embedder)  # the views (mostly labelled messages) too, as the readings
    folder = build_index(files, remembering, paths.index_dir, chunking=ChunkingSettings(), progress=progress,
                         alternates=index_alternates(paths.corpus_dir))
    _fit_and_save(load_index(paths.index_dir, dimension=embedder.dimension), embedder, paths, remembering=remembering)
    return folder


def index_alternates(corpus_dir: Path) -> tuple[Alternate, ...]:
    """The alternate questions an index of ``corpus_dir`` holds: the clinic's file, then every
    labelled in-scope message (``training_dir()``). Whoever builds or checks an index passes these."""
    training = training_dir()
    labelled = read_labelled(training) if training.is_dir() else []
    return load_alternates(corpus_dir) + labelled_alternates(labelled)


def _decision_inputs(index: Index, paths: Paths) -> dict:
    """The fingerprint the decisions must have been fitted on to serve with this index."""
    manifest = index.manifest
    over = {key: manifest.get(key) for key in ("format_version", "corpus", "chunking", "alternate_questions")}
    over["model"] = (manifest.get("model") or {}).get("fingerprint")
    return training_fingerprint(training_dir(), paths.corpus_dir, index=over)


def _remembering(embedder: Embedder) -> RememberingEmbedder:
    """``embedder``, starting from the vectors the last build kept (``qa.encoder.kept_vectors``)."""
    kept = kept_vectors_path(default_cache_dir(), embedder.fingerprint, embedder.backend)
    return RememberingEmbedder(embedder, load_kept(kept, dimension=embedder.dimension))


def _fit_and_save(index: Index, embedder: Embedder, paths: Paths, *,
                  remembering: RememberingEmbedder | None = None) -> Decisions | None:
    """Fit the decisions over ``index`` from the labelled sets and save them beside it.

    The labelled messages' question vectors come from the last build's where their
    words are unchanged (``qa.encoder.kept_vectors``) and are kept for the next, with
    whatever else ``remembering`` encoded in this build (the index's views)."""
    kept = kept_vectors_path(default_cache_dir(), embedder.fingerprint, embedder.backend)
    remembering = remembering or _remembering(embedder)
    loaded = _prepare(index, remembering, paths.corpus_dir, RetrievalSettings())  # the rules alone, for reading
    decisions, messages = fit_labelled(lambda questions: _read_labelled(loaded, remembering, paths, questions),
                                       training_dir(), index_views(index))
    if messages:
        save_kept(kept, remembering.used(), dimension=embedder.dimension)
    try:
        save_decisions(paths.index_dir / DECISIONS_FILE, decisions, inputs=_decision_inputs(index, paths),
                       messages=messages)
    except OSError as exc:  # a read-only index folder: answer with what was fitted, say so once
        log.warning("Cannot save the learned decisions in %s (%s); they are refitted at each start.",
                    paths.index_dir, exc.strerror or exc)
    return decisions


def _decisions_for(index: Index, embedder: Embedder, paths: Paths, rebuild: str) -> Decisions | None:
    """The saved decisions for ``index``, refitted when missing, stale or damaged (unless ``rebuild="never"``)."""
    try:
        if rebuild != "always":
            return load_decisions(paths.index_dir / DECISIONS_FILE, inputs=_decision_inputs(index, paths))
    except (IndexNotFound, IndexStale, IndexCorrupt) as exc:
        if rebuild == "never":
            if isinstance(exc, IndexCorrupt):
                raise
            log.warning("%s Until then the decisions use the rules alone.", exc)
            return None
        log.warning("%s Fitting them now.", exc)
    return _fit_and_save(index, embedder, paths)


def _decisions_stamp(paths: Paths) -> tuple[int, int] | None:
    """When the decisions file last changed, so a serving assistant notices a refit."""
    try:
        stat = (paths.index_dir / DECISIONS_FILE).stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def _training_reader(loaded: _Loaded, embedder: Embedder, paths: Paths) -> Callable[[str], Reading]:
    """Read a labelled message as a patient's question would be read (by the rules alone), once per process."""
    cache = _readings_cache(loaded, embedder, paths)
    rules_only = replace(loaded, decisions=None)

    def read(message: str) -> Reading:
        if message not in cache:
            cleaned = clean_question(message[:MAX_QUESTION_CHARS])
            cache[message] = _read(rules_only, cleaned, searched=cleaned, k=TRAINING_K)
        return cache[message]

    return read


def _read_labelled(loaded: _Loaded, embedder: Embedder, paths: Paths, messages: list[str]) -> list[Reading]:
    """Every labelled message read (``_training_reader``), concurrently so the encoder can batch them.
    A remembering encoder (a build's) first encodes all the texts the unread messages will ask for in
    large batches: a build reading one message at a time spent most of its first minute encoding."""
    cache = _readings_cache(loaded, embedder, paths)
    if isinstance(embedder, RememberingEmbedder):
        unread = [clean_question(m[:MAX_QUESTION_CHARS]) for m in dict.fromkeys(messages) if m not in cache]

        def texts(some: list[str]) -> list[str]:
            return [t for m in some for t in texts_to_encode(m, retriever=loaded.retriever,
                                                                  warning_signs=loaded.warning_signs)]

        # Working out the texts costs about 0.7 ms a message: only worth it when many are new (a
        # first build, a new set), not for a build or a cross-validation fold whose vectors are kept.
        probe = texts(unread[:: max(1, len(unread) // PRIME_PROBE)])  # spread over every set
        if embedder.known_share(probe) < PRIME_BELOW_KNOWN:
            embedder.prime_queries(texts(unread))
    read = _training_reader(loaded, embedder, paths)
    with ThreadPoolExecutor(max_workers=READ_THREADS) as pool:
        return list(pool.map(read, messages))


def _readings_cache(loaded: _Loaded, embedder: Embedder, paths: Paths) -> dict[str, Reading]:
    """This process's readings of the labelled messages over ``loaded`` (``_READINGS``)."""
    index = loaded.index
    key = (embedder.fingerprint, str(paths.corpus_dir), tuple(p.plain_text for p in index.passages),
           tuple(v.text for v in index.views))
    return _READINGS.setdefault(key, {}) if len(_READINGS) < 4 or key in _READINGS else {}


#: Passages read per training message: as many as a patient's question with the default k.
TRAINING_K = 8
#: Labelled messages read at once while training, so the encoder can batch them.
READ_THREADS = 8
#: Unread labelled messages (spread over all of them) whose texts are looked up first; all are primed
#: (encoded in large batches before reading) only when fewer than this share of the probe's are known.
PRIME_PROBE = 64
PRIME_BELOW_KNOWN = 0.9
#: Readings of the labelled messages, per model, corpus and tables, kept for this process's
#: later builds (the test suite builds many indexes of one corpus). Never patient text.
_READINGS: dict[tuple, dict[str, Reading]] = {}


def _load_or_build(files: list[CorpusFile], embedder: Embedder, paths: Paths, rebuild: str, progress: bool,
                   *, prepare: Callable[[Index], _Loaded]) -> _Loaded:
    """The prepared index, rebuilt first when ``rebuild`` says so or it is missing, stale or damaged.

    An index on disk is read and prepared while the encoder is still loading
    (the manifest's model fingerprint pins the model); the width of its vectors
    is checked against the encoder once both are ready.
    """
    index_dir = paths.index_dir
    expected = expected_manifest(files, embedder, ChunkingSettings(), index_alternates(paths.corpus_dir))
    if rebuild != "always":
        try:
            loaded = prepare(load_index(index_dir, expected=expected))
            if loaded.index.dense.d != embedder.dimension:  # waits for the encoder
                raise IndexStale(f"The index in {index_dir} holds {loaded.index.dense.d}-dimensional vectors but "
                                 f"the model makes {embedder.dimension}: run `python -m qa build`.")
            return replace(loaded, decisions=_decisions_for(loaded.index, embedder, paths, rebuild))
        except (IndexNotFound, IndexStale, IndexCorrupt) as exc:
            if rebuild == "never":
                raise
            log.warning("%s Rebuilding the index now.", exc)
    try:
        build(files, embedder, paths, progress=progress)
    except OSError as exc:
        raise IndexNotFound(
            f"Cannot write the index to {index_dir} ({exc.strerror or exc}): make it writable "
            "or set QA_INDEX_DIR to a writable folder."
        ) from exc
    loaded = prepare(load_index(index_dir, expected=expected, dimension=embedder.dimension))
    return replace(loaded, decisions=_decisions_for(loaded.index, embedder, paths, "auto"))


def _prepare(index: Index, embedder: Embedder, corpus_dir: Path, settings: RetrievalSettings) -> _Loaded:
    """Glossary, warning signs, spelling and retriever for one loaded index."""
    glossary = load_glossary(corpus_dir)
    corpus_words = document_words(index.passages)
    warning_signs = load_warning_signs(corpus_dir)
    # Words of the clinic's warning signs are topics it answers ("swollen",
    # "temperature"), even where the document words them otherwise.
    sign_words = {w for sign in warning_signs for w in words(sign.term)}
    known_words = corpus_words | sign_words
    vocab_file = embedder.path / "vocab.txt"
    dictionary = wordpiece_dictionary(vocab_file.read_text(encoding="utf-8")) if vocab_file.is_file() else set()
    # Everyday words and warning-sign words are targets too: "actualy" becomes "actually",
    # not an unknown topic word, and "swolen" becomes "swollen", which triage then sees.
    corrector = build_corrector(corpus_words | FUNCTION_WORDS | sign_words, glossary.words(), dictionary)
    loaded = _Loaded(
        index=index,
        glossary=glossary,
        warning_signs=warning_signs,
        not_covered=absent_from(load_not_covered(corpus_dir),
                                " ".join(f"{p.heading} {p.plain_text}" for p in index.passages)),
        retriever=Retriever(index, embedder, glossary, corrector, settings, known_words=known_words,
                            clinic_questions=frozenset(a.question for a in load_alternates(corpus_dir))),
        guidance=answers.find_guidance(index.passages),
        question_headings=_question_headings(index.passages),
        positions={p.id: i for i, p in enumerate(index.passages)},
    )
    embedder.model  # waits for the encoder (loading since Assistant.load began), not on the first patient's question
    set_search_threads(torch_threads())
    return loaded


#: Earlier questions read for context: enough for "and after that?" twice.
HISTORY_TURNS = 3


def _earlier_questions(history: object) -> list[str]:
    """The last few earlier questions, cleaned; anything malformed is dropped, never an error."""
    if not isinstance(history, (list, tuple)):
        return []
    kept = [clean_question(h[:MAX_QUESTION_CHARS]) for h in history[-HISTORY_TURNS:] if isinstance(h, str)]
    return [h for h in kept if h]


def _first_of_each(rankings: list[list[Hit]], overall: list[Hit]) -> list[Hit]:
    """The best passage of each question in turn, then the whole message's
    ranking; each passage once, as long as ``overall``."""
    seen: set[str] = set()
    merged: list[Hit] = []
    for hit in [ranking[0] for ranking in rankings if ranking] + overall:
        if hit.passage.id not in seen:
            seen.add(hit.passage.id)
            merged.append(hit)
    return merged[: len(overall)]


def _neighbour_sections(passages: tuple[Passage, ...], positions: dict[str, int], hits: list[Hit]) -> tuple[str, ...]:
    """The sections just before and after the best passage's, in document order:
    what a reader of that passage would turn to next (the next procedure step, the
    risks after the benefits)."""
    if not hits:
        return ()
    position = positions.get(hits[0].passage.id)  # a dict look-up: no scan of a large corpus per question
    if position is None:
        return ()
    own = passages[position].heading_path
    found: list[str] = []
    for step in (1, -1):  # the next section first
        i = position + step
        while 0 <= i < len(passages) and (passages[i].heading_path == own or len(passages[i].heading_path) < 2):
            i += step
        if 0 <= i < len(passages):
            found.append(passages[i].heading_path[-1])
    return tuple(found)


def _related(hits, question: str, *, shown: int, neighbours: tuple[str, ...] = (),
             candidates: tuple[str, ...]) -> tuple[str, ...]:
    """Up to three document headings leading to passages not already shown.

    The sections next to the best passage come first (what a reader turns to
    next), then question headings of the next-ranked passages (near in meaning),
    then the document's other questions; none repeats the question asked or a
    passage the patient already sees.
    """
    asked = fold(question).rstrip("?")
    shown_headings = {h for hit in hits[:shown] for h in hit.passage.heading_path}
    pool = [h for hit in hits[shown:] for h in reversed(hit.passage.heading_path) if h.endswith("?")]
    out: list[str] = []
    for heading in [*neighbours, *pool, *candidates]:
        if len(out) == 3:
            break
        if heading not in out and heading not in shown_headings and fold(heading).rstrip("?") != asked:
            out.append(heading)
    return tuple(out)


def _question_headings(passages: tuple[Passage, ...]) -> tuple[str, ...]:
    seen: list[str] = []
    for p in passages:
        for heading in p.heading_path:
            if heading.endswith("?") and heading not in seen:
                seen.append(heading)
    return tuple(seen)
