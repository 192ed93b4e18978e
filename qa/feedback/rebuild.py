"""Rebuild the index in the background after the corpus changed, one build at a time.

``Rebuilder.request()`` starts a build on a daemon thread, or, while one is
running, asks for one more after it (any number of requests while building
make one more build). The build is the same atomic build that
``python -m qa build`` runs; the running assistant then switches to it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("qa.feedback")


class Rebuilder:
    def __init__(self, build: Callable[[], None]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._running = False
        self._again = False
        self._idle = threading.Event()
        self._idle.set()
        self.builds = 0
        self.last_error: str | None = None

    def request(self) -> None:
        with self._lock:
            if self._running:
                self._again = True
                return
            self._running = True
            self._idle.clear()
        threading.Thread(target=self._run, name="qa-feedback-rebuild", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                self._build()
                self.builds += 1
                self.last_error = None
            except Exception as exc:  # noqa: BLE001 - the old index keeps answering
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.error("Index rebuild after a feedback decision failed; the previous index still answers: %s",
                          self.last_error)
            with self._lock:
                if not self._again:
                    self._running = False
                    self._idle.set()
                    return
                self._again = False

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no build is running or queued; True unless it timed out."""
        return self._idle.wait(timeout)


def index_rebuilder(assistant) -> Rebuilder:
    """A rebuilder for an ``Assistant``: same corpus, index folder and encoder; switches when done."""
    def build() -> None:
        from ..assistant import build as build_all
        from ..corpus import read_corpus

        # The index with the alternate questions, then the learned decisions refitted over it.
        build_all(read_corpus(assistant.paths.corpus_dir), assistant.embedder, assistant.paths)
        assistant.refresh()

    return Rebuilder(build)
