"""The feedback database: SQLite in the data folder by default, any SQLAlchemy URL otherwise.

``FeedbackStore.open(url)`` migrates the schema to the newest Alembic revision
(``migrations/``) and hands back a store whose methods take and return plain
dataclasses. SQLite files are created owner-only and opened with
``secure_delete`` on, so a purged message is overwritten in the file, not just
unlinked from it. This module stores what it is given: it does not redact
(``redact``) or decide what to keep (``collector``).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from .errors import StoreUnavailable

STATUSES = ("new", "assigned", "not_covered", "dismissed")
KINDS = ("unanswered", "disliked")


@dataclass(frozen=True)
class NewMessage:
    answer_id: str
    created_at: datetime  # aware or naive UTC
    kind: str
    question: str  # already redacted
    reason: str = ""
    confidence: float = 0.0
    urgent: bool = False
    emergency: bool = False
    passage_ids: tuple[str, ...] = ()
    embedding: bytes | None = None
    redactions: int = 0
    helpful: bool | None = None
    comment: str | None = None


@dataclass(frozen=True)
class StoredMessage(NewMessage):
    id: int = 0
    status: str = "new"
    reviewed_at: datetime | None = None
    passage_id: str | None = None
    answer_quote: str | None = None


def utc_naive(moment: datetime) -> datetime:
    return moment.astimezone(timezone.utc).replace(tzinfo=None) if moment.tzinfo else moment


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=timezone.utc) if moment is not None and moment.tzinfo is None else moment


def sqlite_path(url: str) -> Path | None:
    return Path(url.split(":///", 1)[1]) if url.startswith("sqlite:///") and url != "sqlite:///:memory:" else None


def migrate(engine) -> None:
    """Bring the schema to the newest revision (safe to run at every start)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class FeedbackStore:
    def __init__(self, engine) -> None:
        from .schema import messages

        self.engine = engine
        self.table = messages

    @classmethod
    def open(cls, url: str) -> "FeedbackStore":
        from sqlalchemy import create_engine, event
        from sqlalchemy.exc import SQLAlchemyError

        path = sqlite_path(url)
        try:
            if path is not None:
                path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                if not path.exists():
                    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))  # owner-only from the first byte
            engine = create_engine(url, future=True, pool_pre_ping=True,
                                   connect_args={"check_same_thread": False} if path is not None else {})
            if engine.dialect.name == "sqlite":
                @event.listens_for(engine, "connect")
                def _pragmas(dbapi_connection, _record):  # noqa: ANN001
                    cursor = dbapi_connection.cursor()
                    cursor.execute("PRAGMA secure_delete=ON")  # deleted rows are zeroed in the file
                    cursor.execute("PRAGMA busy_timeout=5000")
                    cursor.close()
            migrate(engine)
        except (SQLAlchemyError, OSError, ImportError) as exc:
            where = url.split("@")[-1] if "@" in url else url  # never print a password
            raise StoreUnavailable(f"Cannot open the feedback database at {where} ({type(exc).__name__}): check "
                                   "--database-url / QA_DATABASE_URL, or that --data-dir is writable.") from exc
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ writing
    def add(self, message: NewMessage) -> int:
        row = {f.name: getattr(message, f.name) for f in fields(NewMessage)}
        row["created_at"] = utc_naive(message.created_at)
        row["passage_ids"] = json.dumps(list(message.passage_ids))
        with self.engine.begin() as conn:
            return int(conn.execute(self.table.insert().values(**row)).inserted_primary_key[0])

    def set_feedback(self, answer_id: str, *, helpful: bool, comment: str | None = None) -> bool:
        """Record thumbs up/down (and a redacted comment) on a kept message; False if none."""
        values = {"helpful": helpful} | ({"comment": comment} if comment else {})
        with self.engine.begin() as conn:
            result = conn.execute(self.table.update().where(self.table.c.answer_id == answer_id).values(**values))
        return result.rowcount > 0

    def review(self, ids: list[int], *, status: str, now: datetime, passage_id: str | None = None,
               answer_quote: str | None = None) -> int:
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}")
        with self.engine.begin() as conn:
            result = conn.execute(self.table.update().where(self.table.c.id.in_(ids)).values(
                status=status, reviewed_at=utc_naive(now), passage_id=passage_id, answer_quote=answer_quote))
        return result.rowcount

    def purge(self, *, older_than: datetime) -> int:
        """Delete every message created before ``older_than``; returns how many."""
        with self.engine.begin() as conn:
            result = conn.execute(self.table.delete().where(self.table.c.created_at < utc_naive(older_than)))
        return result.rowcount

    def delete_all(self) -> int:
        with self.engine.begin() as conn:
            return conn.execute(self.table.delete()).rowcount

    # ------------------------------------------------------------------ reading
    def messages(self, *, status: str | tuple[str, ...] | None = None, kind: str | None = None,
                 ids: list[int] | None = None) -> list[StoredMessage]:
        """Kept messages, oldest first, filtered by status, kind or id."""
        query = self.table.select().order_by(self.table.c.created_at, self.table.c.id)
        if status is not None:
            query = query.where(self.table.c.status.in_((status,) if isinstance(status, str) else status))
        if kind is not None:
            query = query.where(self.table.c.kind == kind)
        if ids is not None:
            query = query.where(self.table.c.id.in_(ids))
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_stored(row) for row in rows]

    def count(self) -> int:
        from sqlalchemy import func, select

        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(self.table)).scalar_one())


def _stored(row) -> StoredMessage:
    data = dict(row)
    data["passage_ids"] = tuple(json.loads(data.get("passage_ids") or "[]"))
    data["created_at"] = _aware(data["created_at"])
    data["reviewed_at"] = _aware(data.get("reviewed_at"))
    data["embedding"] = bytes(data["embedding"]) if data.get("embedding") is not None else None
    return StoredMessage(**data)
