"""Pure pieces of the web layer: HTML rendering, settings and the route blocklist.

No server and no model: these are fast checks of the functions the app is built
from. The real server and browser tests are in test_web_api.py and
test_web_browser.py.
"""

from __future__ import annotations

import json
import re

import pytest

from qa_web import page_assets, render
from qa_web.clinic import Clinic
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
CLINIC = Clinic(name="Riverside <Hip> Clinic", phone="+44 1632 960123", hours="Mon-Fri 8-6", website="https://clinic.example/faq", emergency_number="112")


@pytest.mark.parametrize("text", HOSTILE)
def test_user_text_is_escaped_never_markup(text):
    html = render.user_message_html(text)
    # The only tags are the fixed wrapper that names the author for screen readers.
    opening, closing = '<article class="qa-said"><span class="qa-sr">You said: </span><span class="qa-said-text">', "</span></article>"
    assert html.startswith(opening) and html.endswith(closing)
    inner = html[len(opening) : -len(closing)]
    assert "<" not in inner and ">" not in inner
    assert inner == render.escape(text)


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
    assert 'class="qa-best-line"' in html and "Source: B" in html


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
    html = render.answer_html(answer, clinic=CLINIC)
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


@pytest.mark.parametrize("prefix,tag", [("### ", '<p class="qa-heading qa-h3">'), ("- ", "<li>"), ("1. ", "<li>"), ("> ", "<blockquote>")])
def test_highlight_that_opens_a_line_keeps_its_block(prefix, tag):
    """A FAQ passage starts with its "### question" heading: marking it must not
    turn the heading (or a list item) into a paragraph of literal "###"."""
    markdown = f"Intro.\n\n{prefix}What are the potential risks?\nMore text."
    start = markdown.index(prefix)
    html = render.highlight_markdown(markdown, (start, len(markdown)))
    assert tag in html
    assert prefix.strip() not in html.replace("<", " ").replace(">", " ").split()
    assert '<mark class="qa-best">What are the potential risks?' in html


def test_context_of_a_faq_passage_shows_its_heading_as_bold_text():
    document = "## FAQ\n\n### Is imaging used?\nYes, most are guided.\n\n### Who does it?\nDoctors.\n"
    start = document.index("### Is imaging")
    text = "### Is imaging used?\nYes, most are guided."
    html = render.context_html(document, {"start": start, "end": start + len(text), "text": text})
    assert html is not None and "###" not in html
    assert '<p class="qa-heading qa-h3"><mark class="qa-in-context">Is imaging used?</mark></p>' in html


def test_quoted_headings_are_bold_text_not_page_headings():
    """A quote's "### Is it painful?" must not become an <h3> in the page's outline."""
    html = render.highlight_markdown("### Is it painful?\nA little.\n\n# Title", None)
    assert not re.search(r"<h[1-6]", html)
    assert '<p class="qa-heading qa-h3">Is it painful?</p>' in html and '<p class="qa-heading qa-h1">Title</p>' in html
    marked = render.highlight_markdown("### Is it painful?\nA little.", (4, 18))
    assert '<p class="qa-heading qa-h3"><mark class="qa-best">Is it painful?</mark></p>' in marked


@pytest.mark.parametrize(
    "path,label",
    [("Potential Benefits and Risks › Risks", "Risks"), ("Risks", "Risks"), ("A › B › C: the end", "C: the end"), ("", "")],
)
def test_source_label_is_the_last_heading(path, label):
    assert render.short_source(path) == label


def test_best_passage_first_and_the_others_folded():
    passages = [{"text": f"Passage {n}. Second sentence.", "heading_path": f"Part › Heading {n}", "source": "s"} for n in (1, 2, 3)]
    html = render.answer_html({"message": "Here:", "passages": passages, "best_sentence": "Passage 1."}, clinic=CLINIC)
    more = html.index('<details class="qa-more">')
    # Passage 1 (with its highlight) comes before the fold; 2 and 3 are inside it.
    assert html.index("Passage 1") < more < html.index("Passage 2") < html.index("Passage 3")
    assert '<mark class="qa-best">Passage 1.</mark>' in html
    assert f"<summary>{render.MORE_SUMMARY} (2)</summary>" in html
    # Short label shown, whole path in its title.
    assert '<p class="qa-source" title="Part › Heading 1">Source: Heading 1</p>' in html
    single = render.answer_html({"message": "Here:", "passages": passages[:1]}, clinic=CLINIC)
    assert "qa-more" not in single


def test_urgent_notice_stays_first_and_whole_with_the_clinics_phone():
    guidance = {"text": "Contact your doctor immediately.", "heading_path": "After", "source": "s"}
    other = {"text": "Risks list.", "heading_path": "Risks", "source": "s"}
    answer = {"message": "A warning sign.", "urgent": True, "passages": [guidance, other], "best_sentence": guidance["text"]}
    html = render.answer_html(answer, clinic=CLINIC)
    notice_end = html.index("</div>", html.index("qa-urgent"))
    assert html.index("qa-urgent") < html.index("qa-source")
    # Every part of the notice is inside it, before any quote: the warning, the phone (dialled as digits), the emergency number.
    notice = html[: notice_end]
    assert 'href="tel:+441632960123">+44 1632 960123</a>' in notice and "Mon-Fri 8-6" in notice and 'href="tel:112"' in notice
    assert "A warning sign." in notice
    assert html.index("Risks list.") > html.index('<details class="qa-more">')


@pytest.mark.parametrize("flags", [{"abstained": True}, {"urgent": True}, {"urgent": True, "emergency": True}])
def test_messages_that_send_the_patient_somewhere_name_the_clinic(flags):
    html = render.answer_html({"message": "m", **flags}, clinic=CLINIC)
    assert "+44 1632 960123" in html
    # The clinic's file is trusted, but its text is still escaped.
    assert "<Hip>" not in html
    assert ("Riverside &lt;Hip&gt; Clinic" in html) == ("emergency" in flags or "abstained" in flags)
    if flags.get("emergency"):
        assert "call emergency services now on" in html.lower() and 'href="tel:112">112</a>' in html


def test_input_errors_do_not_send_the_patient_to_the_clinic():
    html = render.answer_html({"message": "Too long.", "abstained": True, "input_error": "Too long."}, clinic=CLINIC)
    assert "qa-input-error" in html and "1632" not in html


def test_browser_messages_name_the_clinic_and_say_what_to_do():
    messages = page_assets.browser_messages(CLINIC)
    for kind in ("busy", "offline", "error"):
        assert 'role="alert"' in messages[kind] and "+44 1632 960123" in messages[kind]
        assert "press Ask to send it again" in messages[kind]
    assert "Looking it up" in messages["pending"] and "qa-pending" in messages["pending"]
    assert CLINIC.phone in messages["slow"]


def test_page_script_settings_cannot_close_the_script_tag():
    config = page_assets.browser_config(CLINIC, max_chars=1000)
    literal = page_assets._js_literal({**config, "x": "</script><script>alert(1)</script>"})
    assert "<" not in literal and ">" not in literal
    assert json.loads(literal)["x"] == "</script><script>alert(1)</script>"
    assert config["nearChars"] == 800 and config["maxChars"] == 1000
