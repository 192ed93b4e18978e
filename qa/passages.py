"""Cut parsed sections into passages a patient can read on their own.

Rules, in order: never cross a heading; a short list stays whole together with
the sentence that introduces it ("... include:"); a long list gives one passage
per top-level item (with its sub-items); any unit over ``MAX_WORDS`` is split at
sentence boundaries, never mid-sentence; a question heading ("What should I
expect...?") opens the passage that answers it. This module is pure: it reads
no files and knows nothing of embeddings.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from .corpus import Block, CorpusFile, Section, parse_sections
from .text import sentence_spans, strip_markdown, word_count

#: Longest passage, in words, before it is split at sentence boundaries.
MAX_WORDS = 120
#: A list whose every item is at most this long (and whose whole fits in
#: MAX_WORDS) is kept as one passage.
SHORT_ITEM_WORDS = 25
#: A stand-alone paragraph shorter than this (a category label such as "Pain
#: Management" above the title) says nothing a patient could use on its own.
MIN_WORDS = 3
HEADING_SEPARATOR = " › "


@dataclass(frozen=True)
class ChunkingSettings:
    """Chunking knobs, recorded in the index manifest so a change forces a rebuild."""

    max_words: int = MAX_WORDS
    short_item_words: int = SHORT_ITEM_WORDS
    min_words: int = MIN_WORDS


@dataclass(frozen=True)
class Passage:
    """A verbatim slice of one corpus file: ``file_text[start:end] == text``."""

    id: str
    source: str
    title: str
    heading_path: tuple[str, ...]
    start: int
    end: int
    text: str  # Markdown, verbatim
    plain_text: str = field(compare=False)

    @property
    def heading(self) -> str:
        """Heading path for display, e.g. "Potential Benefits and Risks › Risks"."""
        return HEADING_SEPARATOR.join(self.heading_path) or self.title

    @property
    def words(self) -> int:
        return word_count(self.plain_text)


def build_passages(files: list[CorpusFile], *, settings: ChunkingSettings = ChunkingSettings()) -> list[Passage]:
    """All passages of all files, in document order, with unique stable ids."""
    passages: list[Passage] = []
    seen: dict[str, int] = {}
    for corpus_file in files:
        for section in parse_sections(corpus_file.text, file_name=corpus_file.name):
            for start, end in _section_spans(corpus_file.text, section, settings):
                passages.append(_make_passage(corpus_file, section, start, end, seen))
    return passages


def _make_passage(corpus_file: CorpusFile, section: Section, start: int, end: int, seen: dict[str, int]) -> Passage:
    text = corpus_file.text[start:end]
    plain = strip_markdown(text)
    # The id hashes what the passage *is* (file, headings, words), not where it
    # sits, so editing another part of the file leaves it unchanged.
    digest = hashlib.sha1("\x1f".join((corpus_file.name, *section.heading_path, plain)).encode()).hexdigest()[:6]
    base = f"{_slug(section.heading or section.title)}-{digest}"
    seen[base] = seen.get(base, 0) + 1
    pid = base if seen[base] == 1 else f"{base}-{seen[base]}"
    return Passage(
        id=pid,
        source=corpus_file.name,
        title=section.title,
        heading_path=section.heading_path,
        start=start,
        end=end,
        text=text,
        plain_text=plain,
    )


def _slug(text: str) -> str:
    return "-".join(re.findall(r"[a-z0-9]+", text.lower())[:5]) or "passage"


def _words(text: str, start: int, end: int) -> int:
    return word_count(strip_markdown(text[start:end]))


def _section_spans(text: str, section: Section, settings: ChunkingSettings) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    blocks = list(section.blocks)
    i = 0
    while i < len(blocks):
        block = blocks[i]
        following = blocks[i + 1] if i + 1 < len(blocks) else None
        introduces_list = (
            block.kind == "paragraph"
            and following is not None
            and following.kind == "list"
            and text[block.start : block.end].rstrip().endswith(":")
        )
        if introduces_list and _keep_whole(text, block.start, following, settings):
            spans.append((block.start, following.end))
            i += 2
            continue
        if block.kind == "list" and _keep_whole(text, block.start, block, settings):
            spans.append((block.start, block.end))
        elif block.kind == "list":
            for start, end in block.items:
                spans.extend(_split_long(text, start, end, settings.max_words))
        elif _words(text, block.start, block.end) >= settings.min_words:
            spans.extend(_split_long(text, block.start, block.end, settings.max_words))
        i += 1
    if spans and section.heading.endswith("?"):
        first_start, first_end = spans[0]
        if _words(text, section.heading_start, first_end) <= settings.max_words + word_count(section.heading):
            spans[0] = (section.heading_start, first_end)
    return spans


def _keep_whole(text: str, start: int, lst: Block, settings: ChunkingSettings) -> bool:
    if _words(text, start, lst.end) > settings.max_words:
        return False
    return all(_words(text, s, e) <= settings.short_item_words for s, e in lst.items)


def _split_long(text: str, start: int, end: int, max_words: int) -> list[tuple[int, int]]:
    """Greedy packing of whole sentences into pieces of at most ``max_words``."""
    if _words(text, start, end) <= max_words:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    piece_start, piece_end, piece_words = None, None, 0
    for s, e in sentence_spans(text[start:end]):
        s, e = start + s, start + e
        n = _words(text, s, e)
        if piece_start is not None and piece_words + n > max_words:
            pieces.append((piece_start, piece_end))
            piece_start, piece_words = None, 0
        if piece_start is None:
            piece_start = s
        piece_end, piece_words = e, piece_words + n
    if piece_start is not None:
        pieces.append((piece_start, piece_end))
    return pieces
