"""The chat and the embed in a real headless Chromium against the real server.

Playwright drives Debian's /usr/bin/chromium (no browser download); the tests
skip only when that binary is missing. Screenshots go to the artifacts folder
($TEST_ARTIFACTS_DIR or a tmp dir); the README's screenshots are made by
scripts/screenshots.py. No test asserts on timing. The copy tests read the
real clipboard: their context is granted clipboard permissions for the
server's origin. Phone layout, failures, the box and accessibility have their
own modules (test_chat_*.py, test_accessibility.py).
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest

from chat_pages import (  # noqa: F401  (fixtures)
    ANSWERS, SAID, WAIT_MS, browser, new_context, open_chat, wait_for_answer, wait_until_ready,
)
from qa_web.clinic import load_clinic
from web_fixtures import REPO, artifacts_dir, needs_chromium, web_server  # noqa: F401  (fixtures)

pytestmark = [needs_chromium, pytest.mark.timeout(300)]

ANSWER_TIMEOUT_MS = 60_000
CLINIC = load_clinic()
INJECTIONS = (
    "<img src=x onerror=\"window.__xss=1\"> hip injection risks",
    "![x](http://example.com/t.png) hip injection",
    "<script>window.__xss=1</script>[click](javascript:alert(1)) <iframe src=http://example.com/></iframe>",
)
# Gradio puts a message's buttons in the element right after the message's row.
COPY_BUTTON = (
    'xpath=ancestor::div[contains(@class,"message-row")]'
    '/following-sibling::div[contains(@class,"message-buttons")][1]//button'
)
NOTHING_COPIED = "(nothing copied yet)"
# The clipboard once it holds something else (a copy is asynchronous), or as it
# is after 10 s; wait_for_function would not await readText's promise.
READ_NEW_CLIPBOARD_JS = """async (before) => {
  const until = Date.now() + 10000;
  let text = await navigator.clipboard.readText();
  while (text === before && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    text = await navigator.clipboard.readText();
  }
  return text;
}"""
HTML_TAG = re.compile(r"<[a-z/!][^>]*>", re.IGNORECASE)
HTML_ENTITY = re.compile(r"&(#\d+|#x[0-9a-f]+|[a-z]+);", re.IGNORECASE)


class Watched:
    """A page plus every URL it requested, dialogs it opened and console errors."""

    def __init__(self, page):
        self.page = page
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def foreign_requests(self, base_url: str) -> list[str]:
        host = urlparse(base_url).netloc
        return [u for u in self.requests if urlparse(u).scheme in ("http", "https", "ws", "wss") and urlparse(u).netloc != host]


@pytest.fixture
def chat(browser, web_server):
    context = new_context(browser, viewport={"width": 1100, "height": 1000})
    watched = Watched(context.new_page())
    watched.page.goto(web_server.base_url + "/")
    wait_until_ready(watched.page)
    yield watched
    context.close()


def bot_messages(page):
    return page.locator(ANSWERS)


def user_messages(page):
    """What the patient typed, as shown (without the hidden "You said:")."""
    return page.locator(SAID)


def ask(page, question: str, *, press_enter: bool = False):
    """Ask through the textbox and wait for the answer to replace "looking it up"."""
    before = bot_messages(page).count()
    box = page.get_by_label("Your question")
    box.fill(question)
    if press_enter:
        box.press("Enter")
    else:
        page.get_by_role("button", name="Ask", exact=True).click()
    return wait_for_answer(page, before)


def test_typed_question_shows_quoted_passage_with_source(chat, web_server, artifacts_dir):
    page = chat.page
    answer = ask(page, "What are the risks of a hip injection?", press_enter=True)
    source = answer.locator(".qa-source").first
    source.wait_for()
    assert source.inner_text().startswith("Source: ")
    assert answer.locator("blockquote.qa-quote").first.is_visible()
    assert answer.locator("mark.qa-best").count() >= 1
    # The passage can be seen inside its section of the clinic's document.
    answer.locator("details.qa-context summary").first.click()
    assert answer.locator(".qa-context-body mark.qa-in-context").first.is_visible()
    # The not-medical-advice note is always on screen.
    assert page.locator(".qa-disclaimer").is_visible()
    assert "not medical advice" in page.locator(".qa-disclaimer").inner_text()
    # The whole document is one click away, its headings as bold text (not the page's outline).
    page.get_by_text("Read the clinic's whole guide to hip injections").click()
    page.locator("#qa-document .qa-heading", has_text="Potential Benefits and Risks").wait_for()
    assert page.locator("#qa-document").locator("h1, h2, h3, h4, h5, h6").count() == 0
    page.get_by_text("Read the clinic's whole guide to hip injections").click()
    answer.locator("details.qa-context summary").first.click()
    page.screenshot(path=str(artifacts_dir / "chat-answer.png"))
    assert not chat.foreign_requests(web_server.base_url)


def test_example_then_related_question_can_be_clicked(chat):
    page = chat.page
    example = "What are the risks of a hip injection?"
    page.locator("#qa-examples").get_by_role("button", name=example).click()
    wait_for_answer(page, 0).locator(".qa-source").first.wait_for()
    assert user_messages(page).nth(0).inner_text().strip() == example
    related = page.locator("#qa-related button:visible")
    assert 2 <= related.count() <= 3
    label = related.first.inner_text().strip()
    related.first.click()
    wait_for_answer(page, 1)
    assert user_messages(page).nth(1).inner_text().strip() == label


@pytest.mark.parametrize("attack", INJECTIONS, ids=("img-onerror", "markdown-image", "script-link-iframe"))
def test_injection_strings_render_as_text(chat, web_server, attack):
    page = chat.page
    ask(page, attack)
    shown = user_messages(page).nth(0)
    assert shown.inner_text().strip() == attack
    assert shown.locator("img, script, iframe, a").count() == 0
    # Screen readers get the text, not markup: Gradio's label made of the raw HTML is taken off.
    for message in page.locator('#qa-chat [data-testid="user"], #qa-chat [data-testid="bot"]').all():
        assert message.get_attribute("aria-label") is None
    assert page.evaluate("window.__xss") is None
    assert not chat.dialogs
    page.wait_for_timeout(500)  # give any (wrongly) created image a chance to load
    assert not chat.foreign_requests(web_server.base_url), chat.foreign_requests(web_server.base_url)
    assert not [u for u in chat.requests if u.rstrip("/").endswith("/x") or "example.com" in u]


def test_urgent_answer_leads_with_the_warning_and_the_clinics_phone(chat):
    answer = ask(chat.page, "I have a fever and the injection site is red and swollen")
    first = answer.locator(":scope > :not(.qa-sr)").first  # after the hidden "The clinic's guide says:"
    assert "qa-urgent" in first.get_attribute("class")
    assert first.get_attribute("role") == "alert"
    assert "seek medical attention" in first.inner_text().lower()
    assert first.locator(f'a[href="{CLINIC.phone_href}"]').inner_text() == CLINIC.phone


def test_emergency_answer_says_call_emergency_services_on_the_clinics_number(chat):
    answer = ask(chat.page, "I have chest pain and cannot breathe after my injection")
    notice = answer.locator(".qa-emergency")
    assert f"call emergency services now on {CLINIC.emergency_number}" in notice.inner_text().lower()
    assert notice.locator(f'a[href="{CLINIC.emergency_href}"]').count() == 1


def test_abstention_is_plain_and_gives_the_clinics_details(chat):
    answer = ask(chat.page, "What is the capital of France?")
    notice = answer.locator(".qa-abstain")
    text = notice.inner_text()
    assert "contact the clinic" in text.lower()
    assert CLINIC.name in text and CLINIC.phone in text and CLINIC.hours in text
    assert notice.locator(f'a[href="{CLINIC.website}"]').count() == 1
    # Nearest passages are folded away, not presented as an answer.
    assert not answer.locator(".qa-source").first.is_visible()


def test_labels_for_keyboard_and_screen_reader_users(chat):
    page = chat.page
    assert page.get_by_label("Your question").is_editable()
    assert page.get_by_role("button", name="Ask", exact=True).is_enabled()
    assert page.get_by_role("log").count() >= 1  # the conversation is announced as it grows
    assert page.locator('[role="note"].qa-disclaimer').count() == 1
    # No "Use via API" on the patient's page (the API is documented in the README and at /api/docs).
    assert page.get_by_text("Use via API").count() == 0 and page.locator("footer:visible").count() == 0


def test_chat_fits_a_375px_phone(browser, web_server, artifacts_dir):
    context = new_context(browser, viewport={"width": 375, "height": 812}, is_mobile=True, has_touch=True)
    page = open_chat(context, web_server.base_url + "/")
    ask(page, "How long does the pain relief last?")
    page.wait_for_timeout(300)  # let the layout settle before measuring (not a timing assert)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"horizontal scroll at 375 px: page is {width} px wide"
    for locator in (page.get_by_label("Your question"), page.get_by_role("button", name="Ask", exact=True)):
        box = locator.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375
    page.screenshot(path=str(artifacts_dir / "chat-375px.png"), full_page=True)
    context.close()


def test_embed_page_takes_the_apps_address_and_fits_a_400x600_iframe(browser, web_server, artifacts_dir):
    host_page = REPO / "examples" / "embed.html"
    assert 'const APP = "http://127.0.0.1:7860";' in host_page.read_text(encoding="utf-8")  # the one line to edit
    context = new_context(browser, viewport={"width": 480, "height": 840})
    watched = Watched(context.new_page())
    page = watched.page
    page.goto(f"{host_page.as_uri()}?app={web_server.base_url}")
    frame_element = page.locator("iframe.faq-embed")
    assert frame_element.get_attribute("src") == f"{web_server.base_url}/embed/"
    box = frame_element.bounding_box()
    assert round(box["width"]) in (400, 402) and round(box["height"]) in (600, 602)  # plus the 1 px border
    frame = page.frame_locator("iframe.faq-embed")
    frame.get_by_label("Your question").wait_for(timeout=WAIT_MS)
    assert frame.locator("h1:not(.qa-sr)").count() == 0  # no page header in the embed (its title is for screen readers)
    frame.get_by_role("button", name="What are the risks of a hip injection?").click()
    frame.locator(f"{ANSWERS} .qa-source").first.wait_for(timeout=ANSWER_TIMEOUT_MS)
    inner = page.frames[1]
    width, height = inner.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert width <= 400 and height <= 600, (width, height)
    ask_box = inner.get_by_role("button", name="Ask", exact=True).bounding_box()  # page coordinates
    assert ask_box["y"] + ask_box["height"] <= box["y"] + box["height"], "the Ask button is cut off"
    assert inner.locator(".qa-disclaimer").is_visible()
    page.screenshot(path=str(artifacts_dir / "embed-400x600.png"))
    page.wait_for_timeout(500)  # give any (wrongly) created image a chance to load
    assert not watched.foreign_requests(web_server.base_url)
    # Anything but a web address falls back to the page's own line.
    page.goto(f"{host_page.as_uri()}?app=javascript:alert(1)")
    assert frame_element.get_attribute("src") == "http://127.0.0.1:7860/embed/"
    context.close()


def test_questions_asked_in_the_chat_are_not_logged_or_stored(chat, web_server):
    from web_fixtures import files_under

    marker = "qqchatmarker4410"
    ask(chat.page, f"Will {marker} injection hurt?")
    ask(chat.page, f"and {marker} " * 40 + "?")  # 841 characters, a follow-up near the limit: kept in server memory only
    chat.page.get_by_label("Your question").fill(f"{marker} " * 300)  # over the limit: stays in the box
    assert marker not in web_server.logs()
    for path in files_under(web_server.root):
        assert marker.encode() not in path.read_bytes(), f"question text written to {path.relative_to(web_server.root)}"
    # Nothing about the conversation is kept in the browser either.
    stored = chat.page.evaluate("JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])")
    assert marker not in stored


@pytest.fixture
def clipboard_context(browser, web_server):
    """A browser context that may read and write the clipboard on the server's origin."""
    context = new_context(browser, viewport={"width": 1100, "height": 1000})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=web_server.base_url)
    yield context
    context.close()


def copy_and_read(message, *, reader) -> str:
    """Click the copy button of `message` and return what landed on the clipboard
    (read in `reader`, a page on the server's origin)."""
    reader.evaluate("text => navigator.clipboard.writeText(text)", NOTHING_COPIED)
    message.locator(COPY_BUTTON).click()
    return reader.evaluate(READ_NEW_CLIPBOARD_JS, NOTHING_COPIED)


def test_copy_button_copies_the_answer_as_plain_text(clipboard_context, web_server):
    page = open_chat(clipboard_context, web_server.base_url + "/")
    answer = ask(page, "What are the risks of a hip injection?")
    answer.locator(".qa-source").first.wait_for()
    assert answer.locator(COPY_BUTTON).count() == 1  # copy is the only button beside a message
    copied = copy_and_read(answer, reader=page)
    # Gradio's own handler copied the HTML source:
    # '<div class="qa-turn qa-answer"><p class="qa-lead">Here is what the clinic&#x27;s ...'
    assert not HTML_TAG.search(copied), copied[:300]
    assert not HTML_ENTITY.search(copied), copied[:300]
    # Exactly what the bubble shows, part by part: the lead-in, then the shown source line and its quote.
    expected = [answer.locator(".qa-lead").inner_text()]
    for passage in answer.locator(".qa-passage:not(details .qa-passage)").all():
        expected += [passage.locator(".qa-source").inner_text(), passage.locator(".qa-quote").inner_text()]
    assert copied == "\n\n".join(text.strip() for text in expected)
    assert copied.startswith("Here is what the clinic's hip injection guide says:")
    assert answer.locator("mark.qa-best").first.inner_text() in copied
    # The folded document view and the folded passages are not part of the copy.
    assert "Show this in the clinic's document" not in copied and "More from the clinic's guide" not in copied


def test_copy_button_copies_the_question_as_typed(clipboard_context, web_server):
    page = open_chat(clipboard_context, web_server.base_url + "/")
    question = 'Is it safe? <b>&amp;</b> "double" \'single\' & é – 😊'
    ask(page, question)
    # Gradio's own handler copied the escaped source: 'Is it safe? &lt;b&gt;&amp;amp;&lt;/b&gt; ...'
    assert copy_and_read(user_messages(page).nth(0), reader=page) == question


def test_copy_button_copies_text_without_the_clipboard_api(clipboard_context, web_server):
    """Over plain http (not localhost) there is no navigator.clipboard; copying still gives text."""
    reader = clipboard_context.new_page()  # reads the clipboard the other page writes
    reader.goto(web_server.base_url + "/api/health")
    page = clipboard_context.new_page()
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'clipboard', {get: () => undefined})")
    page.goto(web_server.base_url + "/")
    wait_until_ready(page)
    answer = ask(page, "Is the procedure painful?")
    answer.locator(".qa-source").first.wait_for()
    # Gradio's own handler called navigator.clipboard.writeText here and copied nothing.
    copied = copy_and_read(answer, reader=reader)
    assert copied.startswith(answer.locator(".qa-lead").inner_text().strip())
    assert answer.locator(".qa-source").first.inner_text() in copied
    assert not HTML_TAG.search(copied), copied[:300]
