"""Runs ``python -m bench`` for real in a tiny mode and reads what it wrote.

Each test runs one section with the fewest questions that still take every
path of it, into tmp_path, with the real model. The bench's work folder gets
a copy of the session's index (``work_dir``), so no run spends its time
building one; the ONNX trial still builds an index per encoder. The tests
check the report's shape and that its numbers parse; they never assert on timings.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _bench(*args: str, tmp_path: Path, **extra_env: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(REPO), **extra_env}
    return subprocess.run([sys.executable, "-m", "bench", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


def work_dir(tmp_path: Path, index_dir: Path) -> Path:
    """A bench work folder holding a copy of ``index_dir`` (the bench's own is ``<work>/index``)."""
    import shutil

    work = tmp_path / "work"
    shutil.copytree(index_dir, work / "index", symlinks=True)
    return work


def test_help_lists_sections_and_quick(tmp_path):
    out = _bench("--help", tmp_path=tmp_path)
    assert out.returncode == 0
    for word in ("--sections", "--quick", "--out", "latency", "scale", "http"):
        assert word in out.stdout


def test_unknown_section_is_refused_with_the_choices(tmp_path):
    out = _bench("--sections", "nope", "--out", str(tmp_path), tmp_path=tmp_path)
    assert out.returncode == 2
    assert "unknown section" in out.stderr and "latency" in out.stderr
    assert not (tmp_path / "RESULTS.md").exists()


def test_tiny_run_writes_results_with_parsable_numbers(tmp_path, built_index_dir):
    out_dir = tmp_path / "out"
    out = _bench("--sections", "cache", "--questions", "3", "--out", str(out_dir), "--work-dir", str(work_dir(tmp_path, built_index_dir)),
                 tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    text = (out_dir / "RESULTS.md").read_text(encoding="utf-8")
    assert text.startswith("# Benchmark results")
    assert f"- CPU count (os.cpu_count): {os.cpu_count()}" in text
    assert "python -m bench --sections cache --questions 3" in text
    for heading in ("## Machine", "## Bars from the issue", "## 2. Repeated questions (answer cache)"):
        assert heading in text
    assert "## 1. Query latency" not in text  # only the chosen section ran
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| first ask") or line.startswith("| same question")}
    assert set(rows) == {"first ask", "same question again"}
    for line in rows.values():
        cells = [c.strip() for c in line.strip("|").split("|")[1:]]
        assert all(float(c.replace(",", "")) >= 0 for c in cells)
    bar = next(line for line in text.splitlines() if line.startswith("| repeated question"))
    match = re.match(r"\| repeated question [^|]* \| ([^|]+) \| 0\.05 \| (yes|\*\*no\*\*) \|", bar)
    assert match and float(match.group(1)) >= 0


def test_vectors_section_alone_reports_recall_at_the_apps_settings(tmp_path, built_index_dir):
    from qa.dense import HNSW_EF_SEARCH, SEARCH_DEPTH

    out_dir = tmp_path / "out"
    out = _bench("--sections", "vectors", "--vectors", "2000", "--encode-limit", "200", "--questions", "5",
                 "--out", str(out_dir), "--work-dir", str(work_dir(tmp_path, built_index_dir)), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    text = (out_dir / "RESULTS.md").read_text(encoding="utf-8")
    assert "## 6. Scale: search only" in text and "## 6. Scale\n" not in text  # the slow corpus part did not run
    assert "embeddings of 200 synthetic passages" in text and (out_dir / "scale_search.png").exists()
    app = [line for line in text.splitlines() if line.startswith(f"| 2,000 | {HNSW_EF_SEARCH:,} (app) |")]
    assert len(app) == 1, text
    cells = [c.strip() for c in app[0].strip("|").split("|")]
    assert all(0.0 <= float(c) <= 1.0 for c in cells[2:5])  # recall@10, @100, @depth
    assert f"k={SEARCH_DEPTH}" in text and "**Chosen settings**" in text


def test_onnx_trial_runs_its_three_encoders(tmp_path, few_labelled_index, few_labelled):
    """The int8 arm quantises a plain export: onnxruntime's quantiser cannot read the
    fused graph qa stores, and a failed section only shows as "FAILED" in the file.
    Each encoder's index build fits its decisions on conftest's `few_labelled` sets (the
    work folder's index was fitted on them too, so the bench starts without a build), and
    the metrics judge the first question of every set (``--questions 1``)."""
    out_dir = tmp_path / "out"
    out = _bench("--sections", "onnx", "--questions", "1", "--out", str(out_dir), "--work-dir", str(work_dir(tmp_path, few_labelled_index)),
                 tmp_path=tmp_path, QA_TRAINING_DIR=str(few_labelled))
    assert out.returncode == 0, out.stderr[-2000:]
    text = (out_dir / "RESULTS.md").read_text(encoding="utf-8")
    assert "FAILED" not in text
    rows = [line for line in text.splitlines() if line.startswith(("| pytorch |", "| onnx fp32 |", "| onnx int8 |"))]
    assert len(rows) == 3
    cosine = {line.split("|")[1].strip(): float(line.split("|")[5]) for line in rows}
    assert cosine["onnx fp32"] >= 0.999 and 0.5 < cosine["onnx int8"] <= 1.0
    from eval.dataset import question_sets

    judged = [line.split("|")[1].strip() for line in text.splitlines() if line.startswith("| ") and ".csv |" in line]
    assert judged == [p.name for p in question_sets()] and len(judged) >= 2  # every set, not questions.csv alone
    # each encoder's build kept its own labelled vectors: int8's are never taken for fp32's (same model folder)
    kept = {p.name for p in Path(os.environ["QA_ENCODER_CACHE"]).glob("labelled-vectors-*.npz")}
    assert any("int8" in name and name.endswith("-onnx.npz") for name in kept), kept
    assert any(name.endswith("-torch.npz") for name in kept) and any("int8" not in n and n.endswith("-onnx.npz")
                                                                      for n in kept), kept


def test_cold_start_section_runs_on_byte_compiled_modules(tmp_path, built_index_dir):
    """The cold start is measured as installed: qa's modules byte-compiled, like the libraries it is compared with."""
    import importlib.util

    out_dir = tmp_path / "out"
    out = _bench("--sections", "coldstart", "--quick", "--out", str(out_dir), "--work-dir", str(work_dir(tmp_path, built_index_dir)),
                 tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    text = (out_dir / "RESULTS.md").read_text(encoding="utf-8")
    assert "FAILED" not in text
    row = next(line for line in text.splitlines() if line.startswith("| process start → first answer |"))
    assert float(row.split("|")[2].replace(",", "")) > 0
    for module in ("qa/text.py", "qa/assistant.py", "qa_web/server.py"):
        source = REPO / module
        compiled = Path(importlib.util.cache_from_source(str(source)))
        assert compiled.is_file() and compiled.stat().st_mtime >= source.stat().st_mtime, module


def test_http_section_serves_the_real_app_and_accounts_its_cpu(tmp_path, built_index_dir):
    """The HTTP section against a real `app.py` on loopback: every level answered,
    past the limit a clean 503, and the server's CPU per answer set beside the
    encoder's own share (numbers that parse and add up, never timing bars)."""
    out_dir = tmp_path / "out"
    out = _bench("--sections", "http", "--quick", "--questions", "5", "--out", str(out_dir),
                 "--work-dir", str(work_dir(tmp_path, built_index_dir)), tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    text = (out_dir / "RESULTS.md").read_text(encoding="utf-8")
    assert (out_dir / "http.png").stat().st_size > 0
    levels = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if cells[0] == "`POST /api/ask`":
            levels[int(cells[1])] = [float(c.replace(",", "")) for c in cells[2:]]
    assert set(levels) == {1, 4, 16, 64}
    for clients, (requests, p50, p95, per_s, busy, errors, cpu_ms, cores) in levels.items():
        assert errors == 0 and per_s > 0 and p95 >= p50 > 0
        assert cpu_ms > 0 and 0 < cores <= os.cpu_count() + 0.5  # psutil rounding at the edges
        assert busy == 0 or clients == 64  # only past the limit is anyone turned away
    capacity = re.search(r"spent \*\*([\d.]+) ms of CPU per answer\*\*.*?costs \*\*([\d.]+) ms\*\* of it", text)
    assert capacity, "capacity paragraph missing"
    assert 0 < float(capacity.group(2))


def test_open_loop_section_reports_every_level_and_the_new_bars(tmp_path, built_index_dir):
    """`--sections openloop --quick` against a real `app.py`: capacity, idle, four Poisson levels
    with p50/p95/p99 and failures, the three bars (pass or not: timings are the bench's to judge)
    and the plot; the retired closed-loop bar is gone."""
    out_dir = tmp_path / "out"
    out = _bench("--sections", "openloop", "--quick", "--out", str(out_dir), "--work-dir", str(work_dir(tmp_path, built_index_dir)),
                 tmp_path=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    text = (out_dir / "RESULTS.md").read_text(encoding="utf-8")
    assert "FAILED" not in text and "## 3b. Open loop" in text
    assert (out_dir / "openloop.png").stat().st_size > 0
    levels = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if re.fullmatch(r"\d+%", cells[0]):
            levels[cells[0]] = [float(c.replace(",", "")) for c in cells[1:]]
    assert list(levels) == ["25%", "50%", "75%", "90%"]
    offered = [row[0] for row in levels.values()]
    assert offered == sorted(offered) and offered[0] > 0  # 25% < 50% < 75% < 90% of one capacity
    for offered_rate, sent, answered, p50, p95, p99, over_idle, failed, *_ in levels.values():
        assert sent > 0 and answered + failed == sent and failed == int(failed)
        if answered:
            assert 0 < p50 <= p95 <= p99 and over_idle > 0
    bars = [line for line in text.splitlines() if line.startswith("| open loop")]
    assert len(bars) == 3 and all(re.search(r"\| (yes|\*\*no\*\*) \|", bar) for bar in bars)
    assert "p95 ≤ 3× idle p50" in bars[0] and "p95 ≤ 6× idle p50" in bars[1] and "no failed request" in bars[2]
    assert "16 clients: p95" not in text  # the closed-loop bar is retired, and the page says why
    assert "Little's law" in text and re.search(r"\*\*Capacity\*\*: .*\*\*\d+ answers/s\*\*", text)
