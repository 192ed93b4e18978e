"""Load generators over loopback HTTP: one client alone, a closed loop, and an open loop.

- closed loop: ``clients`` threads, each sending its next question only when
  the last one is answered. It finds throughput; its latency is fixed by
  Little's law (latency = clients / throughput), whatever the server does.
- open loop: questions arrive on a schedule that does not wait for answers
  (Poisson: exponential gaps, ``poisson_arrivals``), as patients do. Each is
  timed from its *scheduled* arrival, so a late send (the generator or a full
  worker pool) counts against the server, never hides its wait.

Several servers (replicas) are served round-robin, as nginx's upstream does.
Every request is a distinct (question, k) pair from ``Requests``. Statuses
other than 200 (503 busy included) and exceptions are failures. This module
starts no server and writes nothing.
"""

from __future__ import annotations

import queue
import random
import threading
import time
from collections.abc import Sequence
from http.client import HTTPException

from bench.http import _Client
from bench.stats import percentile


def poisson_arrivals(rate: float, duration_s: float, *, seed: int) -> list[float]:
    """Arrival times in seconds from 0 of a Poisson process of ``rate`` per second, up to ``duration_s``."""
    if rate <= 0 or duration_s <= 0:
        return []
    rng, t, out = random.Random(seed), 0.0, []
    while True:
        t += rng.expovariate(rate)
        if t >= duration_s:
            return out
        out.append(t)


class Requests:
    """Distinct (question, k) bodies from every eval question set in one fixed shuffled order, handed out in turn.

    There are more pairs than the answer cache holds and they come round in the
    same order, so a pair returns only after more than the cache's size of
    others: the LRU cache has dropped it, and every answer is really computed.
    """

    def __init__(self, *, seed: int = 0) -> None:
        from eval.dataset import load_questions, question_sets
        from qa.assistant import CACHE_SIZE

        texts = list(dict.fromkeys(q.question for path in question_sets() for q in load_questions(path)))
        self.pairs = [{"question": q, "k": k} for k in range(1, 11) for q in texts]
        random.Random(seed).shuffle(self.pairs)
        if len(self.pairs) <= CACHE_SIZE:
            raise RuntimeError(f"{len(self.pairs)} distinct requests do not exceed the answer cache ({CACHE_SIZE}): add questions")
        self.questions = len(texts)
        self.cursor = 0

    def take(self, n: int) -> list[dict]:
        out = [self.pairs[(self.cursor + i) % len(self.pairs)] for i in range(n)]
        self.cursor += n
        return out


def _send(client: _Client, body: dict) -> int | str:
    try:
        return client.post("/api/ask", body)
    except (OSError, HTTPException) as exc:
        return type(exc).__name__


def _result(ms: list[float], statuses: list, wall: float) -> dict:
    ok = [m for m, s in zip(ms, statuses) if s == 200]
    counts = {str(s): statuses.count(s) for s in set(statuses)}
    return _summary(ok, counts, wall)


def _summary(ok: list[float], counts: dict[str, int], wall: float) -> dict:
    return {"p50": percentile(ok, 50), "p95": percentile(ok, 95), "p99": percentile(ok, 99), "answered": len(ok),
            "failed": sum(counts.values()) - len(ok), "status": counts, "wall_s": wall,
            "throughput": len(ok) / wall if wall else 0.0, "ok_ms": ok}


def merge(results: Sequence[dict]) -> dict:
    """Several runs as one: latencies pooled, counts and wall time added (throughput = answers / total wall)."""
    counts: dict[str, int] = {}
    for r in results:
        for status, n in r["status"].items():
            counts[status] = counts.get(status, 0) + n
    return _summary([m for r in results for m in r["ok_ms"]], counts, sum(r["wall_s"] for r in results))


def one_client(urls: Sequence[str], jobs: list[dict]) -> dict:
    """Questions one after another from one client (round-robin over ``urls``): the idle latency."""
    clients = [_Client(url) for url in urls]
    ms, statuses, start = [], [], time.perf_counter()
    try:
        for i, body in enumerate(jobs):
            t0 = time.perf_counter()
            statuses.append(_send(clients[i % len(clients)], body))
            ms.append((time.perf_counter() - t0) * 1000)
    finally:
        for c in clients:
            c.close()
    return _result(ms, statuses, time.perf_counter() - start)


def one_client_each(groups: Sequence[Sequence[str]], jobs: list[dict]) -> list[dict]:
    """Like ``one_client`` for several servers or groups of replicas at once: each job goes to every
    group in turn (the order rotating), so the machine's drift hits them alike. One result per group."""
    clients = [[_Client(url) for url in urls] for urls in groups]
    ms: list[list[float]] = [[] for _ in groups]
    statuses: list[list] = [[] for _ in groups]
    try:
        for i, body in enumerate(jobs):
            for g in [(i + j) % len(groups) for j in range(len(groups))]:
                t0 = time.perf_counter()
                statuses[g].append(_send(clients[g][i % len(clients[g])], body))
                ms[g].append((time.perf_counter() - t0) * 1000)
    finally:
        for group in clients:
            for c in group:
                c.close()
    return [_result(m, s, sum(m) / 1000) for m, s in zip(ms, statuses)]


def closed_loop(urls: Sequence[str], jobs: list[dict], clients: int) -> dict:
    """``clients`` threads (client i on ``urls[i % len(urls)]``) working through ``jobs``."""
    lock, todo, ms, statuses = threading.Lock(), list(reversed(jobs)), [], []

    def worker(url: str) -> None:
        client = _Client(url)
        try:
            while True:
                with lock:
                    if not todo:
                        return
                    body = todo.pop()
                t0 = time.perf_counter()
                status = _send(client, body)
                with lock:
                    ms.append((time.perf_counter() - t0) * 1000)
                    statuses.append(status)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(urls[i % len(urls)],)) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return _result(ms, statuses, time.perf_counter() - start)


def open_loop(urls: Sequence[str], jobs: list[dict], arrivals: list[float], *, workers: int = 64) -> dict:
    """Send ``jobs[i]`` at ``arrivals[i]`` seconds whether or not earlier ones are answered.

    A pool of ``workers`` threads with keep-alive connections does the sending;
    latency runs from the scheduled time, so queueing in the pool is counted.
    Also returned: how late sends left (``lag_p99_ms``) and the most requests in flight.
    """
    pending: queue.SimpleQueue = queue.SimpleQueue()
    lock, ms, statuses, lags = threading.Lock(), [], [], []
    in_flight = [0, 0]  # now, most
    start = time.perf_counter() + 0.05

    def worker() -> None:
        clients = {url: _Client(url) for url in urls}
        try:
            while (item := pending.get()) is not None:
                due, url, body = item
                with lock:
                    in_flight[0] += 1
                    in_flight[1] = max(in_flight)
                    lags.append((time.perf_counter() - due) * 1000)
                status = _send(clients[url], body)
                with lock:
                    in_flight[0] -= 1
                    ms.append((time.perf_counter() - due) * 1000)
                    statuses.append(status)
        finally:
            for c in clients.values():
                c.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(workers)]
    for t in threads:
        t.start()
    for i, (at, body) in enumerate(zip(arrivals, jobs)):
        due = start + at
        if (wait := due - time.perf_counter()) > 0:
            time.sleep(wait)
        pending.put((due, urls[i % len(urls)], body))
    for _ in threads:
        pending.put(None)
    for t in threads:
        t.join()
    wall = max(arrivals[-1] if arrivals else 0.0, time.perf_counter() - start)
    return {**_result(ms, statuses, wall), "offered": len(arrivals), "lag_p99_ms": percentile(lags, 99), "max_in_flight": in_flight[1]}
