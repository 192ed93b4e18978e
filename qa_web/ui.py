"""The Gradio chat: the full page at "/" and the compact embed view at "/embed".

Both are thin. Sending is two steps: a browser-only step shows the question
in the chat at once with a "looking it up" note (and keeps its text for a
retry), then `ChatService.turn` asks the assistant, renders the answer with
`qa_web.render` and offers its related questions as buttons. If that second
step cannot run (busy, offline, server error) the page's script puts a plain
message with the clinic's phone in place of the note and the question back
in the box. The conversation lives only in server memory for the open tab
(never in the browser's storage, never on disk). This module does not start
a server; see `qa_web.server`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import gradio as gr

from . import feedback_api, page_assets, render
from .clinic import CLINIC_FILE, Clinic, load_clinic
from .page_assets import ACCESSIBLE_NAMES_JS, COPY_AS_TEXT_JS, CSS, EMBED_CSS  # noqa: F401  (re-exported)

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
    "This assistant only quotes the clinic's written guide. It is not medical advice and cannot "
    "assess your situation: for advice about your care, contact the clinic. In an emergency, call {emergency}."
)
EMBED_DISCLAIMER = "Quotes the clinic's information only. Not medical advice. In an emergency call {emergency}."
ERROR_MESSAGE = "Sorry, something went wrong while answering. Please try again."


def theme() -> gr.themes.Base:
    """Gradio's default look with system fonts (nothing fetched) and colours that
    pass WCAG AA: white on blue-700 buttons (6.7:1), gray-600 placeholders (7.6:1)."""
    return gr.themes.Default(
        primary_hue=gr.themes.colors.blue,
        font=("system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica Neue", "Arial", "sans-serif"),
        font_mono=("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"),
    ).set(
        button_primary_background_fill="#1d4ed8",
        button_primary_background_fill_hover="#1e40af",
        button_primary_text_color="#ffffff",
        button_primary_border_color="#1d4ed8",
        input_placeholder_color="#4b5563",
        color_accent="#1d4ed8",
    )


@dataclass(frozen=True)
class Conversation:
    """One tab's conversation, kept in server memory: the chat's messages and
    the questions the patient asked, oldest first (for follow-up questions)."""

    messages: tuple[dict, ...] = ()
    questions: tuple[str, ...] = ()


class ChatService:
    """What the UI needs from the assistant: ask, render and find related questions."""

    def __init__(self, assistant, *, max_chars: int, clinic: Clinic | None = None) -> None:
        self.assistant = assistant
        self.max_chars = max_chars
        # Read and checked here, at start-up: a wrong field stops the server with a message naming it.
        self.clinic = clinic if clinic is not None else load_clinic(_clinic_path(assistant))

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

    def ask(self, text: str, previous: tuple[str, ...]) -> dict:
        """The assistant's answer as a dict; `previous` are the patient's earlier questions, oldest first."""
        return self.assistant.ask(text, k=3, history=previous).to_dict()

    def turn(self, question: object, conversation: Conversation | None) -> tuple[Conversation, list[str]]:
        """The conversation with this question and its answer added, and the related questions."""
        conversation = conversation if isinstance(conversation, Conversation) else Conversation()
        text = question if isinstance(question, str) else ""
        shown = text if len(text) <= self.max_chars else text[: self.max_chars] + " …"
        asked = conversation.questions
        answer: dict = {}
        try:
            answer = self.ask(text, conversation.questions)
            reply = render.answer_html(answer, clinic=self.clinic, document_for=self.document)
            related = [q for q in answer.get("related_questions") or () if isinstance(q, str)][:RELATED_SLOTS]
            if not answer.get("input_error"):
                asked = (*asked, text)[-MAX_TURNS:]
        except Exception as exc:  # noqa: BLE001 - the chat must keep working
            logger.error("answering failed: %s", type(exc).__name__)
            failed = {"message": ERROR_MESSAGE, "abstained": True}
            reply, related = render.answer_html(failed, clinic=self.clinic), []
        messages = (
            *conversation.messages,
            {"role": "user", "content": render.user_message_html(shown)},
            # answer_id: kept server-side with the turn (Gradio ignores the key) for the thumbs (feedback_api)
            {"role": "assistant", "content": reply, "answer_id": answer.get("answer_id")},
        )
        return Conversation(messages[-2 * MAX_TURNS :], asked), related


def _clinic_path(assistant) -> Path | None:
    """corpus/clinic.toml beside the documents the assistant answers from."""
    paths = getattr(assistant, "paths", None)
    corpus_dir = getattr(paths, "corpus_dir", None)
    return Path(corpus_dir) / CLINIC_FILE if corpus_dir else None  # None: the repository's corpus/


def build_blocks(service: ChatService, *, compact: bool = False) -> gr.Blocks:
    """The chat page (compact=False) or the embed view (compact=True)."""
    clinic = service.clinic
    examples = EXAMPLES[:2] if compact else EXAMPLES
    disclaimer = (EMBED_DISCLAIMER if compact else DISCLAIMER).format(emergency=clinic.emergency_number)
    feedback = feedback_api.chat_feedback(service.assistant)  # None unless --collect-feedback
    with gr.Blocks(title="Hip injection questions", analytics_enabled=False, fill_width=True) as blocks:
        with gr.Column(elem_id="qa-embed" if compact else "qa-page", elem_classes="qa-shell"):
            if compact:  # the frame's own title, for screen readers' outline only
                gr.HTML('<h1 class="qa-sr">Hip injection questions</h1>', elem_id="qa-embed-title")
            else:
                gr.HTML(page_assets.header_html(clinic), elem_id="qa-header")
            chatbot = gr.Chatbot(
                label="Conversation with the clinic's FAQ assistant",
                show_label=False,
                height="100%",
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
            conversation = gr.State(Conversation(), time_to_live=STATE_TTL_SECONDS)
            # The question on its way: set in the browser when it is sent, read by the server.
            outbox = gr.Textbox(visible=False, elem_id="qa-outbox")
            with gr.Row(equal_height=True, elem_id="qa-ask-row"):
                question = gr.Textbox(
                    label="Your question",
                    html_attributes=gr.InputHTMLAttributes(enterkeyhint="send", autocomplete="off"),
                    placeholder="Type your question",
                    lines=1,
                    max_lines=4,
                    scale=5,
                    min_width=180,
                    elem_id="qa-question",
                )
                ask = gr.Button("Ask", variant="primary", scale=1, min_width=64, elem_id="qa-ask")
            gr.HTML(page_assets.STATUS_HTML, elem_id="qa-status")
            with gr.Column(elem_id="qa-related", visible=False, elem_classes="qa-choices") as related_row:
                gr.HTML('<p class="qa-label">Related questions</p>')
                with gr.Row(elem_classes="qa-buttons"):
                    related = [gr.Button(visible=False, size="sm", elem_classes="qa-related-button") for _ in range(RELATED_SLOTS)]
            with gr.Column(elem_id="qa-examples", elem_classes="qa-choices") as example_row:
                gr.HTML('<p class="qa-label">Example questions</p>')
                with gr.Row(elem_classes="qa-buttons"):
                    example_buttons = [gr.Button(q, size="sm", elem_classes="qa-example-button") for q in examples]
            gr.HTML(f'<p class="qa-disclaimer" role="note">{render.escape(disclaimer)}</p>', elem_id="qa-note")
            if feedback:
                gr.HTML(f'<p class="qa-feedback-notice" role="note">{render.escape(feedback.notice)}</p>')
            if not compact:
                for source in service.sources():
                    document = service.document(source)
                    if document:
                        with gr.Accordion("Read the clinic's whole guide to hip injections", open=False, elem_id="qa-guide"):
                            gr.HTML(f'<div id="qa-document">{render.markdown_to_html(document)}</div>')

        def respond(text, turns):
            turns, related_questions = service.turn(text, turns)
            updates = [gr.update(value=q, visible=True) for q in related_questions]
            updates += [gr.update(visible=False)] * (RELATED_SLOTS - len(updates))
            # Once there are related questions they take the examples' place.
            shown = bool(related_questions)
            return turns, list(turns.messages), gr.update(visible=shown), gr.update(visible=not shown), *updates

        messages = page_assets.browser_config(clinic, max_chars=service.max_chars)
        triggers = [(question.submit, question), (ask.click, question)] + [(b.click, b) for b in (*related, *example_buttons)]
        for listen, text_input in triggers:
            sent = listen(
                None, inputs=[text_input, chatbot], outputs=[outbox, chatbot, question],
                js=page_assets.SEND_JS, show_progress="hidden", api_visibility="private",
            )
            answered = sent.then(
                respond, inputs=[outbox, conversation],
                outputs=[conversation, chatbot, related_row, example_row, *related],
                show_progress="hidden", api_visibility="private", concurrency_id=ANSWER_GROUP,
            )
            answered.success(None, js=page_assets.ANSWERED_JS, api_visibility="private")
            answered.failure(
                None, inputs=[outbox, chatbot, question], outputs=[chatbot, question],
                js=page_assets.FAILED_JS, show_progress="hidden", api_visibility="private",
            )
        if feedback:  # thumbs up/down: the server-side conversation holds each answer's answer_id
            def on_like(turns, data: gr.LikeData):
                feedback.on_like(list(turns.messages) if isinstance(turns, Conversation) else [], data)

            chatbot.like(on_like, inputs=[conversation], api_visibility="private")
        # The chat's own clear button empties the server-side conversation too, and brings the examples back.
        chatbot.clear(
            lambda: (Conversation(), gr.update(visible=False), gr.update(visible=True)),
            outputs=[conversation, related_row, example_row], api_visibility="private",
        )
        # Counter, send guards, failure handling and copy-as-text: browser-side only.
        blocks.load(None, js=page_assets.page_js(messages), api_visibility="private")

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
