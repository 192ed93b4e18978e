"""Section 3b: open-loop load. Questions arrive as patients do, at fractions of the measured capacity.

One ``python app.py`` (default settings) on loopback. Measured in this run,
in this order: the idle latency (one client, one question at a time); the
capacity (answers/s of a closed loop of 16 clients, the server's default
concurrency); Poisson arrivals at 25, 50, 75 and 90% of that capacity for
``LEVEL_S`` seconds each (``--quick``: ``QUICK_LEVEL_S``), in ``ROUNDS`` parts
taking turns, with p50/p95/p99 of the answers and the failed requests at each
level; the capacity again at the end, to show how much the machine drifted. Every request is a distinct
(question, k) pair not asked in the previous 2,048 (``loadgen.Requests``), so
none comes from the answer cache. This module does not judge the layout of
processes (``bench.replicas`` does).
"""

from __future__ import annotations

import time

from bench import plots
from bench.context import Context
from bench.http import Server
from bench.loadgen import Requests, closed_loop, merge, one_client, open_loop, poisson_arrivals
from bench.stats import Check, Section, ratio

FRACTIONS = (0.25, 0.50, 0.75, 0.90)
LEVEL_S, QUICK_LEVEL_S = 30.0, 1.5
ROUNDS = 3  # each level runs in this many parts, interleaved with the other levels
CLOSED_CLIENTS = 16  # qa_web.settings.DEFAULT_CONCURRENCY: the server's own limit on questions in flight
BAR_50, BAR_75 = 3.0, 6.0  # p95 at 50% and 75% of capacity, as multiples of the idle p50

RETIRED = ("**Why the closed-loop bar was retired.** The old bar asked for p95 at 16 closed-loop clients ≤ 4× "
           "the one-client p50. In a closed loop each client sends its next question only when its answer is "
           "back, so by Little's law the mean latency is clients / throughput (16 clients at 200 answers/s wait "
           "80 ms on average, whatever the code does): the bar asked for 4× the single-client throughput from "
           "the same cores, not for short waits. Patients do not wait for each other's answers before asking, "
           "so the bars are now on arrivals that do not either (an open loop), at stated fractions of the capacity.")


def measure_level(server: Server, urls: list[str], jobs: list[dict], arrivals: list[float]) -> dict:
    """One open-loop run, with the CPU seconds the server and this process (the generator) used."""
    cpu, own, start = server.cpu_s(), time.process_time(), time.perf_counter()
    result = open_loop(urls, jobs, arrivals)
    return {**result, "server_cpu_s": server.cpu_s() - cpu, "generator_cpu_s": time.process_time() - own,
            "run_s": time.perf_counter() - start}


def combine(segments: list[dict]) -> dict:
    """A level's rounds as one: latencies pooled (``loadgen.merge``), CPU as a share of the time they ran."""
    run_s = sum(s["run_s"] for s in segments)
    return {**merge(segments), "offered": sum(s["offered"] for s in segments),
            "lag_p99_ms": max(s["lag_p99_ms"] for s in segments), "max_in_flight": max(s["max_in_flight"] for s in segments),
            "server_cores": sum(s["server_cpu_s"] for s in segments) / run_s,
            "generator_cores": sum(s["generator_cpu_s"] for s in segments) / run_s}


def openloop(ctx: Context) -> Section:
    if not (ctx.index_dir / "current").exists():
        ctx.assistant  # builds the bench's index once, for the server to read
    requests, level_s = Requests(), QUICK_LEVEL_S if ctx.quick else LEVEL_S
    rounds = 1 if ctx.quick else ROUNDS
    n_idle, n_capacity = (20, 150) if ctx.quick else (200, 1600)
    server = Server(ctx)
    try:
        urls = [server.url]
        one_client(urls, requests.take(10))  # warm-up, not counted
        idle = one_client(urls, requests.take(n_idle))
        cpu, start = server.cpu_s(), time.perf_counter()
        before = closed_loop(urls, requests.take(n_capacity), CLOSED_CLIENTS)
        before["cpu_ms_per_answer"] = 1000 * (server.cpu_s() - cpu) / max(1, before["answered"])
        before["server_cores"] = (server.cpu_s() - cpu) / (time.perf_counter() - start)
        capacity = before["throughput"]
        segments: dict[float, list[dict]] = {f: [] for f in FRACTIONS}
        for r in range(rounds):  # each level in `rounds` parts, the order rotating: drift hits every level alike
            for i in range(len(FRACTIONS)):
                fraction = FRACTIONS[(i + r) % len(FRACTIONS)]
                arrivals = poisson_arrivals(fraction * capacity, level_s / rounds, seed=100 * r + FRACTIONS.index(fraction))
                segments[fraction].append(measure_level(server, urls, requests.take(len(arrivals)), arrivals))
        levels = {f: combine(parts) for f, parts in segments.items()}
        after = closed_loop(urls, requests.take(n_capacity), CLOSED_CLIENTS)
    finally:
        server.stop()
    return report(ctx, requests, idle, before, after, levels, level_s, rounds)


def report(ctx: Context, requests: Requests, idle: dict, before: dict, after: dict, levels: dict, level_s: float,
           rounds: int) -> Section:
    sec = Section("openloop", "3b. Open loop: arrivals at 25-90% of the capacity")
    p50 = idle["p50"]
    sec.add(f"`python app.py` on 127.0.0.1, default settings. Requests: distinct (question, k) pairs from all "
            f"{requests.questions} eval questions × k 1-10, in a fixed shuffled order; none was asked in the 2,048 "
            "before it (the answer cache's size), so every answer is computed. The load generator is this process "
            "(threads with keep-alive `http.client` connections) on the same cores.", "",
            f"- **Idle**: one client, one question at a time, {idle['answered']} questions: p50 **{p50:.1f} ms**, "
            f"p95 {idle['p95']:.1f} ms.",
            f"- **Capacity**: a closed loop of {CLOSED_CLIENTS} clients, {before['answered']} questions: "
            f"**{before['throughput']:.0f} answers/s** ({before['cpu_ms_per_answer']:.1f} ms of server CPU per answer, "
            f"{before['server_cores']:.2f} cores busy, {before['failed']} failed). The same again after the open-loop "
            f"levels: {after['throughput']:.0f} answers/s (ratio {ratio(after['throughput'], before['throughput']):.2f}: "
            "the machine's drift during the run).",
            f"- **Open loop**: Poisson arrivals (exponential gaps, fixed seeds) at each fraction of the capacity "
            f"measured before, {level_s:.0f} s per level in {rounds} parts of {level_s / rounds:.0f} s, the levels "
            "taking turns in a rotating order so that a busy spell of the machine hits each alike; each part starts "
            "once the last one's answers are all back. Every latency is timed from the question's scheduled "
            "arrival, so a send that left late counts against the server.", "")
    rows = []
    for fraction, r in levels.items():
        rows.append([f"{fraction:.0%}", fraction * before["throughput"], r["offered"], r["answered"], r["p50"], r["p95"],
                     r["p99"], ratio(r["p95"], p50), r["failed"], r["server_cores"], r["generator_cores"],
                     r["lag_p99_ms"], r["max_in_flight"]])
    sec.table(["offered load", "answers/s offered", "sent", "answered", "p50 ms", "p95 ms", "p99 ms", "p95 / idle p50",
               "failed", "server cores busy", "generator cores busy", "send lag p99 ms", "most in flight"], rows)
    failures = {f"{f:.0%}": {k: v for k, v in r["status"].items() if k != "200"} for f, r in levels.items()}
    if any(failures.values()):
        sec.add("Failed requests by kind (HTTP status or exception): " + "; ".join(
            f"{level}: {kinds}" for level, kinds in failures.items() if kinds) + ".", "")
    sec.add(RETIRED, "")
    x = [100 * f for f in levels]
    sec.figures.append(plots.lines(
        "openloop.png", ctx.out_dir, x,
        {"p50 ms": [r["p50"] for r in levels.values()], "p95 ms": [r["p95"] for r in levels.values()],
         "p99 ms": [r["p99"] for r in levels.values()]},
        refs={f"{BAR_50:g}× idle p50 (bar at 50%)": BAR_50 * p50, f"{BAR_75:g}× idle p50 (bar at 75%)": BAR_75 * p50},
        xlabel=f"offered load, % of the measured capacity ({before['throughput']:.0f} answers/s)", ylabel="ms",
        title="POST /api/ask latency, open loop (Poisson arrivals)"))
    half, three_q = levels[0.50], levels[0.75]
    below = [levels[f] for f in FRACTIONS if f < 0.90]
    sec.checks += [
        Check(f"open loop at 50% of capacity: p95 ≤ {BAR_50:g}× idle p50", ratio(half["p95"], p50), BAR_50,
              f"{half['p95']:.1f} ms vs {p50:.1f} ms at {0.5 * before['throughput']:.0f} answers/s offered"),
        Check(f"open loop at 75% of capacity: p95 ≤ {BAR_75:g}× idle p50", ratio(three_q["p95"], p50), BAR_75,
              f"{three_q['p95']:.1f} ms vs {p50:.1f} ms at {0.75 * before['throughput']:.0f} answers/s offered"),
        Check("open loop below 90% of capacity (25, 50, 75%): no failed request", sum(r["failed"] for r in below), 0,
              f"{sum(r['offered'] for r in below)} sent; at 90%: {levels[0.90]['failed']} failed of {levels[0.90]['offered']}"),
    ]
    sec.numbers = {"idle": idle, "capacity_before": before, "capacity_after": after,
                   "levels": {f"{f:.2f}": r for f, r in levels.items()}, "level_s": level_s}
    return sec
