"""Read an elliptical follow-up in the light of the question before it.

In a chat, patients lean on what they asked a moment ago: "and how long does
it last?" after a question about steroid injections, "what about the gel
one?", "is that painful?". Searched alone, such a message has nothing to
search for. ``in_context`` decides whether a message leans on the one before
and, if it does, returns the text to search: this message followed by the
words of the earlier question that say what it was about ("steroid"). The
assistant reads a message alone first and in context only when alone it finds
nothing, so a self-contained question ("can I drive home afterwards?") is not
pulled back to the previous topic (measured on ``eval/dialogues.csv``, see
docs/evaluation.md).

Pure functions over strings. It does not search, keep the history, or judge
urgency: a warning sign is judged on the message the patient just sent.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..text import words
from .function_words import FUNCTION_WORDS

#: Words that name the document's subject itself: a question made of these and
#: function words alone ("is it a shot?") does not say what it is about.
SUBJECT_WORDS = frozenset("hip hips injection injections injected inject shot shots jab jabs needle needles".split())
#: At most this many words of its own (not function or subject words) for a
#: message to lean on the one before without saying so.
MAX_OWN_WORDS = 1
#: How a message that continues the conversation opens.
_CONTINUES = re.compile(
    r"^\W*(and|also|plus|then|so|or|but|what about|how about|same|what if|after that|and then|is that|is it|does it|"
    r"does that|will it|will that|can it|was that|how long (is|does|will) (it|that|this)|what (is|does) (it|that|this))\b",
    re.IGNORECASE,
)
#: Pronouns that point back ("is that painful?", "the gel one").
_POINTS_BACK = re.compile(r"\b(it|that|this|those|these|they|them|one|ones)\b", re.IGNORECASE)
#: A message with this many own words is self-contained whatever it opens with.
SELF_CONTAINED_WORDS = 4


def own_words(message: str) -> list[str]:
    """Words of a message that say what it is about (not grammar, not "hip injection")."""
    return [w for w in words(message) if w not in FUNCTION_WORDS and w not in SUBJECT_WORDS and not w.isdigit()]


def leans_on_previous(message: str) -> bool:
    """Does this message only make sense after the one before it?"""
    own = own_words(message)
    if len(own) >= SELF_CONTAINED_WORDS:
        return False
    if len(own) <= MAX_OWN_WORDS:
        return True
    return bool(_CONTINUES.search(message)) or (len(own) <= 2 and bool(_POINTS_BACK.search(message)))


def in_context(message: str, history: Sequence[str]) -> str:
    """The text to search for ``message``, given the patient's earlier questions (oldest first).

    Each earlier question is itself read in the light of the one before it, so
    "and after that?" twice in a row still carries the first question's topic.
    """
    context = ""
    for earlier in history:
        context = f"{context} {earlier}".strip() if context and leans_on_previous(earlier) else earlier
    if not context or not leans_on_previous(message):
        return message
    # The earlier question's own words only: its grammar would drown this message's.
    return f"{message} {' '.join(own_words(context))}".strip()
