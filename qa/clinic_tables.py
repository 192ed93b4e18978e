"""Read the small CSV tables the content team keeps beside the corpus.

One reader for ``glossary.csv`` and ``warning_signs.csv`` so both fail the
same way: a clear ``CorpusError`` naming the file and the expected columns.
This module reads rows; what they mean is decided by its callers.
"""

from __future__ import annotations

import csv
from pathlib import Path

from .errors import CorpusError


def read_table(path: Path, *, columns: tuple[str, ...]) -> list[dict[str, str]]:
    """Rows of a UTF-8 CSV file as dicts (missing cells as "")."""
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise CorpusError(f"Cannot read {path}: {exc}. It must be UTF-8 CSV with columns {','.join(columns)}.") from exc
    return [{c: (row.get(c) or "") for c in columns} for row in rows]
