"""Sections 1 and 2, and the thread-count trial: ``ask()`` inside one process.

1. ``ask()`` (answer cache cleared) against the floor, the bare encode of
   the same question by the backend in use (``embedder.model.encode``: an
   onnxruntime session run, or ``SentenceTransformer.encode``; no
   micro-batching), and the bare encode of the texts ``ask()`` itself
   encodes, timed in rotation question by question so load drift hits all;
   then where the rest of the time goes, by wrapping the retriever's steps
   with stopwatches (a separate pass, as wrapping costs a little).
2. A repeated question against its first ask.
Threads: intra-op threads per encode (``QA_TORCH_THREADS``, either backend)
1 vs 2, one caller and two concurrent callers.
This module does not start servers or build indexes.
"""

from __future__ import annotations

import dataclasses
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

from bench import plots
from bench.context import Context, clear_cache
from bench.stats import Check, Section, ratio, summary, timed

BARE_ENCODE = {"onnx": "tokenizer + one onnxruntime session run", "torch": "`SentenceTransformer.encode([question])`"}
WARM_UP = ("What is a hip injection?", "will the shot hurt", "can I drive home afterwards")


def warm_up(assistant) -> None:
    for q in WARM_UP:
        assistant.ask(q)
        assistant.embedder.encode([q])
    clear_cache(assistant)


def texts_ask_encodes(assistant, question: str) -> list[str]:
    """What ``ask()`` hands the encoder for ``question``: the text as searched, and its focused form when it has one."""
    from qa.text import clean_question

    query = assistant.retriever.analyse(clean_question(question))
    return [query.dense_text, query.focused] if query.focused else [query.dense_text]


def ask_vs_encode(assistant, questions: list[str]) -> tuple[list[float], list[float], list[float]]:
    """Uncached ask(), bare single-text encode, and bare encode of the texts ask() encodes, rotating the order."""
    ask_ms, enc_ms, own_ms = [], [], []
    encoder = assistant.embedder.model  # the backend itself: no micro-batcher in the way
    for i, q in enumerate(questions):
        clear_cache(assistant)
        own = texts_ask_encodes(assistant, q)
        steps = [(enc_ms, lambda: encoder.encode([q])), (ask_ms, lambda: assistant.ask(q)), (own_ms, lambda: encoder.encode(own))]
        for out, fn in steps[i % 3:] + steps[: i % 3]:
            out.append(timed(fn)[0])
    clear_cache(assistant)
    return ask_ms, enc_ms, own_ms


class _Stopwatch:
    """Accumulates wall time per named step while wrapped functions run."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = defaultdict(float)

    def wrap(self, fn, step: str):
        def timed_fn(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.totals[step] += (time.perf_counter() - start) * 1000.0
        return timed_fn


class _TimedFaiss:
    """Stands in for the FAISS index, timing ``search`` and passing the rest through."""

    def __init__(self, index, watch: _Stopwatch) -> None:
        self._index, self.search = index, watch.wrap(index.search, "dense search (FAISS)")

    def __getattr__(self, name):
        return getattr(self._index, name)


def breakdown(assistant, questions: list[str]) -> dict[str, float]:
    """Mean ms per step of an uncached ask(), from stopwatches around the retriever's parts."""
    import qa.retriever as retriever_module

    watch = _Stopwatch()
    r = assistant.retriever
    saved_index, saved_rrf = r.index, retriever_module.rrf
    r.index = dataclasses.replace(r.index, dense=_TimedFaiss(r.index.dense, watch))
    lexical = r.index.lexical
    patched = {(r, "analyse"): "analyse (spelling, glossary, focus)", (r.embedder, "encode_queries"): "encode question (micro-batcher + encoder)",
               (lexical, "scores"): "BM25 scores", (r, "_best_sentence"): "best sentence per hit",
               (r, "search"): "retriever.search total"}
    for (obj, name), step in patched.items():
        setattr(obj, name, watch.wrap(getattr(obj, name), step))
    retriever_module.rrf = watch.wrap(saved_rrf, "fusion (RRF)")
    total = 0.0
    try:
        for q in questions:
            clear_cache(assistant)
            ms, _ = timed(assistant.ask, q)
            total += ms
    finally:
        for obj, name in patched:
            delattr(obj, name)  # back to the class's method
        r.index, retriever_module.rrf = saved_index, saved_rrf
        clear_cache(assistant)
    n = len(questions)
    steps = {k: v / n for k, v in watch.totals.items()}
    search_total = steps.pop("retriever.search total", 0.0)
    steps["other retrieval (arrays, sorting, hits)"] = search_total - sum(steps.values())
    steps["answer (triage, scope, compose, related)"] = total / n - search_total
    steps["ask() total"] = total / n
    return steps


def latency(ctx: Context) -> Section:
    a = ctx.assistant
    warm_up(a)
    qs = ctx.questions
    ask_ms, enc_ms, own_ms = ask_vs_encode(a, qs)
    sa, se, so = summary(ask_ms), summary(enc_ms), summary(own_ms)
    backend = a.embedder.backend
    sec = Section("latency", "1. Query latency in-process")
    sec.add(f"{len(qs)} eval questions, answer cache cleared before each `ask()`; `encode` is the bare encode of "
            f"one question by the encoder in use ({BARE_ENCODE[backend]}), timed in rotation with `ask()` "
            "question by question. For reference, not the bar: the bare encode of the texts `ask()` itself "
            "encodes (the question, plus its focused form when it has one: "
            f"{sum(len(texts_ask_encodes(a, q)) > 1 for q in qs) / len(qs):.0%} of these questions).", "")
    sec.table(["", "p50 ms", "p95 ms", "mean ms"],
              [["`ask()` uncached", sa["p50"], sa["p95"], sa["mean"]],
               [f"bare {backend} encode", se["p50"], se["p95"], se["mean"]],
               ["ratio ask / encode", ratio(sa["p50"], se["p50"]), ratio(sa["p95"], se["p95"]), ratio(sa["mean"], se["mean"])],
               [f"bare {backend} encode of the texts ask() encodes", so["p50"], so["p95"], so["mean"]],
               ["ratio ask / that encode", ratio(sa["p50"], so["p50"]), ratio(sa["p95"], so["p95"]), ratio(sa["mean"], so["mean"])]])
    steps = breakdown(a, qs)
    total = steps["ask() total"]
    sec.add("Where the time of one uncached `ask()` goes (mean over the same questions, separate pass with "
            "stopwatches around the retriever's steps):", "")
    sec.table(["step", "mean ms", "share of ask()"], [[k, v, ratio(v, total)] for k, v in steps.items()])
    sec.figures.append(plots.latency_hist("latency.png", ctx.out_dir, {"ask() uncached": ask_ms, "bare encode": enc_ms}))
    sec.checks.append(Check("in-process ask() p50 ≤ 1.5× bare encode p50", ratio(sa["p50"], se["p50"]), 1.5,
                            f"{sa['p50']:.1f} ms vs {se['p50']:.1f} ms"))
    sec.numbers = {"ask": sa, "encode": se, "encode_own_texts": so, "steps": steps, "backend": backend}
    return sec


def cache(ctx: Context) -> Section:
    a = ctx.assistant
    warm_up(a)
    first, second, variant = [], [], []
    for q in ctx.questions:
        clear_cache(a)
        first.append(timed(a.ask, q)[0])
        second.append(timed(a.ask, q)[0])
        variant.append(timed(a.ask, "  " + q.upper() + "  ")[0])  # same normalised question
    clear_cache(a)
    s1, s2, s3 = summary(first), summary(second), summary(variant)
    sec = Section("cache", "2. Repeated questions (answer cache)")
    sec.add(f"{len(ctx.questions)} questions, each asked three times in a row after clearing the cache: "
            "as written, again, then upper-cased with extra spaces (same normalised key).", "")
    sec.table(["", "p50 ms", "p95 ms", "ratio p50 to first"],
              [["first ask", s1["p50"], s1["p95"], 1.0], ["same question again", s2["p50"], s2["p95"], ratio(s2["p50"], s1["p50"])],
               ["case/space variant", s3["p50"], s3["p95"], ratio(s3["p50"], s1["p50"])]])
    sec.checks.append(Check("repeated question ≤ 0.05× the first", ratio(s2["p50"], s1["p50"]), 0.05,
                            f"{s2['p50']:.3f} ms vs {s1['p50']:.1f} ms"))
    sec.numbers = {"first": s1, "second": s2, "variant": s3}
    return sec


def threads(ctx: Context) -> Section:
    """Intra-op threads per encode 1 vs 2: one caller (latency) and two callers (throughput).

    Each thread count gets its own ``Assistant.load`` with ``QA_TORCH_THREADS``
    set, the way a deployment sets it, so either backend is measured.
    """
    import os
    import sys

    from qa import Assistant
    from qa.encoder.embedder import torch_threads

    backend = ctx.assistant.embedder.backend  # also makes sure the index exists
    qs = ctx.questions
    saved = os.environ.get("QA_TORCH_THREADS")
    default = torch_threads()
    rows, numbers = [], {}
    try:
        for n_threads in (1, 2):
            os.environ["QA_TORCH_THREADS"] = str(n_threads)
            a = Assistant.load(index_dir=ctx.index_dir, rebuild="never")
            warm_up(a)
            seq = [timed(a.ask, q)[0] for q in qs]
            for workers in (2, 4):
                clear_cache(a)
                start = time.perf_counter()
                with ThreadPoolExecutor(workers) as pool:
                    list(pool.map(a.ask, qs))
                wall = time.perf_counter() - start
                numbers[(n_threads, workers)] = len(qs) / wall
            s = summary(seq)
            numbers[(n_threads, 1)] = len(qs) / (sum(seq) / 1000.0)
            rows.append([n_threads, s["p50"], s["p95"], numbers[(n_threads, 1)], numbers[(n_threads, 2)], numbers[(n_threads, 4)]])
            del a
    finally:
        if saved is None:
            os.environ.pop("QA_TORCH_THREADS", None)
        else:
            os.environ["QA_TORCH_THREADS"] = saved
        if "torch" in sys.modules:  # torch's thread count is process-wide: give the shared assistant its own back
            sys.modules["torch"].set_num_threads(default)
    sec = Section("threads", f"Threads: intra-op threads per encode ({backend})")
    sec.add(f"Same {len(qs)} questions, uncached, encoder backend {backend}; a fresh `Assistant.load()` per thread "
            "count (`QA_TORCH_THREADS`). Throughput in answers/s with 1, 2 and 4 concurrent callers (threads in one "
            f"process, as the server's worker threads are). Default here: {default} threads.", "")
    sec.table(["intra-op threads", "1 caller p50 ms", "1 caller p95 ms", "1 caller q/s", "2 callers q/s", "4 callers q/s"], rows)
    sec.add(f"Ratio 2-caller throughput, 1 thread / 2 threads: **{ratio(numbers[(1, 2)], numbers[(2, 2)]):.2f}**; "
            f"1-caller p50, 1 thread / 2 threads: **{ratio(rows[0][1], rows[1][1]):.2f}**.", "")
    sec.numbers = {f"{t}t_{w}w": v for (t, w), v in numbers.items()}
    return sec
