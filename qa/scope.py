"""Decide whether the document answers a question at all (abstention).

A general rule, not a list of questions: the assistant answers when the best
passage is close enough in meaning (dense cosine), and holds back when the
question leans on words the document never uses (costs, parking, knees...)
unless the meaning match is strong, or when it names a body part the document
does not cover. ``decide`` is pure; the thresholds were measured on the eval
set (see README, "Evaluation") and are the only tuned numbers here.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Below this best cosine, nothing in the document is about the question.
MIN_COSINE = 0.35
#: With a word the document never uses, the match must be at least this good.
MIN_COSINE_WITH_UNKNOWN = 0.55
#: The document is about the hip: questions about other body parts are outside it
#: unless they also mention the hip area.
OTHER_BODY_PARTS = frozenset(
    "knee knees shoulder shoulders spine spinal neck ankle ankles elbow elbows wrist wrists hand hands "
    "finger fingers foot feet toe toes eye eyes tooth teeth jaw face facial head heart lung lungs "
    "stomach belly kidney liver".split()
)
HIP_AREA = frozenset("hip hips buttock buttocks butt bum groin thigh thighs leg legs".split())


@dataclass(frozen=True)
class ScopeDecision:
    abstain: bool
    reason: str  # "" when answering; a short machine-readable reason otherwise


def decide(*, best_cosine: float, unknown_words: tuple[str, ...], question_words: list[str], has_content: bool) -> ScopeDecision:
    if not has_content:
        return ScopeDecision(True, "no_content")
    other_parts = OTHER_BODY_PARTS.intersection(question_words)
    if other_parts and not HIP_AREA.intersection(question_words):
        return ScopeDecision(True, "other_body_part")
    if best_cosine < MIN_COSINE:
        return ScopeDecision(True, "low_similarity")
    if unknown_words and best_cosine < MIN_COSINE_WITH_UNKNOWN:
        return ScopeDecision(True, "unknown_words")
    return ScopeDecision(False, "")
