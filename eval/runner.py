"""Run questions through the ``qa`` assistant and time each ``ask()`` call.

The only module that talks to ``qa``, and it imports it lazily, so
``import eval`` stays cheap and the pure parts can be tested without a model.
It uses exactly the calls the app uses: ``Assistant.load()``, ``ask()``,
``Answer.to_dict()``, plus ``retrieval_variants()``/``with_settings()`` for
comparisons. It does not score or report.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence

from tqdm import tqdm

from eval.dataset import Question
from eval.outcome import Outcome, outcome_from_dict

WARM_UP_QUESTION = "What is a hip injection?"


class EvalError(RuntimeError):
    """The assistant could not be loaded or misbehaved; the message says why."""


def load_assistant():
    """Load the assistant once (model + index); slow, so callers reuse it."""
    try:
        from qa import Assistant
    except ImportError as exc:
        raise EvalError(
            f"cannot import the qa library ({exc}); run from the repository root "
            "with the project's virtualenv, e.g. `.venv/bin/python -m eval`"
        ) from exc
    try:
        return Assistant.load()
    except Exception as exc:  # qa's own errors carry the actionable message
        raise EvalError(f"could not load the assistant: {exc}") from exc


def retrieval_variants() -> dict:
    """The named retrieval settings ``qa`` offers, in its order."""
    try:
        from qa import retrieval_variants as variants
    except ImportError as exc:
        raise EvalError(f"this qa version offers no retrieval_variants() ({exc})") from exc
    return dict(variants())


def run(
    assistant, questions: Sequence[Question], *, k: int = 10, progress: bool = True, desc: str = "eval"
) -> list[Outcome]:
    """Ask every question once; latency is wall time of ``ask()`` alone.

    One untimed warm-up call comes first so lazy loading inside the assistant
    does not land in the first question's latency.
    """
    _ask(assistant, WARM_UP_QUESTION, k=k, qid="warm-up")
    outcomes = []
    for q in tqdm(questions, desc=desc, file=sys.stderr, disable=not progress, unit="q"):
        started = time.perf_counter()
        answer, as_dict = _ask(assistant, q.question, k=k, qid=q.id)  # to_dict timed too, as the API's answers are
        elapsed_ms = (time.perf_counter() - started) * 1000.0
        outcomes.append(outcome_from_dict(q.id, as_dict, latency_ms=elapsed_ms, debug=getattr(answer, "debug", None)))
    return outcomes


def run_variants(
    assistant, questions: Sequence[Question], *, k: int = 10, progress: bool = True
) -> dict[str, list[Outcome]]:
    """Run the questions under every retrieval variant, sharing one loaded model."""
    return {
        name: run(assistant.with_settings(settings), questions, k=k, progress=progress, desc=name)
        for name, settings in retrieval_variants().items()
    }


def _ask(assistant, question: str, *, k: int, qid: str) -> tuple[object, dict]:
    """The answer and its ``to_dict()``."""
    try:
        answer = assistant.ask(question, k=k)
        return answer, answer.to_dict()
    except Exception as exc:  # ask() promises never to raise; say where it did
        raise EvalError(f"assistant.ask() raised on {qid} ({question!r}): {type(exc).__name__}: {exc}") from exc
