"""The named cues the learned decisions read beside the question's vector.

Coverage: how close the best passages came (their cosines), how many asked
words the document lacks, whether any word matched lexically, and how close
the message came to the nearest labelled message the document does not answer.
That neighbour cue lets a near-topic question that sits next to a known
out-of-scope wording be declined although its passage scores look like an
answerable one's (leave one set out: docs/evaluation.md). Its twin, the nearest
labelled message the document *does* answer, is left out on purpose: with it the
model learned which topics the labels cover rather than whether the document
answers, and declined a paragraph the clinic had just added. Each cue has a
name recorded in the model file.

Urgency reads the vector alone: handed the rules' own readings as cues, the
model leaned on them and missed what they miss (leave one set out: 16 red
flags missed with the cues, 2 without, at 7 more false alarms in 932
questions), and the rules are OR-ed with it anyway. Pure functions; no model,
no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

URGENCY_CUES: tuple[str, ...] = ()
RETRIEVAL_CUES = ("best_cosine", "second_cosine", "third_cosine", "unknown_words", "lexical_match")
NEIGHBOUR_CUES = ("nearest_not_covered",)
COVERAGE_CUES = RETRIEVAL_CUES + NEIGHBOUR_CUES
#: Cues are scaled to about the size of the vector's largest components, so
#: the regularisation treats a rule's reading and a direction in meaning alike.
CUE_SCALE = 3.0


def coverage_cues(cosines: Sequence[float], *, unknown_words: int, lexical: float) -> tuple[float, ...]:
    """The retrieval cues (``RETRIEVAL_CUES``), read once per message."""
    top = [*cosines[:3], 0.0, 0.0, 0.0][:3]
    values = (*top, min(unknown_words, 3) / 3, lexical > 0)
    return tuple(CUE_SCALE * float(v) for v in values)


def neighbour_cues(nearest_not_covered: float) -> tuple[float]:
    """The neighbour cue (``NEIGHBOUR_CUES``): the best cosine with a labelled message the
    document does not answer (-1 when there is none)."""
    return (CUE_SCALE * float(nearest_not_covered),)
