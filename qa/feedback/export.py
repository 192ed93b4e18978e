"""Reviewed messages as evaluation rows (``id,question,kind,answer_quote``, eval/README.md).

Assigned to a passage: kind ``feedback`` (in scope; ``red_flag`` when the
answer was urgent) with the passage's quote. Marked not covered: kind
``out_of_scope``, no quote. New and dismissed messages are not exported.
Pure, except ``write_rows``.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .store import StoredMessage

COLUMNS = ("id", "question", "kind", "answer_quote")
EXPORTED = ("assigned", "not_covered")


def eval_rows(messages: list[StoredMessage]) -> list[dict[str, str]]:
    rows = []
    for m in messages:
        if m.status == "assigned" and m.answer_quote:
            kind, quote = ("red_flag" if m.urgent else "feedback"), m.answer_quote
        elif m.status == "not_covered":
            kind, quote = "out_of_scope", ""
        else:
            continue
        rows.append({"id": f"fb-{m.id}", "question": " ".join(m.question.split()), "kind": kind, "answer_quote": quote})
    return rows


def write_rows(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
