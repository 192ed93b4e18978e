"""Pure pieces of the web layer: HTML rendering, settings and the route blocklist.

No server and no model: these are fast checks of the functions the app is built
from. The real server and browser tests are in test_web_api.py and
test_web_browser.py.
"""

from __future__ import annotations

import pytest

from qa_web import render
from qa_web.hardening import BLOCKED_PATH
from qa_web.settings import Settings, parse_settings

HOSTILE = (
    "<img src=x onerror=alert(1)>",
    "![x](http://example.com/t.png)",
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    '"><svg onload=alert(1)>',
    "&lt;b&gt; already escaped",
    "**bold** _it_ `code` # heading",
    "\ue000private-use sentinels\ue001",
    "émoji 🦴 and עברית",
    "",
)


@pytest.mark.parametrize("text", HOSTILE)
def test_user_text_is_escaped_never_markup(text):
    html = render.user_message_html(text)
    assert "<" not in html and ">" not in html
    assert html == render.escape(text)


def test_markdown_renders_without_raw_html_or_images():
    html = render.markdown_to_html("Hi <b>there</b> ![x](http://example.com/t.png) **ok**")
    assert "<b>" not in html and "&lt;b&gt;" in html
    assert "<img" not in html
    assert "<strong>ok</strong>" in html


def test_best_sentence_found_across_emphasis_markers():
    md = "- **Hip bursitis:** Inflammation of the bursae.\n- Other."
    span = render.find_in_markdown(md, "Hip bursitis: Inflammation of the bursae.")
    # The match starts at "Hip" (after "**") and ends at the final "."
    assert span is not None and md[span[0] : span[1]] == "Hip bursitis:** Inflammation of the bursae."
    html = render.highlight_markdown(md, span)
    # Marks are closed and reopened around tags, so they nest properly.
    assert '<strong><mark class="qa-best">Hip bursitis:</mark></strong><mark class="qa-best"> Inflammation' in html
    assert "Other." in html and html.count("<mark") == html.count("</mark>") == 2


def test_missing_best_sentence_is_shown_on_its_own_line():
    passage = {"text": "Some [linked](http://x) text.", "heading_path": "A › B", "source": "f.md"}
    html = render.passage_html(passage, best_sentence="Not in the passage at all.")
    assert 'class="qa-best-line"' in html and "Source: A › B" in html


def test_section_bounds_stop_at_the_next_heading():
    doc = "# T\n\nintro\n\n## A\n\none\n\ntwo\n\n## B\n\nthree\n"
    start = doc.index("two")
    sec_start, sec_end = render.section_bounds(doc, start, start + 3)
    assert doc[sec_start:sec_end] == "## A\n\none\n\ntwo\n\n"


def test_context_marks_the_passage_inside_its_section():
    doc = "# T\n\n## A\n\none\n\ntwo\n\n## B\n\nthree\n"
    start = doc.index("two")
    html = render.context_html(doc, {"start": start, "end": start + 3, "text": "two"})
    assert '<mark class="qa-in-context">two</mark>' in html and "one" in html and "three" not in html
    # Offsets that no longer match the text fall back to searching; unknown text gives None.
    assert render.context_html(doc, {"start": 0, "end": 3, "text": "nowhere"}) is None


@pytest.mark.parametrize(
    "flags,css,phrase",
    [
        ({"emergency": True, "urgent": True}, "qa-emergency", "call emergency services"),
        ({"urgent": True}, "qa-urgent", "seek medical attention"),
        ({"abstained": True}, "qa-abstain", ""),
        ({"abstained": True, "input_error": "too long"}, "qa-input-error", ""),
    ],
)
def test_notices_lead_the_answer(flags, css, phrase):
    answer = {"message": "<b>msg</b>", "passages": [{"text": "t", "heading_path": "H", "source": "s"}], **flags}
    html = render.answer_html(answer)
    first_notice = html.index("qa-notice")
    assert css in html[first_notice : first_notice + 40]
    assert first_notice < html.index("qa-source")
    assert phrase in html.lower() and "&lt;b&gt;msg&lt;/b&gt;" in html
    # Abstentions fold their nearest passages away.
    assert ("qa-nearest" in html) == bool(flags.get("abstained"))


def test_settings_from_flags_and_environment():
    env = {"HOST": "0.0.0.0", "PORT": "8000", "ROOT_PATH": "faq/", "CORS_ORIGINS": "https://a.example, https://b.example/"}
    settings = parse_settings([], env=env)
    assert (settings.host, settings.port, settings.root_path) == ("0.0.0.0", 8000, "/faq")
    assert settings.cors_origins == ("https://a.example", "https://b.example")
    flags = parse_settings(["--port", "9000", "--root-path", "/"], env=env)
    assert (flags.port, flags.root_path) == (9000, "")
    assert parse_settings([], env={}) == Settings()
    with pytest.raises(SystemExit):
        parse_settings(["--port", "0"], env={})


@pytest.mark.parametrize(
    "path",
    [
        "/gradio_api/file=/etc/passwd", "/file=/etc/passwd", "/embed/gradio_api/file=x", "/gradio_api/proxy=http://x",
        "/gradio_api/upload", "/gradio_api/upload_progress", "/gradio_api/run/ask", "/gradio_api/api/ask",
        "/gradio_api/stream/1", "/gradio_api/component_server", "/monitoring", "/monitoring/abc", "/GRADIO_API/FILE=x",
    ],
)
def test_blocked_routes(path):
    assert BLOCKED_PATH.search(path)


@pytest.mark.parametrize(
    "path",
    ["/", "/embed/", "/api/ask", "/api/health", "/gradio_api/queue/join", "/gradio_api/queue/data",
     "/gradio_api/call/ask", "/gradio_api/info", "/config", "/assets/index.js", "/theme.css"],
)
def test_routes_the_app_needs_stay_open(path):
    assert not BLOCKED_PATH.search(path)


@pytest.mark.parametrize("prefix,tag", [("### ", "<h3>"), ("- ", "<li>"), ("1. ", "<li>"), ("> ", "<blockquote>")])
def test_highlight_that_opens_a_line_keeps_its_block(prefix, tag):
    """A FAQ passage starts with its "### question" heading: marking it must not
    turn the heading (or a list item) into a paragraph of literal "###"."""
    markdown = f"Intro.\n\n{prefix}What are the potential risks?\nMore text."
    start = markdown.index(prefix)
    html = render.highlight_markdown(markdown, (start, len(markdown)))
    assert tag in html
    assert prefix.strip() not in html.replace("<", " ").replace(">", " ").split()
    assert '<mark class="qa-best">What are the potential risks?' in html


def test_context_of_a_faq_passage_shows_its_heading_as_a_heading():
    document = "## FAQ\n\n### Is imaging used?\nYes, most are guided.\n\n### Who does it?\nDoctors.\n"
    start = document.index("### Is imaging")
    text = "### Is imaging used?\nYes, most are guided."
    html = render.context_html(document, {"start": start, "end": start + len(text), "text": text})
    assert html is not None and "###" not in html
    assert '<h3><mark class="qa-in-context">Is imaging used?</mark></h3>' in html
