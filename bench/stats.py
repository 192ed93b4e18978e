"""Pure helpers: percentiles, summaries, ratios and the ``Section`` a benchmark returns.

No timing happens here except the tiny ``timed`` wrapper; no I/O at all.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field


def percentile(values: Sequence[float], pct: float) -> float:
    """Linear-interpolated percentile (numpy's default method); NaN when empty."""
    data = sorted(values)
    if not data:
        return math.nan
    pos = (len(data) - 1) * pct / 100.0
    low, high = math.floor(pos), math.ceil(pos)
    return data[low] + (data[high] - data[low]) * (pos - low)


def summary(ms: Sequence[float]) -> dict[str, float]:
    """p50, p95, mean and count of a list of milliseconds."""
    return {"p50": percentile(ms, 50), "p95": percentile(ms, 95),
            "mean": sum(ms) / len(ms) if ms else math.nan, "n": len(ms)}


def ratio(a: float, b: float) -> float:
    """a / b, NaN when b is zero or either is NaN."""
    if not b or math.isnan(a) or math.isnan(b):
        return math.nan
    return a / b


def timed(fn: Callable, *args, **kwargs) -> tuple[float, object]:
    """(milliseconds, result) of one call."""
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return (time.perf_counter() - start) * 1000.0, result


@dataclass(frozen=True)
class Check:
    """One of the issue's bars: ``value <= limit`` passes (``higher=True``: ``>=``)."""

    bar: str
    value: float
    limit: float
    detail: str = ""
    higher: bool = False

    @property
    def ok(self) -> bool:
        if math.isnan(self.value):
            return False
        return self.value >= self.limit if self.higher else self.value <= self.limit


@dataclass
class Section:
    """What one benchmark measured: markdown body, checks, figures and raw numbers."""

    key: str
    title: str
    lines: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    figures: list[str] = field(default_factory=list)  # PNG file names in the output folder
    numbers: dict = field(default_factory=dict)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def table(self, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
        self.lines.append("| " + " | ".join(header) + " |")
        self.lines.append("|" + "|".join("---" for _ in header) + "|")
        for row in rows:
            self.lines.append("| " + " | ".join(fmt(v) for v in row) + " |")
        self.lines.append("")


def fmt(value: object) -> str:
    """Numbers with sensible precision for a table; everything else as text."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "n/a"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.3g}" if abs(value) < 0.01 else f"{value:.2f}"
    return str(value)
