"""Read one message: its warning-sign rules, its retrieval and its scope rules, as plain data.

The same reading serves a patient and trains the learned decisions: what the
models learn from (the question's vector, the rules' cues) is computed here
once, the same way for both, so a model never sees features at serving that it
was not trained on. ``read_message`` is the only per-question step that
encodes (through the retriever); it does not decide what to show.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .decisions.learned import LinearModel
from .decisions.message import sentences, split_questions
from .decisions.not_covered import NotCoveredTerm, find_topic
from .decisions.policy import sign_clauses
from .decisions.scope import ScopeDecision, decide
from .decisions.signals import coverage_cues
from .decisions.triage import Triage, WarningSign, triage
from .retriever import Hit, Query, Retriever, encoded_texts
from .text import without_terms, words


@dataclass(frozen=True)
class Reading:
    """What the assistant made of a message before deciding."""

    flags: Triage  # the warning-sign rules
    query: Query
    hits: list[Hit]  # the whole message's ranking
    asked: tuple[str, ...]  # the separate questions it asks
    rule_scope: ScopeDecision  # the scope rules' decision
    topic: str  # a not-covered topic the clinic lists, or ""
    coverage_cues: tuple[float, ...]
    message: str = ""  # the message as the warning-sign rules read it: the urgency model reads its words too
    #: The clauses a warning sign was told in, read on their own by the urgency model
    #: (``qa.decisions.policy.sign_clauses``); their vectors are the last of ``Query.extra_vectors``.
    clauses: tuple[str, ...] = ()

    @property
    def vector(self) -> np.ndarray | None:
        return self.query.vector

    @property
    def urgency_vector(self) -> np.ndarray | None:
        """What the urgency model reads besides the words: the message's vector, then the elementwise
        largest of its sentences' vectors (``qa.decisions.message.sentences``), or the message's
        vector again when it is one sentence or its sentences were not encoded."""
        vector = self.query.vector
        if vector is None:
            return None
        extra = self._extra_vectors()[: -len(self.clauses) or None]
        pooled = extra.max(axis=0) if len(extra) else vector
        return np.concatenate([vector, pooled])

    @property
    def clause_vectors(self) -> list[tuple[np.ndarray, str]]:
        """Each of ``clauses`` with its vector (none when they were not encoded)."""
        extra = self._extra_vectors()
        if not self.clauses or len(extra) < len(self.clauses):
            return []
        return list(zip(extra[-len(self.clauses):], self.clauses))

    def _extra_vectors(self) -> np.ndarray:
        extra = self.query.extra_vectors
        return extra if extra is not None else np.zeros((0, 0))


def _triaged(question: str, *, searched: str, retriever: Retriever,
             warning_signs: tuple[WarningSign, ...]) -> tuple[Triage, str]:
    """The rules' warning signs in ``question``, and the text to search for it."""
    flags = triage(question, warning_signs)
    corrected = retriever.corrector.correct(question)
    if corrected != question:  # "i have a feaver": a misspelt warning sign is still one
        flags = flags.either(triage(corrected, warning_signs))
    # A sign the patient says they do not have ("no fever or anything, when can I
    # cycle?") would pull retrieval to the warning-signs passage: search without it.
    return flags, without_terms(searched, flags.denied)


def texts_to_encode(question: str, *, retriever: Retriever, warning_signs: tuple[WarningSign, ...]) -> list[str]:
    """What reading ``question`` (searched as asked) will encode, worked out without encoding: a
    build encodes the labelled messages' texts in a few large batches before reading them
    (``qa.assistant._read_labelled``), not one message at a time."""
    flags, search_text = _triaged(question, searched=question, retriever=retriever, warning_signs=warning_signs)
    return encoded_texts(retriever.analyse(search_text)) + list(sentences(question)) + list(sign_clauses(flags, question))


def read_message(question: str, *, searched: str, retriever: Retriever, warning_signs: tuple[WarningSign, ...],
                 not_covered: tuple[NotCoveredTerm, ...], k: int, ranker: LinearModel | None = None,
                 for_urgency: bool = True) -> Reading:
    """``searched``: the text to search (the question, or a follow-up with its context); ``ranker``: the
    learned re-ranking of the passages (none while the labelled messages are read for training);
    ``for_urgency``: encode the message's sentences for the urgency model (not for one question of a
    many-part message, read only for its passage and scope: the whole message's urgency is decided)."""
    flags, search_text = _triaged(question, searched=searched, retriever=retriever, warning_signs=warning_signs)
    clauses = sign_clauses(flags, question) if for_urgency else ()
    # A follow-up read with the question before it is ranked by the document alone (Retriever.search).
    query, hits = retriever.search(search_text, k=k, ranker=ranker, document_only=searched != question,
                                   extra_texts=(*sentences(question), *clauses) if for_urgency else ())
    question_words = words(query.corrected)
    has_content = any(len(w) > 1 or w.isdigit() for w in question_words) and bool(query.tokens)
    best = max(query.document_cosines, default=-1.0)
    # Words the document lacks count where the patient asks, not in the story
    # around it ("my daughter in Leeds..."): see qa/decisions/message.py.
    topic = find_topic(query.corrected, query.ask, not_covered)
    rule_scope = decide(best_cosine=best, unknown_words=query.asked_unknown_words, question_words=question_words,
                        asked_words=words(query.ask), has_content=has_content,
                        rare_term_match=retriever.rare_term_match(query, hits), not_covered_topic=topic)
    return Reading(
        flags=flags, query=query, hits=hits, asked=split_questions(search_text), rule_scope=rule_scope, topic=topic,
        coverage_cues=coverage_cues(query.document_cosines, unknown_words=len(set(query.asked_unknown_words)),
                                    lexical=query.document_lexical),
        message=question, clauses=clauses if query.extra_vectors is not None else (),
    )
