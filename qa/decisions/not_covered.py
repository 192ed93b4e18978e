"""Topics the clinic knows its document does not cover.

Some questions look answerable ("is it safe for me to have it?") until the
story around them says what they hinge on: a pregnancy, a pet, a hip that has
already been replaced. The document says nothing about those, and quoting its
general safety text would read as a yes. The content team lists such topics
in ``corpus/not_covered.csv`` (``term,topic,where``); a term found in the
message makes the assistant say the guide does not cover it.

``where`` is ``anywhere`` for a circumstance of the patient that changes any
answer (pregnancy), or ``question`` when the word only matters in the asking
part ("can dogs have it?", not "I walk my dog every day").
A listed term the document itself uses is ignored (``absent_from``): the
document is the authority on what it covers. ``load_not_covered`` reads the
file (none: nothing listed); ``absent_from`` and ``find_topic`` are pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..clinic_tables import read_table
from ..errors import CorpusError
from ..text import fold, has_term

NOT_COVERED_FILE = "not_covered.csv"
PLACES = ("anywhere", "question")


@dataclass(frozen=True)
class NotCoveredTerm:
    term: str  # folded
    topic: str
    where: str  # "anywhere" or "question"


def load_not_covered(corpus_dir: Path) -> tuple[NotCoveredTerm, ...]:
    path = corpus_dir / NOT_COVERED_FILE
    if not path.is_file():
        return ()
    terms = []
    for line, row in enumerate(read_table(path, columns=("term", "topic", "where")), start=2):
        where = row["where"].strip().lower() or "question"
        if where not in PLACES:
            raise CorpusError(f"{path}, line {line}: where must be one of {', '.join(PLACES)}, not {row['where']!r}.")
        if row["term"].strip():
            terms.append(NotCoveredTerm(fold(row["term"]), row["topic"].strip(), where))
    return tuple(terms)


def absent_from(terms: tuple[NotCoveredTerm, ...], document: str) -> tuple[NotCoveredTerm, ...]:
    """The terms the document does not use: once the content team writes about
    parking, "parking" stops declining questions, without anyone editing this list."""
    folded = fold(document)
    return tuple(entry for entry in terms if not has_term(folded, entry.term))


def find_topic(message: str, ask: str, terms: tuple[NotCoveredTerm, ...]) -> str:
    """The first listed topic the message raises ("" when none): ``anywhere``
    terms are looked for in the whole message, ``question`` terms in ``ask``."""
    whole, asked = fold(message), fold(ask)
    for entry in terms:
        if has_term(whole if entry.where == "anywhere" else asked, entry.term):
            return entry.topic
    return ""
