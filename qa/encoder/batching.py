"""Encode questions that arrive together in one batch (micro-batching).

On a small CPU the model encodes 8 short questions in about 3x the time of
one (bench/RESULTS.md), so when many patients ask at once, answering them in
shared batches is what keeps both throughput and tail latency in bounds. A
question that arrives when a worker slot is free is encoded at once, alone:
a single patient never waits for a batch to fill. Questions that arrive while
every slot is busy queue up and go together in the next batch. When a slot
frees, only the caller first in line is woken to run the next batch, and a
finished batch wakes only its own callers: with 16 questions in flight,
waking every waiting thread each time cost about a tenth of the time the
GIL was held (py-spy, open loop).

The other way round too: a caller with several texts (a question and its
focused form) who finds every slot idle and nobody waiting spreads them over
the idle slots, one text each, on a helper thread: a lone patient's
question then costs about one encode instead of a padded batch of two
(ask() p50 about 8.6 → 6.4 ms on 2 cores), and under load nothing changes.

``MicroBatcher`` knows nothing of models: it calls the ``encode_batch``
function it was given with a list of texts.
"""

from __future__ import annotations

import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable, Sequence

import numpy as np


class _Job:
    __slots__ = ("texts", "vectors", "error", "done", "wake")

    def __init__(self, texts: list[str], lock: threading.Lock) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False
        self.wake = threading.Condition(lock)  # its caller waits here, and only it is woken


class MicroBatcher:
    """Run ``encode_batch`` for concurrent callers, ``workers`` batches at a time."""

    def __init__(self, encode_batch: Callable[[list[str]], np.ndarray], *, workers: int = 2, max_batch: int = 16) -> None:
        if workers < 1 or max_batch < 1:
            raise ValueError("workers and max_batch must be at least 1")
        self._encode_batch = encode_batch
        self._workers = workers
        self._max_batch = max_batch
        self._queue: deque[_Job] = deque()
        self._active = 0
        self._lock = threading.Lock()
        self._helper: ThreadPoolExecutor | None = None  # made when a caller first spreads over idle slots

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, encoded alone or together with other callers'."""
        if len(texts) > 1 and self._idle(slots=2):
            return self._encode_spread(list(texts))
        return self._encode_queued(list(texts))

    def _encode_queued(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` as one job in the queue, run by this thread or batched into another's."""
        job = _Job(texts, self._lock)
        with self._lock:
            self._queue.append(job)
            while not job.done:
                if self._active < self._workers and self._queue:
                    self._run_one_batch()
                else:
                    job.wake.wait()
        if job.error is not None:
            raise job.error
        assert job.vectors is not None
        return job.vectors

    def _idle(self, *, slots: int) -> bool:
        """Nothing waiting and at least ``slots`` slots free?"""
        with self._lock:
            return not self._queue and self._workers - self._active >= slots

    def _encode_spread(self, texts: list[str]) -> np.ndarray:
        """One caller's texts on two idle slots at once: its first text here, the
        rest on a helper thread. A question with its focused form then costs
        about one encode instead of a padded batch of two (1.5 encodes)."""
        with self._lock:
            if self._helper is None:
                self._helper = ThreadPoolExecutor(max_workers=self._workers - 1, thread_name_prefix="qa-encode")
        # Both halves queue: a half that spread again would wait on the helper it runs on.
        rest = self._helper.submit(self._encode_queued, texts[1:])
        first = self._encode_queued(texts[:1])
        return np.concatenate([first, rest.result()])

    def _take_batch(self) -> list[_Job]:
        batch = [self._queue.popleft()]
        size = len(batch[0].texts)
        while self._queue and size + len(self._queue[0].texts) <= self._max_batch:
            size += len(self._queue[0].texts)
            batch.append(self._queue.popleft())
        return batch

    def _wake_next(self) -> None:
        """With the lock held: if a slot is free and a job waits, wake the caller of the
        first waiting job to run a batch. Only that caller wakes, not every waiting one."""
        if self._queue and self._active < self._workers:
            self._queue[0].wake.notify()

    def _run_one_batch(self) -> None:
        """Called with the lock held; encodes without holding it."""
        batch = self._take_batch()
        self._active += 1
        self._wake_next()  # what this batch left waiting may fit on another free slot
        self._lock.release()
        vectors, error = None, None
        try:
            vectors = self._encode_batch([t for job in batch for t in job.texts])
        except BaseException as exc:  # handed to every caller in the batch
            error = exc
        finally:
            self._lock.acquire()
        self._active -= 1
        start = 0
        for job in batch:
            if error is None:
                job.vectors = vectors[start : start + len(job.texts)]
                start += len(job.texts)
            job.error = error
            job.done = True
            job.wake.notify()
        self._wake_next()
