"""PNG plots (matplotlib, Agg backend) written into the output folder.

Each function takes plain lists or dicts, writes one file and returns its name.
Nothing here measures.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _save(fig, out_dir: Path, name: str) -> str:
    fig.tight_layout()
    fig.savefig(out_dir / name, dpi=110)
    plt.close(fig)
    return name


def latency_hist(name: str, out_dir: Path, series: dict[str, list[float]], *, title: str = "Latency per question") -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    top = max(max(v) for v in series.values() if v)
    bins = [top * i / 40 for i in range(41)]
    for label, values in series.items():
        ax.hist(values, bins=bins, alpha=0.55, label=label)
    ax.set_xlabel("milliseconds")
    ax.set_ylabel("questions")
    ax.set_title(title)
    ax.legend()
    return _save(fig, out_dir, name)


def lines(name: str, out_dir: Path, x: list[float], series: dict[str, list[float]], *, xlabel: str, ylabel: str,
          title: str, logx: bool = False, logy: bool = False, refs: dict[str, float] | None = None) -> str:
    """One line per series; ``refs``: labelled horizontal dashed lines (bars to stay under)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    for label, ys in series.items():
        ax.plot(x[: len(ys)], ys, marker="o", label=label)
    for (label, y), style in zip((refs or {}).items(), ("--", ":", "-.")):
        ax.axhline(y, linestyle=style, linewidth=1.2, color="dimgrey", label=label)
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, out_dir, name)


def bars(name: str, out_dir: Path, labels: list[str], values: list[float], *, ylabel: str, title: str) -> str:
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(labels, values, color="#4a7ab5")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    for i, v in enumerate(values):
        ax.annotate(f"{v:.1f}", (i, v), ha="center", va="bottom", fontsize=8)
    plt.setp(ax.get_xticklabels(), rotation=20, ha="right")
    return _save(fig, out_dir, name)
