"""ChatService.turn: what one chat turn keeps and what it asks the assistant.

A recording fake assistant shows what is passed (the patient's earlier
questions, oldest first, in server memory only); the real assistant shows the
server's own message for a question over the limit, which the page normally
stops before sending (test_chat_input.py).
"""

from __future__ import annotations

from qa_web.clinic import Clinic
from qa_web.ui import MAX_TURNS, ChatService, Conversation

CLINIC = Clinic(name="Riverside Hip Clinic", phone="01632 960123", hours="Mon-Fri", website="https://clinic.example", emergency_number="999")


class Answer:
    def __init__(self, data: dict) -> None:
        self.data = data

    def to_dict(self) -> dict:
        return self.data


class RecordingAssistant:
    """Answers every question with one passage and remembers how it was asked."""

    manifest: dict = {}

    def __init__(self, *, fail_on: str = "") -> None:
        self.calls: list[tuple[str, tuple[str, ...]]] = []
        self.fail_on = fail_on

    def ask(self, question, k=3, *, history=()):
        self.calls.append((question, tuple(history)))
        if question == self.fail_on:
            raise RuntimeError("index went away")
        if question == "too long":
            return Answer({"message": "Your question is too long.", "abstained": True, "input_error": "too long"})
        passage = {"text": f"About {question}.", "heading_path": "Part › Topic", "source": "guide.md"}
        return Answer({"message": "Here:", "passages": [passage], "related_questions": ["What next?", 3, "Why?"]})

    def corpus_markdown(self, source):
        raise KeyError(source)


def test_each_question_is_asked_with_the_ones_before_it_oldest_first():
    fake = RecordingAssistant()
    service = ChatService(fake, max_chars=1000, clinic=CLINIC)
    conversation, related = service.turn("what is a steroid injection?", Conversation())
    conversation, _ = service.turn("and how long does it last?", conversation)
    conversation, _ = service.turn("what about the gel one?", conversation)
    assert [history for _, history in fake.calls] == [
        (),
        ("what is a steroid injection?",),
        ("what is a steroid injection?", "and how long does it last?"),
    ]
    # Three turns: a user message and an answer each; related questions are strings only.
    assert [m["role"] for m in conversation.messages] == ["user", "assistant"] * 3
    assert related == ["What next?", "Why?"]


def test_refused_or_failed_questions_are_not_remembered_as_context():
    fake = RecordingAssistant(fail_on="boom")
    service = ChatService(fake, max_chars=1000, clinic=CLINIC)
    conversation, _ = service.turn("too long", Conversation())
    conversation, related = service.turn("boom", conversation)
    assert conversation.questions == () and related == []
    # The failure is still shown, with what to do.
    assert "something went wrong" in conversation.messages[-1]["content"] and "01632 960123" in conversation.messages[-1]["content"]


def test_memory_stays_bounded():
    service = ChatService(RecordingAssistant(), max_chars=1000, clinic=CLINIC)
    conversation = Conversation()
    for n in range(MAX_TURNS + 5):
        conversation, _ = service.turn(f"question {n}", conversation)
    assert len(conversation.messages) == 2 * MAX_TURNS and len(conversation.questions) == MAX_TURNS
    assert conversation.questions[-1] == f"question {MAX_TURNS + 4}"


def test_a_question_over_the_limit_gets_the_servers_message_and_is_shown_marked_as_cut(assistant):
    service = ChatService(assistant, max_chars=1000, clinic=CLINIC)
    story = "My hip has hurt for years. " * 55 + "When can I go back to my normal walks?"  # 27 * 55 + 38 = 1,523 characters
    conversation, _ = service.turn(story, Conversation())
    said, reply = (m["content"] for m in conversation.messages)
    assert "too long (1,523 characters)" in reply and "under 1,000 characters" in reply
    # What is shown of it ends with a visible mark, not a silent cut.
    assert said.endswith(" …</span></article>")
    assert conversation.questions == ()
