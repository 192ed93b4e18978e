"""Domain errors of the `qa` library, each with a message that says what to do.

The shells (chat, CLI, HTTP API) translate these into a friendly chat message,
an exit code or an HTTP status; they never show a traceback. This module does
not decide *how* an error is shown, only what it means.
"""

from __future__ import annotations


class QAError(Exception):
    """Base class: anything the library raises on purpose."""


class CorpusError(QAError):
    """The corpus folder is missing, empty or unreadable."""


class ModelNotFound(QAError):
    """The sentence-transformers model folder cannot be found or loaded."""


class IndexNotFound(QAError):
    """No index at the expected place: run `python -m qa build`."""


class IndexCorrupt(QAError):
    """Index files fail their checksums or cannot be read: rebuild it."""


class IndexStale(QAError):
    """The index was built from another corpus or model than the ones on disk."""
