"""Alternate questions: patients' own wordings, kept as extra handles on a passage.

Like the alternate questions of Azure's question answering or Dialogflow's
training phrases: the content team keeps ``corpus/alternate_questions.csv``
(``question,answer_quote``), one row per wording a patient really used, and
the index embeds each question as one more view of the passage that holds its
quote. Anchoring by a quote instead of a passage id keeps a row valid when the
document is re-chunked. The feedback review page (``/admin/``) appends rows
here when staff assign an unanswered message to a passage.

``load_alternates`` reads the file; ``alternate_views`` is pure. A row whose
quote is in no passage is skipped with one log line naming it. This module
does not encode or search.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from .clinic_tables import read_table
from .dense import View
from .passages import Passage
from .text import fold, strip_markdown

ALTERNATES_FILE = "alternate_questions.csv"
#: The ``View.kind`` of an alternate question.
ALTERNATE_KIND = "question"
log = logging.getLogger("qa.alternates")


@dataclass(frozen=True)
class Alternate:
    question: str
    quote: str  # verbatim text of the passage it belongs to


def load_alternates(corpus_dir: Path) -> tuple[Alternate, ...]:
    """The clinic's alternate questions; none when the file is absent."""
    path = corpus_dir / ALTERNATES_FILE
    if not path.is_file():
        return ()
    rows = read_table(path, columns=("question", "answer_quote"))
    return tuple(Alternate(r["question"].strip(), r["answer_quote"].strip())
                 for r in rows if r["question"].strip() and r["answer_quote"].strip())


def alternate_views(passages: list[Passage], alternates: tuple[Alternate, ...]) -> list[View]:
    """One "question" view per alternate, owned by the first passage whose text holds its quote."""
    texts = [fold(strip_markdown(p.plain_text)) for p in passages]
    views = []
    missing = 0
    for alternate in alternates:
        quote = fold(strip_markdown(alternate.quote))
        owner = next((i for i, text in enumerate(texts) if quote and quote in text), None)
        if owner is None:
            missing += 1
            continue
        views.append(View(owner, ALTERNATE_KIND, 0, 0, alternate.question))
    if missing:
        log.warning("%d alternate question(s) in %s quote text no passage holds; they are left out.", missing, ALTERNATES_FILE)
    return views
