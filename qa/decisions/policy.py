"""Combine the rules' decisions with the learned models' probabilities.

Rules stay where they are exact: an emergency word ("can't breathe") is always
urgent; a topic the clinic lists as not covered, another body part, or a
message with no content is always declined. Elsewhere the learned model
decides, because it was measured to hold on messages nobody had read
(docs/evaluation.md):

* urgency: urgent when the rules say so or the model's probability reaches its
  threshold (recall first: a missed warning sign is the worst error); a rule's
  warning (never an emergency) is dropped when the model, which reads the
  message's words as well as its vector, finds it very unlikely (``veto_below``:
  per level, a share of the least probability a real warning of that level got
  from a model that had not seen it, ``qa.decisions.learned.pick_veto``): "numb
  for an hour, fine now", "what if I get a fever after it?". A ``warning`` sign
  (``READ_ALONE_LEVELS``) is never dropped when the clause it was told in, read on
  its own, is urgent by the model's own cut: "I have a fever, can I go to work
  tomorrow?" is mostly an everyday question to the model (p 0.04-0.16), but "i have
  a fever" is not, so it is never dropped for the question beside it;
* coverage: answered when the message is an alternate question in other
  words (``ALTERNATE_MATCH``): always for a row of the clinic's own file (staff
  assigned it a passage), and for a labelled set's wording when no labelled
  message the document does not answer is as close; declined when it is further from
  everything known to be answered than all but 1 in 200 answered training
  messages were (``answered_floor``: the model would be extrapolating); otherwise declined
  when the model's probability that the document covers the question is under
  its threshold. The rules' soft reasons (low similarity, unknown words) no
  longer decide alone.

Without a model (no labelled sets), the rules decide as before. Pure functions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from ..text import words
from .scope import ScopeDecision
from .triage import Triage

#: Scope reasons that are exact facts about the message, not guesses.
EXACT_SCOPE_REASONS = frozenset({"no_content", "not_covered_topic", "other_body_part"})
#: A message this close (cosine of its own vector) to one of the clinic's alternate
#: questions is that question reworded: the clinic has said the document answers it.
#: Measured over the labelled sets, each message against the other sets' alternate
#: questions: a few of the 472 out-of-scope messages came this near (at most 0.935: a
#: hip replacement's recovery against a hip injection's), and each had a labelled
#: uncovered wording at least as near, which ``decide_scope`` lets outweigh the match.
#: ``tests/test_learned_decisions.py`` checks that no labelled out-of-scope message is
#: answered on an alternate's word.
ALTERNATE_MATCH = 0.90


#: The levels of a rule's warning whose sign's own clause the urgency model reads alone
#: (``sign_clauses``): a clause urgent by the model's cut keeps the warning from the veto. Eight folds
#: of the 47 labelled sets (``python -m eval --urgency-folds``), missed red flags of 1,893 and false
#: alarms of 5,910: a veto of ``warning`` signs on the message alone, 1 and 136, but it dropped 17 of
#: a grid of 100 signs told now beside an everyday question; no veto of them, 1 and 241, and 2 of the
#: grid (a ``personal`` "my leg feels weak"); the clause read alone, 1 and 162, and the same 2 (the
#: clause counting when it reaches the veto's cut instead of the model's: 1 and 169). Reading
#: ``personal`` clauses too kept those 2 at 269 false alarms: a ``personal`` word's clause ("numb for
#: the afternoon") is no better evidence than its message.
READ_ALONE_LEVELS = ("warning",)


def sign_clauses(flags: Triage, message: str) -> tuple[str, ...]:
    """The clauses the urgency model reads on their own (``READ_ALONE_LEVELS``): those the rules'
    signs were told in (``Triage.clauses``), when they are not the whole message already."""
    if flags.level not in READ_ALONE_LEVELS:
        return ()
    whole = words(message)
    return tuple(c for c in flags.clauses if words(c) and words(c) != whole)


@dataclass(frozen=True)
class Urgency:
    urgent: bool
    emergency: bool
    reason: str  # "rules", "learned", "rules+learned", "learned_veto" (a rule's warning dropped) or ""


def decide_urgency(flags: Triage, probability: float | None, threshold: float, *,
                   veto_below: Mapping[str, float] = MappingProxyType({}),
                   clause_probability: float | None = None) -> Urgency:
    """``veto_below``: per level of the rules' warning (``Triage.level``: "warning", "personal"),
    the probability the model must give the message for the warning to stand
    (``qa.decisions.learned.pick_veto``); an emergency is never vetoed. ``clause_probability``: the
    model's likeliest reading of a ``READ_ALONE_LEVELS`` sign's own clause (``sign_clauses``): at the
    cut (``threshold``), the clause is urgent on its own and the warning stands, whatever the whole
    message's probability."""
    learned = probability is not None and probability >= threshold
    if flags.emergency:
        return Urgency(True, True, "rules")
    told_urgent = (clause_probability is not None and clause_probability >= threshold
                   and flags.level in READ_ALONE_LEVELS)
    if (flags.urgent and probability is not None and probability < veto_below.get(flags.level, 0.0)
            and not learned and not told_urgent):
        return Urgency(False, False, "learned_veto")
    if flags.urgent or learned:
        reason = "rules+learned" if flags.urgent and learned else ("rules" if flags.urgent else "learned")
        return Urgency(True, False, reason)
    return Urgency(False, False, "")


def decide_scope(rule: ScopeDecision, probability: float | None, threshold: float, *,
                 alternate_cosine: float = -1.0, clinic_alternate_cosine: float = -1.0,
                 nearest_not_covered: float = -1.0,
                 nearest_answered: float = 1.0, answered_floor: float = -1.0) -> ScopeDecision:
    """``alternate_cosine``: the message's best cosine with an alternate question;
    ``clinic_alternate_cosine``: with one of the clinic's own (``corpus/alternate_questions.csv``,
    where staff assign a passage to a wording patients used): the clinic's word, like its
    not-covered list, so no labelled wording outweighs it;
    ``nearest_not_covered``: with a labelled message the document does not answer
    ("recovery after a hip replacement" sits 0.93 from "recovery after a hip
    injection": the labelled uncovered wording, when as close, outweighs the
    alternate); ``nearest_answered``: with anything known to be answered (a labelled
    in-scope message or the document's best passage), and ``answered_floor`` the
    cosine all but the most outlying answered training messages reached, less a margin
    (``qa.training.answered_floor``)."""
    if rule.abstain and rule.reason in EXACT_SCOPE_REASONS:
        return rule
    if clinic_alternate_cosine >= ALTERNATE_MATCH:
        return ScopeDecision(False, "")
    if alternate_cosine >= ALTERNATE_MATCH and alternate_cosine > nearest_not_covered:
        return ScopeDecision(False, "")
    if probability is None:
        return rule
    if nearest_answered < answered_floor:
        return ScopeDecision(True, "far_from_answered")
    if probability < threshold:
        return ScopeDecision(True, "learned_not_covered")
    return ScopeDecision(False, "")
