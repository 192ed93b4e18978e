"""What a staff decision writes into the corpus folder, one CSV row at a time.

"Assign the right passage" appends ``question,answer_quote`` to
``alternate_questions.csv`` (the index build reads each row as another
question view of the passage holding the quote); "mark not covered" appends
``term,topic,where`` to ``not_covered.csv``. Each write replaces the file
atomically (a crash leaves the old file whole, never half a row), under a lock
shared by this process. ``quote_for`` picks the quote: pure. Rebuilding the
index is ``rebuild``'s job.
"""

from __future__ import annotations

import csv
import io
import os
import re
import threading
import uuid
from pathlib import Path

from ..passages import Passage
from ..text import fold, sentence_spans
from .errors import FeedbackError

ALTERNATES_FILE = "alternate_questions.csv"
ALTERNATES_HEADER = ("question", "answer_quote")
NOT_COVERED_FILE = "not_covered.csv"
NOT_COVERED_HEADER = ("term", "topic", "where")
WHERE = ("anywhere", "question")
#: Longest quote, in words: a clause survives re-chunking better than a paragraph (eval/README.md).
QUOTE_WORDS = 15
_lock = threading.Lock()
_FORMULA = re.compile(r"^[=+\-@\t\r\s]+")


def clean_cell(text: str, *, limit: int = 1000) -> str:
    """One line, no leading spreadsheet-formula characters, at most ``limit`` characters."""
    return _FORMULA.sub("", " ".join(str(text).split()))[:limit].strip()


def _unique_in(snippet: str, passages: tuple[Passage, ...]) -> bool:
    folded = fold(snippet)
    return sum(folded in fold(p.plain_text) for p in passages) == 1


def _first_words(text: str, n: int) -> str:
    """The first ``n`` words of ``text`` as they stand in it (its own spaces and line breaks)."""
    match = re.match(rf"\s*(\S+(?:\s+\S+){{0,{n - 1}}})", text)
    return match.group(1).rstrip(",;:") if match else ""


def quote_for(passage: Passage, passages: tuple[Passage, ...]) -> str:
    """A verbatim snippet (at most ``QUOTE_WORDS`` words) of ``passage``'s plain text that no other passage holds.

    Its first sentence, cut to its first words, that no other passage holds,
    preferring one also word for word in the Markdown (no emphasis inside);
    the passage's first words when no sentence is unique.
    """
    plain = passage.plain_text
    candidates = [_first_words(plain[start:end], QUOTE_WORDS) for start, end in sentence_spans(plain)]
    candidates = [c for c in candidates if len(c.split()) >= 3 and _unique_in(c, passages)]
    in_markdown = [c for c in candidates if c in passage.text]
    return (in_markdown or candidates or [_first_words(plain, QUOTE_WORDS)])[0]


def _append(path: Path, header: tuple[str, ...], row: tuple[str, ...]) -> None:
    with _lock:
        existing = path.read_text(encoding="utf-8") if path.exists() else ""
        if existing and not existing.endswith("\n"):
            existing += "\n"
        out = io.StringIO(newline="")
        writer = csv.writer(out, lineterminator="\n")
        if not existing.strip():
            writer.writerow(header)
        writer.writerow(row)
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            tmp.write_text(existing + out.getvalue(), encoding="utf-8")
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise FeedbackError(f"Cannot write {path} ({exc.strerror or exc}): make the corpus folder writable "
                                "or set QA_CORPUS_DIR to a writable copy.") from exc


def append_alternate(corpus_dir: Path, *, question: str, answer_quote: str) -> tuple[str, str]:
    row = (clean_cell(question), clean_cell(answer_quote))
    if not row[0] or not row[1]:
        raise FeedbackError("An alternate question needs both the question and a quote of the passage.")
    _append(Path(corpus_dir) / ALTERNATES_FILE, ALTERNATES_HEADER, row)
    return row


def append_not_covered(corpus_dir: Path, *, term: str, topic: str, where: str = "question") -> tuple[str, str, str]:
    row = (clean_cell(term, limit=60).casefold(), clean_cell(topic, limit=80), where)
    if not row[0] or not row[1]:
        raise FeedbackError("A not-covered row needs a term (a word or phrase patients use) and a topic.")
    if where not in WHERE:
        raise FeedbackError(f"'where' must be one of {', '.join(WHERE)}.")
    _append(Path(corpus_dir) / NOT_COVERED_FILE, NOT_COVERED_HEADER, row)
    return row
