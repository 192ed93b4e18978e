"""Plain records of what the assistant returned for one question.

``Outcome`` is the boundary between the runner (which talks to ``qa``) and
everything downstream (scoring, reports), so those never see ``qa`` objects.
``outcome_from_dict`` converts ``Answer.to_dict()``; it is pure and tolerant
of missing keys, because the eval must report on a half-finished assistant
rather than crash on it.

This module does not call the assistant or decide what is a hit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from eval.matching import strip_markdown

HEADING_JOIN = " > "


@dataclass(frozen=True)
class RetrievedPassage:
    """One passage as retrieved, best first; ``plain_text`` is Markdown-free."""

    id: str
    heading: str
    plain_text: str
    score: float | None = None


@dataclass(frozen=True)
class Outcome:
    """The assistant's reply to one question, plus how long ``ask()`` took."""

    qid: str
    passages: tuple[RetrievedPassage, ...]
    abstained: bool
    urgent: bool
    latency_ms: float
    message: str = ""
    decided: str = ""  # how the decisions were reached (``decision_summary``), for whoever reads a miss


def _heading(value: object) -> str:
    if isinstance(value, (list, tuple)):
        return HEADING_JOIN.join(str(part) for part in value)
    return "" if value is None else str(value)


def passage_from_dict(d: Mapping) -> RetrievedPassage:
    """Build a passage record; falls back to stripping ``text`` when
    ``plain_text`` is absent."""
    plain = d.get("plain_text")
    if plain is None:
        plain = strip_markdown(str(d.get("text", "")))
    score = d.get("score")
    return RetrievedPassage(
        id=str(d.get("id", "")),
        heading=_heading(d.get("heading_path")),
        plain_text=str(plain),
        score=float(score) if isinstance(score, (int, float)) else None,
    )


def outcome_from_dict(qid: str, answer: Mapping, *, latency_ms: float, debug: Mapping | None = None) -> Outcome:
    """Convert one ``Answer.to_dict()`` into an ``Outcome``; ``debug``: the answer's ``debug``, if any."""
    return Outcome(
        qid=qid,
        passages=tuple(passage_from_dict(p) for p in answer.get("passages") or ()),
        abstained=bool(answer.get("abstained", False)),
        urgent=bool(answer.get("urgent", False)),
        latency_ms=float(latency_ms),
        message=str(answer.get("message") or ""),
        decided=decision_summary(debug or {}),
    )


def decision_summary(debug: Mapping) -> str:
    """One line from an answer's ``debug``: what decided urgency (the rules and their signs, the
    model, or the model's veto of a rule) and scope, with the models' probabilities (a warning sign's
    own clause read alone: ``p_urgent_clause``, qa.decisions.policy.sign_clauses). The content
    team reads it beside each miss in report.md: a vetoed warning and a model that never saw such
    wording call for different fixes (a labelled row, not a table row)."""
    if "urgency_by" not in debug and "rule_scope" not in debug:
        return ""

    def number(key: str) -> str:
        value = debug.get(key)
        return f"{key} {value:.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else ""

    signs = ", ".join(str(s) for s in debug.get("signs") or ())
    urgency = f"urgency: {debug.get('urgency_by') or 'none'}" + (f" ({signs})" if signs else "")
    scope = f"scope: {debug.get('rule_scope') or 'rules answer'}"
    parts = (urgency, number("p_urgent"), number("p_urgent_clause"), scope, number("p_covered"))
    return "; ".join(part for part in parts if part)
