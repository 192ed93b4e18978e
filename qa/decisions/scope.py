"""Decide whether the document answers a question at all (abstention).

A general rule, not a list of questions: the assistant answers when the best
passage is close enough in meaning (dense cosine), and holds back when the
question leans on words the document never uses (costs, parking, knees...)
unless the meaning match is strong, or when it names a body part the document
does not cover. ``decide`` is pure; the thresholds were measured on the eval
set (see README, "Evaluation") and are the only tuned numbers here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Below this best cosine, nothing in the document is about the question.
MIN_COSINE = 0.35
#: Each topic word the document never uses ("insurance", "parking") raises the
#: cosine needed to answer by this much: the more of the question the document
#: cannot speak to, the stronger the match must be.
UNKNOWN_WORD_PENALTY = 0.1
#: The document is about the hip: questions about other body parts are outside it
#: unless they also mention the hip area. Not listed: parts mostly met in idioms
#: ("keep an eye out", "on the other hand", "back on my feet").
OTHER_BODY_PARTS = frozenset(
    "knee knees shoulder shoulders spine spinal neck ankle ankles elbow elbows wrist wrists "
    "finger fingers foot toe toes tooth teeth jaw kidney liver".split()
)
OTHER_BODY_PHRASES = ("lower back", "upper back", "back pain")
HIP_AREA = frozenset("hip hips buttock buttocks butt bum groin thigh thighs leg legs".split())


def _names_other_part(words: list[str]) -> bool:
    joined = " ".join(words)
    return bool(OTHER_BODY_PARTS.intersection(words)) or any(p in joined for p in OTHER_BODY_PHRASES)


_PARTS = "|".join(sorted(OTHER_BODY_PARTS | set(OTHER_BODY_PHRASES), key=len, reverse=True))
#: Another body part as the place of an injection ("in my shoulder", "my knee
#: injected", "shoulder injections"): asked about beside the hip, it is still a
#: question about that other joint, which the document does not cover.
_OTHER_PART_INJECTED = re.compile(
    rf"\b(injections?|injected|inject|jabs?|shots?|done)( \w+){{0,2}} (in|into|on) (my|the|your|her|his|their|both) "
    rf"((left|right|other|bad) )?({_PARTS})\b"
    rf"|\b({_PARTS}) (injections?|jabs?|shots?|injected|done)\b"
)


def injects_other_part(words: list[str]) -> bool:
    """Does this (asking part of a) message ask for an injection somewhere other than the hip?"""
    return bool(_OTHER_PART_INJECTED.search(" ".join(words)))


@dataclass(frozen=True)
class ScopeDecision:
    abstain: bool
    reason: str  # "" when answering; a short machine-readable reason otherwise


def decide(
    *,
    best_cosine: float,
    unknown_words: tuple[str, ...],
    question_words: list[str],
    has_content: bool,
    asked_words: list[str] | None = None,
    rare_term_match: bool = False,
    not_covered_topic: str = "",
) -> ScopeDecision:
    """Answer or abstain. ``asked_words``: the words of the part of the message
    that asks (``qa.decisions.message``; all of ``question_words`` when not given). ``rare_term_match``: the top passage shares a rare
    document term with the question ("prolotherapy"), which the small model may
    not know but which settles that the document covers it. ``not_covered_topic``:
    the message raises a topic the clinic lists as not covered (``not_covered.py``)."""
    if not has_content:
        return ScopeDecision(True, "no_content")
    if not_covered_topic:
        return ScopeDecision(True, "not_covered_topic")
    asked = question_words if asked_words is None else asked_words
    if _names_other_part(asked) and (not HIP_AREA.intersection(asked) or injects_other_part(asked)):
        # "do you do knees too? mine is as bad as my hip": the hip is in the story, the knee is asked about;
        # "can I get my knee injected at the same visit as my hip?": both asked, the knee is the new question
        return ScopeDecision(True, "other_body_part")
    if _names_other_part(question_words) and not HIP_AREA.intersection(question_words):
        return ScopeDecision(True, "other_body_part")
    if rare_term_match and not unknown_words:
        return ScopeDecision(False, "")
    if best_cosine < MIN_COSINE:
        return ScopeDecision(True, "low_similarity")
    if best_cosine < MIN_COSINE + UNKNOWN_WORD_PENALTY * len(set(unknown_words)):
        return ScopeDecision(True, "unknown_words")
    return ScopeDecision(False, "")
