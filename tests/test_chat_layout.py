"""Phone first, measured in real Chromium: at 390x844 the page is one screen
high, the chat fills what the short header and the box leave, the
conversation is the only scroll area (even with a passage's document view
open), answers use the full width, and no button sits on top of text. The
desktop page (1280x800) keeps the same shape."""

from __future__ import annotations

import pytest

from chat_pages import DESKTOP, PHONE, ask, browser, chat_page, in_viewport, question_box  # noqa: F401  (fixtures)
from web_fixtures import needs_chromium, web_server  # noqa: F401  (fixtures)

pytestmark = [needs_chromium, pytest.mark.timeout(300)]

# Every element the patient could scroll, other than the box itself.
SCROLL_AREAS_JS = """() => [...document.querySelectorAll('body *')].filter((el) => {
  const style = getComputedStyle(el);
  return el.tagName !== 'TEXTAREA' && /(auto|scroll)/.test(style.overflowY) && el.scrollHeight > el.clientHeight + 1;
}).map((el) => el.id || el.className)"""
# Pairs (button, text) in the chat whose boxes overlap, among what is on screen.
OVERLAPS_JS = """() => {
  const area = document.querySelector('#qa-chat .bubble-wrap').getBoundingClientRect();
  const onScreen = (el) => { const r = el.getBoundingClientRect();  // (text in a closed <details> is not shown)
    return el.checkVisibility() && r.width > 0 && r.height > 0 && r.bottom > area.top && r.top < area.bottom ? r : null; };
  const meet = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
  const texts = [...document.querySelectorAll('#qa-chat :is(.qa-said-text, .qa-turn p, .qa-turn li, .qa-turn summary, .qa-turn mark)')];
  const found = [];
  for (const button of document.querySelectorAll('#qa-chat button')) {
    const b = onScreen(button);
    if (!b) continue;
    for (const text of texts) { const t = onScreen(text); if (t && meet(b, t)) found.push([button.getAttribute('aria-label') || button.className, text.innerText.slice(0, 40)]); }
  }
  return found;
}"""


def page_size(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")


def test_phone_page_is_one_screen_with_the_chat_as_its_only_scroll_area(browser, web_server):
    with chat_page(browser, web_server.base_url, viewport=PHONE, is_mobile=True, has_touch=True) as page:
        header, chat = page.locator("#qa-header").bounding_box(), page.locator("#qa-chat").bounding_box()
        assert header["y"] < 16 and header["height"] <= 80, header
        assert 0 <= chat["y"] - (header["y"] + header["height"]) <= 16  # the chat starts right under the header
        ask(page, "Will the shot hurt?")
        answer = ask(page, "What should I do after the injection?")
        answer.locator("details.qa-context summary").first.click()  # the document view opens inside the chat
        assert page_size(page) == [PHONE["width"], PHONE["height"]], "the page itself scrolls"
        areas = page.evaluate(SCROLL_AREAS_JS)
        assert len(areas) == 1 and "bubble-wrap" in areas[0], areas
        chat = page.locator("#qa-chat").bounding_box()
        assert chat["height"] >= 0.4 * PHONE["height"], chat
        # Answers use the chat's full width (less its padding), not a bubble of 242 px.
        answer_box = answer.bounding_box()
        assert answer_box["width"] >= chat["width"] - 40, (answer_box, chat)
        assert page.evaluate(OVERLAPS_JS) == []
        assert in_viewport(page, question_box(page)) and in_viewport(page, page.locator("#qa-ask"))


def test_desktop_page_has_the_same_shape(browser, web_server):
    with chat_page(browser, web_server.base_url, viewport=DESKTOP) as page:
        ask(page, "What are the risks of a hip injection?")
        width, height = page_size(page)
        assert width <= DESKTOP["width"] and height <= DESKTOP["height"]
        assert page.locator("#qa-chat").bounding_box()["height"] >= 0.45 * DESKTOP["height"]
        assert page.evaluate(OVERLAPS_JS) == []
        assert in_viewport(page, question_box(page))
