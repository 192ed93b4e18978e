"""The answer a patient sees, as plain data, and how it is worded.

Every word shown as coming from the clinic is a verbatim quote of a passage;
the only other text is the fixed wording here (lead-in, "not covered",
warning and emergency notices, input problems). ``compose`` is pure: it takes
retrieval hits and decisions and returns an ``Answer``. It does not search.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

from .passages import Passage
from .retriever import Hit

LEAD_IN = "Here is what the clinic's hip injection guide says:"
NOT_COVERED = (
    "Sorry, the clinic's hip injection guide does not cover that question. "
    "Please contact the clinic and a member of staff will help you."
)
PART_NOT_COVERED = "The clinic's guide does not cover part of your message, so please ask the clinic about:"
URGENT_NOTICE = (
    "What you describe can be a warning sign after an injection. "
    "The clinic's guide says to contact your doctor immediately:"
)
EMERGENCY_NOTICE = (
    "If you have trouble breathing, chest pain, or swelling of your face, lips or throat, "
    "call emergency services now. Do not wait for a reply here."
)
#: Label of the list item that holds the document's safety guidance.
GUIDANCE_LABEL = "When to Seek Medical Attention"


@dataclass(frozen=True)
class QuotedPassage:
    """A passage as shown in an answer: verbatim text plus where it comes from."""

    id: str
    heading_path: str
    source: str
    start: int
    end: int
    text: str  # verbatim Markdown
    plain_text: str
    score: float

    @classmethod
    def from_passage(cls, passage: Passage, score: float) -> "QuotedPassage":
        return cls(
            id=passage.id,
            heading_path=passage.heading,
            source=passage.source,
            start=passage.start,
            end=passage.end,
            text=passage.text,
            plain_text=passage.plain_text,
            score=round(float(score), 6),
        )


@dataclass(frozen=True)
class Answer:
    question: str
    message: str
    passages: tuple[QuotedPassage, ...] = ()
    best_sentence: str = ""
    confidence: float = 0.0
    abstained: bool = False
    urgent: bool = False
    emergency: bool = False
    related_questions: tuple[str, ...] = ()
    input_error: str | None = None
    reason: str = ""  # why it abstained or flagged, for the content team
    #: Questions of a several-question message that the guide does not cover (the others are answered).
    uncovered_parts: tuple[str, ...] = ()
    debug: dict = field(default_factory=dict, compare=False, repr=False)
    #: Opaque id for feedback on this answer (POST /api/feedback): random, never derived from the question.
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex, compare=False)

    def to_dict(self) -> dict:
        """JSON-ready dict; the website and the eval depend on these key names."""
        data = asdict(self)
        data.pop("debug")
        data["passages"] = [asdict(p) for p in self.passages]
        data["related_questions"] = list(self.related_questions)
        data["uncovered_parts"] = list(self.uncovered_parts)
        return data


def input_problem(question: str, problem: str) -> Answer:
    """An answer that explains why the question could not be used."""
    return Answer(question=question, message=problem, abstained=True, input_error=problem, reason="input_error")


def find_guidance(passages: tuple[Passage, ...]) -> Passage | None:
    """The passage holding the document's "seek medical attention" guidance."""
    label = GUIDANCE_LABEL.casefold()
    return next((p for p in passages if label in p.plain_text.casefold()), None)


def compose(
    *,
    question: str,
    hits: list[Hit],
    k: int,
    abstain: bool,
    reason: str,
    urgent: bool,
    emergency: bool,
    guidance: Passage | None,
    related: tuple[str, ...],
    uncovered_parts: tuple[str, ...] = (),
) -> Answer:
    """The answer for these hits and decisions. ``uncovered_parts``: questions of a
    several-question message the guide does not cover, named after the lead-in
    so no part is dropped silently."""
    quoted = [QuotedPassage.from_passage(h.passage, h.score) for h in hits]
    best_sentence = hits[0].best_sentence if hits else ""
    confidence = max(0.0, min(1.0, hits[0].document_dense)) if hits else 0.0
    if urgent and guidance is not None:
        # The safety guidance leads, whatever retrieval ranked first.
        quoted = [QuotedPassage.from_passage(guidance, 1.0)] + [q for q in quoted if q.id != guidance.id]
        quoted = quoted[: max(k, 1)]
        best_sentence = guidance.plain_text
        message = URGENT_NOTICE
        if emergency:
            message = f"{EMERGENCY_NOTICE} {URGENT_NOTICE}"
        return Answer(
            question=question,
            message=message,
            passages=tuple(quoted),
            best_sentence=best_sentence,
            confidence=confidence,
            urgent=True,
            emergency=emergency,
            related_questions=related,
            reason="urgent",
        )
    if urgent:  # no guidance passage in this corpus: still tell them to act
        message = f"{EMERGENCY_NOTICE if emergency else ''} Please contact your doctor or the clinic immediately.".strip()
        return Answer(question, message, tuple(quoted), best_sentence, confidence, False, True, emergency, related, reason="urgent")
    if abstain:
        return Answer(question, NOT_COVERED, tuple(quoted), "", confidence, True, False, False, related, reason=reason)
    message = LEAD_IN
    if uncovered_parts:
        listed = "; ".join(f"“{part}”" for part in uncovered_parts)
        message = f"{PART_NOT_COVERED} {listed}. {LEAD_IN}"
    return Answer(question, message, tuple(quoted), best_sentence, confidence, False, False, False, related,
                  uncovered_parts=uncovered_parts)
