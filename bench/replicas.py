"""Section 3c: on one machine, N replicas vs one process with N encode workers, on the same requests.

N is the number of usable cores (at least 2). Three layouts, each started
fresh and sent the same requests (``loadgen.Requests``), the load generator
spreading them round-robin over the replicas' ports itself as nginx's
upstream would, so neither layout pays for a proxy:

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

from bench.context import Context
from bench.http import Server, encode_only_cpu_ms
from bench.loadgen import Requests, closed_loop, one_client, open_loop, poisson_arrivals
from bench.stats import Section, ratio

OPEN_FRACTION = 0.75  # the common open-loop rate, as a share of the single process's capacity
OPEN_S, QUICK_OPEN_S = 20.0, 2.0
PROJECTED_CORES = (8, 32)


def _memory_mb(servers: list[Server]) -> tuple[float, float]:
    """RSS and USS (pages no other process shares) summed over the servers, in MB."""
    import psutil

    infos = [psutil.Process(s.proc.pid).memory_full_info() for s in servers]
    return sum(i.rss for i in infos) / 2**20, sum(i.uss for i in infos) / 2**20


class _Schedule:
    """The common open-loop arrivals, fixed from the first layout's capacity and reused for the others."""

    def __init__(self, requests: Requests, seconds: float) -> None:
        self.requests, self.seconds = requests, seconds
        self.rate, self.arrivals, self.jobs = None, [], []

    def __call__(self, capacity: float) -> tuple[list[float], list[dict]]:
        if self.rate is None:
            self.rate = OPEN_FRACTION * capacity
            self.arrivals = poisson_arrivals(self.rate, self.seconds, seed=7)
            self.jobs = self.requests.take(len(self.arrivals))
        return self.arrivals, self.jobs


def run_layout(ctx: Context, processes: int, workers: int, jobs: dict, schedule: _Schedule, clients: int) -> dict:
    servers = []
    try:
        for _ in range(processes):
            servers.append(Server(ctx, QA_ENCODE_WORKERS=str(workers)))
        urls = [s.url for s in servers]
        one_client(urls, jobs["warm"])
        idle = one_client(urls, jobs["idle"])
        cpu, start = sum(s.cpu_s() for s in servers), time.perf_counter()
        capacity = closed_loop(urls, jobs["capacity"], clients)
        cpu_s, wall = sum(s.cpu_s() for s in servers) - cpu, time.perf_counter() - start
        arrivals, open_jobs = schedule(capacity["throughput"])
        opened = open_loop(urls, open_jobs, arrivals)
        rss, uss = _memory_mb(servers)
    finally:
        for s in servers:
            s.stop()
    return {"processes": processes, "workers": workers, "idle": idle, "capacity": capacity, "open": opened,
            "cpu_ms_per_answer": 1000 * cpu_s / max(1, capacity["answered"]), "cores_busy": cpu_s / wall,
            "rss_mb": rss, "uss_mb": uss}


def replicas(ctx: Context) -> Section:
    a = ctx.assistant  # builds the bench's index once, for the servers to read
    cores = max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2)
    clients = max(16, 4 * cores)
    requests = Requests(seed=1)
    sizes = {"warm": 20, "idle": 30, "capacity": 300} if ctx.quick else {"warm": 20, "idle": 200, "capacity": 1600}
    jobs = {name: requests.take(n) for name, n in sizes.items()}
    encode_ms = encode_only_cpu_ms(a, jobs["capacity"])
    schedule = _Schedule(requests, QUICK_OPEN_S if ctx.quick else OPEN_S)
    layouts = {}
    for label, processes, workers in ((f"1 process × {cores} encode workers", 1, cores),
                                      (f"{cores} replicas × 1 encode worker", cores, 1),
                                      (f"{cores} replicas × {cores} encode workers (default)", cores, cores)):
        layouts[label] = run_layout(ctx, processes, workers, jobs, schedule, clients)
    return report(cores, clients, schedule.rate, encode_ms, layouts, requests)


def report(cores: int, clients: int, rate: float, encode_ms: float, layouts: dict, requests: Requests) -> Section:
    sec = Section("replicas", f"3c. One machine, {cores} cores: {cores} replicas vs one process with {cores} encode workers")
    sec.add(f"Each layout started fresh on 127.0.0.1 and sent the same requests (distinct (question, k) pairs from "
            f"{requests.questions} eval questions): one client alone (idle), a closed loop of {clients} clients "
            f"(capacity), then Poisson arrivals at {rate:.0f} answers/s ({OPEN_FRACTION:.0%} of the first layout's "
            "capacity), the same arrivals for every layout. Replicas get the requests round-robin from the load "
            "generator itself, as nginx's upstream would; no proxy in any layout. Memory: RSS and USS (pages no "
            "other process shares) summed over the layout's processes, after the run.", "")
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
