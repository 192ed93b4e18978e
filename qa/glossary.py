"""The clinic's glossary of lay terms ("shot" -> "injection").

Patients say "cortisone shot"; the document says "corticosteroid injection".
The content team keeps ``corpus/glossary.csv`` (``lay_term,document_terms``);
a query that contains a lay term, as whole words, gains the document's terms.
``load_glossary`` reads the file; ``expansions`` is pure. This module does
not correct spelling or search.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .clinic_tables import read_table
from .text import fold

GLOSSARY_FILE = "glossary.csv"


@dataclass(frozen=True)
class Glossary:
    entries: tuple[tuple[str, str], ...] = ()  # (folded lay term, document terms)

    def words(self) -> set[str]:
        """Every word the glossary knows, on either side."""
        return {w for lay, doc in self.entries for w in re.findall(r"[a-z0-9]+", f"{lay} {doc}")}


def load_glossary(corpus_dir: Path) -> Glossary:
    """Read ``glossary.csv`` beside the corpus; an absent file is an empty glossary."""
    path = corpus_dir / GLOSSARY_FILE
    if not path.is_file():
        return Glossary()
    entries = []
    for row in read_table(path, columns=("lay_term", "document_terms")):
        lay, doc = fold(row["lay_term"]), row["document_terms"].strip()
        if lay and doc:
            entries.append((lay, doc))
    return Glossary(tuple(entries))


def matches(
    question: str, glossary: Glossary, *, document_phrase: Callable[[str, str], bool] | None = None
) -> list[tuple[str, str]]:
    """(lay term, document terms) for every lay term found in the question, in glossary order.

    Lay terms match as whole words in order, singular or plural alike, so one
    row covers "gel shot" and "gel shots". (Stems would be too loose: "pain"
    would match the row for "painful".) ``...`` in a lay term stands for up to
    ``MAX_GAP`` words, so "how long ... last" also covers "how long does a
    cortisone shot in the hip last". ``document_phrase(lay_term, question)``,
    when given, vetoes a match where the question uses the word in a phrase of
    the document's own: "sports" is lay for exercise, but "sports medicine
    doctors" are the document's "sports medicine physicians".
    """
    asked = _lay_words(question)
    present = set(asked)
    found: list[tuple[str, str]] = []
    for lay, doc in glossary.entries:
        parts = _lay_term_parts(lay)
        if not parts or parts[0][0] not in present or not _contains_in_order(asked, parts):
            continue
        if not (document_phrase and document_phrase(lay, question)):
            found.append((lay, doc))
    return found


def _lay_words(text: str) -> list[str]:
    """Folded words, apostrophes dropped ("don't" -> "dont"), plurals made singular."""
    plain = re.findall(r"[a-z0-9]+", fold(text).replace("\u2019", "").replace("'", ""))
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in plain]


#: Most words a ``...`` in a lay term stands for.
MAX_GAP = 8


@lru_cache(maxsize=4096)
def _lay_term_parts(lay: str) -> tuple[tuple[str, ...], ...]:
    """:func:`_lay_words` of each ``...``-separated part of a glossary term, worked out once per term."""
    parts = (tuple(_lay_words(part)) for part in lay.split("..."))
    return tuple(part for part in parts if part)


def _runs_at(tokens: list[str], part: tuple[str, ...], start: int, stop: int) -> list[int]:
    """Where ``part`` occurs as a contiguous run starting in ``tokens[start:stop]``: the index after each run."""
    n = len(part)
    return [i + n for i in range(start, min(stop, len(tokens) - n + 1)) if tuple(tokens[i : i + n]) == part]


def _contains_in_order(tokens: list[str], parts: tuple[tuple[str, ...], ...]) -> bool:
    """Do ``parts`` occur in ``tokens`` in order, each contiguous, with at most ``MAX_GAP`` words between two?"""
    ends = _runs_at(tokens, parts[0], 0, len(tokens))
    for part in parts[1:]:
        ends = sorted({e for end in ends for e in _runs_at(tokens, part, end, end + MAX_GAP + 1)})
    return bool(ends)


def document_terms(found: list[tuple[str, str]]) -> list[str]:
    """The document terms of :func:`matches`' result, each once, in glossary order."""
    return list(dict.fromkeys(doc for _, doc in found))


def expansions(question: str, glossary: Glossary) -> list[str]:
    """Document terms for every lay term found in the question, in glossary order."""
    return document_terms(matches(question, glossary))
