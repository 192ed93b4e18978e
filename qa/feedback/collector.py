"""What the web layer calls when collection is on: ``observe`` each answer, ``feedback`` on one.

- An answer is remembered **in memory only** for ``RECENT_SECONDS`` (the
  patient's words with it, as Gradio keeps the open chat), so a thumbs-down
  can find what was asked. Nothing of it reaches the disk unless...
- ...it abstained (kept as ``unanswered``), or a patient marks it unhelpful
  (kept as ``disliked``). Then the words are redacted, embedded (the redacted
  text, with the assistant's own encoder, for grouping) and stored, on one
  background thread so the patient never waits for the database.
- A thumbs-up on a kept message is recorded on it; on any other it is not stored.

Never stored: IP addresses, session ids, raw text. Errors are logged by type
only (a message could hold the question). ``CollectingAssistant`` wraps an
``Assistant`` so every ``ask`` is observed and gets its own ``answer_id``.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime

import numpy as np

from .errors import AnswerNotFound
from .redact import redact
from .retention import utc_now
from .store import NewMessage

log = logging.getLogger("qa.feedback")
RECENT_SECONDS = 3600  # as long as the chat keeps an open tab's history (qa_web.ui.STATE_TTL_SECONDS)
RECENT_LIMIT = 4096
MAX_COMMENT_CHARS = 1000


@dataclass(frozen=True)
class Shown:
    """One answer as given, held in memory until it expires."""

    answer_id: str
    question: str  # the patient's words: memory only
    abstained: bool
    reason: str
    confidence: float
    urgent: bool
    emergency: bool
    passage_ids: tuple[str, ...]
    at: float  # time.monotonic()


def notice_text(days: int) -> str:
    return (f"To improve this guide, questions it could not answer and answers you mark unhelpful are kept "
            f"for {days} days with names, numbers and addresses removed.")


class Collector:
    def __init__(self, store, *, retention_days: int, encode: Callable[[list[str]], np.ndarray] | None = None,
                 clock: Callable[[], datetime] = utc_now, recent_seconds: float = RECENT_SECONDS,
                 recent_limit: int = RECENT_LIMIT) -> None:
        self.store, self.encode, self.clock = store, encode, clock
        self.retention_days = retention_days
        self.recent_seconds, self.recent_limit = recent_seconds, recent_limit
        self._recent: OrderedDict[str, Shown] = OrderedDict()
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qa-feedback-store")
        self._last: Future | None = None

    @property
    def notice(self) -> str:
        return notice_text(self.retention_days)

    # ------------------------------------------------------------- from the web
    def observe(self, answer) -> None:
        """Remember an answer; keep it now if the guide could not answer it."""
        if answer.input_error or not answer.question:
            return
        shown = Shown(answer.answer_id, answer.question, answer.abstained, answer.reason, float(answer.confidence),
                      answer.urgent, answer.emergency, tuple(p.id for p in answer.passages), time.monotonic())
        with self._lock:
            self._recent[shown.answer_id] = shown
            self._expire()
        if shown.abstained:
            self._submit(self._keep, shown, "unanswered", None, None)

    def feedback(self, answer_id: str, *, helpful: bool, comment: str | None = None) -> None:
        """Thumbs up or down on an answer this process gave in the last hour; ``AnswerNotFound`` otherwise."""
        with self._lock:
            self._expire()
            shown = self._recent.get(answer_id)
        if shown is None:
            raise AnswerNotFound("No recent answer has this answer_id: feedback is accepted for an hour after "
                                 "the answer, from the server that gave it.")
        comment = (comment or "")[:MAX_COMMENT_CHARS] or None
        self._submit(self._feedback, shown, helpful, comment)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything submitted so far is stored (tests, shutdown)."""
        done = Future()
        self._worker.submit(done.set_result, None)
        done.result(timeout)

    def close(self) -> None:
        self._worker.shutdown(wait=True)

    # ---------------------------------------------------------- on the worker
    def _submit(self, fn, *args) -> None:
        def run():
            try:
                fn(*args)
            except Exception as exc:  # noqa: BLE001 - the text stays out of the log
                log.error("Storing feedback failed: %s (message text withheld)", type(exc).__name__)
        self._worker.submit(run)

    def _feedback(self, shown: Shown, helpful: bool, comment: str | None) -> None:
        clean = redact(comment).text if comment else None
        if self.store.set_feedback(shown.answer_id, helpful=helpful, comment=clean):
            return
        if not helpful:  # a thumbs-down on an answered question: now it is kept
            self._keep(shown, "disliked", False, clean)

    def _keep(self, shown: Shown, kind: str, helpful: bool | None, comment: str | None) -> None:
        redacted = redact(shown.question)
        vector = None
        if self.encode is not None:
            vector = np.asarray(self.encode([redacted.text]), dtype=np.float32)[0].tobytes()
        self.store.add(NewMessage(
            answer_id=shown.answer_id, created_at=self.clock(), kind=kind, question=redacted.text,
            reason=shown.reason, confidence=shown.confidence, urgent=shown.urgent, emergency=shown.emergency,
            passage_ids=shown.passage_ids, embedding=vector, redactions=redacted.total, helpful=helpful,
            comment=comment,
        ))

    def _expire(self) -> None:
        limit = time.monotonic() - self.recent_seconds
        while self._recent and (len(self._recent) > self.recent_limit or next(iter(self._recent.values())).at < limit):
            self._recent.popitem(last=False)


class CollectingAssistant:
    """An ``Assistant`` whose every answer gets a fresh ``answer_id`` and is observed.

    Everything else (manifest, passages, corpus_markdown, refresh...) is the
    wrapped assistant's. Cached answers are shared between patients, so the id
    is replaced on each ask: one patient's thumbs never lands on another's words.
    """

    def __init__(self, assistant, collector: Collector) -> None:
        self.wrapped = assistant
        self.collector = collector

    def ask(self, question, k=3, **options):
        answer = replace(self.wrapped.ask(question, k, **options), answer_id=uuid.uuid4().hex)
        try:
            self.collector.observe(answer)
        except Exception as exc:  # noqa: BLE001 - collecting never breaks answering
            log.error("Observing an answer failed: %s", type(exc).__name__)
        return answer

    def __getattr__(self, name):
        return getattr(self.wrapped, name)
