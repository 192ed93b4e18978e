"""Where feedback is kept and for how long: flags first, then environment, then defaults.

The same resolution serves ``python app.py`` and ``python -m qa feedback``,
so both open the same store. This module only resolves values; it opens no
database and creates no folder.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..config import PROJECT_ROOT
from .errors import FeedbackError

ENV_DATA_DIR = "QA_DATA_DIR"
ENV_DATABASE_URL = "QA_DATABASE_URL"
ENV_RETENTION_DAYS = "QA_RETENTION_DAYS"
ENV_ADMIN_USERS = "QA_ADMIN_USERS"  # "name:hash name2:hash2" (whitespace-separated)
ENV_ADMIN_USERS_FILE = "QA_ADMIN_USERS_FILE"
DEFAULT_RETENTION_DAYS = 30
DATABASE_FILE = "feedback.sqlite3"
USERS_FILE = "admin_users.txt"


@dataclass(frozen=True)
class FeedbackConfig:
    data_dir: Path
    database_url: str
    retention_days: int
    admin_users_file: Path
    admin_users_inline: str = ""  # from QA_ADMIN_USERS, never written anywhere


def resolve_feedback_config(
    *,
    data_dir: str | os.PathLike | None = None,
    database_url: str | None = None,
    retention_days: int | str | None = None,
    env: Mapping[str, str] | None = None,
) -> FeedbackConfig:
    env = os.environ if env is None else env
    folder = Path(data_dir or env.get(ENV_DATA_DIR) or PROJECT_ROOT / "data")
    url = database_url or env.get(ENV_DATABASE_URL) or f"sqlite:///{(folder / DATABASE_FILE).resolve()}"
    days = retention_days if retention_days is not None else env.get(ENV_RETENTION_DAYS, DEFAULT_RETENTION_DAYS)
    try:
        days = int(days)
    except (TypeError, ValueError):
        raise FeedbackError(f"Retention must be a whole number of days, not {days!r}: set --retention-days 30.") from None
    if not 1 <= days <= 3650:
        raise FeedbackError(f"Retention of {days} days is outside 1-3650: set --retention-days to e.g. 30.")
    users_file = Path(env.get(ENV_ADMIN_USERS_FILE) or folder / USERS_FILE)
    return FeedbackConfig(folder, url, days, users_file, env.get(ENV_ADMIN_USERS, ""))
