"""When the answer is slow or cannot come: real Chromium, real server, and the
browser's own requests made to fail with Playwright routing (nothing in the
app is mocked). Gradio's queue takes a question with POST .../queue/join and
streams the answer on GET .../queue/data; those are the requests refused here.

Each failure must leave one plain message in the chat with what to do and the
clinic's phone (from corpus/clinic.toml), keep the conversation and put the
question back in the box, cover nothing and not reload the page. No test
asserts on timing: the slow state is reached by moving the page's clock on.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from chat_pages import (  # noqa: F401  (fixtures)
    EMBED,
    FAILURES,
    PENDING,
    QUEUE_DATA,
    QUEUE_JOIN,
    SAID,
    answers,
    ask,
    browser,
    chat_page,
    fully_visible_in,
    in_viewport,
    question_box,
    send,
    wait_for_answer,
    wait_until_said,
)
from qa_web.clinic import load_clinic
from qa_web.page_assets import SLOW_AFTER_MS
from web_fixtures import needs_chromium, web_server  # noqa: F401  (fixtures)

pytestmark = [needs_chromium, pytest.mark.timeout(300)]

CLINIC = load_clinic()  # what the server shows: the repository's corpus/clinic.toml
BUSY = lambda route: route.fulfill(status=503, content_type="application/json", body='{"detail": "Queue is full"}')  # noqa: E731
SERVER_ERROR = lambda route: route.fulfill(status=500, content_type="text/html", body="<h1>Internal Server Error</h1>")  # noqa: E731
NO_NETWORK = lambda route: route.abort("internetdisconnected")  # noqa: E731
CUT_OFF = lambda route: route.abort("connectionreset")  # noqa: E731

# (what fails, how, what the message says first)
FAILURES_TO_TRY = (
    ("busy", QUEUE_JOIN, BUSY, "The assistant is busy right now."),
    ("server error", QUEUE_JOIN, SERVER_ERROR, "Sorry, something went wrong on our side."),
    ("no network", QUEUE_JOIN, NO_NETWORK, "The connection was lost: check that you are online."),
    ("answer stream cut", QUEUE_DATA, CUT_OFF, "The connection was lost: check that you are online."),
)


def nothing_covers(page, locator) -> bool:
    """The element at the middle of `locator` is `locator` itself or inside it (no toast or badge on top)."""
    return locator.evaluate(
        """(el) => { const r = el.getBoundingClientRect();
                     const top = document.elementFromPoint(r.x + r.width / 2, r.y + Math.min(r.height / 2, 20));
                     return el.contains(top); }"""
    )


def test_question_shows_at_once_then_says_it_is_slow_then_the_answer_replaces_it(browser, web_server):
    with chat_page(browser, web_server.base_url, clock=True) as page:
        held = []
        page.route(QUEUE_JOIN, lambda route: held.append(route))  # the question leaves the browser but gets no reply yet
        send(page, "Is the procedure painful?")
        # Shown at once, with a "looking it up" note, and the box is free for the next one.
        assert page.locator(SAID).last.inner_text() == "Is the procedure painful?"
        pending = page.locator(PENDING)
        assert "Looking it up" in pending.inner_text()
        expect(question_box(page)).to_have_value("")
        slow_note = pending.locator(".qa-slow-note")
        assert not slow_note.is_visible()
        page.clock.fast_forward(SLOW_AFTER_MS + 1000)
        slow_note.wait_for(state="visible")
        assert CLINIC.phone in slow_note.inner_text()
        assert "taking longer than usual" in page.locator("#qa-live").inner_text()
        # A second question meanwhile is held back with a reason, not lost.
        send(page, "Can I drive home?")
        assert page.locator("#qa-live").inner_text() == "Please wait for the answer to your last question."
        assert question_box(page).input_value() == "Can I drive home?"
        for _ in range(200):  # the route handler runs when Playwright next reads the browser's events
            if held:
                break
            page.wait_for_timeout(50)
        held[0].continue_()
        page.unroute(QUEUE_JOIN)
        answer = wait_for_answer(page, 0)
        assert answer.locator(".qa-source").first.is_visible()
        assert page.locator(PENDING).count() == 0 and "taking longer" not in page.locator("#qa-live").inner_text()


def test_each_failure_leaves_one_plain_message_and_keeps_everything(browser, web_server):
    with chat_page(browser, web_server.base_url) as page:
        first = ask(page, "What are the risks of a hip injection?")
        first_text = first.inner_text()
        page.evaluate("window.__sameDocument = true")  # gone if the page reloads
        for attempt, (name, url, fail, headline) in enumerate(FAILURES_TO_TRY, start=1):
            page.route(url, fail)
            # A new wording each time: once it shows, the last attempt's failure message has gone.
            question = f"How long does the pain relief last? (try {attempt})"
            send(page, question)
            wait_until_said(page, question)
            failure = page.locator(FAILURES)
            failure.wait_for()
            assert failure.count() == 1, name
            text = failure.locator(".qa-notice").inner_text()
            assert text.startswith(headline), (name, text)
            assert "press Ask to send it again" in text and CLINIC.phone in text and CLINIC.hours in text, name
            assert failure.locator(f'a[href="{CLINIC.phone_href}"]').count() == 1, name
            # The question is back in the box, the earlier answer is still there, word for word.
            expect(question_box(page), name).to_have_value(question)
            assert answers(page).count() == 1 and answers(page).first.inner_text() == first_text, name
            # Nothing of Gradio's covers the chat or the box: no toast, no "Error" badge.
            assert nothing_covers(page, failure) and nothing_covers(page, question_box(page)), name
            assert page.get_by_text("Error", exact=True).locator("visible=true").count() == 0, name
            assert page.get_by_test_id("toast-body").locator("visible=true").count() == 0, name
            page.unroute(url)
        # Offline as the browser knows it (navigator.onLine is false), then back.
        page.context.set_offline(True)
        question = "How long does the pain relief last?"
        send(page, question)
        wait_until_said(page, question)
        page.locator(FAILURES).get_by_text("check that you are online").wait_for()
        page.context.set_offline(False)
        # Sending again works, and the failure message goes.
        question_box(page).press("Enter")
        wait_for_answer(page, 1)
        assert page.locator(FAILURES).count() == 0
        assert [s.inner_text() for s in page.locator(SAID).all()][-1] == question
        assert page.evaluate("window.__sameDocument") is True


def test_the_embed_says_busy_with_the_clinics_phone_and_keeps_the_box_in_view(browser, web_server):
    with chat_page(browser, web_server.base_url, path="/embed/", viewport=EMBED) as page:
        page.route(QUEUE_JOIN, BUSY)
        send(page, "Can I drive home afterwards?")
        failure = page.locator(FAILURES)
        failure.wait_for()
        assert CLINIC.phone in failure.inner_text()
        assert in_viewport(page, question_box(page)) and in_viewport(page, page.locator("#qa-ask"))
        assert fully_visible_in(failure, page.locator("#qa-chat"))
