"""Render ``RESULTS.md`` from measured sections: pure text in, text out.

The header names the machine (CPU count, load), the library versions and
the exact command; then a table of the issue's bars; then each section.
This module does not measure and does not write plots.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.stats import Section, fmt

TITLE = "# Benchmark results"


def render(sections: Sequence[Section], *, machine: dict, command: str, elapsed_s: float) -> str:
    out = [TITLE, "",
           "Produced by the command below; every comparison is a ratio of two things measured in this same run "
           "on this machine. Absolute times drift with the machine's load, ratios much less.", "",
           "```", command, "```", "",
           "## Machine", ""]
    out += [f"- {k}: {v}" for k, v in machine.items()]
    out += [f"- bench wall time: {elapsed_s / 60:.1f} min", ""]
    checks = [c for s in sections for c in s.checks]
    if checks:
        out += ["## Bars from the issue", "", "| bar | measured | limit | pass | detail |", "|---|---|---|---|---|"]
        for c in checks:
            out.append(f"| {c.bar} | {fmt(c.value)} | {fmt(c.limit)} | {'yes' if c.ok else '**no**'} | {c.detail} |")
        out.append("")
    for s in sections:
        out += [f"## {s.title}", "", *s.lines]
        out += [f"![{name}]({name})" for name in s.figures]
        out.append("")
    return "\n".join(out).rstrip() + "\n"
