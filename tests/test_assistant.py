"""The real assistant (real model, FAISS and BM25): answers, abstentions, urgency."""

from __future__ import annotations

import json
import re

import pytest

from qa import MAX_QUESTION_CHARS
from qa.answer import EMERGENCY_NOTICE, NOT_COVERED, URGENT_NOTICE

from conftest import CORPUS_FILE

KEYS = {"question", "message", "passages", "best_sentence", "confidence", "abstained", "urgent", "emergency",
        "related_questions", "input_error", "reason"}
PASSAGE_KEYS = {"id", "heading_path", "source", "start", "end", "text", "plain_text", "score"}


def test_done_criterion_drive_home(assistant):
    answer = assistant.ask("can I drive home after my hip injection?")
    assert not answer.abstained and not answer.urgent
    assert "have someone drive you home" in answer.passages[0].text


def test_answer_is_verbatim_with_sources(assistant):
    corpus = CORPUS_FILE.read_text(encoding="utf-8")
    answer = assistant.ask("will the shot hurt?", k=3)
    data = answer.to_dict()
    assert set(data) >= KEYS
    assert len(data["passages"]) == 3
    json.dumps(data)  # JSON-ready
    for p in data["passages"]:
        assert set(p) >= PASSAGE_KEYS
        assert corpus[p["start"] : p["end"]] == p["text"]
        assert p["source"] == "hip_injections.md"
    assert answer.best_sentence and answer.best_sentence in answer.passages[0].plain_text
    assert answer.message and 0.0 <= answer.confidence <= 1.0


@pytest.mark.parametrize("question,expected", [
    ("what is a cortisone shot", "Corticosteroid Injections"),
    ("what do gel shots do", "Hyaluronic Acid"),
    ("who does hip injections?", "licensed healthcare professionals"),
    ("what is prolotherapy", "prolotherapy"),
])
def test_lay_questions_find_the_right_passage(assistant, question, expected):
    answer = assistant.ask(question, k=3)
    assert not answer.abstained
    assert any(expected in p.text for p in answer.passages)


@pytest.mark.parametrize("question", [
    "What are your opening hours?", "How much does it cost?", "Do you take my insurance?",
    "can you inject my knee", "hello", "asdfghjkl qwerty", "what's the capital of France",
])
def test_out_of_scope_abstains_plainly(assistant, question):
    answer = assistant.ask(question)
    assert answer.abstained and not answer.urgent
    assert answer.message == NOT_COVERED and "contact the clinic" in answer.message
    assert answer.best_sentence == ""


@pytest.mark.parametrize("question,emergency", [
    ("I have a fever and the injection site is leaking pus", False),
    ("my hip pain is getting worse every day since the shot", False),
    ("I can't feel my leg since the injection", False),
    ("I'm having trouble breathing after my injection", True),
    ("my face is swelling up after the shot", True),
    ("hip shot last week, now running a temp and the area is really red and puffy", False),
    ("I'm struggling to breathe after the shot", True),
    ("my leg keeps giving way since yesterday's injection", False),
    # misspelt on a phone: read as typed and as corrected
    ("i have a feaver since my injection", False),
    ("the pain is geting worse every day since the shot", False),
    ("theres puss coming out of the site", False),
    ("i cant breath properly after the injection", True),
    ("im having chest pains", True),  # a term's plural counts
    ("the wound smells", False),
    ("my hip is much more painful today than yesterday", False),
])
def test_warning_signs_lead_with_seek_medical_attention(assistant, question, emergency):
    answer = assistant.ask(question)
    assert answer.urgent and not answer.abstained
    assert answer.emergency is emergency
    assert "When to Seek Medical Attention" in answer.passages[0].text
    assert answer.message.startswith(EMERGENCY_NOTICE if emergency else URGENT_NOTICE)


@pytest.mark.parametrize("question", ["what are the signs of infection?", "will I be numb afterwards?",
                                      "is bleeding a risk?", "is the relief only temporary?",
                                      "what are the signs of infecton?", "no feaver, can i drive home?",
                                      "is the injection more painful than a blood test?",
                                      "will it be more painful the next day?"])
def test_informational_questions_are_not_urgent(assistant, question):
    answer = assistant.ask(question)
    assert not answer.urgent and not answer.abstained


@pytest.mark.parametrize("raw,problem", [("", "type a question"), ("   \n\t", "type a question"),
                                         ("x" * (MAX_QUESTION_CHARS + 1), "too long"), (None, "as text"),
                                         (42, "as text")])
def test_bad_input_gets_a_clear_message(assistant, raw, problem):
    answer = assistant.ask(raw)
    assert answer.abstained and answer.input_error and problem in answer.input_error
    assert answer.passages == ()


@pytest.mark.parametrize("raw", ["<img src=x onerror=alert(1)>", "![x](http://example.com/t.png)", "😀😀😀",
                                 "¿Duele la inyección en la cadera?", "'; DROP TABLE passages; --", "\x00\x01\x02"])
def test_odd_input_never_raises_and_quotes_only_the_corpus(assistant, raw):
    corpus = CORPUS_FILE.read_text(encoding="utf-8")
    answer = assistant.ask(raw)
    for p in answer.passages:
        assert corpus[p.start : p.end] == p.text
    assert "<img" not in answer.message and "example.com" not in answer.message


def test_k_is_clamped_and_cache_returns_the_same_answer(assistant):
    assert len(assistant.ask("what are the risks?", k=50).passages) == 10
    assert len(assistant.ask("what are the risks?", k=0).passages) == 1
    first = assistant.ask("Will the shot hurt?")
    again = assistant.ask("  will   the SHOT hurt?")
    assert again.passages == first.passages and again.best_sentence == first.best_sentence


def test_related_questions_are_document_questions(assistant):
    corpus = CORPUS_FILE.read_text(encoding="utf-8")
    answer = assistant.ask("will the shot hurt?")
    assert 2 <= len(answer.related_questions) <= 3
    assert all(f"# {q}" in corpus for q in answer.related_questions)


def test_glossary_lay_word_is_searched_as_its_document_terms(assistant):
    """"shot" means injection here; BM25 must not also match the document's "gel shots"."""
    glossary = dict(assistant.glossary.entries)
    assert glossary.get("shot") == "injection"
    query = assistant.retriever.analyse("can a shot give you an infection")
    assert "shot" not in query.tokens
    assert "infect" in query.tokens
    assert "injection" in query.expansions
    # the question's grammar ("can", "you") is no BM25 evidence either
    assert not {"can", "you"} & set(query.tokens)


def test_lay_word_is_searched_itself_only_when_it_is_all_the_question_is_about(assistant):
    """"needle" is lay for the injection ("before the needle goes in"), but in
    "how big is the needle?" the needle itself is what is asked about."""
    assert dict(assistant.glossary.entries).get("needle") == "injection"
    incidental = assistant.retriever.analyse("what do they wipe the skin with before the needle goes in")
    assert "needl" not in incidental.tokens and "skin" in incidental.tokens
    alone = assistant.retriever.analyse("how big is the needle they use")
    assert "needl" in alone.tokens
    top = assistant.ask("how big is the needle they use", k=1).passages[0]
    assert "thin needle" in top.text


def test_glossary_skips_a_lay_word_used_in_a_document_phrase(assistant):
    """"sport(s)" is lay for exercise, except in the document's own "sports medicine"."""
    glossary = dict(assistant.glossary.entries)
    assert "sport" in glossary
    as_phrase = assistant.retriever.analyse("do sports medicine doctors give hip injections")
    assert glossary["sport"] not in as_phrase.expansions
    as_lay_word = assistant.retriever.analyse("when can i go back to sports")
    assert glossary["sport"] in as_lay_word.expansions
    # "gel shot" is the document's phrase for hyaluronic acid: the "shot" entry stays out
    gel = assistant.retriever.analyse("how often can i get a gel shot")
    assert glossary["gel shot"] in gel.expansions and glossary["shot"] not in gel.expansions


def test_scope_does_not_count_phrasing_as_unknown_topics(assistant):
    """Numbers, phone spellings of contractions, calendar words and the clinic's
    own warning-sign words are not topics the document lacks."""
    query = assistant.retriever.analyse("hip swollen 2 days after, cant sleep, booked friday")
    assert not {"swollen", "2", "cant", "friday"} & set(query.unknown_words)
    assert "sleep" in query.unknown_words  # a real word the document never uses still counts
    everyday = assistant.retriever.analyse("how long do they keep you at the clinic, is that normal, i'm worried")
    assert not {"long", "keep", "clinic", "normal", "worried"} & set(everyday.unknown_words)


STORY = ("I'm 71 and my daughter in Leeds worries about my stomach, I've been on naproxen and omeprazole "
         "for three years and the arthritis clinic want to try something else. ")


def test_a_long_story_around_a_question_does_not_make_it_out_of_scope(assistant):
    """Words of the background count as known-or-not only where the patient asks (qa/message.py)."""
    question = "Why is an injection better than carrying on with the tablets?"
    query = assistant.retriever.analyse(STORY + question)
    assert {"leeds", "naproxen", "omeprazole"} <= set(query.unknown_words)
    assert not {"leeds", "naproxen", "omeprazole"} & set(query.asked_unknown_words)
    answer = assistant.ask(STORY + question)
    assert not answer.abstained and not answer.urgent
    assert "oral medications" in answer.passages[0].plain_text.lower()


def test_a_warning_sign_the_patient_denies_does_not_steer_the_answer(assistant):
    """"No fever or anything" is not a question about fever: the answer is about the activity asked about."""
    answer = assistant.ask("No fever or redness or anything, all fine. When can I get back to the gym?")
    assert not answer.abstained and not answer.urgent
    assert "strenuous activity" in answer.passages[0].plain_text
    assert answer.debug["signs"] == ()
    with_fever = assistant.ask("I have a fever and redness. When can I get back to the gym?")
    assert with_fever.urgent  # the same words, not denied, still lead with the warning


def test_two_questions_in_one_message_each_get_their_passage(assistant):
    answer = assistant.ask("Two things - is it a steroid they put in, and will I need someone to take me home?", k=3)
    assert not answer.abstained
    shown = [p.plain_text for p in answer.passages]
    assert "steroid" in shown[0].lower() and "drive you home" in shown[1]


@pytest.mark.xfail(strict=True, reason="known weakness (docs/evaluation.md): learning from 49 sets, the coverage "
                   "model answers it (p_covered 0.64): wordings near answered ones in the story outweigh the asked part")
def test_an_out_of_scope_question_after_a_story_is_still_declined(assistant):
    answer = assistant.ask(STORY + "Will the steroid affect my vaccinations or my flu jab?")
    # The rules' reason is still the unknown words; the learned coverage model agrees and decides.
    assert answer.abstained and answer.debug["rule_scope"] == "unknown_words"
    assert {"vaccinations", "flu"} <= set(answer.debug["asked_unknown_words"])


def test_the_clinics_not_covered_topics_are_declined_wherever_they_are_raised(assistant):
    answer = assistant.ask("I'm 22 weeks pregnant and my hip is killing me. Is it safe for me to have it?")
    assert answer.abstained and answer.reason == "not_covered_topic"
    assert assistant.ask("can the vet give my dog a hip injection").reason == "not_covered_topic"
    cost = assistant.ask("My mum is 79 and the NHS list is long. How much does the injection cost if we pay ourselves?")
    assert cost.abstained and cost.reason == "not_covered_topic"
    # a dog in the story is not the question
    walk = assistant.ask("I walk my dog twice a day. How long should I avoid strenuous activity after the injection?")
    assert not walk.abstained


def test_not_covered_terms_are_absent_from_the_document(assistant):
    """A term the document uses would decline questions it answers."""
    from qa.decisions.not_covered import load_not_covered
    from qa.text import fold

    document = fold(" ".join(p.plain_text for p in assistant.passages))
    terms = load_not_covered(assistant.paths.corpus_dir)
    assert len(terms) >= 10
    for entry in terms:
        assert not re.search(rf"(?<!\w){re.escape(entry.term)}(?!\w)", document), entry.term


def test_searches_run_on_one_thread_per_question(assistant):
    """FAISS's and numpy's defaults (every core) fight the other questions' threads; see
    qa.dense.set_search_threads. numpy's BLAS is a library of its own: every one loaded is held to one."""
    import faiss
    import numpy as np
    from threadpoolctl import threadpool_info

    from qa.encoder.embedder import torch_threads

    assert faiss.omp_get_max_threads() == torch_threads() == 1
    blas = [lib for lib in threadpool_info() if lib["user_api"] == "blas"]
    assert any("numpy" in lib["filepath"] for lib in blas), blas
    assert {lib["num_threads"] for lib in blas} == {1}
    assert np.ones((512, 384), np.float32) @ np.ones(384, np.float32) == pytest.approx(np.full(512, 384.0))
