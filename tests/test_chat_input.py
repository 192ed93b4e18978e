"""The question box in real Chromium at phone size: a live counter near the
limit, nothing ever cut, and over the limit an Ask button that says why it
will not send (the server's own message for a question that gets past the
page is tested in test_chat_service.py)."""

from __future__ import annotations

import pytest

from chat_pages import SAID, answers, ask_button, browser, chat_page, in_viewport, question_box, wait_for_answer  # noqa: F401
from qa import MAX_QUESTION_CHARS
from web_fixtures import needs_chromium, web_server  # noqa: F401  (fixtures)

pytestmark = [needs_chromium, pytest.mark.timeout(300)]

# A patient's story with the real question at the very end: 27 * 55 + 38 = 1,523 characters.
STORY = "My hip has hurt for years. " * 55 + "When can I go back to my normal walks?"


def test_counter_near_the_limit_then_too_long_is_explained_and_nothing_is_cut(browser, web_server):
    assert len(STORY) == 1523 and MAX_QUESTION_CHARS == 1000
    with chat_page(browser, web_server.base_url) as page:
        box, button, count, live = question_box(page), ask_button(page), page.locator("#qa-count"), page.locator("#qa-live")
        box.fill("a" * 799)
        assert count.inner_text() == ""  # under 80% of the limit: no counter
        box.fill("a" * 850)
        assert count.inner_text() == "850 / 1,000 characters"
        assert live.inner_text() == "You are close to the 1,000-character limit."
        # Pasting the whole story keeps every character.
        box.fill(STORY)
        assert box.input_value() == STORY
        assert count.inner_text() == "1,523 / 1,000 characters"
        assert button.inner_text() == "Too long" and button.get_attribute("aria-disabled") == "true"
        reason = "Too long to send: 1,523 characters, and the limit is 1,000. Please shorten it by 523."
        assert live.inner_text() == reason
        # The box says where to look: screen readers read the counter and the reason with it.
        assert box.get_attribute("aria-describedby") == "qa-count qa-live"
        assert in_viewport(page, button) and in_viewport(page, live)
        # Neither Enter nor the button sends it.
        box.press("Enter")
        button.click(force=True)  # Playwright will not click an aria-disabled button; a patient can
        assert page.locator(SAID).count() == 0 and live.inner_text() == reason
        assert box.input_value() == STORY
        # Shortened to the question itself, it goes.
        box.fill(STORY[-38:])
        assert button.inner_text() == "Ask" and button.get_attribute("aria-disabled") is None
        assert count.inner_text() == "" and live.inner_text() == ""
        box.press("Enter")
        answer = wait_for_answer(page, 0)
        assert page.locator(SAID).first.inner_text() == "When can I go back to my normal walks?"
        assert answer.locator(".qa-source").count() >= 1


def test_the_limit_counts_characters_as_the_server_does(browser, web_server):
    """An emoji is one character to Python (and the limit), two UTF-16 units to JavaScript."""
    with chat_page(browser, web_server.base_url) as page:
        box = question_box(page)
        box.fill("a" * 999 + "😊")
        assert page.locator("#qa-count").inner_text() == "1,000 / 1,000 characters"
        assert ask_button(page).inner_text() == "Ask"
        box.fill("a" * 1000 + "😊")
        assert ask_button(page).inner_text() == "Too long"


def test_an_empty_box_sends_nothing_and_says_why(browser, web_server):
    with chat_page(browser, web_server.base_url) as page:
        question_box(page).fill("   ")
        question_box(page).press("Enter")
        ask_button(page).click()
        assert page.locator("#qa-live").inner_text() == "Type your question first."
        assert page.locator(SAID).count() == 0 and answers(page).count() == 0
