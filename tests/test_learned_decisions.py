"""The learned decisions: the model maths, the thresholds, the policy, and the artifact in the index.

Pure parts use tiny hand-made numbers; the artifact tests use the real model
and the real index built from the labelled sets in eval/sets/.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from qa.decisions.learned import LinearModel, fit_model, pick_threshold
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


@pytest.mark.parametrize("flags,probability,expected", [
    (Triage(urgent=True, emergency=True), 0.0, (True, True)),  # an emergency word is urgent whatever the model says
    (Triage(urgent=True, emergency=False), 0.0, (True, False)),  # a rule hit stays urgent (recall first)
    (Triage(urgent=False, emergency=False), 0.8, (True, False)),  # the model catches what the rules missed
    (Triage(urgent=False, emergency=False), 0.2, (False, False)),
    (Triage(urgent=False, emergency=False), None, (False, False)),  # no model: the rules alone
])
def test_urgency_policy(flags, probability, expected):
    decision = decide_urgency(flags, probability, threshold=0.5)
    assert (decision.urgent, decision.emergency) == expected


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


# ------------------------------------------------------------- the artifact


def test_the_index_holds_the_fitted_models_checksummed_with_their_inputs(built_index_dir):
    from qa.index_store import current_folder

    folder = current_folder(built_index_dir)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert "decisions.json" in manifest["files"]
    recorded = {s["name"] for s in manifest["decision_inputs"]["sets"]}
    assert "questions.csv" in recorded and "train_urgency.csv" in recorded
    assert manifest["decisions"]["messages"] > 1000
    data = json.loads((folder / "decisions.json").read_text())
    assert 0 < data["urgency"]["threshold"] < 1 and 0 < data["coverage"]["threshold"] < 1
    assert len(data["urgency"]["weights"]) == 384 + len(data["urgency"]["cues"])


def test_a_changed_labelled_set_makes_the_index_stale_and_a_load_rebuilds_it(built_index_dir, tmp_path, monkeypatch):
    import shutil

    from qa import Assistant, IndexStale
    from helpers_reliability import CORPUS_DIR, REPO

    TRAINING_DIR = REPO / "eval" / "sets"

    training = tmp_path / "sets"
    shutil.copytree(TRAINING_DIR, training)
    index_dir = tmp_path / "index"
    shutil.copytree(built_index_dir, index_dir, symlinks=True)
    monkeypatch.setenv("QA_TRAINING_DIR", str(training))
    Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")  # same sets: current
    with (training / "questions.csv").open("a", encoding="utf-8") as handle:
        handle.write('extra-1,"my hip is on fire and pouring pus",red_flag,When to Seek Medical Attention\n')
    with pytest.raises(IndexStale, match="decision_inputs"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
    rebuilt = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir)
    assert rebuilt.manifest["decisions"]["messages"] == json.loads(
        (built_index_dir / "current" / "manifest.json").read_text())["decisions"]["messages"] + 1


def test_a_tampered_model_file_is_refused_not_loaded(built_index_dir, tmp_path):
    import shutil

    from qa import Assistant, IndexCorrupt
    from helpers_reliability import CORPUS_DIR

    index_dir = tmp_path / "index"
    shutil.copytree(built_index_dir, index_dir, symlinks=True)
    path = index_dir / "current" / "decisions.json"
    data = json.loads(path.read_text())
    data["urgency"]["threshold"] = 0.999  # a quiet change that would silence warnings
    path.write_text(json.dumps(data))
    with pytest.raises(IndexCorrupt, match="decisions.json"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")


def test_without_labelled_sets_the_rules_decide_alone(tmp_path, monkeypatch):
    from qa import Assistant
    from helpers_reliability import CORPUS_DIR

    monkeypatch.setenv("QA_TRAINING_DIR", str(tmp_path / "no-sets"))
    assistant = Assistant.load(corpus_dir=CORPUS_DIR, index_dir=tmp_path / "index")
    assert assistant.manifest["decisions"] is None
    answer = assistant.ask("I have a fever and pus where they injected")
    assert answer.urgent and "p_urgent" not in answer.debug


def test_learned_models_score_every_answer(assistant):
    answer = assistant.ask("what is a hip injection?")
    assert 0.0 <= answer.debug["p_urgent"] <= 1.0 and 0.0 <= answer.debug["p_covered"] <= 1.0
    assert not answer.urgent and not answer.abstained


def test_models_fitted_for_other_features_are_stale_not_misread(built_index_dir, tmp_path, monkeypatch):
    import shutil

    import qa.assistant
    from qa import Assistant, IndexStale
    from helpers_reliability import CORPUS_DIR

    index_dir = tmp_path / "index"
    shutil.copytree(built_index_dir, index_dir, symlinks=True)
    monkeypatch.setattr(qa.assistant, "COVERAGE_CUES", ("best_cosine", "a_cue_this_index_never_saw"))
    with pytest.raises(IndexStale, match="other features"):
        Assistant.load(corpus_dir=CORPUS_DIR, index_dir=index_dir, rebuild="never")
