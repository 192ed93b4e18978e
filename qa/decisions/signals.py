"""The named cues the learned decisions read beside the question's vector.

Coverage: how close the best passages came (their cosines), how many asked
words the document lacks, and whether any word matched lexically; each has a
name recorded in the model file. Urgency reads the vector alone: handed the
rules' own readings as cues, the model leaned on them and missed what they
miss (leave one set out: 16 red flags missed with the cues, 2 without, at 7
more false alarms in 932 questions; docs/evaluation.md), and the rules are
OR-ed with it anyway. Pure functions; no model, no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence


URGENCY_CUES: tuple[str, ...] = ()
COVERAGE_CUES = ("best_cosine", "second_cosine", "third_cosine", "unknown_words", "lexical_match")
#: Cues are scaled to about the size of the vector's largest components, so
#: the regularisation treats a rule's reading and a direction in meaning alike.
CUE_SCALE = 3.0


def coverage_cues(cosines: Sequence[float], *, unknown_words: int, lexical: float) -> tuple[float, ...]:
    top = [*cosines[:3], 0.0, 0.0, 0.0][:3]
    values = (*top, min(unknown_words, 3) / 3, lexical > 0)
    return tuple(CUE_SCALE * float(v) for v in values)
