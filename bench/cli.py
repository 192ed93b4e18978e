"""``python -m bench``: run the chosen sections, write ``RESULTS.md`` and PNGs.

This module parses options, runs sections in a fixed order and writes files;
it measures nothing itself.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import sys
import tempfile
import time
import traceback
from importlib import import_module, metadata
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

from bench.context import Context  # noqa: E402
from bench.report import render  # noqa: E402
from bench.stats import Section  # noqa: E402

#: key -> (module, function, what it measures); run in this order.
SECTIONS = {
    "latency": ("bench.inprocess", "latency", "1. ask() p50/p95 vs bare encode, time per step"),
    "cache": ("bench.inprocess", "cache", "2. repeated question vs first"),
    "http": ("bench.http", "http", "3+7. POST /api/ask and Gradio at 1/4/16/64 clients, no-op route, server RSS"),
    "openloop": ("bench.openloop", "openloop", "3b. open loop: Poisson arrivals at 25/50/75/90% of the measured capacity, 30 s each (--quick: 1.5 s); p50/p95/p99, failures"),
    "replicas": ("bench.replicas", "replicas", "3c. N replicas of one encode worker each vs one process with N workers, same requests"),
    "coldstart": ("bench.startup", "coldstart", "4. process start to first answer vs bare imports"),
    "build": ("bench.startup", "build", "5. index build vs bare encode of the same texts"),
    "scale": ("bench.scale", "scale", "6. synthetic 1k/10k/100k passages, really encoded: build and ask() vs corpus size (slow)"),
    "vectors": ("bench.scale", "vectors", "6. search only on up to 1M noisy vectors: exact vs HNSW, recall at the app's settings"),
    "threads": ("bench.inprocess", "threads", "intra-op threads per encode, 1 vs 2, one and several callers"),
    "onnx": ("bench.onnx_trial", "onnx", "ONNX fp32 / int8 encoder vs PyTorch: speed and eval metrics"),
}
DEFAULT_OUT = Path(__file__).resolve().parent


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())
    except ValueError:
        raise argparse.ArgumentTypeError("sizes are whole numbers separated by commas, e.g. 1000,10000") from None
    if not sizes or min(sizes) < 10:
        raise argparse.ArgumentTypeError("give at least one size of 10 or more")
    return sizes


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m bench",
        description="Measure the FAQ assistant side by side and write RESULTS.md and PNG plots.",
        epilog="Sections: " + "; ".join(f"{k}: {v[2]}" for k, v in SECTIONS.items()),
    )
    p.add_argument("--sections", default=",".join(SECTIONS), help="comma-separated subset to run (default: all)")
    p.add_argument("--quick", action="store_true", help="smaller runs: 40 questions, scale 1k/10k, 100k vectors seeded by 2,000 encoded passages, fewer requests")
    p.add_argument("--questions", type=int, default=None, help="use only the first N eval questions")
    p.add_argument("--scale-sizes", type=_sizes, default=None, help="synthetic corpus sizes in passages (default 1000,10000,100000)")
    p.add_argument("--encode-limit", type=int, default=None,
                   help="really encode at most N synthetic passages; larger corpora reuse noisy copies of their vectors (default: no limit). "
                        "When 'vectors' runs without 'scale', the N passages encoded as the seed of its noisy vectors (default 20000)")
    p.add_argument("--vectors", type=int, default=None, help="noisy-vector count for the search-only 'vectors' section (default 1000000)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for RESULTS.md and PNGs (default: bench/)")
    p.add_argument("--work-dir", type=Path, default=None, help="scratch folder for indexes (default: a temporary folder)")
    return p


def machine_facts() -> dict:
    from qa.encoder.embedder import encoder_choice, torch_threads

    versions = {n: _version(n) for n in ("torch", "sentence-transformers", "faiss-cpu", "bm25s", "onnxruntime", "gradio", "fastapi", "uvicorn")}
    return {
        "CPU count (os.cpu_count)": os.cpu_count(),
        "CPUs usable (sched_getaffinity)": len(os.sched_getaffinity(0)),
        "encoder backend requested (QA_ENCODER)": encoder_choice(),
        "intra-op threads per encode (QA_TORCH_THREADS, either backend)": torch_threads(),
        "load average at start (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "libraries": ", ".join(f"{k} {v}" for k, v in versions.items()),
        "date (UTC)": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
    }


def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    keys = [k.strip() for k in args.sections.split(",") if k.strip()]
    unknown = [k for k in keys if k not in SECTIONS]
    if unknown:
        print(f"error: unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    work = args.work_dir or Path(tempfile.mkdtemp(prefix="qa-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    ctx = Context(out_dir=args.out, work_dir=work, quick=args.quick,
                  max_questions=args.questions or (40 if args.quick else None),
                  scale_sizes=args.scale_sizes or ((1_000, 10_000) if args.quick else (1_000, 10_000, 100_000)),
                  encode_limit=args.encode_limit,
                  vectors=args.vectors or (100_000 if args.quick else 1_000_000))
    started = time.perf_counter()
    machine = machine_facts()
    sections: list[Section] = []
    failed = 0
    for key in [k for k in SECTIONS if k in keys]:
        module, func, _ = SECTIONS[key]
        print(f"[bench] {key} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            sections.append(getattr(import_module(module), func)(ctx))
        except Exception as exc:  # one broken section must not lose the others' numbers
            failed += 1
            traceback.print_exc()
            sections.append(Section(key, f"{key}: FAILED", [f"`{type(exc).__name__}: {exc}`"]))
        print(f"[bench] {key} done in {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        _write(args, argv, sections, machine, started, done=len(sections) == len(keys))
    return 1 if failed else 0


def _write(args, argv, sections, machine, started, *, done: bool) -> None:
    """(Re)write RESULTS.md after every section, so a long run keeps what it has."""
    machine = {**machine, "load average at end (1/5/15 min)": " / ".join(f"{x:.2f}" for x in os.getloadavg())}
    if not done:
        machine["status"] = "partial: the run was still going when this was written"
    command = "HF_HUB_OFFLINE=1 .venv/bin/python -m bench " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    text = render(sections, machine=machine, command=command.rstrip(), elapsed_s=time.perf_counter() - started)
    (args.out / "RESULTS.md").write_text(text, encoding="utf-8")
    print(f"[bench] wrote {args.out / 'RESULTS.md'}", file=sys.stderr)
