"""Read the clinic's Markdown files and find their structure.

`read_corpus` is the only I/O here; `parse_sections` is pure. A section is the
text under one heading, up to the next heading of any level, cut into its
top-level blocks (paragraphs and lists, with each list's top-level items) with
exact character offsets into the file. This module does not decide how big a
passage is; `passages.py` does.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from .errors import CorpusError


@cache
def _parser():
    """The CommonMark parser, imported on first use: a process that loads a
    built index never parses Markdown, and the import costs about 17 ms of
    every start."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark")


@dataclass(frozen=True)
class CorpusFile:
    """One Markdown file of the corpus, as read from disk."""

    name: str  # file name relative to the corpus folder, e.g. "hip_injections.md"
    text: str
    sha256: str


@dataclass(frozen=True)
class Block:
    """A top-level paragraph or list; ``items`` are a list's top-level items."""

    kind: str  # "paragraph" or "list"
    start: int
    end: int
    items: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class Section:
    """The blocks under one heading. ``heading_path`` excludes the document title."""

    title: str  # the file's first level-1 heading, or its file name
    heading_path: tuple[str, ...]
    heading: str  # this section's own heading text ("" before the first heading)
    heading_start: int  # offset of the heading line ("" heading: section start)
    blocks: tuple[Block, ...]


def read_corpus(corpus_dir: Path) -> list[CorpusFile]:
    """Every ``*.md`` file in the folder, sorted by name, with its sha256."""
    if not corpus_dir.is_dir():
        raise CorpusError(f"Corpus folder {corpus_dir} does not exist: create it with at least one .md file.")
    files = []
    for path in sorted(corpus_dir.glob("*.md")):
        try:
            raw = path.read_bytes()
            text = raw.decode("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CorpusError(f"Cannot read corpus file {path.name}: {exc}. Save it as UTF-8 text.") from exc
        files.append(CorpusFile(name=path.name, text=text, sha256=hashlib.sha256(raw).hexdigest()))
    if not files:
        raise CorpusError(f"No .md files in {corpus_dir}: add the clinic's document there.")
    if not any(f.text.strip() for f in files):
        raise CorpusError(f"Every .md file in {corpus_dir} is empty: add the clinic's document text.")
    return files


def _line_starts(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    starts.append(len(text))
    return starts


def _span(text: str, starts: list[int], line_map: list[int]) -> tuple[int, int]:
    """Character span of a token's line range, trimmed of surrounding whitespace."""
    first, last = line_map
    start = starts[min(first, len(starts) - 1)]
    end = starts[min(last, len(starts) - 1)]
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end


def parse_sections(text: str, *, file_name: str = "") -> list[Section]:
    """Split a Markdown document into sections of top-level blocks, in order."""
    tokens = _parser().parse(text)
    starts = _line_starts(text)
    title = next(
        (tokens[i + 1].content.strip() for i, t in enumerate(tokens) if t.type == "heading_open" and t.tag == "h1"),
        Path(file_name).stem.replace("_", " ").title(),
    )
    sections: list[Section] = []
    stack: list[tuple[int, str]] = []  # (level, heading text) of open headings below the title
    current = {"heading": "", "heading_start": 0, "path": (), "blocks": []}

    def close() -> None:
        if current["blocks"] or current["heading"]:
            sections.append(
                Section(
                    title=title,
                    heading_path=current["path"],
                    heading=current["heading"],
                    heading_start=current["heading_start"],
                    blocks=tuple(current["blocks"]),
                )
            )

    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.level != 0 or tok.map is None or not tok.type.endswith("_open") and tok.type not in ("code_block", "fence", "html_block", "hr"):
            i += 1
            continue
        if tok.type == "heading_open":
            close()
            level = int(tok.tag[1])
            heading = tokens[i + 1].content.strip()
            stack[:] = [(lv, h) for lv, h in stack if lv < level]
            if level > 1:
                stack.append((level, heading))
            start, _ = _span(text, starts, tok.map)
            current = {"heading": heading, "heading_start": start, "path": tuple(h for _, h in stack), "blocks": []}
        elif tok.type in ("bullet_list_open", "ordered_list_open"):
            start, end = _span(text, starts, tok.map)
            items = tuple(
                _span(text, starts, t.map)
                for t in _children(tokens, i)
                if t.type == "list_item_open" and t.level == 1 and t.map
            )
            current["blocks"].append(Block("list", start, end, items))
        elif tok.type in ("paragraph_open", "blockquote_open", "code_block", "fence", "html_block", "table_open"):
            start, end = _span(text, starts, tok.map)
            if end > start:
                current["blocks"].append(Block("paragraph", start, end))
        i += 1
    close()
    return sections


def _children(tokens: list, open_index: int) -> list:
    """Tokens between an ``*_open`` token and its matching close."""
    depth = 0
    for j in range(open_index, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return tokens[open_index + 1 : j]
    return tokens[open_index + 1 :]
