"""What a JSON value sent for each kind of Gradio input may be: pure checks, no Gradio.

A queue payload carries one value per input of an event. The kinds here are the
plain ones a chat needs (text, a button's label, numbers, true/false, a choice,
chat messages, and null for state the server keeps), each checked for exactly
its shape, so a value cannot smuggle in Gradio's FileData (a dict with a "path"
that Gradio would hash and copy) or a component payload. Strings with a lone
UTF-16 surrogate are not text: they cannot be encoded to answer them back.
This module does not know which input has which kind; `qa_web.gradio_surface` does.
"""

from __future__ import annotations

import math
from typing import Any

#: The kinds of input, each named as a refusal says it: "data[0] must be text".
TEXT, LABEL, INTEGER, NUMBER, BOOLEAN, CHOICE, STATE, CHAT = (
    "text", "a button label", "a whole number", "a number", "true or false", "a choice", "null (server-side state)", "chat messages"
)
MAX_ITEMS = 200  # chat messages, choices, entries of a dict
MAX_DEPTH = 6
CHAT_ROLES = frozenset({"user", "assistant", "system"})
CHAT_MESSAGE_KEYS = frozenset({"role", "content", "metadata", "options"})
CHAT_METADATA_KEYS = frozenset({"title", "log", "duration", "status", "id", "parent_id"})
#: Keys of Gradio's FileData; a dict holding any of them is refused wherever it appears.
FILE_KEYS = frozenset({"path", "url", "meta", "orig_name", "is_stream", "mime_type", "file"})


def plain_json(value: Any, depth: int = 0) -> bool:
    """JSON of bounded depth and size with no FileData-shaped dict anywhere."""
    if value is None or isinstance(value, (str, bool, int)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if depth >= MAX_DEPTH:
        return False
    if isinstance(value, list):
        return len(value) <= MAX_ITEMS and all(plain_json(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return (
            len(value) <= MAX_ITEMS
            and not FILE_KEYS.intersection(value)
            and all(plain_json(v, depth + 1) for v in value.values())
        )
    return False


def is_text(value: Any) -> bool:
    """A string with no lone surrogate (JSON's "\\ud800" escape makes one)."""
    return isinstance(value, str) and not any("\ud800" <= ch <= "\udfff" for ch in value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _scalar(value: Any) -> bool:
    return value is None or is_text(value) or _number(value)


def _text_part(part: Any) -> bool:
    """A chat message's content part as Gradio sends it back: {"type": "text", "text": ...}."""
    return isinstance(part, dict) and set(part) == {"type", "text"} and part["type"] == "text" and is_text(part["text"])


def _chat_message(message: Any) -> bool:
    """{"role", "content"[, "metadata", "options"]} with text content only: no file, no component."""
    if not isinstance(message, dict) or not set(message) <= CHAT_MESSAGE_KEYS or message.get("role") not in CHAT_ROLES:
        return False
    content = message.get("content")
    parts = content if isinstance(content, list) else [content]
    if not all(is_text(p) or _text_part(p) for p in parts):
        return False
    metadata, options = message.get("metadata"), message.get("options")
    if metadata is not None and not (
        isinstance(metadata, dict) and set(metadata) <= CHAT_METADATA_KEYS and all(map(_scalar, metadata.values()))
    ):
        return False
    return options is None or (
        isinstance(options, list) and len(options) <= MAX_ITEMS
        and all(isinstance(o, dict) and set(o) <= {"value", "label"} and all(map(is_text, o.values())) for o in options)
    )


def value_fits(kind: str, value: Any) -> bool:
    """Does `value` (parsed JSON) fit an input of this kind?"""
    if kind == TEXT:
        return is_text(value)
    if kind == LABEL:
        return value is None or is_text(value)
    if kind == INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == NUMBER:
        return _number(value)
    if kind == BOOLEAN:
        return isinstance(value, bool)
    if kind == CHOICE:
        return _scalar(value) or (isinstance(value, list) and len(value) <= MAX_ITEMS and all(map(_scalar, value)))
    if kind == STATE:
        return value is None  # the server holds the state; the browser sends null
    if kind == CHAT:
        return isinstance(value, list) and len(value) <= MAX_ITEMS and all(map(_chat_message, value))
    return False
