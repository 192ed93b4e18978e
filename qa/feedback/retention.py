"""Messages are kept for a number of days, then deleted: at start-up, daily, or on request.

``cutoff`` is the pure rule; ``RetentionJob`` runs it against a store with a
clock it is given (tests pass their own), once now and then every
``interval`` seconds on a daemon thread. It deletes; it never archives.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

log = logging.getLogger("qa.feedback")
DAY_SECONDS = 24 * 3600


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def cutoff(now: datetime, days: int) -> datetime:
    """Messages created before this moment are past retention."""
    return now - timedelta(days=days)


class RetentionJob:
    def __init__(self, store, *, days: int, clock: Callable[[], datetime] = utc_now,
                 interval: float = DAY_SECONDS) -> None:
        self.store, self.days, self.clock, self.interval = store, days, clock, interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_once(self) -> int:
        """Delete what is past retention now; returns how many messages went."""
        deleted = self.store.purge(older_than=cutoff(self.clock(), self.days))
        if deleted:
            log.info("Retention: deleted %d feedback message(s) older than %d days.", deleted, self.days)
        return deleted

    def start(self) -> None:
        """Purge now, then every ``interval`` seconds until ``stop``."""
        self.run_once()
        self._thread = threading.Thread(target=self._loop, name="qa-feedback-retention", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.run_once()
            except Exception as exc:  # noqa: BLE001 - retry at the next interval
                log.error("Retention purge failed (%s); retrying in %d s.", type(exc).__name__, self.interval)

    def stop(self) -> None:
        self._stop.set()
