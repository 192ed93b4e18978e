"""Encode questions that arrive together in one batch (micro-batching).

On a small CPU the model encodes 8 short questions in about 3x the time of
one (bench/RESULTS.md), so when many patients ask at once, answering them in
shared batches is what keeps both throughput and tail latency in bounds. A
question that arrives when a worker slot is free is encoded at once, alone:
a single patient never waits for a batch to fill. Questions that arrive while
every slot is busy queue up and go together in the next batch.

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
    __slots__ = ("texts", "vectors", "error", "done")

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.vectors: np.ndarray | None = None
        self.error: BaseException | None = None
        self.done = False


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
        self._cond = threading.Condition()
        self._helper: ThreadPoolExecutor | None = None  # made when a caller first spreads over idle slots

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for ``texts``, encoded alone or together with other callers'."""
        if len(texts) > 1 and self._idle(slots=2):
            return self._encode_spread(list(texts))
        return self._encode_queued(list(texts))

    def _encode_queued(self, texts: list[str]) -> np.ndarray:
        """Vectors for ``texts`` as one job in the queue, run by this thread or batched into another's."""
        job = _Job(texts)
        with self._cond:
            self._queue.append(job)
            while not job.done:
                if self._active < self._workers and self._queue:
                    self._run_one_batch()
                else:
                    self._cond.wait()
        if job.error is not None:
            raise job.error
        assert job.vectors is not None
        return job.vectors

    def _idle(self, *, slots: int) -> bool:
        """Nothing waiting and at least ``slots`` slots free?"""
        with self._cond:
            return not self._queue and self._workers - self._active >= slots

    def _encode_spread(self, texts: list[str]) -> np.ndarray:
        """One caller's texts on two idle slots at once: its first text here, the
        rest on a helper thread. A question with its focused form then costs
        about one encode instead of a padded batch of two (1.5 encodes)."""
        with self._cond:
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

    def _run_one_batch(self) -> None:
        """Called with the condition held; encodes without holding it."""
        batch = self._take_batch()
        self._active += 1
        self._cond.release()
        vectors, error = None, None
        try:
            vectors = self._encode_batch([t for job in batch for t in job.texts])
        except BaseException as exc:  # handed to every caller in the batch
            error = exc
        finally:
            self._cond.acquire()
        self._active -= 1
        start = 0
        for job in batch:
            if error is None:
                job.vectors = vectors[start : start + len(job.texts)]
                start += len(job.texts)
            job.error = error
            job.done = True
        self._cond.notify_all()
