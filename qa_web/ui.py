"""The Gradio chat: the full page at "/" and the compact embed view at "/embed".

Both are thin: each turn calls `assistant.ask`, renders the answer with
`qa_web.render` (everything escaped or rendered from the clinic's Markdown)
and offers the answer's related questions as buttons. History lives only in
server memory for the open tab (never in the browser's storage, never on disk).
The `ask` API endpoint returns `Answer.to_dict()` for gradio_client users.
This module does not start a server; see `qa_web.server`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import lru_cache

import gradio as gr

from . import feedback_api, render
from .page_assets import ACCESSIBLE_NAMES_JS, COPY_AS_TEXT_JS, CSS, EMBED_CSS, SCROLL_TO_TURN_JS  # noqa: F401  (re-exported)

logger = logging.getLogger(__name__)

EXAMPLES = (
    "What are the risks of a hip injection?",
    "How long does the pain relief last?",
    "What should I do after the injection?",
    "Is the procedure painful?",
)
RELATED_SLOTS = 3
#: Turns kept per open tab; older ones drop off so memory stays bounded.
MAX_TURNS = 20
STATE_TTL_SECONDS = 3600
ANSWER_GROUP = "answer"

DISCLAIMER = (
    "This assistant only quotes the clinic's written information about hip injections. "
    "It is not medical advice and cannot assess your situation. For advice about your care, "
    "contact the clinic. In an emergency, call your local emergency number."
)
EMBED_DISCLAIMER = "Quotes the clinic's information only. Not medical advice. In an emergency call your local emergency number."
ERROR_MESSAGE = "Sorry, something went wrong while answering. Please try again, or contact the clinic."


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts, so no font is fetched from anywhere."""
    return gr.themes.Default(
        font=("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"),
        font_mono=("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"),
    )


class ChatService:
    """What the UI needs from the assistant: ask, render and find related questions."""

    def __init__(self, assistant, *, max_chars: int) -> None:
        self.assistant = assistant
        self.max_chars = max_chars

    @lru_cache(maxsize=8)
    def document(self, source: str) -> str | None:
        try:
            return self.assistant.corpus_markdown(source)
        except Exception as exc:  # noqa: BLE001 - a missing document only hides the context view
            logger.warning("no document for a passage source: %s", type(exc).__name__)
            return None

    def sources(self) -> list[str]:
        """Corpus file names from the index manifest, in order."""
        corpus = (getattr(self.assistant, "manifest", None) or {}).get("corpus") or ()
        return [c["name"] for c in corpus if isinstance(c, dict) and isinstance(c.get("name"), str)]

    def turn(self, question: object, history: Sequence[dict] | None) -> tuple[list[dict], list[str]]:
        """New history (user + assistant messages appended) and related questions."""
        text = question if isinstance(question, str) else ""
        shown = text if len(text) <= self.max_chars else text[: self.max_chars] + " …"
        answer = {}
        try:
            answer = self.assistant.ask(text, k=3).to_dict()
            reply = render.answer_html(answer, document_for=self.document)
            related = [q for q in answer.get("related_questions") or () if isinstance(q, str)][:RELATED_SLOTS]
        except Exception as exc:  # noqa: BLE001 - the chat must keep working
            logger.error("answering failed: %s", type(exc).__name__)
            reply, related = render.answer_html({"message": ERROR_MESSAGE, "abstained": True}), []
        # answer_id: kept server-side with the turn (Gradio ignores the key) for the thumbs (feedback_api)
        new = [*(history or ()), {"role": "user", "content": render.user_message_html(shown)},
               {"role": "assistant", "content": reply, "answer_id": answer.get("answer_id")}]
        return new[-2 * MAX_TURNS :], related


def build_blocks(service: ChatService, *, compact: bool = False) -> gr.Blocks:
    """The chat page (compact=False) or the embed view (compact=True)."""
    examples = EXAMPLES[:2] if compact else EXAMPLES
    feedback = feedback_api.chat_feedback(service.assistant)  # None unless --collect-feedback
    with gr.Blocks(title="Hip injection questions", analytics_enabled=False, fill_width=compact) as blocks:
        with gr.Column(elem_id="qa-embed" if compact else "qa-page"):
            if not compact:
                gr.HTML("<h1>Hip injection questions</h1><p>Ask a question and read the answer in the clinic's own words.</p>")
            chatbot = gr.Chatbot(
                label="Conversation with the clinic's FAQ assistant",
                show_label=False,
                height=330 if compact else 460,
                render_markdown=False,  # messages are HTML built by qa_web.render
                sanitize_html=True,
                latex_delimiters=[],
                buttons=["copy"],
                autoscroll=False,
                feedback_options=("Like", "Dislike") if feedback else None,
                allow_file_downloads=False,
                placeholder="Ask a question about hip injections, or choose an example below.",
                elem_id="qa-chat",
            )
            history = gr.State([], time_to_live=STATE_TTL_SECONDS)
            with gr.Row(equal_height=True):
                question = gr.Textbox(
                    label="Your question",
                    html_attributes=gr.InputHTMLAttributes(enterkeyhint="send", autocomplete="off"),
                    placeholder="Type your question about hip injections",
                    max_length=service.max_chars,
                    lines=1,
                    max_lines=4,
                    scale=5,
                    min_width=180,
                    elem_id="qa-question",
                )
                ask = gr.Button("Ask", variant="primary", scale=1, min_width=64, elem_id="qa-ask")
            gr.HTML(f'<p class="qa-disclaimer" role="note">{render.escape(EMBED_DISCLAIMER if compact else DISCLAIMER)}</p>')
            if feedback:
                gr.HTML(f'<p class="qa-feedback-notice" role="note">{render.escape(feedback.notice)}</p>')
            related_label = gr.HTML('<h2 class="qa-label">Related questions</h2>', visible=False)
            with gr.Row(elem_classes="qa-buttons", elem_id="qa-related"):
                related = [
                    gr.Button(visible=False, size="sm", elem_classes="qa-related-button") for _ in range(RELATED_SLOTS)
                ]
            if not compact:
                gr.HTML('<h2 class="qa-label">Example questions</h2>')
            with gr.Row(elem_classes="qa-buttons", elem_id="qa-examples") as example_row:
                example_buttons = [gr.Button(q, size="sm", elem_classes="qa-example-button") for q in examples]
            if not compact:
                for source in service.sources():
                    document = service.document(source)
                    if document:
                        with gr.Accordion("Read the clinic's whole document about hip injections", open=False):
                            gr.Markdown(document, sanitize_html=True, header_links=True, latex_delimiters=[], elem_id="qa-document")

        def respond(text, turns):
            turns, related_questions = service.turn(text, turns)
            updates = [gr.update(value=q, visible=True) for q in related_questions]
            updates += [gr.update(visible=False)] * (RELATED_SLOTS - len(updates))
            label = gr.update(visible=bool(related_questions) and not compact)
            # In the embed the related questions take the examples' place.
            examples_shown = gr.update(visible=not (compact and related_questions))
            return turns, turns, "", label, examples_shown, *updates

        outputs = [history, chatbot, question, related_label, example_row, *related]
        common = {"outputs": outputs, "api_visibility": "private", "concurrency_id": ANSWER_GROUP}
        triggers = [(question.submit, question), (ask.click, ask)] + [(b.click, b) for b in (*related, *example_buttons)]
        for listen, source in triggers:
            text_input = question if source is ask else source
            listen(respond, inputs=[text_input, history], **common).then(
                None, js=SCROLL_TO_TURN_JS, api_visibility="private"
            )
        if feedback:  # thumbs up/down: the history holds each answer's answer_id
            def on_like(turns, data: gr.LikeData):
                feedback.on_like(turns, data)

            chatbot.like(on_like, inputs=[history], api_visibility="private")
        # The chat's own clear button empties the server-side history too.
        chatbot.clear(lambda: [], outputs=[history], api_visibility="private")
        # The copy button beside a message copies its text, not its HTML (browser-side only).
        blocks.load(None, js=COPY_AS_TEXT_JS, api_visibility="private")

        def ask_api(question: str, k: int = 3) -> dict:
            """Answer a patient's question; returns Answer.to_dict() (see POST /api/ask)."""
            if not isinstance(question, str):
                raise gr.Error("'question' must be a string.", print_exception=False)
            if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 10:
                raise gr.Error("'k' must be a whole number from 1 to 10.", print_exception=False)
            return service.assistant.ask(question, k=k).to_dict()

        if not compact:
            gr.api(ask_api, api_name="ask", concurrency_id=ANSWER_GROUP)
    return blocks
