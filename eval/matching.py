"""Decide whether a retrieved passage answers a question, using gold quotes.

A passage is a *hit* when its plain text contains one of the row's quotes once
both sides are folded: Markdown markers stripped, case folded, runs of
whitespace collapsed to one space. Labelling with quotes instead of passage
ids keeps the evaluation set valid whatever the chunker does, as long as a
quote stays inside one passage (so quotes are kept to a clause or so).

This module does not rank, score, read files or know about ``qa``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

QUOTE_SEPARATOR = "||"

# Markers a Markdown renderer would drop: heading hashes, list bullets at the
# start of a line (possibly indented), bold/italic asterisks and underscores.
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)
_BULLET = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+", re.MULTILINE)
_EMPHASIS = re.compile(r"\*\*|__|(?<!\w)\*(?=\S)|(?<=\S)\*(?!\w)")


def strip_markdown(text: str) -> str:
    """Drop the Markdown markers that never appear in a patient-facing answer.

    Only the markers the corpus uses are handled (headings, bullets, bold);
    links, tables and code spans are left as they are.
    """
    text = _HEADING.sub("", text)
    text = _BULLET.sub("", text)
    return _EMPHASIS.sub("", text)


def fold(text: str) -> str:
    """Case-fold and collapse whitespace, so line wrapping and capitals never decide a hit."""
    return " ".join(text.split()).casefold()


def split_quotes(cell: str) -> tuple[str, ...]:
    """Split an ``answer_quote`` cell on ``||``; blank pieces are dropped."""
    return tuple(piece.strip() for piece in cell.split(QUOTE_SEPARATOR) if piece.strip())


def is_hit(plain_text: str, quotes: Iterable[str]) -> bool:
    """True when the passage text contains any of the quotes (both folded)."""
    haystack = fold(strip_markdown(plain_text))
    return any(fold(q) and fold(q) in haystack for q in quotes)


def hit_ranks(passages: Sequence[str], quotes: Sequence[str]) -> set[int]:
    """1-based ranks of the passages (best first) that contain a gold quote."""
    return {rank for rank, text in enumerate(passages, start=1) if is_hit(text, quotes)}


def first_hit(ranks: Iterable[int]) -> int | None:
    """Rank of the best hit, or None when nothing retrieved was a hit."""
    return min(ranks, default=None)
