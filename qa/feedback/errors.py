"""Errors of the feedback loop, each saying what to do. The shells turn them
into an exit code (CLI) or an HTTP status; this module decides neither."""

from __future__ import annotations

from ..errors import QAError


class FeedbackError(QAError):
    """Feedback cannot be stored or read; the message names the fix."""


class AnswerNotFound(FeedbackError):
    """Feedback for an answer this server never gave, or gave too long ago."""


class StoreUnavailable(FeedbackError):
    """The database cannot be opened or migrated."""
