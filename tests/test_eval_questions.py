"""The evaluation set itself: quotes are verbatim corpus text, counts meet the issue's minimums."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import DEFAULT_QUESTIONS, load_questions, question_sets
from eval.matching import fold, strip_markdown

CORPUS = Path(__file__).resolve().parent.parent / "corpus" / "hip_injections.md"
MINIMUMS = {"faq": 5, "paraphrase": 15, "section": 2 * 12, "out_of_scope": 15, "red_flag": 8}
ID_PREFIX = {"faq": "faq-", "paraphrase": "para-", "section": "sec-", "out_of_scope": "oos-", "red_flag": "red-",
             "near_miss": "near-"}

QUESTIONS = load_questions(DEFAULT_QUESTIONS)
# Every other question set in eval/, so a new one is checked the day it is added.
OTHER_SETS = tuple(p.name for p in question_sets()[1:])
HELD_OUT = [q for name in OTHER_SETS for q in load_questions(DEFAULT_QUESTIONS.parent / name)]
CORPUS_TEXT = CORPUS.read_text(encoding="utf-8")
# One entry per heading, paragraph or list item: a quote must sit inside one
# of these, or a chunker could legitimately split it across two passages.
BLOCKS = [fold(line) for line in strip_markdown(CORPUS_TEXT).splitlines() if line.strip()]


FOLDED_CORPUS = fold(strip_markdown(CORPUS_TEXT))


def quote_problems(questions) -> list[str]:
    """Each quote that is not document text, or that spans two blocks, named by its message's id."""
    problems = []
    for question in questions:
        for quote in question.quotes:
            if fold(quote) not in FOLDED_CORPUS:
                problems.append(f"{question.id}: not in corpus: {quote!r}")
            elif not any(fold(quote) in block for block in BLOCKS):
                problems.append(f"{question.id}: spans two blocks: {quote!r}")
    return problems


@pytest.mark.parametrize("name", (DEFAULT_QUESTIONS.name, *OTHER_SETS))
def test_every_quote_is_verbatim_corpus_text_within_one_block(name):
    """One test per set (a set has up to 200 messages): every problem of the set in one report."""
    assert quote_problems(load_questions(DEFAULT_QUESTIONS.parent / name)) == []


def test_a_quote_not_in_the_document_or_across_two_blocks_is_named():
    from eval.dataset import Question

    good = BLOCKS[3]
    rows = [Question(id="x-1", question="q", kind="faq", quotes=(good,)),
            Question(id="x-2", question="q", kind="faq", quotes=("nothing the document says at all",)),
            Question(id="x-3", question="q", kind="faq", quotes=(BLOCKS[1][-12:] + " " + BLOCKS[2][:12],))]
    assert [p.split(":")[0:2] for p in quote_problems(rows)] == [["x-2", " not in corpus"], ["x-3", " spans two blocks"]]


def test_each_kind_meets_its_minimum():
    counts = Counter(q.kind for q in QUESTIONS)
    for kind, minimum in MINIMUMS.items():
        assert counts[kind] >= minimum, f"{kind}: {counts[kind]} rows, need {minimum}"


def test_faq_rows_are_the_documents_faq_questions_word_for_word():
    faq_part = CORPUS_TEXT.split("## Frequently Asked Questions", 1)[1]
    document_faq = re.findall(r"^### (.+?)\s*$", faq_part, flags=re.MULTILINE)
    assert sorted(q.question for q in QUESTIONS if q.kind == "faq") == sorted(document_faq)


def test_paraphrases_cover_each_faq_question_at_least_three_times():
    # Paraphrases share the quotes of the FAQ row they rephrase (possibly with extras).
    faq_rows = [q for q in QUESTIONS if q.kind == "faq"]
    for faq in faq_rows:
        covering = [p for p in QUESTIONS if p.kind == "paraphrase" and set(faq.quotes) <= set(p.quotes)]
        assert len(covering) >= 3, f"{faq.id} has {len(covering)} paraphrases"


def test_ids_carry_their_kind_prefix_and_size_is_reasonable():
    for q in QUESTIONS:
        assert q.id.startswith(ID_PREFIX[q.kind]), q.id
    assert 110 <= len(QUESTIONS) <= 140


def test_held_out_ids_are_unique_across_sets():
    ids = [q.id for q in QUESTIONS + HELD_OUT]
    assert len(ids) == len(set(ids))
