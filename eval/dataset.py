"""Load and validate an evaluation questions CSV.

The file has the columns ``id,question,kind,answer_quote`` (extra columns are
ignored, so the content team can keep notes beside their questions). Every
problem is reported as one ``DatasetError`` whose message names the file, the
line and what to fix, because the people editing these files are not the
people reading tracebacks.

This module does not match quotes against passages or compute anything.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from eval.matching import split_quotes

REQUIRED_COLUMNS = ("id", "question", "kind", "answer_quote")
OUT_OF_SCOPE = "out_of_scope"
RED_FLAG = "red_flag"
# Kinds the issue defines; any other kind is accepted and counts as in-scope.
KNOWN_KINDS = ("faq", "paraphrase", "section", OUT_OF_SCOPE, RED_FLAG)
SETS_DIR = Path(__file__).with_name("sets")
DEFAULT_QUESTIONS = SETS_DIR / "questions.csv"


def question_sets() -> list[Path]:
    """Every question set in ``eval/``: ``questions.csv`` first, then the others by name."""
    return [DEFAULT_QUESTIONS, *sorted(p for p in DEFAULT_QUESTIONS.parent.glob("*.csv") if p != DEFAULT_QUESTIONS)]


class DatasetError(ValueError):
    """The questions file cannot be used; the message says what to fix."""


@dataclass(frozen=True)
class Question:
    """One evaluation row. ``quotes`` is empty exactly for out-of-scope rows."""

    id: str
    question: str
    kind: str
    quotes: tuple[str, ...]

    @property
    def in_scope(self) -> bool:
        """Rows the assistant should answer: neither out-of-scope nor a red flag."""
        return self.kind not in (OUT_OF_SCOPE, RED_FLAG)


def load_questions(path: str | Path = DEFAULT_QUESTIONS) -> list[Question]:
    """Read ``path`` and validate it; raises ``DatasetError`` for any problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found; pass an existing CSV with --questions") from None
    except IsADirectoryError:
        raise DatasetError(f"{path}: is a directory; pass a CSV file with --questions") from None
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 CSV") from None
    except OSError as exc:
        raise DatasetError(f"{path}: cannot read ({exc.strerror})") from None
    return parse_questions(text, source=str(path))


def parse_questions(text: str, *, source: str = "<questions>") -> list[Question]:
    """Parse CSV text into questions, checking every rule the metrics rely on."""
    # strict: a stray or unclosed quote is an error, not silently merged rows.
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    try:
        header = reader.fieldnames
        if not header:
            raise DatasetError(f"{source}: empty file; expected a header line {','.join(REQUIRED_COLUMNS)}")
        columns = [name.strip() for name in header]
        missing = [c for c in REQUIRED_COLUMNS if c not in columns]
        if missing:
            raise DatasetError(
                f"{source}: missing column(s) {', '.join(missing)}; the header must contain "
                f"{','.join(REQUIRED_COLUMNS)} (found: {','.join(columns)})"
            )
        reader.fieldnames = columns
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise DatasetError(f"{source}: line {reader.line_num}: malformed CSV ({exc})") from None
    questions = [_question(row, line=line, source=source) for line, row in rows]
    if not questions:
        raise DatasetError(f"{source}: no questions below the header")
    _check_unique_ids(questions, source=source)
    return questions


def _question(row: dict, *, line: int, source: str) -> Question:
    where = f"{source}: line {line}"
    if None in row:
        raise DatasetError(f"{where}: more fields than the header; quote cells that contain commas")
    values = {c: (row.get(c) or "").strip() for c in REQUIRED_COLUMNS}
    for column in ("id", "question", "kind"):
        if not values[column]:
            raise DatasetError(f"{where}: empty '{column}'")
    quotes = split_quotes(values["answer_quote"])
    if values["kind"] == OUT_OF_SCOPE and quotes:
        raise DatasetError(f"{where} ({values['id']}): out_of_scope rows must leave answer_quote empty")
    if values["kind"] != OUT_OF_SCOPE and not quotes:
        raise DatasetError(
            f"{where} ({values['id']}): kind '{values['kind']}' needs an answer_quote "
            "(a verbatim snippet of the corpus; separate alternatives with ||)"
        )
    return Question(id=values["id"], question=values["question"], kind=values["kind"], quotes=quotes)


def _check_unique_ids(questions: list[Question], *, source: str) -> None:
    seen: set[str] = set()
    duplicates = sorted({q.id for q in questions if q.id in seen or seen.add(q.id)})
    if duplicates:
        raise DatasetError(f"{source}: duplicate id(s) {', '.join(duplicates)}; ids must be unique")
