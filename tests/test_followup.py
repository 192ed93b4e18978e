"""Follow-up questions: pure rules for when a message leans on the one before,
and the real assistant reading one in the light of the earlier question."""

from __future__ import annotations

import pytest

from eval.dialogues import load_follow_ups
from qa.decisions.followup import in_context, leans_on_previous, own_words


@pytest.mark.parametrize("message", ["and how long does it last?", "what about the gel one?", "is that painful?",
                                     "and after that?", "then what", "does it happen often?"])
def test_elliptical_messages_lean_on_the_previous_one(message):
    assert leans_on_previous(message)


@pytest.mark.parametrize("message", ["can I drive myself home after a hip injection?",
                                     "what does the steroid injection actually do for bursitis",
                                     "which conditions can a hip injection treat, like bursitis or arthritis"])
def test_self_contained_questions_do_not(message):
    assert not leans_on_previous(message)


def test_context_adds_the_earlier_questions_own_words_after_the_message():
    # "whats" and "for" are grammar, "hip" and "injection" the subject: only "steroid" says what it was about.
    assert own_words("whats a steroid hip injection for") == ["steroid"]
    assert in_context("what about the gel one?", ["whats a steroid hip injection for"]) == "what about the gel one? steroid"


def test_a_chain_of_follow_ups_keeps_the_first_topic():
    history = ["what happens at the cortisone appointment", "and after that?"]
    assert "cortisone" in in_context("then what", history)


@pytest.mark.parametrize("history", [[], ()])
def test_no_history_or_a_self_contained_question_is_searched_as_it_is(history):
    assert in_context("and after that?", history) == "and after that?"
    assert in_context("can I drive home afterwards?", ["what are the risks"]) == "can I drive home afterwards?"


def test_dialogue_set_pairs_each_follow_up_with_the_questions_before_it():
    turns = load_follow_ups()
    assert len(turns) >= 40
    assert all(len(t.history) >= 1 for t in turns)
    second = next(t for t in turns if t.row.id == "d-001#2")
    assert second.history == ("what do the steroid injections for the hip actualy do",)


def test_a_follow_up_alone_is_not_covered_but_is_answered_in_context(assistant):
    follow_up = "which type is used for it"
    history = ["can hip injections help osteoarthritis"]
    assert assistant.ask(follow_up).abstained
    answer = assistant.ask(follow_up, history=history)
    assert not answer.abstained
    assert "Hyaluronic Acid" in answer.passages[0].plain_text


@pytest.mark.parametrize("history", [None, "not a list", [3, None, {"a": 1}], ["x" * 5000]])
def test_malformed_history_is_ignored_never_an_error(assistant, history):
    answer = assistant.ask("does it sting?", history=history)
    assert answer.input_error is None


@pytest.mark.parametrize("follow_up,history", [
    ("and after that?", ["after they numb the skin what happens"]),
    ("and then what?", ["what happens after they numb the skin", "is that painful?"]),
])
def test_a_follow_up_read_in_context_is_as_urgent_as_the_message_itself(assistant, follow_up, history):
    """The context finds the passage; it does not make a follow-up that describes no sign urgent (the
    earlier messages were triaged when they were sent)."""
    answer = assistant.ask(follow_up, history=history)
    assert not answer.abstained and not answer.urgent
    assert answer.urgent == assistant.ask(follow_up).urgent


def test_a_warning_sign_in_a_follow_up_still_leads_with_seek_medical_attention(assistant):
    answer = assistant.ask("and now its hot and leaking yellow stuff, is that normal?",
                           history=["how long does the soreness last after the injection"])
    assert answer.urgent and "When to Seek Medical Attention" in answer.passages[0].text
