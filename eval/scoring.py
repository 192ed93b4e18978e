"""Score assistant outcomes against the gold quotes.

Glue between the data records and the pure metric functions: it matches each
question's passages against its quotes, builds the IR-shaped dicts
(``{qid: kind}``, ``{qid: set of hit ranks}``, ...) and asks ``metrics`` for
the numbers. It neither calls the assistant nor writes anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from eval import metrics
from eval.dataset import Question
from eval.matching import first_hit, hit_ranks
from eval.outcome import Outcome

CURVE_MAX_K = 10


class ScoringError(ValueError):
    """Questions and outcomes do not line up (a programming error upstream)."""


@dataclass(frozen=True)
class Scored:
    """One question, what came back, and the ranks at which gold was found."""

    question: Question
    outcome: Outcome
    ranks: frozenset[int]

    @property
    def first_hit(self) -> int | None:
        return first_hit(self.ranks)


@dataclass(frozen=True)
class Evaluation:
    """Everything a report needs: headline metrics, per kind, curve, rows."""

    metrics: dict
    by_kind: dict[str, dict]
    curve: dict[int, float | None]
    rows: tuple[Scored, ...]


def score_rows(questions: Sequence[Question], outcomes: Iterable[Outcome]) -> tuple[Scored, ...]:
    """Pair each question with its outcome (by id) and find the hit ranks."""
    by_id = {o.qid: o for o in outcomes}
    missing = [q.id for q in questions if q.id not in by_id]
    if missing:
        raise ScoringError(f"no outcome for question(s): {', '.join(missing[:5])}")
    return tuple(
        Scored(
            question=q,
            outcome=by_id[q.id],
            ranks=frozenset(hit_ranks([p.plain_text for p in by_id[q.id].passages], q.quotes)),
        )
        for q in questions
    )


def ir_data(rows: Sequence[Scored]) -> dict:
    """The keyword arguments of ``metrics.compute_metrics`` for these rows."""
    return {
        "kinds": {r.question.id: r.question.kind for r in rows},
        "gold": {r.question.id: r.question.quotes for r in rows},
        "ranks": {r.question.id: set(r.ranks) for r in rows},
        "abstained": {r.question.id: r.outcome.abstained for r in rows},
        "urgent": {r.question.id: r.outcome.urgent for r in rows},
        "latency_ms": {r.question.id: r.outcome.latency_ms for r in rows},
    }


def evaluate(questions: Sequence[Question], outcomes: Iterable[Outcome]) -> Evaluation:
    """Score every question and compute the metrics, overall and by kind."""
    rows = score_rows(questions, outcomes)
    data = ir_data(rows)
    ranked = metrics.ranked_qids(data["kinds"], data["gold"])
    return Evaluation(
        metrics=metrics.compute_metrics(**data),
        by_kind=metrics.metrics_by_kind(**data),
        curve=metrics.hit_curve(data["ranks"], ranked, max_k=CURVE_MAX_K),
        rows=rows,
    )
