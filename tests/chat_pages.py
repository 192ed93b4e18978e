"""Shared helpers for the chat's browser tests: one headless Chromium per test
module, pages at phone (390x844), desktop and embed (400x600) size, and a way
to ask a question and wait for its answer. The server is web_fixtures' shared
real server; nothing here mocks the app. No helper waits for a fixed time
except where a test says why. Every context made by `new_context` waits up to
WAIT_MS (not Playwright's 30 s) for a page to load or an element to come: on a
machine whose cores are busy Gradio's page can take longer than 30 s to render.
"""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from web_fixtures import CHROMIUM, CHROMIUM_ARGS

PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
EMBED = {"width": 400, "height": 600}
ANSWER_TIMEOUT_MS = 60_000
#: Bound on any wait of a context made by `new_context` (a page load, the chat rendering, a
#: locator): a hang guard for a busy machine, never asserted as speed.
WAIT_MS = 120_000
#: Every message the assistant's side of the chat can hold; answers are the guide's.
ANSWERS = '#qa-chat article.qa-turn[class*="qa-answer"]'
SAID = "#qa-chat .qa-said-text"
FAILURES = "#qa-chat .qa-failure"
PENDING = "#qa-chat .qa-pending"
QUEUE_JOIN = "**/gradio_api/queue/join*"
QUEUE_DATA = "**/gradio_api/queue/data*"


@pytest.fixture(scope="module")
def browser():
    """Debian's chromium, headless, one per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


def new_context(browser, **options):
    """``browser.new_context(**options)`` whose waits are bounded by WAIT_MS."""
    context = browser.new_context(**options)
    context.set_default_timeout(WAIT_MS)
    context.set_default_navigation_timeout(WAIT_MS)
    return context


def wait_until_ready(page) -> None:
    """Until the chat can be used: its box is there and the page script has run (it gives the
    box its aria-describedby), however long a busy machine takes (bounded by WAIT_MS)."""
    question_box(page).wait_for(timeout=WAIT_MS)
    page.wait_for_function("() => window.qaChat && document.querySelector('#qa-question textarea[aria-describedby]')",
                           timeout=WAIT_MS)


def open_chat(context, url: str):
    """A new page of ``context`` at ``url`` (the chat or the embed), once it is ready."""
    page = context.new_page()
    page.goto(url)
    wait_until_ready(page)
    return page


@contextmanager
def chat_page(browser, base_url: str, *, path: str = "/", viewport: dict = PHONE, clock: bool = False, **context_args):
    """A fresh context (no shared cookies or storage) with the chat loaded and ready."""
    context = new_context(browser, viewport=viewport, **context_args)
    page = context.new_page()
    if clock:
        page.clock.install()  # time flows as usual until a test moves it on
    page.goto(base_url + path)
    wait_until_ready(page)
    try:
        yield page
    finally:
        context.close()


def question_box(page):
    return page.get_by_label("Your question")


def ask_button(page):
    return page.locator("#qa-ask")


def answers(page):
    return page.locator(ANSWERS)


def send(page, question: str, *, press_enter: bool = True) -> None:
    box = question_box(page)
    box.fill(question)
    if press_enter:
        box.press("Enter")
    else:
        ask_button(page).click()


def ask(page, question: str, *, press_enter: bool = True):
    """Ask through the box and return the answer once it has replaced "looking it up"."""
    before = answers(page).count()
    send(page, question, press_enter=press_enter)
    return wait_for_answer(page, before)


def wait_for_answer(page, before: int):
    answer = answers(page).nth(before)
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    page.locator(PENDING).wait_for(state="detached", timeout=ANSWER_TIMEOUT_MS)
    return answer


def wait_until_said(page, question: str) -> None:
    """Until the chat's last question, as shown, is exactly `question` (the send has rendered)."""
    page.wait_for_function(
        "([selector, text]) => { const all = document.querySelectorAll(selector); "
        "return all.length > 0 && all[all.length - 1].textContent === text; }",
        arg=[SAID, question],
    )


def fully_visible_in(locator, area) -> bool:
    """Whether `locator`'s box lies wholly inside `area`'s box (both on screen now)."""
    box, frame = locator.bounding_box(), area.bounding_box()
    return bool(box and frame) and (
        box["y"] >= frame["y"] - 0.5 and box["y"] + box["height"] <= frame["y"] + frame["height"] + 0.5
        and box["x"] >= frame["x"] - 0.5 and box["x"] + box["width"] <= frame["x"] + frame["width"] + 0.5
    )


def in_viewport(page, locator) -> bool:
    """Whether `locator` is wholly on screen (not below the fold, not cut at a side)."""
    box, size = locator.bounding_box(), page.viewport_size
    return bool(box) and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= size["width"] + 0.5 and (
        box["y"] + box["height"] <= size["height"] + 0.5
    )


def chat_scroller(page):
    """The conversation's one scroll area."""
    return page.locator("#qa-chat .bubble-wrap")
