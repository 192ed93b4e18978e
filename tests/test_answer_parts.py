"""A message with several questions answers each covered one and names the others;
related questions follow the passage shown (real model and index)."""

from __future__ import annotations

from qa.answer import PART_NOT_COVERED


def test_a_two_part_message_answers_the_covered_part_and_names_the_other(assistant):
    answer = assistant.ask("will it hurt and how much does it cost?")
    assert not answer.abstained
    assert answer.uncovered_parts == ("how much does it cost?",)
    assert answer.message.startswith(PART_NOT_COVERED) and "how much does it cost?" in answer.message
    assert "stinging or burning sensation" in " ".join(p.plain_text for p in answer.passages)
    assert answer.to_dict()["uncovered_parts"] == ["how much does it cost?"]


def test_when_no_part_is_covered_the_whole_message_is_declined(assistant):
    answer = assistant.ask("how much does it cost and is there parking?")
    assert answer.abstained and answer.uncovered_parts == ()


def test_a_single_question_names_no_parts(assistant):
    answer = assistant.ask("can I drive home after my hip injection?")
    assert answer.uncovered_parts == () and not answer.message.startswith(PART_NOT_COVERED)


def test_related_questions_follow_the_answer_not_a_fixed_list(assistant):
    # Questions answered in different sections get different suggestions, each a heading of the document.
    asked = ["who does the injection", "can I drive home afterwards", "what are the risks", "will the shot hurt?"]
    suggestions = {tuple(assistant.ask(q).related_questions) for q in asked}
    assert len(suggestions) >= 3


#: Two sections answer "who does the injection", each followed in the document by its own next one.
NEXT_SECTION = {"Who Performs a Hip Injection?": "The Procedure: A Step-by-Step Overview",
                "Who is qualified to perform a hip injection?": "Is imaging guidance used during a hip injection?"}


def test_related_questions_start_with_the_next_section(assistant):
    answer = assistant.ask("who does the injection")
    first = answer.passages[0].heading_path.split(" › ")[-1]
    assert first in NEXT_SECTION
    assert answer.related_questions[0].startswith(NEXT_SECTION[first])
