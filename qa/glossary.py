"""The clinic's glossary of lay terms ("shot" -> "injection").

Patients say "cortisone shot"; the document says "corticosteroid injection".
The content team keeps ``corpus/glossary.csv`` (``lay_term,document_terms``);
a query that contains a lay term, as whole words, gains the document's terms.
``load_glossary`` reads the file; ``expansions`` is pure. This module does
not correct spelling or search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
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


def matches(question: str, glossary: Glossary) -> list[tuple[str, str]]:
    """(lay term, document terms) for every lay term found in the question, in glossary order."""
    folded = f" {' '.join(re.findall(r'[a-z0-9-]+', fold(question).replace(chr(8217), chr(39)).replace(chr(39), '')))} "
    found: list[tuple[str, str]] = []
    for lay, doc in glossary.entries:
        lay_norm = " ".join(re.findall(r"[a-z0-9-]+", lay.replace("'", "")))
        if f" {lay_norm} " in folded:
            found.append((lay, doc))
    return found


def expansions(question: str, glossary: Glossary) -> list[str]:
    """Document terms for every lay term found in the question, in glossary order."""
    added: list[str] = []
    for _, doc in matches(question, glossary):
        if doc not in added:
            added.append(doc)
    return added
