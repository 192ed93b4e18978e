"""The named cues the learned decisions read beside the question's vector.

Coverage: how close the best passages came (their cosines), how many asked
words the document lacks, whether any word matched lexically, and two
neighbour cues: how close the message came to the nearest labelled message the
document does not answer, and to the nearest thing known to be answered (a
labelled in-scope message, or the document's own best passage if that is
closer). The second is floored by the document on purpose: a paragraph the
clinic has just added has no labelled wordings yet, and the model must still
see its questions as answerable (leave one set out and the reasons:
docs/evaluation.md). Each cue has a name recorded in the model file.

Urgency has no named cues: handed the rules' own readings as cues, the model
leaned on them and missed what they miss (leave one set out: 16 red flags
missed with the cues, 2 without, at 7 more false alarms in 932 questions), and
the rules are OR-ed with it anyway. It reads the vector and the message's
words instead (``qa.decisions.words``). Pure functions; no model,
no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence

URGENCY_CUES: tuple[str, ...] = ()
RETRIEVAL_CUES = ("best_cosine", "second_cosine", "third_cosine", "unknown_words", "lexical_match")
NEIGHBOUR_CUES = ("nearest_covered", "nearest_not_covered")
COVERAGE_CUES = RETRIEVAL_CUES + NEIGHBOUR_CUES
#: Cues are scaled to about the size of the vector's largest components, so
#: the regularisation treats a rule's reading and a direction in meaning alike.
CUE_SCALE = 3.0


def coverage_cues(cosines: Sequence[float], *, unknown_words: int, lexical: float) -> tuple[float, ...]:
    """The retrieval cues (``RETRIEVAL_CUES``), read once per message."""
    top = [*cosines[:3], 0.0, 0.0, 0.0][:3]
    values = (*top, min(unknown_words, 3) / 3, lexical > 0)
    return tuple(CUE_SCALE * float(v) for v in values)


def neighbour_cues(nearest_covered: float, nearest_not_covered: float, *, best_cosine: float) -> tuple[float, float]:
    """The neighbour cues (``NEIGHBOUR_CUES``) from the best cosines with a labelled covered and
    not-covered message (-1: none) and with the document's own views (``best_cosine``)."""
    return CUE_SCALE * max(float(nearest_covered), float(best_cosine)), CUE_SCALE * float(nearest_not_covered)
