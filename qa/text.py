"""Pure text helpers: Markdown to plain text, folding, sentences, words.

Everything here is a pure function over strings so chunking, matching and
highlighting agree on one definition of "the same text". It does not know
about passages, files or models.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*+]|\d+[.)])\s+", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_SPACES = re.compile(r"[ \t]+")
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
# A sentence ends at . ! or ? followed by space and an upper-case letter, a
# quote or a bracket; "e.g.," and "i.e.," are followed by a comma so never match.
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"”)]?\s+(?=[\"“(A-Z0-9])")


def strip_markdown(markdown: str) -> str:
    """Plain text of a Markdown snippet: markers gone, one line per block line."""
    text = _LINK.sub(r"\1", markdown)
    text = _HEADING.sub("", text)
    text = _BULLET.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    lines = (_SPACES.sub(" ", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def fold(text: str) -> str:
    """Case-folded, NFKC-normalised text with all whitespace runs as one space."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def words(text: str) -> list[str]:
    """Lower-case word tokens (letters and digits, with simple apostrophes)."""
    return _WORD.findall(unicodedata.normalize("NFKC", text).casefold())


def word_count(text: str) -> int:
    return len(words(text))


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence; lines are hard boundaries (list items).

    Spans exclude surrounding whitespace, so ``text[s:e]`` is the sentence.
    """
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        offset = line.start()
        cursor = 0
        body = line.group()
        for end in _SENTENCE_END.finditer(body):
            _add_span(spans, body, offset, cursor, end.start() + _closing_len(end.group()))
            cursor = end.end()
        _add_span(spans, body, offset, cursor, len(body))
    return spans


def _closing_len(separator: str) -> int:
    """Length of a closing quote or bracket that belongs to the sentence before."""
    return len(separator) - len(separator.lstrip('"”)'))


def _add_span(spans: list[tuple[int, int]], body: str, offset: int, start: int, end: int) -> None:
    piece = body[start:end]
    stripped = piece.strip()
    if stripped:
        lead = len(piece) - len(piece.lstrip())
        spans.append((offset + start + lead, offset + start + lead + len(stripped)))


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (see :func:`sentence_spans`)."""
    return [text[s:e] for s, e in sentence_spans(text)]


def clean_question(raw: str) -> str:
    """A question made safe to process: control characters, lone surrogates and
    zero-width marks removed, whitespace collapsed. The zero-width joiner
    (U+200D) stays only between two symbols, where it joins emoji; beside a
    letter or digit it goes, or "injection" with one inside would be two words.
    The text is not otherwise changed (no HTML escaping: that is the renderer's job)."""
    text = raw.encode("utf-8", "ignore").decode("utf-8")
    kept: list[str] = []
    for i, ch in enumerate(text):
        category = unicodedata.category(ch)
        if ch in "\n\t\r":
            kept.append(" ")
        elif ch == "\u200d":
            before, after = (kept[-1] if kept else " "), (text[i + 1 : i + 2] or " ")
            if not any(c.isalnum() or c.isspace() for c in (before, after)):
                kept.append(ch)
        elif category in ("Cc", "Cs", "Co", "Cn", "Cf"):
            continue
        else:
            kept.append(ch)
    return " ".join("".join(kept).split())


def _is_word_char(ch: str) -> bool:
    """What ``\\w`` matches, plus the apostrophe of "can't"."""
    return ch.isalnum() or ch in "_'"


def term_spans(text: str, term: str, *, plural: bool = False) -> Iterator[tuple[int, int]]:
    """Where a clinic table's term ("fever", "can't breathe") occurs in ``text``
    as whole words: (start, end) of each, left to right, not overlapping.
    ``plural``: the term's last word may also end in one more "s" ("chest pains").

    ``str.find`` and a look at the characters either side, not a regex per
    term: compiling 150 warning-sign patterns cost a process's first
    question about 6 ms, and the look-behind form scanned the whole document
    (for each not-covered term, at every index load) about 30x slower.
    """
    if not term:
        return
    start = 0
    while (at := text.find(term, start)) >= 0:
        end = at + len(term)
        if plural and text.startswith("s", end) and not (end + 1 < len(text) and _is_word_char(text[end + 1])):
            end += 1  # "chest pains"
        if not (at and _is_word_char(text[at - 1])) and not (end < len(text) and _is_word_char(text[end])):
            yield at, end
            start = end
        else:
            start = at + 1


def without_terms(text: str, terms: Iterable[str]) -> str:
    """``text`` with every whole-word occurrence of ``terms`` (folded, as the
    clinic's tables hold them, or their plural as triage reads them) taken out,
    whatever its case."""
    # Lower-cased character by character, so every span found there is the same span of ``text``.
    lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in text)
    kept, start = [], 0
    for begin, end in sorted(span for term in terms for span in term_spans(lowered, term, plural=True)):
        if begin >= start:
            kept.append(text[start:begin])
            start = end
    kept.append(text[start:])
    return " ".join("".join(kept).split())


def has_term(text: str, term: str) -> bool:
    """Does ``term`` occur in ``text`` as whole words (see :func:`term_spans`)?"""
    return next(term_spans(text, term), None) is not None
