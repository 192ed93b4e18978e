"""The content team's loop in real headless Chromium, against real servers.

A patient asks a question the guide does not cover and presses thumbs-down
on another answer; a staff member logs in to /admin/, sees both redacted and
assigns the first to a passage; after the rebuild the same question, asked
again in the chat, is answered with that passage. The same steps on a server
without --collect-feedback keep nothing (searched on disk), and the admin
page will not load inside another site's frame. No test asserts on timing.
"""

from __future__ import annotations

import csv
import http.server
import threading
import time
from pathlib import Path

import pytest

from chat_pages import PENDING, WAIT_MS, new_context, wait_until_ready
from feedback_fixtures import STAFF_PASSWORD, STAFF_USER, collecting_server  # noqa: F401  (fixtures)
from web_fixtures import (  # noqa: F401  (fixtures)
    CHROMIUM, CHROMIUM_ARGS, REPO, artifacts_dir, files_under, free_port, needs_chromium, web_server,
)

pytestmark = [needs_chromium, pytest.mark.browser, pytest.mark.timeout(400)]
ANSWER_TIMEOUT_MS = 60_000
NOT_COVERED_TEXT = "does not cover that question"
UNCOVERED = "I'm Dorothy Quennell, can I go in the sauna the day after my injection?"
#: The assigned question as another patient asks it (the kept wording has the name redacted).
ASSIGNED = "can I go in the sauna the day after my injection?"
DISLIKED = "How long does the pain relief last?"
TARGET_HEADING = "After the Injection: What to Expect"


def alternates_supported() -> bool:
    """Whether the index build reads corpus/alternate_questions.csv (the lead's work, merged from main)."""
    return any("alternate_questions" in path.read_text(encoding="utf-8")
               for path in (REPO / "qa").rglob("*.py") if "feedback" not in path.parts)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=list(CHROMIUM_ARGS))
        yield browser
        browser.close()


def open_chat(browser, base_url: str):
    context = new_context(browser, viewport={"width": 1100, "height": 1000})
    page = context.new_page()
    page.goto(base_url + "/")
    wait_until_ready(page)
    return context, page


def ask(page, question: str):
    bots = page.locator('#qa-chat [data-testid="bot"]')
    before = bots.count()
    page.get_by_label("Your question").fill(question)
    page.get_by_role("button", name="Ask", exact=True).click()
    answer = bots.nth(before)
    answer.wait_for(timeout=ANSWER_TIMEOUT_MS)
    # The chat shows "Looking it up…" at once; wait until the answer has replaced it.
    page.locator(PENDING).wait_for(state="detached", timeout=ANSWER_TIMEOUT_MS)
    return answer


def staff_login(browser, base_url: str):
    context = new_context(browser, viewport={"width": 1100, "height": 1400})
    page = context.new_page()
    page.goto(base_url + "/admin/")
    assert page.url.endswith("/admin/login"), "the review page sends a stranger to the login form"
    page.get_by_label("Name").fill(STAFF_USER)
    page.get_by_label("Password").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Patient feedback").wait_for()
    return context, page


def wait_until(condition, *, what: str, tries: int = 240, pause: float = 0.25):
    """Poll a condition a bounded number of times (no assertion on how long it takes)."""
    for _ in range(tries):
        if condition():
            return
        time.sleep(pause)
    raise AssertionError(f"never happened: {what}")


def test_patient_feedback_to_alternate_question(browser, collecting_server, artifacts_dir):
    base = collecting_server.base_url
    chat_context, chat = open_chat(browser, base)
    assert "kept for 7 days" in chat.locator(".qa-feedback-notice").inner_text()
    assert NOT_COVERED_TEXT in ask(chat, UNCOVERED).inner_text()
    ask(chat, DISLIKED)
    chat.locator('#qa-chat button[aria-label="Dislike"]').nth(1).click()

    staff_context, admin = staff_login(browser, base)

    def shows_both() -> bool:
        admin.reload()
        text = admin.locator("body").inner_text()
        return "can I go in the sauna" in text and DISLIKED in text

    wait_until(shows_both, what="both messages on the review page")
    page_text = admin.locator("body").inner_text()
    assert "I'm [NAME], can I go in the sauna the day after my injection?" in page_text
    assert "Dorothy" not in page_text and "Quennell" not in page_text
    disliked = admin.locator('.item[data-kind="disliked"]', has_text=DISLIKED)
    assert "Shown:" in disliked.inner_text(), "what the patient was shown is listed"
    admin.screenshot(path=str(artifacts_dir / "admin-review.png"), full_page=True)

    item = admin.locator('.item[data-kind="unanswered"]', has_text="sauna")
    item.get_by_label("Search passages").fill("what to do after the injection")
    item.get_by_role("button", name="Find the right passage").click()
    result = admin.locator(".passage", has_text=TARGET_HEADING).first
    result.wait_for()
    passage_text = result.inner_text()
    index_before = (collecting_server.index_dir / "current").resolve()
    result.get_by_role("button", name="Assign this passage").click()
    admin.get_by_text("Assigned.").wait_for()
    assert "sauna" not in admin.locator('.item[data-kind="unanswered"]').all_inner_texts().__str__()

    rows = list(csv.DictReader((collecting_server.corpus_dir / "alternate_questions.csv").open(encoding="utf-8")))
    assert rows[-1]["question"] == "I'm [NAME], can I go in the sauna the day after my injection?"
    assert rows[-1]["answer_quote"] and rows[-1]["answer_quote"].split()[0] in passage_text
    wait_until(lambda: (collecting_server.index_dir / "current").resolve() != index_before, what="the index rebuilt")
    staff_context.close()

    again = ask(chat, ASSIGNED)
    chat.screenshot(path=str(artifacts_dir / "chat-after-alternate.png"), full_page=True)
    try:
        assert NOT_COVERED_TEXT not in again.inner_text() and TARGET_HEADING in again.inner_text()
    except AssertionError:
        if not alternates_supported():
            pytest.xfail("the index build does not read corpus/alternate_questions.csv yet "
                         "(the lead's alternate-questions work, not merged into this branch)")
        raise
    finally:
        chat_context.close()


def test_same_steps_without_collection_keep_nothing(browser, web_server):
    context, chat = open_chat(browser, web_server.base_url)
    marker = "I'm Dorothy Quennell, can I go in the capybara sauna the day after my injection?"
    assert NOT_COVERED_TEXT in ask(chat, marker).inner_text()
    ask(chat, DISLIKED)
    assert chat.locator('#qa-chat button[aria-label="Dislike"]').count() == 0, "no thumbs when collection is off"
    assert chat.locator(".qa-feedback-notice").count() == 0
    context.close()
    for path in files_under(web_server.root):
        data = path.read_bytes()
        assert b"capybara" not in data and b"Quennell" not in data, path


class _Host(http.server.BaseHTTPRequestHandler):
    page = b""

    def do_GET(self):  # noqa: N802 - http.server's name
        self.send_response(200)
        self.send_header("content-type", "text/html")
        self.end_headers()
        self.wfile.write(self.page)

    def log_message(self, *args):  # keep the test output quiet
        pass


def test_another_site_cannot_frame_the_admin_page(browser, collecting_server):
    """A page on another origin frames /admin/login (refused) beside /embed/ (allowed, the control)."""
    base = collecting_server.base_url
    _Host.page = (f'<iframe id="admin" src="{base}/admin/login"></iframe>'
                  f'<iframe id="embed" src="{base}/embed/"></iframe>').encode()
    port = free_port()
    host = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Host)
    threading.Thread(target=host.serve_forever, daemon=True).start()
    context = new_context(browser)
    try:
        page = context.new_page()
        page.goto(f"http://127.0.0.1:{port}/")
        page.frame_locator("#embed").get_by_label("Your question").wait_for(timeout=WAIT_MS)
        admin = page.frame_locator("#admin")
        assert admin.get_by_label("Password").count() == 0, "the login form must not render in a foreign frame"
    finally:
        context.close()
        host.shutdown()
