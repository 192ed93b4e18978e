"""Turn an ``Evaluation`` into files and tables people read.

Writes ``metrics.json``, ``per_question.csv``, ``report.md`` and
``hit_at_k.png`` (matplotlib, Agg backend, imported only when plotting), and
formats the ``--compare`` table as Markdown so it can be pasted into the
README as is. pandas is used here and nowhere else in ``eval``. This module
computes no metric itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pandas as pd

from eval.scoring import Evaluation, Scored

TOP_N = 3
HEADLINE_KEYS = ("hit@1", "hit@3", "hit@5", "mrr@10", "answer@1", "oos_abstain", "false_abstain",
                 "red_flag_recall", "false_urgent", "p50_ms", "p95_ms")
ARTIFACTS = ("metrics.json", "per_question.csv", "report.md", "hit_at_k.png")


def fmt(value: object) -> str:
    """Shares to 3 decimals, milliseconds to 1, missing as a dash."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.1f}" if abs(value) >= 10 else f"{value:.3f}"
    return str(value)


def fmt_metric(key: str, value: object) -> str:
    """Like ``fmt`` but milliseconds always get one decimal, so 0.7 ms never reads as a share."""
    if key.endswith("_ms") and isinstance(value, (int, float)):
        return f"{value:.1f}"
    return fmt(value)


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured Markdown table (tabulate is not a dependency)."""
    cells = [[fmt(c).replace("|", "\\|").replace("\n", " ") for c in row] for row in rows]
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in cells]
    return "\n".join(lines)


def per_question_frame(evaluation: Evaluation) -> pd.DataFrame:
    """One row per question: gold, top passages, first-hit rank, flags."""
    records = []
    for row in evaluation.rows:
        record = {"id": row.question.id, "question": row.question.question, "kind": row.question.kind,
                  "gold": " || ".join(row.question.quotes)}
        for i in range(TOP_N):
            passage = row.outcome.passages[i] if i < len(row.outcome.passages) else None
            record[f"top{i + 1}_id"] = passage.id if passage else ""
            record[f"top{i + 1}_heading"] = passage.heading if passage else ""
        record["first_hit_rank"] = row.first_hit
        record["abstained"] = row.outcome.abstained
        record["urgent"] = row.outcome.urgent
        record["decided"] = row.outcome.decided
        record["latency_ms"] = round(row.outcome.latency_ms, 2)
        records.append(record)
    frame = pd.DataFrame.from_records(records)
    if not frame.empty:
        frame["first_hit_rank"] = frame["first_hit_rank"].astype("Int64")
    return frame


def _top(row: Scored) -> str:
    if not row.outcome.passages:
        return "(no passage)"
    first = row.outcome.passages[0]
    snippet = " ".join(first.plain_text.split())[:120]
    return f"{first.heading or first.id}: {snippet}"


# Each "misses" section of report.md: heading, which rows belong, optional note.
MISS_SECTIONS = (
    ("Ranking misses (first passage is not a hit)",
     lambda r: bool(r.question.quotes) and r.first_hit != 1,
     lambda r: f"first hit at rank {r.first_hit or 'none'}"),
    ("Out-of-scope questions answered", lambda r: r.question.kind == "out_of_scope" and not r.outcome.abstained, None),
    ("Red flags not marked urgent", lambda r: r.question.kind == "red_flag" and not r.outcome.urgent, None),
    ("In-scope questions abstained", lambda r: r.question.in_scope and r.outcome.abstained, None),
    ("In-scope questions marked urgent", lambda r: r.question.in_scope and r.outcome.urgent, None),
)


def report_markdown(evaluation: Evaluation, *, title: str = "Retrieval evaluation") -> str:
    """The human report: headline metrics, metrics by kind, then every miss
    with what came first instead."""
    m = evaluation.metrics
    by_kind_rows = [(kind, km["n"].get(kind, 0), *(fmt_metric(h, km[h]) for h in HEADLINE_KEYS))
                    for kind, km in evaluation.by_kind.items()]
    parts = [
        f"# {title}", "",
        markdown_table(("metric", "value"), [(k, fmt_metric(k, m.get(k))) for k in HEADLINE_KEYS]), "",
        "rows per kind: " + ", ".join(f"{k}={n}" for k, n in m.get("n", {}).items()), "",
        "## Metrics by kind", "",
        markdown_table(("kind", "n", *HEADLINE_KEYS), by_kind_rows),
    ]
    for heading, wanted, note in MISS_SECTIONS:
        parts += _miss_section(heading, [r for r in evaluation.rows if wanted(r)], note)
    return "\n".join(parts) + "\n"


def _miss_section(heading: str, rows: Sequence[Scored], note) -> list[str]:
    lines = ["", f"## {heading} ({len(rows)})", ""]
    if not rows:
        lines.append("None.")
    for r in rows:
        extra = f"; {note(r)}" if note else ""
        lines.append(f"- **{r.question.id}** ({r.question.kind}) {r.question.question!r}{extra}")
        lines.append(f"  - came first: {_top(r)}")
        if r.outcome.decided:
            lines.append(f"  - decided: {r.outcome.decided}")
        if r.question.quotes:
            lines.append(f"  - gold: {' || '.join(r.question.quotes)}")
    return lines


def plot_hit_curve(curve: Mapping[int, float | None], path: Path, *, title: str = "hit@k") -> None:
    """Save a line plot of hit@k for k = 1..10 (Agg backend: no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ks = sorted(curve)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ks, [curve[k] if curve[k] is not None else float("nan") for k in ks], marker="o")
    ax.set(xlabel="k (passages shown)", ylabel="share of questions with a hit in the top k",
           title=title, ylim=(0, 1.02), xticks=ks)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_artifacts(evaluation: Evaluation, out_dir: str | Path) -> list[Path]:
    """Write the four report files into ``out_dir`` (created if needed)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / name for name in ARTIFACTS]
    paths[0].write_text(json.dumps(evaluation.metrics, indent=2) + "\n", encoding="utf-8")
    per_question_frame(evaluation).to_csv(paths[1], index=False)
    paths[2].write_text(report_markdown(evaluation), encoding="utf-8")
    plot_hit_curve(evaluation.curve, paths[3])
    return paths


def compare_table(results: Mapping[str, Mapping]) -> str:
    """One Markdown table, a row per retrieval variant, a column per metric."""
    rows = [(name, *(fmt_metric(k, m.get(k)) for k in HEADLINE_KEYS)) for name, m in results.items()]
    return markdown_table(("variant", *HEADLINE_KEYS), rows)


def summary_text(metrics: Mapping) -> str:
    """The plain-text summary printed when neither --json nor --out is asked for."""
    width = max(len(k) for k in HEADLINE_KEYS)
    lines = [f"{k:<{width}}  {fmt_metric(k, metrics.get(k))}" for k in HEADLINE_KEYS]
    lines.append(f"{'n':<{width}}  " + ", ".join(f"{k}={n}" for k, n in metrics.get("n", {}).items()))
    return "\n".join(lines)
