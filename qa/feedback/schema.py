"""The feedback table, as SQLAlchemy Core metadata (what the Alembic migrations create).

One row per kept message: its redacted words, what the assistant showed, and
what staff decided. No IP address, session id or raw text has a column.
Times are naive UTC. This module defines; ``store`` reads and writes.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Index, Integer, LargeBinary, MetaData, String, Table, Text

metadata = MetaData()
#: Alembic's own bookkeeping table, named so it never meets another app's in a shared PostgreSQL.
VERSION_TABLE = "feedback_alembic_version"

messages = Table(
    "feedback_messages",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("answer_id", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(), nullable=False),
    Column("kind", String(16), nullable=False),  # unanswered | disliked
    Column("question", Text, nullable=False),  # redacted
    Column("comment", Text, nullable=True),  # redacted
    Column("helpful", Boolean, nullable=True),
    Column("reason", String(32), nullable=False, server_default=""),
    Column("confidence", Float, nullable=False, server_default="0"),
    Column("urgent", Boolean, nullable=False, server_default="0"),
    Column("emergency", Boolean, nullable=False, server_default="0"),
    Column("passage_ids", Text, nullable=False, server_default="[]"),  # JSON list, best first
    Column("embedding", LargeBinary, nullable=True),  # float32, L2-normalised, of the redacted text
    Column("redactions", Integer, nullable=False, server_default="0"),
    Column("status", String(16), nullable=False, server_default="new"),  # new | assigned | not_covered | dismissed
    Column("reviewed_at", DateTime(), nullable=True),
    Column("passage_id", String(64), nullable=True),
    Column("answer_quote", Text, nullable=True),
    Index("ix_feedback_messages_created_at", "created_at"),
    Index("ix_feedback_messages_status", "status"),
)
