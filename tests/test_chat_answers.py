"""What an answer looks like on a phone (390x844) and in the embed (400x600),
in real Chromium against the real server: the best passage first with its
best sentence marked, the others folded under "More from the clinic's guide",
short source labels, the urgent notice first and whole in the first view, and
a follow-up question read with the one before it."""

from __future__ import annotations

import pytest

from chat_pages import EMBED, ask, browser, chat_page, chat_scroller, fully_visible_in  # noqa: F401  (fixtures)
from qa_web.clinic import load_clinic
from web_fixtures import needs_chromium, web_server  # noqa: F401  (fixtures)

pytestmark = [needs_chromium, pytest.mark.timeout(300)]

CLINIC = load_clinic()
URGENT = "I have a fever and pus where they injected"


def test_best_passage_first_the_rest_folded_with_short_sources(browser, web_server):
    with chat_page(browser, web_server.base_url) as page:
        answer = ask(page, "Will the shot hurt?")
        shown = answer.locator(".qa-passage:not(details .qa-passage)")
        assert shown.count() == 1
        assert shown.locator("mark.qa-best").first.is_visible()
        more = answer.locator("details.qa-more")
        assert more.locator(":scope > summary").inner_text() == "More from the clinic's guide (2)"
        folded = more.locator(".qa-passage")
        assert folded.count() == 2 and not folded.first.is_visible()
        # The label is the last heading; the whole path is its title and is shown on expanding.
        source = shown.locator(".qa-source")
        full_path = source.get_attribute("title")
        assert " › " in full_path and source.inner_text() == "Source: " + full_path.rsplit(" › ", 1)[-1]
        shown.locator("details.qa-context summary").click()
        assert shown.locator(".qa-path").inner_text() == f"In: {full_path}"
        more.locator(":scope > summary").click()
        assert folded.first.is_visible() and folded.nth(1).locator(".qa-quote").is_visible()


@pytest.mark.parametrize("where", ["phone", "embed"])
def test_urgent_notice_is_first_and_whole_in_the_first_view(browser, web_server, where):
    options = {"path": "/embed/", "viewport": EMBED} if where == "embed" else {}
    with chat_page(browser, web_server.base_url, **options) as page:
        answer = ask(page, URGENT)
        notice = answer.locator(":scope > :not(.qa-sr)").first
        assert "qa-urgent" in notice.get_attribute("class") and notice.get_attribute("role") == "alert"
        # Whole: every line of it inside the visible part of the chat, with no scrolling by the patient.
        page.wait_for_function(
            """() => { const a = document.querySelector('#qa-chat .qa-urgent').getBoundingClientRect();
                       const c = document.querySelector('#qa-chat .bubble-wrap').getBoundingClientRect();
                       return a.top >= c.top && a.bottom <= c.bottom; }"""
        )
        assert fully_visible_in(notice, chat_scroller(page))
        assert CLINIC.phone in notice.inner_text() and CLINIC.emergency_number in notice.inner_text()
        # The guide's own "when to seek medical attention" passage comes right after it; the rest is folded.
        assert "When to Seek Medical Attention" in answer.locator(".qa-passage").first.inner_text()
        assert answer.locator(".qa-passage:not(details .qa-passage)").count() == 1


def test_a_follow_up_is_read_with_the_question_before_it(browser, web_server):
    with chat_page(browser, web_server.base_url) as page:
        ask(page, "can hip injections help osteoarthritis")
        # Alone, "which type is used for it" is not covered (tests/test_followup.py).
        follow_up = ask(page, "which type is used for it")
        assert follow_up.locator(".qa-abstain").count() == 0
        assert "Hyaluronic Acid" in follow_up.locator(".qa-quote").first.inner_text()
