"""Combine the rules' decisions with the learned models' probabilities.

Rules stay where they are exact: an emergency word ("can't breathe") is always
urgent; a topic the clinic lists as not covered, another body part, or a
message with no content is always declined. Elsewhere the learned model
decides, because it was measured to hold on messages nobody had read
(docs/evaluation.md):

* urgency: urgent when the rules say so or the model's probability reaches its
  threshold (recall first: a missed warning sign is the worst error);
* coverage: declined when the model's probability that the document covers the
  question is under its threshold; the rules' soft reasons (low similarity,
  unknown words) no longer decide alone.

Without a model (no labelled sets), the rules decide as before. Pure functions.
"""

from __future__ import annotations

from dataclasses import dataclass

from .scope import ScopeDecision
from .triage import Triage

#: Scope reasons that are exact facts about the message, not guesses.
EXACT_SCOPE_REASONS = frozenset({"no_content", "not_covered_topic", "other_body_part"})


@dataclass(frozen=True)
class Urgency:
    urgent: bool
    emergency: bool
    reason: str  # "rules", "learned", "rules+learned" or ""


def decide_urgency(flags: Triage, probability: float | None, threshold: float) -> Urgency:
    learned = probability is not None and probability >= threshold
    if flags.emergency:
        return Urgency(True, True, "rules")
    if flags.urgent or learned:
        reason = "rules+learned" if flags.urgent and learned else ("rules" if flags.urgent else "learned")
        return Urgency(True, False, reason)
    return Urgency(False, False, "")


def decide_scope(rule: ScopeDecision, probability: float | None, threshold: float) -> ScopeDecision:
    if probability is None or (rule.abstain and rule.reason in EXACT_SCOPE_REASONS):
        return rule
    if probability < threshold:
        return ScopeDecision(True, "learned_not_covered")
    return ScopeDecision(False, "")
