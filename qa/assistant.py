"""The one object the shells use: load once, then ``ask`` many times.

``Assistant.load`` reads the corpus, loads (or builds, when missing, stale or
damaged) the index and prepares the model; ``ask`` turns any string into an
``Answer`` and never raises. Repeated questions are served from a bounded
cache keyed on the normalised question. This module wires the parts
together; the logic lives in the modules it calls.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import replace
from pathlib import Path

from .config import MAX_QUESTION_CHARS, Paths, resolve_paths
from .corpus import CorpusFile, read_corpus
from .embedder import Embedder
from .errors import IndexCorrupt, IndexNotFound, IndexStale, QAError
from .glossary import Glossary, load_glossary
from .index_store import Index, build_index, expected_manifest, load_index
from .passages import ChunkingSettings
from .retriever import RetrievalSettings, Retriever
from .scope import decide
from .spelling import build_corrector, wordpiece_dictionary
from .text import clean_question, fold, words
from .triage import load_warning_signs, triage
from . import answer as answers

log = logging.getLogger("qa")
CACHE_SIZE = 2048
MAX_K = 10


class Assistant:
    """Answers patient questions by quoting the clinic's corpus."""

    def __init__(self, *, paths: Paths, embedder: Embedder, index: Index, glossary: Glossary,
                 warning_signs, retriever: Retriever) -> None:
        self.paths = paths
        self.embedder = embedder
        self.index = index
        self.glossary = glossary
        self.warning_signs = warning_signs
        self.retriever = retriever
        self.guidance = answers.find_guidance(index.passages)
        self._related_candidates = _question_headings(index)
        self._cache: OrderedDict[tuple, answers.Answer] = OrderedDict()
        self._cache_lock = threading.Lock()

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
    ) -> "Assistant":
        """Load everything; ``rebuild="auto"`` rebuilds a missing, stale or damaged
        index, ``"never"`` raises instead, ``"always"`` rebuilds regardless."""
        paths = resolve_paths(corpus_dir=corpus_dir, index_dir=index_dir, model_path=model_path)
        files = read_corpus(paths.corpus_dir)
        embedder = Embedder(paths.model_path)
        chunking = ChunkingSettings()
        expected = expected_manifest(files, embedder, chunking)
        index = cls._load_or_build(files, embedder, paths.index_dir, expected, chunking, rebuild, progress)
        glossary = load_glossary(paths.corpus_dir)
        corpus_words = {w for p in index.passages for w in words(f"{p.heading} {p.plain_text}")}
        vocab_file = embedder.path / "vocab.txt"
        dictionary = wordpiece_dictionary(vocab_file.read_text(encoding="utf-8")) if vocab_file.is_file() else set()
        corrector = build_corrector(corpus_words, glossary.words(), dictionary)
        retriever = Retriever(index, embedder, glossary, corrector, settings)
        embedder.model  # load the model now, not on the first patient's question
        return cls(paths=paths, embedder=embedder, index=index, glossary=glossary,
                   warning_signs=load_warning_signs(paths.corpus_dir), retriever=retriever)

    @staticmethod
    def _load_or_build(files: list[CorpusFile], embedder: Embedder, index_dir: Path, expected: dict,
                       chunking: ChunkingSettings, rebuild: str, progress: bool) -> Index:
        if rebuild not in ("auto", "never", "always"):
            raise ValueError('rebuild must be "auto", "never" or "always"')
        if rebuild != "always":
            try:
                return load_index(index_dir, expected=expected)
            except (IndexNotFound, IndexStale, IndexCorrupt) as exc:
                if rebuild == "never":
                    raise
                log.warning("%s Rebuilding the index now.", exc)
        try:
            build_index(files, embedder, index_dir, chunking=chunking, progress=progress)
        except OSError as exc:
            raise IndexNotFound(
                f"Cannot write the index to {index_dir} ({exc.strerror}): make it writable "
                "or set QA_INDEX_DIR to a writable folder."
            ) from exc
        return load_index(index_dir, expected=expected)

    def with_settings(self, settings: RetrievalSettings) -> "Assistant":
        """Same model and index, other retrieval settings (for evaluation)."""
        r = self.retriever
        return Assistant(paths=self.paths, embedder=self.embedder, index=self.index, glossary=self.glossary,
                         warning_signs=self.warning_signs,
                         retriever=Retriever(self.index, self.embedder, self.glossary, r.corrector, settings))

    # ------------------------------------------------------------- properties
    @property
    def manifest(self) -> dict:
        return self.index.manifest

    @property
    def passages(self):
        return self.index.passages

    def corpus_markdown(self, source: str) -> str:
        """The whole Markdown text of one corpus file, as indexed."""
        names = {p.source for p in self.index.passages}
        if source not in names:
            raise QAError(f"No corpus file named {source!r}.")
        return (self.paths.corpus_dir / source).read_text(encoding="utf-8")

    # ------------------------------------------------------------------ asking
    def ask(self, question: object, k: int = 3) -> answers.Answer:
        """Answer any input; never raises (bad input gets an explanatory Answer)."""
        if not isinstance(question, str):
            return answers.input_problem("", "Please type your question as text.")
        try:
            k = max(1, min(int(k), MAX_K))
        except (TypeError, ValueError):
            k = 3
        if len(question) > MAX_QUESTION_CHARS:
            return answers.input_problem(
                question[:MAX_QUESTION_CHARS],
                f"Your question is too long ({len(question):,} characters). "
                f"Please keep it under {MAX_QUESTION_CHARS:,} characters.",
            )
        cleaned = clean_question(question)
        if not cleaned:
            return answers.input_problem(cleaned, "Please type a question about hip injections.")
        key = (fold(cleaned), k)
        with self._cache_lock:
            cached = self._cache.get(key)
            if cached is not None:
                self._cache.move_to_end(key)
                return replace(cached, question=cleaned) if cached.question != cleaned else cached
        try:
            result = self._answer(cleaned, k)
        except Exception:  # never let a patient see a traceback; keep the text out of logs
            log.exception("ask() failed (question text withheld)")
            return answers.Answer(question=cleaned, message=answers.NOT_COVERED, abstained=True, reason="internal_error")
        with self._cache_lock:
            self._cache[key] = result
            if len(self._cache) > CACHE_SIZE:
                self._cache.popitem(last=False)
        return result

    def _answer(self, question: str, k: int) -> answers.Answer:
        query, hits = self.retriever.search(question, k=k + 5)
        flags = triage(question, self.warning_signs)
        question_words = words(query.corrected)
        has_content = any(len(w) > 1 or w.isdigit() for w in question_words) and bool(query.tokens)
        best = max((h.dense for h in hits), default=-1.0)
        decision = decide(best_cosine=best, unknown_words=query.unknown_words, question_words=question_words,
                          has_content=has_content, rare_term_match=self.retriever.rare_term_match(query, hits))
        related = self._related(hits, question, shown=k)
        result = answers.compose(
            question=question, hits=hits[:k], k=k, abstain=decision.abstain, reason=decision.reason,
            urgent=flags.urgent, emergency=flags.emergency, guidance=self.guidance, related=related,
        )
        return replace(result, debug={"corrected": query.corrected, "expansions": query.expansions,
                                      "unknown_words": query.unknown_words, "signs": flags.signs})

    def _related(self, hits, question: str, *, shown: int) -> tuple[str, ...]:
        """Up to three document questions leading to passages not already shown.

        Question headings of the next-ranked passages come first, then the
        document's other questions in order; none repeats the question asked
        or a passage the patient already sees.
        """
        asked = fold(question).rstrip("?")
        shown_headings = {h for hit in hits[:shown] for h in hit.passage.heading_path}
        pool = [h for hit in hits[shown:] for h in reversed(hit.passage.heading_path) if h.endswith("?")]
        out: list[str] = []
        for heading in pool + list(self._related_candidates):
            if len(out) == 3:
                break
            if heading not in out and heading not in shown_headings and fold(heading).rstrip("?") != asked:
                out.append(heading)
        return tuple(out)


def _question_headings(index: Index) -> tuple[str, ...]:
    seen: list[str] = []
    for p in index.passages:
        for heading in p.heading_path:
            if heading.endswith("?") and heading not in seen:
                seen.append(heading)
    return tuple(seen)
