"""The chat's CSS, its small browser scripts and the fixed bits of page HTML
(the header, the line under the box, the messages shown without the server).

The CSS and the scripts live as plain files in `qa_web/assets/` (read once at
import) so they can be read and linted as what they are; this module hands
them to Gradio as strings and fills in the page's settings (the length limit,
the clinic's contact details in the messages shown without the server). The
scripts talk to the server only through Gradio's own requests, which they
watch; they load nothing from another site and keep nothing in storage.
"""

from __future__ import annotations

import json
from pathlib import Path

from . import render
from .clinic import Clinic

ASSETS = Path(__file__).resolve().parent / "assets"


def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


CSS = _asset("chat.css")
#: The embed must fit a 400x600 frame: added after CSS.
EMBED_CSS = _asset("embed.css")
CHAT_JS = _asset("chat.js")
COPY_AS_TEXT_JS = _asset("copy.js")

#: A live counter starts showing at this share of the limit.
NEAR_LIMIT = 0.8
#: After this long without an answer, "looking it up" says it is slow.
SLOW_AFTER_MS = 8000
ASK_LABEL = "Ask"
TOO_LONG_LABEL = "Too long"

# The events that send a question call into the page script (chat.js). The
# fallbacks keep the chat working, without its extras, if that script is missing.
SEND_JS = "(text, messages) => window.qaChat ? window.qaChat.send(text, messages) : [text, messages, '']"
ANSWERED_JS = "() => { window.qaChat && window.qaChat.answered(); }"
FAILED_JS = "(sent, messages, typed) => window.qaChat ? window.qaChat.failed(sent, messages, typed) : [messages, sent]"

# Gradio labels each chat message "<role>'s message: <raw content>" on an
# element with no role, so screen readers would read tags (or nothing). Our
# messages carry their author themselves ("You said", "The clinic's guide says").
ACCESSIBLE_NAMES_JS = """() => {
  const unlabel = () => document.querySelectorAll(
    '#qa-chat [data-testid="user"][aria-label], #qa-chat [data-testid="bot"][aria-label]'
  ).forEach((el) => el.removeAttribute('aria-label'));
  new MutationObserver(unlabel).observe(document.body, {subtree: true, childList: true, attributes: true, attributeFilter: ['aria-label']});
  unlabel();
}"""

#: Under the box: the character counter, and one line for what the patient needs to know now.
STATUS_HTML = (
    '<div class="qa-status"><p id="qa-live" class="qa-live" role="status" aria-live="polite"></p>'
    '<p id="qa-count" class="qa-count"></p></div>'
)


def status_html(kind: str, body: str) -> str:
    """A message from the chat itself (looking it up, busy, offline, error): not the guide's words."""
    role = ' role="alert"' if kind == "failure" else ""
    author = render.author_html(render.ASSISTANT_SAYS)
    return f'<article class="qa-turn qa-{kind}">{author}<div class="qa-notice qa-{kind}-notice"{role}>{body}</div></article>'


def browser_messages(clinic: Clinic) -> dict[str, str]:
    """The HTML the page's script shows without the server: while an answer is
    on its way, and when it cannot come (busy, offline, server error)."""
    contact = render.contact_html(clinic, lead="If you need help now, call")
    back = "Your question is back in the box: press Ask to send it again"
    return {
        "pending": status_html(
            "pending",
            '<p class="qa-looking">Looking it up in the clinic\'s guide…</p>'
            '<p class="qa-slow-note">This is taking longer than usual. You can keep waiting; '
            f"if nothing comes, call {render.escape(clinic.name)} on "
            f'<a href="{render.escape(clinic.phone_href)}">{render.escape(clinic.phone)}</a>.</p>',
        ),
        "busy": status_html("failure", f"<p><strong>The assistant is busy right now.</strong> {back} in a few seconds.</p>{contact}"),
        "offline": status_html(
            "failure", f"<p><strong>The connection was lost: check that you are online.</strong> {back}.</p>{contact}"
        ),
        "error": status_html("failure", f"<p><strong>Sorry, something went wrong on our side.</strong> {back}.</p>{contact}"),
        "slow": f"This is taking longer than usual. You can keep waiting, or call {clinic.name} on {clinic.phone}.",
    }


def header_html(clinic: Clinic) -> str:
    """The page's short header: its title and the clinic's phone, one tap away."""
    return (
        '<header class="qa-header"><h1>Hip injection questions</h1>'
        f'<p>{render.escape(clinic.name)}: <a href="{render.escape(clinic.phone_href)}">{render.escape(clinic.phone)}</a></p></header>'
    )


def browser_config(clinic: Clinic, *, max_chars: int) -> dict:
    """What chat.js needs: the limit, the labels and the messages it shows on its own."""
    return {
        "maxChars": max_chars,
        "nearChars": int(max_chars * NEAR_LIMIT),
        "slowMs": SLOW_AFTER_MS,
        "askLabel": ASK_LABEL,
        "tooLongLabel": TOO_LONG_LABEL,
        "wait": "Please wait for the answer to your last question.",
        "blank": "Type your question first.",
        "messages": browser_messages(clinic),
    }


def _js_literal(value: object) -> str:
    # JSON is valid JavaScript; "<", ">" and "&" escaped so the page's config,
    # which Gradio puts in a <script>, can never hold "</script>".
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_js(config: dict) -> str:
    """The page script as a Gradio load-event function, with its settings filled in."""
    return f"() => {{ ({CHAT_JS.strip()})({_js_literal(config)}); ({COPY_AS_TEXT_JS.strip()})(); }}"
