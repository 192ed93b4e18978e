"""Regression gate: the default configuration must keep its eval/floors.json scores."""

from __future__ import annotations

import json

import pytest

from eval.dataset import load_questions
from eval.runner import run
from eval.scoring import evaluate

from conftest import REPO

FLOORS = json.loads((REPO / "eval" / "floors.json").read_text())


@pytest.fixture(scope="module")
def metrics(assistant):
    questions = load_questions(REPO / "eval" / "sets" / "questions.csv")
    return evaluate(questions, run(assistant, questions, k=10, progress=False)).metrics


@pytest.mark.parametrize("name,floor", sorted(FLOORS["min"].items()))
def test_metric_stays_above_its_floor(metrics, name, floor):
    assert metrics[name] >= floor, f"{name} fell to {metrics[name]:.3f} (floor {floor})"


@pytest.mark.parametrize("name,ceiling", sorted(FLOORS["max"].items()))
def test_error_rate_stays_below_its_ceiling(metrics, name, ceiling):
    assert metrics[name] <= ceiling, f"{name} rose to {metrics[name]:.3f} (ceiling {ceiling})"
