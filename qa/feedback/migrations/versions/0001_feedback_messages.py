"""feedback_messages: redacted messages, what was shown, and the staff decision

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback_messages",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("answer_id", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("question", sa.Text, nullable=False),
        sa.Column("comment", sa.Text, nullable=True),
        sa.Column("helpful", sa.Boolean, nullable=True),
        sa.Column("reason", sa.String(32), nullable=False, server_default=""),
        sa.Column("confidence", sa.Float, nullable=False, server_default="0"),
        sa.Column("urgent", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("emergency", sa.Boolean, nullable=False, server_default="0"),
        sa.Column("passage_ids", sa.Text, nullable=False, server_default="[]"),
        sa.Column("embedding", sa.LargeBinary, nullable=True),
        sa.Column("redactions", sa.Integer, nullable=False, server_default="0"),
        sa.Column("status", sa.String(16), nullable=False, server_default="new"),
        sa.Column("reviewed_at", sa.DateTime(), nullable=True),
        sa.Column("passage_id", sa.String(64), nullable=True),
        sa.Column("answer_quote", sa.Text, nullable=True),
    )
    op.create_index("ix_feedback_messages_created_at", "feedback_messages", ["created_at"])
    op.create_index("ix_feedback_messages_status", "feedback_messages", ["status"])


def downgrade() -> None:
    op.drop_table("feedback_messages")
