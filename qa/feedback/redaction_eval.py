"""How well ``redact`` does on a labelled set: ``python -m qa.feedback.redaction_eval FILE``.

The set is a CSV ``id,message,names,identifiers,keep`` (``||`` between items;
an identifier is ``kind:value``). Three figures, pure functions over the rows:

- ``structured_left``: planted identifiers still readable, verbatim or as any
  group of 3+ of their digits (must be 0);
- ``names_removed``: share of planted names with none of their words left;
- ``kept``: share of the medical phrases still there word for word.

It reads one file and prints; it does not change the redactor.
"""

from __future__ import annotations

import csv
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Case:
    id: str
    message: str
    names: tuple[str, ...]
    identifiers: tuple[tuple[str, str], ...]  # (kind, value)
    keep: tuple[str, ...]


def _split(cell: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in (cell or "").split("||") if part.strip())


def load_cases(path: str | Path) -> list[Case]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return [Case(r["id"], r["message"], _split(r["names"]),
                 tuple(tuple(i.split(":", 1)) for i in _split(r["identifiers"])), _split(r["keep"])) for r in rows]


def identifier_left(value: str, redacted: str) -> bool:
    if value.casefold() in redacted.casefold():
        return True
    left = set(re.findall(r"\d+", redacted))
    return any(group in left for group in re.findall(r"\d{3,}", value))


def name_left(name: str, redacted: str) -> bool:
    return any(re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", redacted, re.IGNORECASE)
               for word in re.findall(r"[\w'’-]{2,}", name))


def score(cases: list[Case], redacted: dict[str, str]) -> dict:
    """Figures over ``redacted`` ({case id: redacted text}); lists what was missed."""
    leaks = [(c.id, v) for c in cases for _, v in c.identifiers if identifier_left(v, redacted[c.id])]
    names_missed = [(c.id, n) for c in cases for n in c.names if name_left(n, redacted[c.id])]
    lost = [(c.id, k) for c in cases for k in c.keep if k not in redacted[c.id]]
    n_ids = sum(len(c.identifiers) for c in cases)
    n_names = sum(len(c.names) for c in cases)
    n_keep = sum(len(c.keep) for c in cases)
    return {
        "messages": len(cases),
        "structured": n_ids, "structured_left": len(leaks),
        "names": n_names, "names_removed": round(1 - len(names_missed) / n_names, 4) if n_names else None,
        "keep": n_keep, "kept": round(1 - len(lost) / n_keep, 4) if n_keep else None,
        "leaks": leaks, "names_missed": names_missed, "lost": lost,
    }


def main(argv: list[str] | None = None) -> int:
    from .redact import redact

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m qa.feedback.redaction_eval tests/data/redaction_cases.csv", file=sys.stderr)
        return 2
    cases = load_cases(args[0])
    print(json.dumps(score(cases, {c.id: redact(c.message).text for c in cases}), indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
