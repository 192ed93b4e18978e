"""Section 3c: on one machine, N replicas vs one process with N encode workers, on the same requests.

N is the number of usable cores (at least 2). Three layouts run side by side
and take turns (round by round, the order rotating), so a busy spell of the
machine hits each alike; all get the same requests (``loadgen.Requests``),
the load generator spreading them round-robin over the replicas' ports itself
as nginx's upstream would, so no layout pays for a proxy:

- one process, N encode workers (``QA_ENCODE_WORKERS=N``, the default on N cores);
- N replicas of one encode worker each (``QA_ENCODE_WORKERS=1``, deploy/systemd/qa-faq@.service);
- N replicas left at the default (N workers each), what running replicas without the setting gives.

Per layout: idle p50/p95 (one client), capacity (closed loop), server CPU per
answer, open-loop p50/p95/p99 at one common rate, memory (RSS and USS summed
over the processes). Then the 8- and 32-core figures, a projection from the
measured per-core cost, labelled as one. This module does not test nginx.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field

from bench.context import Context
from bench.http import Server, encode_only_cpu_ms
from bench.loadgen import Requests, closed_loop, merge, one_client, one_client_each, open_loop, poisson_arrivals
from bench.stats import Section, ratio

OPEN_FRACTION = 0.75  # the common open-loop rate, as a share of the single process's capacity
OPEN_S, QUICK_OPEN_S = 24.0, 2.0  # per layout, over all rounds
ROUNDS = 4  # capacity and open-loop runs are split into this many rounds, the layouts taking turns
PROJECTED_CORES = (8, 32)
CORES = max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2)


def _memory_mb(servers: list[Server]) -> tuple[float, float]:
    """RSS and USS (pages no other process shares) summed over the servers, in MB."""
    import psutil

    infos = [psutil.Process(s.proc.pid).memory_full_info() for s in servers]
    return sum(i.rss for i in infos) / 2**20, sum(i.uss for i in infos) / 2**20


@dataclass
class _Layout:
    label: str
    servers: list[Server]
    runs: dict[str, list[dict]] = field(default_factory=lambda: {"idle": [], "capacity": [], "open": []})
    cpu_s: float = 0.0  # server CPU during the capacity rounds
    wall_s: float = 0.0

    @property
    def urls(self) -> list[str]:
        return [s.url for s in self.servers]

    def cpu(self) -> float:
        return sum(s.cpu_s() for s in self.servers)


def _rotate(items: list, by: int) -> list:
    return items[by % len(items):] + items[: by % len(items)]


def measure(layouts: list[_Layout], requests: Requests, jobs: dict[str, list[dict]], *, rounds: int, open_s: float) -> float:
    """Idle, capacity and open-loop runs, interleaved so the machine's drift hits every layout alike;
    returns the common open-loop rate."""
    clients = max(16, 4 * CORES)
    for layout in layouts:
        one_client(layout.urls, jobs["warm"])
    for layout, idle in zip(layouts, one_client_each([layout.urls for layout in layouts], jobs["idle"])):
        layout.runs["idle"].append(idle)
    chunk = len(jobs["capacity"]) // rounds
    for r in range(rounds):
        for layout in _rotate(layouts, r):
            cpu, start = layout.cpu(), time.perf_counter()
            layout.runs["capacity"].append(closed_loop(layout.urls, jobs["capacity"][r * chunk:(r + 1) * chunk], clients))
            layout.cpu_s += layout.cpu() - cpu
            layout.wall_s += time.perf_counter() - start
    rate = OPEN_FRACTION * merge(layouts[0].runs["capacity"])["throughput"]
    for r in range(rounds):
        arrivals = poisson_arrivals(rate, open_s / rounds, seed=100 + r)
        round_jobs = requests.take(len(arrivals))
        for layout in _rotate(layouts, r):
            layout.runs["open"].append(open_loop(layout.urls, round_jobs, arrivals))
    return rate


def replicas(ctx: Context) -> Section:
    a = ctx.assistant  # builds the bench's index once, for the servers to read
    requests = Requests(seed=1)
    sizes = {"warm": 20, "idle": 30, "capacity": 300} if ctx.quick else {"warm": 20, "idle": 200, "capacity": 1600}
    jobs = {name: requests.take(n) for name, n in sizes.items()}
    encode_ms = encode_only_cpu_ms(a, jobs["capacity"])
    rounds = 1 if ctx.quick else ROUNDS
    shapes = ((f"1 process × {CORES} encode workers", 1, CORES), (f"{CORES} replicas × 1 encode worker", CORES, 1),
              (f"{CORES} replicas × {CORES} encode workers (default)", CORES, CORES))
    layouts: list[_Layout] = []
    try:
        for label, processes, workers in shapes:
            layouts.append(_Layout(label, []))
            for _ in range(processes):
                layouts[-1].servers.append(Server(ctx, QA_ENCODE_WORKERS=str(workers)))
        rate = measure(layouts, requests, jobs, rounds=rounds, open_s=QUICK_OPEN_S if ctx.quick else OPEN_S)
        results = {}
        for layout in layouts:
            capacity = merge(layout.runs["capacity"])
            rss, uss = _memory_mb(layout.servers)
            results[layout.label] = {"idle": merge(layout.runs["idle"]), "capacity": capacity,
                                     "open": merge(layout.runs["open"]), "rss_mb": rss, "uss_mb": uss,
                                     "cpu_ms_per_answer": 1000 * layout.cpu_s / max(1, capacity["answered"]),
                                     "cores_busy": layout.cpu_s / max(layout.wall_s, 1e-9)}
    finally:
        for layout in layouts:
            for server in layout.servers:
                server.stop()
    return report(CORES, max(16, 4 * CORES), rate, encode_ms, results, requests, rounds=rounds)


def report(cores: int, clients: int, rate: float, encode_ms: float, layouts: dict, requests: Requests, *, rounds: int) -> Section:
    sec = Section("replicas", f"3c. One machine, {cores} cores: {cores} replicas vs one process with {cores} encode workers")
    sec.add(f"All three layouts run side by side on 127.0.0.1 (idle ones cost nothing) and get the same requests "
            f"(distinct (question, k) pairs from {requests.questions} eval questions), taking turns so that the "
            f"machine's drift hits each alike: idle, one question to each layout in turn; capacity, a closed loop of "
            f"{clients} clients in {rounds} rounds; then Poisson arrivals at {rate:.0f} answers/s ({OPEN_FRACTION:.0%} "
            f"of the first layout's capacity) in {rounds} rounds, the same arrivals for every layout. Replicas get the "
            "requests round-robin from the load generator itself, as nginx's upstream would; no proxy in any layout. "
            "Memory: RSS and USS (pages no other process shares) summed over the layout's processes, after the run.", "")
    rows = []
    for label, r in layouts.items():
        rows.append([label, r["idle"]["p50"], r["idle"]["p95"], r["capacity"]["throughput"], r["cpu_ms_per_answer"],
                     r["cores_busy"], r["open"]["p50"], r["open"]["p95"], r["open"]["p99"], r["open"]["failed"],
                     r["rss_mb"], r["uss_mb"]])
    sec.table(["layout", "idle p50 ms", "idle p95 ms", "capacity answers/s", "server CPU ms per answer", "cores busy",
               "open p50 ms", "open p95 ms", "open p99 ms", "open failed", "RSS MB", "USS MB"], rows)
    one, many = list(layouts.values())[:2]
    sec.add(f"Ratios, {cores} replicas × 1 worker over 1 process × {cores} workers: capacity "
            f"**{ratio(many['capacity']['throughput'], one['capacity']['throughput']):.2f}**, idle p50 "
            f"**{ratio(many['idle']['p50'], one['idle']['p50']):.2f}**, open-loop p95 "
            f"**{ratio(many['open']['p95'], one['open']['p95']):.2f}**, memory (USS) "
            f"**{ratio(many['uss_mb'], one['uss_mb']):.2f}**.", "")
    # The projection: per-core cost from the measured CPU per answer; the GIL caps one process.
    python_ms = max(0.1, one["cpu_ms_per_answer"] - encode_ms)
    gil_cap = 1000 / python_ms
    per_replica_uss, shared = many["uss_mb"] / cores, max(0.0, many["rss_mb"] / cores - many["uss_mb"] / cores)
    sec.add(f"**Projection to {' and '.join(map(str, PROJECTED_CORES))} cores (not measured)**, from this machine's "
            f"per-core cost: one answer costs {many['cpu_ms_per_answer']:.1f} ms of CPU in a replica of one worker and "
            f"{one['cpu_ms_per_answer']:.1f} ms in the single process. Of the latter, the encoder itself "
            f"(onnxruntime, which releases Python's GIL) is {encode_ms:.1f} ms (measured in this process on the same "
            f"requests, batches of 8); the other ~{python_ms:.1f} ms is mostly Python (HTTP, validation, retrieval "
            f"logic, the answer) that holds the GIL, so one process cannot pass about **{gil_cap:.0f} answers/s** "
            "however many cores it has. Replicas share nothing but memory: each adds "
            f"~{per_replica_uss:.0f} MB of its own (USS) beside ~{shared:.0f} MB it shares with the others.", "")
    proj = [[f"{cores} (measured)", many["capacity"]["throughput"], one["capacity"]["throughput"], many["rss_mb"], one["rss_mb"]]]
    for n in PROJECTED_CORES:
        proj.append([f"{n} (projected)", n * 1000 / many["cpu_ms_per_answer"], min(n * 1000 / one["cpu_ms_per_answer"], gil_cap),
                     n * per_replica_uss + shared, one["rss_mb"]])
    sec.table(["cores", "replicas × 1 worker: answers/s", "1 process × N workers: answers/s", "replicas: memory MB",
               "1 process: memory MB"], proj)
    sec.numbers = {"layouts": layouts, "encode_ms": encode_ms, "gil_cap": gil_cap, "open_rate": rate, "projection": proj}
    return sec
