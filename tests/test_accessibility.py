"""WCAG 2.2 AA in real Chromium: axe-core (axe-playwright-python bundles its
axe.min.js, so nothing is fetched) on "/" at 390x844 and "/embed/" at 400x600,
empty, after an answer and after an urgent answer; then what axe does not
check: the placeholder's contrast, a visible focus indicator, text of at least
14 px, each message's author for screen readers, no quoted headings in the
page's outline, and the whole chat used with the keyboard alone.
"""

from __future__ import annotations

import re

import pytest

from chat_pages import (  # noqa: F401  (fixtures)
    ANSWERS,
    EMBED,
    PHONE,
    SAID,
    ask,
    browser,
    chat_page,
    question_box,
    wait_for_answer,
)
from web_fixtures import needs_chromium, web_server  # noqa: F401  (fixtures)

pytestmark = [needs_chromium, pytest.mark.timeout(300)]

URGENT = "I have a fever and pus where they injected"
PAGES = {"page": ("/", PHONE), "embed": ("/embed/", EMBED)}
# Sizes of every visible piece of text, with what it says (for the message).
FONT_SIZES_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!node.nodeValue.trim() || !el || !el.checkVisibility() || el.closest('.qa-sr, svg, style, script')) continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) continue;
    out.push([parseFloat(getComputedStyle(el).fontSize), node.nodeValue.trim().slice(0, 40)]);
  }
  return out;
}"""


# The colour behind an element: the first ancestor's background that is not transparent.
BACKGROUND_JS = """(el) => {
  for (let node = el.parentElement; node; node = node.parentElement) {
    const colour = getComputedStyle(node).backgroundColor;
    if (colour !== 'rgba(0, 0, 0, 0)' && colour !== 'transparent') return colour;
  }
  return 'rgb(255, 255, 255)';
}"""


def luminance(css_colour: str) -> float:
    """WCAG relative luminance of "rgb(r, g, b)" or "rgba(...)"."""
    r, g, b = (int(v) / 255 for v in re.findall(r"[\d.]+", css_colour)[:3])
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in (r, g, b)]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast(a: str, b: str) -> float:
    light, dark = sorted((luminance(a), luminance(b)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def serious_violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes'][:3]]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


@pytest.mark.parametrize("which", PAGES)
def test_axe_finds_nothing_serious_empty_after_an_answer_and_after_an_urgent_answer(browser, web_server, which):
    path, viewport = PAGES[which]
    with chat_page(browser, web_server.base_url, path=path, viewport=viewport) as page:
        assert serious_violations(page) == []
        ask(page, "What are the risks of a hip injection?")
        assert serious_violations(page) == []
        ask(page, URGENT)
        assert serious_violations(page) == []


def test_placeholder_focus_and_text_size_on_the_page_and_the_embed(browser, web_server):
    for which, (path, viewport) in PAGES.items():
        with chat_page(browser, web_server.base_url, path=path, viewport=viewport) as page:
            box = page.locator("#qa-question textarea")
            placeholder = box.evaluate("(el) => getComputedStyle(el, '::placeholder').color")
            background = box.evaluate("(el) => getComputedStyle(el).backgroundColor")
            assert contrast(placeholder, background) >= 4.5, (which, placeholder, background)
            ask(page, URGENT)
            sizes = page.evaluate(FONT_SIZES_JS)
            small = [(size, text) for size, text in sizes if size < 14]
            assert sizes and not small, (which, small)
            # Whatever has the keyboard focus has a solid outline of 3:1 or more against the page.
            for target in (box, page.locator("#qa-ask"), page.locator("#qa-related button:visible").first):
                page_background = target.evaluate(BACKGROUND_JS)
                target.focus()
                page.keyboard.press("Shift")  # a key press: Chromium then treats the focus as keyboard focus
                style, width, colour = target.evaluate(
                    "(el) => { const s = getComputedStyle(el); return [s.outlineStyle, parseFloat(s.outlineWidth), s.outlineColor]; }"
                )
                assert style == "solid" and width >= 2 and contrast(colour, page_background) >= 3, (which, style, width, colour)


def test_screen_readers_hear_who_said_each_message_and_no_quoted_heading(browser, web_server):
    with chat_page(browser, web_server.base_url) as page:
        ask(page, "Is imaging guidance used during a hip injection?")
        log = page.get_by_role("log").aria_snapshot()
        # Each message is an article that starts with its author.
        assert '- article: "You said: Is imaging guidance used during a hip injection?"' in log, log
        assert re.search(r"- article:\n\s+- text: \"The clinic's guide says:\"", log), log
        assert not re.search(r"^\s*- heading", log, re.MULTILINE), log  # a quoted "### Is imaging guidance used?" is text
        # The page's own outline: its title only.
        assert page.locator("h1, h2, h3, h4, h5, h6").all_inner_texts() == ["Hip injection questions"]
        assert page.locator('#qa-chat [data-testid="bot"][aria-label], #qa-chat [data-testid="user"][aria-label]').count() == 0


def test_keyboard_only_type_send_and_follow_a_related_question(browser, web_server):
    with chat_page(browser, web_server.base_url) as page:
        box = question_box(page)
        for presses in range(1, 8):
            page.keyboard.press("Tab")
            if box.evaluate("(el) => el === document.activeElement"):
                break
        assert box.evaluate("(el) => el === document.activeElement"), "Tab never reached the question box"
        assert presses <= 3, f"{presses} Tab presses to reach the box"
        page.keyboard.type("What should I do after the injection?")
        page.keyboard.press("Enter")
        wait_for_answer(page, 0)
        # On from the box: the Ask button, then the related questions.
        for presses in range(1, 6):
            page.keyboard.press("Tab")
            focused = page.evaluate("document.activeElement.closest('#qa-related') ? document.activeElement.innerText : ''")
            if focused:
                break
        assert focused, "Tab never reached a related question"
        page.keyboard.press("Enter")
        wait_for_answer(page, 1)
        assert page.locator(SAID).nth(1).inner_text() == focused.strip()
        assert page.locator(ANSWERS).count() == 2
