"""The named cues the learned decisions read beside the question's vector.

A sentence vector says what a message is about; it says little about how it
is worded ("no fever", "what if I get a fever", "fever since yesterday" sit
close together). The rules already read the wording, so their readings are
handed to the models as numbers, each with a name recorded in the model file:
a model then learns from labelled messages how far to trust each rule, rather
than the rule deciding alone. Pure functions; no model, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

from .triage import WORDING_CUES, Triage, WarningSign, wording_cues

URGENCY_CUES = (*WORDING_CUES, "rule_urgent", "rule_emergency", "warning_level_sign", "personal_level_sign", "denied")
COVERAGE_CUES = ("best_cosine", "second_cosine", "third_cosine", "unknown_words", "lexical_match")
#: Cues are scaled to about the size of the vector's largest components, so
#: the regularisation treats a rule's reading and a direction in meaning alike.
CUE_SCALE = 3.0


def urgency_cues(message: str, flags: Triage, signs: tuple[WarningSign, ...]) -> tuple[float, ...]:
    levels = {sign.term: sign.level for sign in signs}
    matched = {levels.get(term, "") for term in flags.signs}
    values = (*wording_cues(message, signs), flags.urgent, flags.emergency, "warning" in matched,
              "personal" in matched, min(len(flags.denied), 2) / 2)
    return tuple(CUE_SCALE * float(v) for v in values)


def coverage_cues(cosines: Sequence[float], *, unknown_words: int, lexical: float) -> tuple[float, ...]:
    top = [*cosines[:3], 0.0, 0.0, 0.0][:3]
    values = (*top, min(unknown_words, 3) / 3, lexical > 0)
    return tuple(CUE_SCALE * float(v) for v in values)
