"""The learned decisions: the model maths, the thresholds, the policy, and the artifact in the index.

Pure parts use tiny hand-made numbers; the artifact tests use the real model
and the real index built from the labelled sets in eval/sets/.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qa.decisions.learned import LinearModel, fit_model, pick_threshold, pick_veto
from qa.decisions.words import Words, fit_words, terms
from qa.decisions.policy import decide_scope, decide_urgency
from qa.decisions.scope import ScopeDecision
from qa.decisions.triage import Triage


def test_probability_is_the_sigmoid_of_weights_dot_vector_and_cues_plus_bias():
    model = LinearModel(np.array([1.0, -2.0, 0.5]), bias=0.25, threshold=0.5, cues=("c",))
    # z = 1*0.5 + (-2)*0.25 + 0.5*2 + 0.25 = 1.25, sigmoid(1.25) = 0.7773
    assert model.probability(np.array([0.5, 0.25]), [2.0]) == pytest.approx(1 / (1 + math.exp(-1.25)))


def test_model_round_trips_through_plain_json_and_refuses_non_numbers():
    model = LinearModel(np.array([0.1, 0.2]), bias=-0.3, threshold=0.4, cues=("a",))
    again = LinearModel.from_json(json.loads(json.dumps(model.to_json())))
    assert np.array_equal(again.weights, model.weights) and again.bias == model.bias and again.cues == ("a",)
    with pytest.raises(ValueError):
        LinearModel.from_json({**model.to_json(), "weights": [0.1, float("nan")]})
    with pytest.raises(ValueError):
        LinearModel.from_json({**model.to_json(), "threshold": 1.5})


def test_threshold_pays_for_a_miss_with_miss_cost_false_alarms():
    probabilities = [0.9, 0.6, 0.3, 0.2]
    labels = [True, True, False, False]
    # Cut at 0.5: nothing wrong. Ties in cost go to the highest cut, so the cut lands just under 0.6.
    cut = pick_threshold(probabilities, labels, miss_cost=10, candidates=(0.1, 0.25, 0.5, 0.7))
    assert cut == 0.5
    # A positive at 0.15 can only be caught by flagging both negatives too: 2 false alarms < 10 for the miss.
    cut = pick_threshold([0.9, 0.15, 0.3, 0.2], labels, miss_cost=10, candidates=(0.1, 0.25, 0.5))
    assert cut == 0.1
    # With a miss worth less than two false alarms, the miss is accepted.
    assert pick_threshold([0.9, 0.15, 0.3, 0.2], labels, miss_cost=1, candidates=(0.1, 0.25, 0.5)) == 0.5


def test_fit_learns_the_direction_that_separates_the_classes():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(60, 4))
    labels = vectors[:, 0] > 0  # the first direction decides
    model = fit_model(vectors, np.zeros((60, 1)), labels, cue_names=("none",))
    assert model.weights[0] > 3 * max(abs(model.weights[1:4]))
    with pytest.raises(ValueError, match="both classes"):
        fit_model(vectors, np.zeros((60, 1)), [True] * 60, cue_names=("none",))


WARNING = Triage(urgent=True, emergency=False, level="warning")
PERSONAL = Triage(urgent=True, emergency=False, level="personal")
VETO = {"warning": 0.3, "personal": 0.45}


@pytest.mark.parametrize("flags,probability,veto,expected,clause", [
    # An emergency word is urgent whatever the model says.
    (Triage(urgent=True, emergency=True, level="emergency"), 0.0, VETO, (True, True), None),
    (WARNING, 0.0, {}, (True, False), None),  # no veto: a rule hit stays urgent
    (WARNING, 0.35, VETO, (True, False), None),  # the model not sure enough to veto a warning
    (PERSONAL, 0.35, VETO, (False, False), None),  # ... but sure enough to veto a personal sign alone
    (WARNING, 0.1, VETO, (False, False), None),  # a rule's warning the model finds very unlikely
    (PERSONAL, 0.5, VETO, (True, False), None),
    (WARNING, None, VETO, (True, False), None),  # no model: the rules alone
    (Triage(urgent=False, emergency=False), 0.8, VETO, (True, False), None),  # the model catches what the rules missed
    (Triage(urgent=False, emergency=False), 0.2, VETO, (False, False), None),
    (Triage(urgent=False, emergency=False), None, {}, (False, False), None),
    # A warning sign's own clause read alone, urgent by the cut, keeps it (policy.READ_ALONE_LEVELS)...
    (WARNING, 0.1, VETO, (True, False), 0.6),  # "I have a fever" beside "can I go to work?"
    (WARNING, 0.1, VETO, (False, False), 0.35),  # a clause above the veto but under the cut: vetoed
    (WARNING, 0.35, VETO, (True, False), 0.05),  # a clause never lowers the message's
    # ...but not a personal sign word's: its clause ("numb for the afternoon") is no better evidence
    (PERSONAL, 0.35, VETO, (False, False), 0.9),
])
def test_urgency_policy(flags, probability, veto, expected, clause):
    decision = decide_urgency(flags, probability, threshold=0.5, veto_below=veto, clause_probability=clause)
    assert (decision.urgent, decision.emergency) == expected
    assert (decision.reason == "learned_veto") == (flags.urgent and not decision.urgent)


def test_veto_sits_at_a_share_of_the_least_likely_real_warning_the_rules_caught_per_level():
    # Rule hits: real warnings at 0.9 and 0.3, real personal ones at 0.8 and 0.6, false alarms at
    # 0.05 and 0.1, an emergency (real) at 0.02; a real one the rules missed at 0.01.
    p = [0.9, 0.3, 0.8, 0.6, 0.05, 0.1, 0.02, 0.01]
    labels = [True, True, True, True, False, False, True, True]
    levels = ["warning", "warning", "personal", "personal", "warning", "personal", "emergency", ""]
    # Half the least real hit of each level: the emergency and the rules' miss do not count.
    assert pick_veto(p, labels, levels=levels, share=0.5) == pytest.approx({"warning": 0.15, "personal": 0.3})
    # A level with no real hit takes the least over the others.
    no_personal = [True, True, False, False, False, False, True, True]
    assert pick_veto(p, no_personal, levels=levels, share=0.5) == pytest.approx({"warning": 0.15, "personal": 0.15})
    # No real warning among the rule hits: nothing to measure a margin from, so no veto.
    none = [False] * 6 + [True, True]
    assert pick_veto(p, none, levels=levels, share=0.5) == {"warning": 0.0, "personal": 0.0}


def test_a_veto_quantile_ignores_one_outlying_real_warning_where_the_least_follows_it():
    """The least probability a real warning got can only fall as sets are added; a low quantile
    of them holds (docs/evaluation.md, "More data needs a sturdier veto")."""
    real = [0.4 + 0.005 * i for i in range(100)]  # 100 real warnings from 0.4 up
    p = [0.01, *real, 0.05, 0.2]  # one real outlier at 0.01, two false alarms
    labels = [True] * 101 + [False, False]
    levels = ["warning"] * len(p)
    assert pick_veto(p, labels, levels=levels, share=0.75, vetoed=("warning",)) == pytest.approx({"warning": 0.0075})
    quantiled = pick_veto(p, labels, levels=levels, share=0.75, vetoed=("warning",), quantile=0.02)
    assert quantiled == pytest.approx({"warning": 0.75 * 0.405})  # the outlier is left below, not followed
    assert pick_veto(p, labels, levels=levels, share=0.75, vetoed=("warning",), quantile=0.0) == pytest.approx(
        {"warning": 0.0075})  # 0 is the least, as shipped
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="quantile"):
            pick_veto(p, labels, levels=levels, share=0.75, quantile=bad)


def test_triage_reports_the_strongest_level_that_made_a_message_urgent():
    from qa.decisions.triage import BUILT_IN_SIGNS, triage

    assert triage("my hip is red and swollen", BUILT_IN_SIGNS).level == "personal"
    assert triage("my hip is red and I have a fever", BUILT_IN_SIGNS).level == "warning"
    assert triage("I have chest pain and a fever", BUILT_IN_SIGNS).level == "emergency"
    assert triage("what are the signs of infection?", BUILT_IN_SIGNS).level == ""
    personal, warning = triage("my hip is red and swollen", BUILT_IN_SIGNS), triage("I have a fever", BUILT_IN_SIGNS)
    assert personal.either(warning).level == warning.either(personal).level == "warning"


def test_word_features_are_scikit_learns_tfidf_redone_in_plain_python():
    from sklearn.feature_extraction.text import TfidfVectorizer

    texts = ["My leg went numb, fine now", "what if I get a fever?", "fever fever and my leg is numb",
             "No fever, when can I drive?", "leg numb since yesterday", "what if it goes red"]
    fitted = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True).fit(texts)
    assert sorted(set(terms(texts[2]))) == sorted(set(fitted.build_analyzer()(texts[2])))
    words = fit_words(texts, weight=2.0, max_share=1.0)
    probe = texts + ["LEG numb numb numb, what IF", "nothing known here", "É fever"]
    assert np.allclose(words.matrix(probe).toarray(), 2.0 * fitted.transform(probe).toarray())
    again = Words.from_json(json.loads(json.dumps(words.to_json())))
    assert np.allclose(again.matrix(probe).toarray(), words.matrix(probe).toarray())
    with pytest.raises(ValueError):
        Words.from_json({**words.to_json(), "idf": words.to_json()["idf"][:-1]})


def test_terms_most_messages_share_are_not_word_features():
    fillers = [f"and {word} today" for word in "abcdefghijklmnopqrstuvwxyz0123456789"]
    texts = fillers + ["I have a fever", "fever again", "a fever and pus", "pus now"]  # "and" in 37 of 40
    vocabulary = fit_words(texts, weight=3.0).vocabulary
    assert "fever" in vocabulary and "pus" in vocabulary and "and" not in vocabulary and "today" not in vocabulary
    assert "and" in fit_words(texts, weight=3.0, max_share=1.0).vocabulary
    # Never fewer messages' worth than a term needs to be learned at all: in 4 messages, 2 may share one.
    assert "pus" in fit_words(texts[-4:], weight=3.0, max_share=0.1).vocabulary


def test_a_model_that_reads_words_gives_scikit_learns_probabilities_and_round_trips(monkeypatch):
    monkeypatch.setattr("qa.decisions.words.MAX_MESSAGE_SHARE", 1.0)  # a handful of words in every message
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(1)
    texts = [f"{'what if' if i % 2 else 'I have'} {w} after the jab" for i, w in
             enumerate(["fever", "pus", "fever", "numbness", "redness", "pus", "fever", "redness"] * 5)]
    labels = [i % 2 == 0 for i in range(len(texts))]  # "I have ..." is urgent, "what if ..." is not
    vectors = rng.normal(size=(len(texts), 3))  # vectors that say nothing: the words must decide
    model = fit_model(vectors, np.zeros((len(texts), 0)), labels, cue_names=(), texts=texts, word_weight=2.0)
    x = np.hstack([vectors, model.words.matrix(texts).toarray()])
    reference = LogisticRegression(C=1.0, class_weight="balanced", solver="liblinear", max_iter=2000).fit(x, labels)
    expected = reference.predict_proba(x)[:, 1]
    got = [model.probability(v, (), t) for v, t in zip(vectors, texts)]
    assert np.allclose(got, expected, atol=1e-6)
    assert all((p >= 0.5) == label for p, label in zip(got, labels))
    again = LinearModel.from_json(json.loads(json.dumps(model.to_json())))
    assert again.probability(vectors[0], (), texts[0]) == pytest.approx(got[0])


@pytest.mark.parametrize("rule,probability,expected", [
    (ScopeDecision(True, "not_covered_topic"), 0.99, (True, "not_covered_topic")),  # the clinic's list is exact
    (ScopeDecision(True, "other_body_part"), 0.99, (True, "other_body_part")),
    (ScopeDecision(True, "low_similarity"), 0.9, (False, "")),  # a soft rule reason no longer decides alone
    (ScopeDecision(False, ""), 0.1, (True, "learned_not_covered")),
    (ScopeDecision(True, "unknown_words"), None, (True, "unknown_words")),  # no model: the rules alone
])
def test_scope_policy(rule, probability, expected):
    decision = decide_scope(rule, probability, threshold=0.5)
    assert (decision.abstain, decision.reason) == expected


@pytest.mark.parametrize("rule,probability,alternate,expected", [
    (ScopeDecision(False, ""), 0.1, 0.95, (False, "")),  # one of the clinic's alternate questions, reworded: answered
    (ScopeDecision(True, "low_similarity"), None, 0.95, (False, "")),  # also with the rules alone
    (ScopeDecision(False, ""), 0.1, 0.80, (True, "learned_not_covered")),  # merely near one: the model decides
    (ScopeDecision(True, "not_covered_topic"), 0.9, 0.99, (True, "not_covered_topic")),  # the clinic's list still wins
])
def test_an_alternate_question_match_answers_unless_the_clinic_lists_the_topic(rule, probability, alternate, expected):
    decision = decide_scope(rule, probability, threshold=0.5, alternate_cosine=alternate)
    assert (decision.abstain, decision.reason) == expected


@pytest.mark.parametrize("alternate,nearest_not_covered,expected", [
    (0.93, 0.96, (True, "learned_not_covered")),  # a labelled uncovered wording is nearer: the model decides
    (0.93, 0.93, (True, "learned_not_covered")),  # as near: still the model
    (0.93, 0.80, (False, "")),  # the alternate is the nearest labelled wording: answered on its word
])
def test_a_nearer_labelled_uncovered_message_outweighs_an_alternate_match(alternate, nearest_not_covered, expected):
    decision = decide_scope(ScopeDecision(False, ""), 0.1, threshold=0.5, alternate_cosine=alternate,
                            nearest_not_covered=nearest_not_covered)
    assert (decision.abstain, decision.reason) == expected


@pytest.mark.parametrize("clinic,nearest_not_covered,rule,expected", [
    (0.93, 0.96, ScopeDecision(False, ""), (False, "")),  # staff gave it a passage: no labelled wording outweighs it
    (0.85, 0.50, ScopeDecision(False, ""), (True, "learned_not_covered")),  # near the clinic's row: the model decides
    (0.99, -1.0, ScopeDecision(True, "not_covered_topic"), (True, "not_covered_topic")),  # the clinic's list still wins
])
def test_the_clinics_own_alternate_question_outweighs_labelled_uncovered_wordings(clinic, nearest_not_covered, rule,
                                                                                   expected):
    decision = decide_scope(rule, 0.1, threshold=0.5, alternate_cosine=max(clinic, 0.5),
                            clinic_alternate_cosine=clinic, nearest_not_covered=nearest_not_covered)
    assert (decision.abstain, decision.reason) == expected


def test_the_clinic_alternate_cosine_reads_only_the_clinics_own_rows(assistant):
    """Over the session index (labelled wordings as alternates, the clinic's file empty), a labelled
    wording asked word for word matches an alternate but no clinic row; told that wording is the
    clinic's, the same retriever reports the same cosine for it."""
    from qa.retriever import Retriever

    whole = assistant.retriever
    wordings = [v.text for v in whole.index.views if v.kind == "question"][:20]
    matched = [(w, q) for w in wordings if (q := whole.search(w)[0]).alternate_cosine >= 0.99]
    assert matched, "a labelled wording asked again finds itself"
    labelled, query = matched[0]
    assert query.clinic_alternate_cosine == -1.0
    clinic = Retriever(whole.index, whole.embedder, whole.glossary, whole.corrector, whole.settings,
                       clinic_questions=frozenset({labelled}))
    assert clinic.search(labelled)[0].clinic_alternate_cosine == pytest.approx(query.alternate_cosine, abs=1e-5)
    assert clinic.search("how long does a hip injection last?")[0].clinic_alternate_cosine < 0.9


@pytest.mark.parametrize("rule,probability,nearest_answered,expected", [
    (ScopeDecision(False, ""), 0.9, 0.30, (True, "far_from_answered")),  # the model would be extrapolating
    (ScopeDecision(False, ""), 0.9, 0.45, (False, "")),  # within what it was fitted on: the model decides
    (ScopeDecision(True, "low_similarity"), None, 0.30, (True, "low_similarity")),  # no model: the rules alone
    (ScopeDecision(True, "other_body_part"), 0.9, 0.30, (True, "other_body_part")),  # exact reasons first
])
def test_a_message_further_from_every_answer_than_any_answered_example_is_declined(rule, probability,
                                                                                  nearest_answered, expected):
    decision = decide_scope(rule, probability, threshold=0.5, nearest_answered=nearest_answered, answered_floor=0.40)
    assert (decision.abstain, decision.reason) == expected


def test_the_answered_floor_sits_under_all_but_the_outlying_answered_training_messages():
    from qa.training import ANSWERED_FLOOR_MARGIN, ANSWERED_FLOOR_QUANTILE, answered_floor

    floor = answered_floor([0.2, 0.55, 0.7, 0.9], [False, True, True, True])
    assert floor == pytest.approx(0.55 - ANSWERED_FLOOR_MARGIN)  # the uncovered 0.2 does not lower it
    assert answered_floor([0.2], [False]) == -1.0  # nothing answered: no floor
    # 1,000 answered messages, one outlying wording far from the rest: the floor ignores it...
    values = [0.3] + [0.6 + 0.0003 * i for i in range(999)]
    floor = answered_floor(values, [True] * len(values))
    assert ANSWERED_FLOOR_QUANTILE == 0.005 and floor + ANSWERED_FLOOR_MARGIN == pytest.approx(sorted(values)[4])
    # ...and stays under all but that quantile of them
    assert sum(v < floor for v in values) <= ANSWERED_FLOOR_QUANTILE * len(values)


def test_the_nearest_labelled_message_is_never_of_its_own_set_or_of_the_held_sets():
    from qa.training import nearest_labelled

    # Four messages in three sets: a (s1) and b (s2) are the same wording; b and d are not covered.
    vectors = np.array([[1, 0, 0], [1, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=np.float64)
    sources = ["s1", "s2", "s1", "s3"]
    not_covered = np.array([False, True, False, True])
    assert nearest_labelled(vectors, sources, not_covered).tolist() == [1.0, 0.0, 0.0, 0.0]
    # with s2 held out, d has no not-covered message of another set left to meet
    assert nearest_labelled(vectors, sources, not_covered, held=frozenset({"s2"})).tolist() == [0.0, 0.0, 0.0, -1.0]


def test_what_is_known_to_be_answered_is_floored_by_the_document_itself():
    """A paragraph added today has no labelled wordings: its best passage stands in for them."""
    from qa.decisions.signals import CUE_SCALE, neighbour_cues

    assert neighbour_cues(0.2, 0.5, best_cosine=0.7) == pytest.approx((CUE_SCALE * 0.7, CUE_SCALE * 0.5))
    assert neighbour_cues(0.9, -1.0, best_cosine=0.7) == pytest.approx((CUE_SCALE * 0.9, -CUE_SCALE))


def test_a_message_beside_a_labelled_out_of_scope_one_reads_it_as_its_nearest_not_covered(assistant):
    """The coverage model's neighbour cues at serving: the same vectors it was fitted against."""
    out_of_scope = _labelled(lambda k: k == "out_of_scope")[0]
    answer = assistant.ask(out_of_scope.question)
    assert answer.debug["nearest_not_covered"] > 0.95 and answer.abstained
    assert answer.debug["nearest_not_covered"] > answer.debug["nearest_covered"]
    assert assistant.ask("what is a hip injection?").debug["nearest_not_covered"] < 0.8


# ------------------------------------------------------------- the artifact


def test_the_models_are_saved_beside_the_index_with_their_inputs_and_a_checksum(built_index_dir):
    data = json.loads((built_index_dir / "decisions.json").read_text())
    payload = data["payload"]
    recorded = {s["name"] for s in payload["inputs"]["sets"]}
    assert "questions.csv" in recorded and "train_urgency.csv" in recorded
    assert payload["inputs"]["index"]["model"] and payload["inputs"]["features"]["coverage"]
    assert payload["messages"] > 1000
    models = payload["models"]
    assert 0 < models["urgency"]["threshold"] < 1 and 0 < models["coverage"]["threshold"] < 1
    words = models["urgency"]["words"]
    assert len(words["terms"]) > 1000 and "what if" in words["terms"] and models["coverage"]["words"] is None
    # The message's vector and its sentences' (Reading.urgency_vector), the cues, the words.
    assert len(models["urgency"]["weights"]) == 2 * 384 + len(models["urgency"]["cues"]) + len(words["terms"])
    # A warning or a personal sign word may be vetoed (qa.training.VETOED_LEVELS), under the urgency cut.
    veto = models["urgency_veto"]
    assert set(veto) == {"warning", "personal"}
    assert all(0 < v <= models["urgency"]["threshold"] for v in veto.values())
    covered, not_covered = models["covered_vectors"]["shape"], models["not_covered_vectors"]["shape"]
    assert covered[0] > 800 and not_covered[0] > 300 and covered[1] == not_covered[1] == 384


def _labelled(kind_filter):
    from qa.training import read_labelled, training_dir

    return [m for m in read_labelled(training_dir()) if kind_filter(m.kind)]


def test_the_index_holds_each_labelled_in_scope_wording_as_an_alternate_question(assistant):
    from qa.alternates import ALTERNATE_KIND
    from qa.training import ALTERNATE_KINDS

    held = {v.text for v in assistant.index.views if v.kind == ALTERNATE_KIND}
    in_scope = _labelled(lambda kind: kind in ALTERNATE_KINDS)
    assert len(in_scope) > 800
    assert sum(m.question.strip() in held for m in in_scope) >= 0.99 * len(in_scope)
    assert not any(m.question.strip() in held for m in _labelled(lambda kind: kind in ("out_of_scope", "red_flag")))
    # Asked again, a labelled wording is (nearly always) its own alternate question: its glossary
    # terms and spelling fixes, added to what is searched, are all that move it.
    from qa.decisions.policy import ALTERNATE_MATCH

    cosines = [assistant.ask(m.question).debug["alternate_cosine"] for m in in_scope[:40]]
    assert sum(c >= ALTERNATE_MATCH for c in cosines) >= 30, cosines


def test_almost_no_labelled_out_of_scope_message_is_answered_on_an_alternate_questions_word(assistant):
    """ALTERNATE_MATCH answers a message as the alternate question it rewords. Each labelled out-of-scope
    message, including the near-topic twins written beside in-scope ones, meets the other sets as a new
    patient's message would (its own set left out): at most one in a thousand is answered on an
    alternate's word. One is (docs/evaluation.md, "Known weaknesses"): "will the injection help hip pain
    from rheumatoid arthritis?" sits 0.916 from "can a hip injection help with arthritis"; keeping the
    alternate's answer from messages that ask a word the document lacks would have cost 371 of the
    1,842 in-scope messages answered this way."""
    from qa.assistant import _training_reader
    from qa.decisions.policy import ALTERNATE_MATCH
    from qa.training import ALTERNATE_KINDS, nearest_labelled

    messages = _labelled(lambda kind: True)
    # Each message's vector as the build read it (the session's build already read them all: no encode).
    read = _training_reader(assistant._loaded, assistant.embedder, assistant.paths)
    vectors = np.array([read(m.question).vector for m in messages], dtype=np.float64)
    sources = [m.source for m in messages]
    alternate = nearest_labelled(vectors, sources, np.array([m.kind in ALTERNATE_KINDS for m in messages]))
    not_covered = nearest_labelled(vectors, sources, np.array([m.kind == "out_of_scope" for m in messages]))
    out_of_scope = [i for i, m in enumerate(messages) if m.kind == "out_of_scope"]
    assert len(out_of_scope) > 300
    # The guard matters: some twins are that near an answered wording ("recovery after a hip replacement").
    assert max(alternate[out_of_scope]) >= ALTERNATE_MATCH - 0.05
    answered = [messages[i].id for i in out_of_scope
                if not decide_scope(ScopeDecision(False, ""), 0.0, threshold=0.5, alternate_cosine=alternate[i],
                                    nearest_not_covered=not_covered[i]).abstain]
    assert len(answered) <= len(out_of_scope) // 1000, answered


def test_the_urgency_model_reads_the_vector_of_each_sentence_beside_the_messages(assistant):
    """``Reading.urgency_vector``: the message's vector, then the elementwise largest of its sentences'
    vectors, encoded in the question's own encoder call; one sentence stands for itself, and a question
    read only for its passage (one part of a many-part message) encodes none."""
    from qa.assistant import _read
    from qa.decisions.message import sentences

    loaded = assistant._loaded
    message = "Had my hip done on Friday. The drive home was fine. Tonight the spot is red and hot."
    reading = _read(loaded, message, searched=message, k=3)
    assert reading.query.extra_vectors.shape == (3, 384)
    expected = assistant.embedder.encode(list(sentences(message))).max(axis=0)
    vector, pooled = reading.urgency_vector[:384], reading.urgency_vector[384:]
    assert np.array_equal(vector, reading.vector)
    assert np.allclose(pooled, expected, atol=1e-4) and not np.allclose(pooled, vector, atol=1e-2)
    one = "is the spot meant to be red and hot tonight?"
    alone = _read(loaded, one, searched=one, k=3)
    assert np.array_equal(alone.urgency_vector[:384], alone.urgency_vector[384:])
    part = _read(loaded, message, searched=message, k=3, for_urgency=False)
    assert len(part.query.extra_vectors) == 0 and np.allclose(part.vector, reading.vector, atol=1e-5)


@pytest.mark.parametrize("message", [
    "We went to the cinema after my shot. Now my lips feel fat and I've got itchy lumps on my neck. "
    "Should I take my usual tablets tonight?",
    "My daughter drove me home after the injection yesterday and I had a lovely sleep. This morning the pain "
    "has been climbing all day and the tablets aren't touching it. What time does the clinic open tomorrow?",
    "Got my hip done on Thursday and the drive back was fine. My husband has been making all the meals bless him. "
    "Since last night the spot has gone up into a hot angry lump. Is it ok to have a bath?",
])
def test_a_warning_sign_told_in_one_sentence_of_a_story_leads_with_seek_medical_attention(assistant, message):
    answer = assistant.ask(message)
    assert answer.urgent and "When to Seek Medical Attention" in answer.passages[0].text


def test_the_veto_drops_rule_warnings_on_labelled_near_misses_and_never_on_a_labelled_red_flag(assistant):
    """Every labelled message decided as a patient's would be, from the session build's readings
    (no encode): the veto is at work on messages that are not warning signs, never on one that is."""
    from qa.assistant import _decide, _training_reader

    read = _training_reader(assistant._loaded, assistant.embedder, assistant.paths)
    decisions = assistant._loaded.decisions
    outcomes = [(m, _decide(decisions, read(m.question))[0]) for m in _labelled(lambda kind: True)]
    vetoed = [m for m, urgency in outcomes if urgency.reason == "learned_veto"]
    assert vetoed and not any(m.kind == "red_flag" for m in vetoed)
    assert all(urgency.urgent for m, urgency in outcomes if m.kind == "red_flag")


#: A warning sign told now, then an everyday question that reads as nothing urgent on its own.
PRESENT_WARNINGS = ("I have a fever", "got a fever", "there's pus coming out of the site", "the pain is getting worse",
                    "I've got a temperature of 38.6", "severe pain in my hip since yesterday")
EVERYDAY_QUESTIONS = ("when can I get back to the gym?", "is it ok to go swimming", "can I go to work tomorrow?",
                      "can I drive?", "when can I play golf again")


@pytest.mark.parametrize("joint", [", ", ". "])
def test_a_warning_sign_told_now_is_urgent_whatever_is_asked_beside_it(assistant, joint):
    """The model reads mostly the question ("can I go to work tomorrow?": p 0.04 with a fever before
    it), so a veto of the rules' ``warning`` level read on the message alone dropped many like these;
    the sign's own clause, read alone, keeps them (qa.decisions.policy.READ_ALONE_LEVELS)."""
    messages = [f"{sign}{joint}{question[0].upper() + question[1:] if joint == '. ' else question}"
                for sign in PRESENT_WARNINGS for question in EVERYDAY_QUESTIONS]
    answers = {m: assistant.ask(m) for m in messages}
    assert [m for m, a in answers.items() if not a.urgent] == []
    # ...and the clause is what kept some: the message alone is under the warning's veto.
    veto = assistant._loaded.decisions.urgency_veto["warning"]
    cut = assistant._loaded.decisions.urgency.threshold
    kept_by_clause = [m for m, a in answers.items()
                      if a.debug["p_urgent"] < veto and a.debug.get("p_urgent_clause", 0.0) >= cut]
    assert kept_by_clause, "no message of the grid needs its clause: the test no longer exercises it"


def test_a_set_left_out_of_training_is_not_an_alternate_question_either(assistant):
    from qa.alternates import ALTERNATE_KIND
    from qa.training import read_labelled, training_dir

    messages = read_labelled(training_dir())
    held_out = [m for m in messages if m.source == "holdout8"]
    trained = assistant.trained_on([m for m in messages if m.source in ("questions", "holdout")])  # two sets: quick
    held = {v.text for v in trained.index.views if v.kind == ALTERNATE_KIND}
    assert held and not any(m.question.strip() in held for m in held_out)
    assert trained.ask(held_out[0].question).debug["alternate_cosine"] < 0.99
    rules_only = assistant.trained_on([])
    assert not any(v.kind == ALTERNATE_KIND for v in rules_only.index.views)


def _copy(built_index_dir, tmp_path):
    import shutil

    index_dir = tmp_path / "index"
    shutil.copytree(built_index_dir, index_dir, symlinks=True)
    return index_dir


def test_a_changed_labelled_set_makes_the_models_stale_and_a_load_refits_them(few_labelled_index, few_labelled,
                                                                               tmp_path, monkeypatch):
    """On conftest's `few_labelled` sets and the index fitted on them, so the refit is a small one."""
    import shutil

    from qa import Assistant
    from helpers_reliability import CORPUS_DIR

    training = tmp_path / "sets"
    shutil.copytree(few_labelled, training)
    index_dir = _copy(few_labelled_index, tmp_path)
    monkeypatch.setenv("QA_TRAINING_DIR", str(training))
    current = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")  # same sets: current
    assert "p_urgent" in current.ask("what is a hip injection?").debug
    with sorted(training.glob("*.csv"))[0].open("a", encoding="utf-8") as handle:
        handle.write('extra-1,"my hip is on fire and pouring pus",red_flag,When to Seek Medical Attention\n')
    # never: the stale models are not used; the rules decide alone until `python -m qa build`
    stale = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
    assert "p_urgent" not in stale.ask("what is a hip injection?").debug
    Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir)  # auto: refits and saves
    before = json.loads((few_labelled_index / "decisions.json").read_text())["payload"]["messages"]
    assert json.loads((index_dir / "decisions.json").read_text())["payload"]["messages"] == before + 1


def test_a_veto_above_the_urgency_cut_or_for_an_emergency_is_refused():
    from qa.training import Decisions

    model = LinearModel(np.zeros(2), bias=0.0, threshold=0.4, cues=())
    good = Decisions(model, model, np.ones((1, 2), np.float32), np.ones((1, 2), np.float32), -1.0,
                     {"personal": 0.3, "warning": 0.2}).to_json()
    read_back = Decisions.from_json(json.loads(json.dumps(good)))
    assert read_back.urgency_veto == pytest.approx({"personal": 0.3, "warning": 0.2})
    for veto in ({"personal": 0.5}, {"warning": 0.41}, {"emergency": 0.1}, {"personal": -0.1}, {"other": 0.1}):
        with pytest.raises(ValueError, match="urgency_veto"):
            Decisions.from_json({**good, "urgency_veto": veto})


def test_labelled_vectors_round_trip_as_float32_bytes_and_malformed_ones_are_refused():
    from qa.training import Decisions

    model = LinearModel(np.zeros(2), bias=0.0, threshold=0.4, cues=())
    covered = np.random.default_rng(0).standard_normal((5, 3)).astype(np.float32)
    good = Decisions(model, model, covered, np.zeros((0, 0), np.float32), -1.0, {}).to_json()
    read_back = Decisions.from_json(json.loads(json.dumps(good)))
    # the values a JSON file of numbers rounded to 5 decimals held before: what the decisions were fitted with
    assert np.array_equal(read_back.covered_vectors, np.round(covered.astype(np.float64), 5).astype(np.float32))
    assert read_back.not_covered_vectors.shape == (0, 0)
    assert len(json.dumps(good)) < 5 * covered.size + 400  # bytes, not a list of numbers
    vectors = good["covered_vectors"]
    for bad in ({**vectors, "shape": [5, 4]}, {**vectors, "shape": [15]}, {**vectors, "float32_base64": "%%%"},
                {"shape": [1, 1], "float32_base64": "AADAfw=="}):  # the last: one NaN
        with pytest.raises(ValueError):
            Decisions.from_json({**good, "covered_vectors": bad})


def test_a_tampered_model_file_is_refused_not_loaded(built_index_dir, tmp_path):
    from qa import Assistant, IndexCorrupt
    from helpers_reliability import CORPUS_DIR

    index_dir = _copy(built_index_dir, tmp_path)
    path = index_dir / "decisions.json"
    data = json.loads(path.read_text())
    data["payload"]["models"]["urgency"]["threshold"] = 0.999  # a quiet change that would silence warnings
    path.write_text(json.dumps(data))
    with pytest.raises(IndexCorrupt, match="checksum"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")


def test_without_labelled_sets_the_rules_decide_alone(tmp_path, monkeypatch):
    from qa import Assistant
    from helpers_reliability import CORPUS_DIR

    monkeypatch.setenv("QA_TRAINING_DIR", str(tmp_path / "no-sets"))
    assistant = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=tmp_path / "index")
    assert json.loads((tmp_path / "index" / "decisions.json").read_text())["payload"]["models"] is None
    answer = assistant.ask("I have a fever and pus where they injected")
    assert answer.urgent and "p_urgent" not in answer.debug


def test_learned_models_score_every_answer(assistant):
    answer = assistant.ask("what is a hip injection?")
    assert 0.0 <= answer.debug["p_urgent"] <= 1.0 and 0.0 <= answer.debug["p_covered"] <= 1.0
    assert not answer.urgent and not answer.abstained


def test_models_fitted_for_other_features_are_stale_not_misread(built_index_dir, tmp_path, monkeypatch):
    import qa.training
    from qa import Assistant, IndexStale
    from helpers_reliability import CORPUS_DIR

    index_dir = _copy(built_index_dir, tmp_path)
    monkeypatch.setattr(qa.training, "COVERAGE_CUES", ("best_cosine", "a_cue_this_index_never_saw"))
    with pytest.raises(IndexStale, match="other inputs"):
        qa.training.load_decisions(index_dir / "decisions.json", inputs=_inputs_for(index_dir))
    assert "p_urgent" not in Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never").ask(
        "what is a hip injection?").debug


def _inputs_for(index_dir):
    from qa.assistant import _decision_inputs
    from qa.config import resolve_paths
    from qa.index_store import load_index
    from helpers_reliability import CORPUS_DIR

    return _decision_inputs(load_index(index_dir), resolve_paths(corpus_dir=CORPUS_DIR, index_dir=index_dir))


def test_a_serving_assistant_picks_up_refitted_models(built_index_dir, tmp_path):
    import os

    from qa import Assistant
    from helpers_reliability import CORPUS_DIR

    index_dir = _copy(built_index_dir, tmp_path)
    serving = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
    path = index_dir / "decisions.json"
    data = json.loads(path.read_text())
    data["payload"]["models"] = None  # a refit with no labelled sets, as save_decisions writes it
    from qa.training import save_decisions

    save_decisions(path, None, inputs=data["payload"]["inputs"], messages=0)
    os.utime(path, ns=(1, 1))  # a different stamp even on a coarse clock
    assert serving.refresh()
    assert "p_urgent" not in serving.ask("what is a hip injection?").debug


def test_the_alternate_cosine_is_the_same_from_one_whole_index_search_as_from_a_product(assistant, monkeypatch):
    """A small index is searched whole with the question's search vector and its own vector at once;
    a large one compares the own vector with every alternate question separately. Both give the
    same best cosine, for questions with and without a topic-focused form."""
    import qa.retriever
    from qa.retriever import Retriever

    whole = assistant.retriever
    monkeypatch.setattr(qa.retriever, "SEARCH_ALL_UP_TO", 100)  # as if the index were large
    partial = Retriever(whole.index, whole.embedder, whole.glossary, whole.corrector, whole.settings)
    questions = ["how long does a hip injection last?", "steroid or gel?", "can I drive home after the jab"]
    assert {bool(whole.analyse(q).focused) for q in questions} == {True, False}
    for question in questions:
        searched, by_product = whole.search(question)[0], partial.search(question)[0]
        assert searched.alternate_cosine > 0.5
        assert searched.alternate_cosine == pytest.approx(by_product.alternate_cosine, abs=1e-5)


def test_the_nearest_labelled_messages_of_each_kind_are_read_in_one_product():
    from qa.training import Decisions

    model = LinearModel(np.zeros(2), bias=0.0, threshold=0.4, cues=())
    covered = np.array([[1.0, 0.0], [0.6, 0.8]], np.float32)
    not_covered = np.array([[0.0, 1.0]], np.float32)
    decisions = Decisions(model, model, covered, not_covered)
    assert decisions.nearest(np.array([0.8, 0.6])) == pytest.approx((0.96, 0.6))
    assert Decisions(model, model, covered, np.zeros((0, 0), np.float32)).nearest(np.array([0.0, 1.0])) == \
        pytest.approx((0.8, -1.0))
    assert Decisions(model, model, np.zeros((0, 0), np.float32), np.zeros((0, 0), np.float32)).nearest(
        np.array([0.0, 1.0])) == (-1.0, -1.0)
