"""Turn an answer into safe HTML for the chat: pure functions over strings.

Everything a patient typed goes through `html.escape` and nothing else, so it
shows as text and never becomes a tag, a link or an image. The clinic's own
Markdown (trusted, but still treated carefully) is rendered with raw HTML and
images switched off, its headings as bold paragraphs (a quote is not part of
the page's outline), and the browser's Gradio sanitiser runs over the result a
second time. An answer shows its best passage first and folds the others under
"More from the clinic's guide"; notices that send the patient somewhere carry
the clinic's phone, hours and website. This module does not call the model,
read files or know Gradio.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from qa import HEADING_SEPARATOR  # how Answer.to_dict() joins a heading path

from .clinic import Clinic

# Private-use characters mark where a highlight starts and ends in Markdown
# source; they survive rendering as plain text and are then turned into <mark>.
_OPEN, _CLOSE = "\ue000", "\ue001"
_TAG = re.compile(r"(<[^>]*>)")
_HEADING_LINE = re.compile(r"^ {0,3}#{1,6}[ \t]+\S.*$", re.MULTILINE)
# What opens a Markdown block line: heading hashes, list bullets and numbers, quotes.
_BLOCK_PREFIX = re.compile(r"(?: {0,3}(?:#{1,6}|[-*+]|\d{1,9}[.)]|>)[ \t]+)+")
# Between two characters of a plain-text sentence the Markdown may hold
# emphasis or code markers that strip_markdown removed.
_MARKERS = r"[*_`]*"

SOURCE_PREFIX = "Source: "
MORE_SUMMARY = "More from the clinic's guide"
YOU_SAID = "You said"
GUIDE_SAYS = "The clinic's guide says"
ASSISTANT_SAYS = "The assistant says"  # the page's own messages (qa_web.page_assets)


def escape(text: str) -> str:
    """User or model text as inert HTML text (quotes escaped too)."""
    return html.escape(text, quote=True)


@lru_cache(maxsize=1)
def _markdown():
    # markdown-it-py ships with Gradio (via rich). "commonmark" with html=False
    # escapes any raw HTML in the source; images are disabled so a document can
    # never make the browser fetch something.
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False}).disable("image")


def _render(markdown: str) -> str:
    """Markdown to HTML with each heading as <p class="qa-heading qa-hN">: the
    clinic's headings are text inside a quote, not the page's sections."""
    md = _markdown()
    tokens = md.parse(markdown)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            level = token.tag[1:]
            token.tag = "p"
            if token.type == "heading_open":
                token.attrSet("class", f"qa-heading qa-h{level}")
    return md.renderer.render(tokens, md.options, {})


def markdown_to_html(markdown: str) -> str:
    """Trusted clinic Markdown as HTML with raw HTML escaped, images off and headings as text."""
    return _render(markdown.replace(_OPEN, "").replace(_CLOSE, ""))


def _wrap_marked(rendered: str, css_class: str) -> str:
    """Replace highlight sentinels with <mark>, closed and reopened around tags
    so the marks always nest properly (e.g. across <strong> or list items)."""
    out: list[str] = []
    inside = False
    for piece in _TAG.split(rendered):
        if piece.startswith("<") and piece.endswith(">"):
            out.append(piece.replace(_OPEN, "").replace(_CLOSE, ""))
            continue
        for token in re.split(f"([{_OPEN}{_CLOSE}])", piece):
            if token == _OPEN:
                inside = True
            elif token == _CLOSE:
                inside = False
            elif token:
                out.append(f'<mark class="{css_class}">{token}</mark>' if inside and token.strip() else token)
    return "".join(out)


def find_in_markdown(markdown: str, sentence: str) -> tuple[int, int] | None:
    """Span of a plain-text sentence inside Markdown that may add emphasis markers."""
    sentence = sentence.strip()
    if not sentence:
        return None
    exact = markdown.find(sentence)
    if exact >= 0:
        return exact, exact + len(sentence)
    parts = [rf"{_MARKERS}\s+{_MARKERS}" if ch.isspace() else re.escape(ch) for ch in " ".join(sentence.split())]
    pattern = _MARKERS.join(parts)
    match = re.search(pattern, markdown)
    return (match.start(), match.end()) if match else None


def highlight_markdown(markdown: str, span: tuple[int, int] | None, *, css_class: str = "qa-best") -> str:
    """Render Markdown to HTML with ``markdown[span]`` wrapped in <mark>."""
    markdown = markdown.replace(_OPEN, "").replace(_CLOSE, "")
    if span is None:
        return markdown_to_html(markdown)
    start, end = span
    if start == 0 or markdown[start - 1] == "\n":
        # A highlight that opens a line opens after the line's block syntax
        # ("### ", "- "), or the sentinel would hide the heading or list item.
        prefix = _BLOCK_PREFIX.match(markdown, start)
        start = min(prefix.end(), end) if prefix else start
    marked = markdown[:start] + _OPEN + markdown[start:end] + _CLOSE + markdown[end:]
    return _wrap_marked(_render(marked), css_class)


def section_bounds(document: str, start: int, end: int) -> tuple[int, int]:
    """The heading-delimited section of ``document`` holding ``[start, end)``:
    from the last heading at or before ``start`` to the next heading after it."""
    headings = [m.start() for m in _HEADING_LINE.finditer(document)]
    sec_start = max((h for h in headings if h <= start), default=0)
    sec_end = min((h for h in headings if h >= end), default=len(document))
    return sec_start, sec_end


def context_html(document: str, passage: Mapping[str, Any]) -> str | None:
    """The passage's whole section as HTML with the passage itself marked, or
    None when the offsets no longer point at the passage text."""
    start, end, text = passage.get("start"), passage.get("end"), passage.get("text", "")
    if not isinstance(start, int) or not isinstance(end, int) or document[start:end] != text:
        found = document.find(text) if text else -1
        if found < 0:
            return None
        start, end = found, found + len(text)
    sec_start, sec_end = section_bounds(document, start, end)
    section = document[sec_start:sec_end]
    return highlight_markdown(section, (start - sec_start, end - sec_start), css_class="qa-in-context")


def short_source(heading_path: str) -> str:
    """The last heading of "Part › Section › Heading": enough to recognise on a phone."""
    return heading_path.rsplit(HEADING_SEPARATOR, 1)[-1].strip() or heading_path


def author_html(author: str) -> str:
    """Who said a message, for screen readers only. Gradio's sanitiser drops
    aria-label, so the author is text, hidden from view by CSS."""
    return f'<span class="qa-sr">{author}: </span>'


def user_message_html(question: str) -> str:
    """A patient's question as chat text: escaped, never Markdown or HTML,
    after a hidden "You said:" for screen readers."""
    return f'<article class="qa-said">{author_html(YOU_SAID)}<span class="qa-said-text">{escape(question)}</span></article>'


def contact_html(clinic: Clinic, *, lead: str = "Call") -> str:
    """"Call <name> on <phone> (<hours>) or visit <website>.", with links."""
    site = escape(clinic.website)
    shown_site = escape(re.sub(r"^https?://(www\.)?", "", clinic.website).rstrip("/"))
    return (
        f'<p class="qa-contact">{escape(lead)} {escape(clinic.name)} on '
        f'<a href="{escape(clinic.phone_href)}">{escape(clinic.phone)}</a> ({escape(clinic.hours)}) '
        f'or visit <a href="{site}" target="_blank" rel="noopener noreferrer">{shown_site}</a>.</p>'
    )


def emergency_line(clinic: Clinic) -> str:
    number = f'<a href="{escape(clinic.emergency_href)}">{escape(clinic.emergency_number)}</a>'
    return f"<strong>Emergency: call emergency services now on {number}.</strong>"


def _notice(answer: Mapping[str, Any], clinic: Clinic) -> str:
    message = escape(str(answer.get("message") or ""))
    phone = f'<a href="{escape(clinic.phone_href)}">{escape(clinic.phone)}</a>'
    if answer.get("emergency"):
        return (
            '<div class="qa-notice qa-emergency" role="alert">'
            f"<p>{emergency_line(clinic)}</p><p>{message}</p>"
            f"<p>Then contact your doctor, or call {escape(clinic.name)} on {phone} ({escape(clinic.hours)}).</p></div>"
        )
    if answer.get("urgent"):
        return (
            '<div class="qa-notice qa-urgent" role="alert">'
            f"<p><strong>Important: seek medical attention. Contact your doctor, or call the clinic now on {phone} "
            f"({escape(clinic.hours)}).</strong></p><p>{message}</p>"
            f'<p>In an emergency call <a href="{escape(clinic.emergency_href)}">{escape(clinic.emergency_number)}</a>.</p></div>'
        )
    if answer.get("input_error"):
        return f'<div class="qa-notice qa-input-error" role="status"><p>{message}</p></div>'
    if answer.get("abstained"):
        return f'<div class="qa-notice qa-abstain" role="status"><p>{message}</p>{contact_html(clinic)}</div>'
    return f'<p class="qa-lead">{message}</p>' if message else ""


def passage_html(passage: Mapping[str, Any], *, best_sentence: str = "", document: str | None = None) -> str:
    """One quoted passage: a short "Source:" label (the full heading path in its
    title and inside the document view), the verbatim quote with the best
    sentence marked, and a collapsible showing it inside its whole section."""
    text = str(passage.get("text", ""))
    heading = str(passage.get("heading_path") or passage.get("source") or "")
    span = find_in_markdown(text, best_sentence) if best_sentence else None
    parts = [
        '<section class="qa-passage">',
        f'<p class="qa-source" title="{escape(heading)}">{escape(SOURCE_PREFIX + short_source(heading))}</p>',
        f'<blockquote class="qa-quote">{highlight_markdown(text, span)}</blockquote>',
    ]
    if best_sentence and span is None:
        parts.append(f'<p class="qa-best-line">Best match: <mark class="qa-best">{escape(best_sentence)}</mark></p>')
    context = context_html(document, passage) if document else None
    if context:
        parts.append(
            '<details class="qa-context"><summary>Show this in the clinic\'s document</summary>'
            f'<div class="qa-context-body"><p class="qa-path">In: {escape(heading)}</p>{context}</div></details>'
        )
    parts.append("</section>")
    return "".join(parts)


def answer_html(
    answer: Mapping[str, Any],
    *,
    clinic: Clinic,
    document_for: Callable[[str], str | None] | None = None,
) -> str:
    """The whole assistant turn: the notice or lead-in first and whole, then the
    best passage, then the others folded under "More from the clinic's guide"."""
    parts = [_notice(answer, clinic)]
    best = str(answer.get("best_sentence") or "")
    quotes = []
    for i, passage in enumerate(answer.get("passages") or ()):
        document = document_for(str(passage.get("source", ""))) if document_for else None
        quotes.append(passage_html(passage, best_sentence=best if i == 0 else "", document=document))
    if quotes and answer.get("abstained"):
        # Not an answer: the nearest passages stay folded away so nobody mistakes them for one.
        parts.append('<details class="qa-nearest"><summary>Nearest passages in the clinic\'s guide</summary>')
        parts.extend(quotes)
        parts.append("</details>")
    elif quotes:
        parts.append(quotes[0])
        if len(quotes) > 1:
            parts.append(f'<details class="qa-more"><summary>{MORE_SUMMARY} ({len(quotes) - 1})</summary>')
            parts.extend(quotes[1:])
            parts.append("</details>")
    kind = "qa-answer-emergency" if answer.get("emergency") else "qa-answer-urgent" if answer.get("urgent") else "qa-answer"
    return f'<article class="qa-turn {kind}">{author_html(GUIDE_SAYS)}' + "".join(parts) + "</article>"
