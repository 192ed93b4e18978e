"""Tell the question a patient asks from the background they give with it.

Patients often write several sentences of context before they ask ("I'm 71,
my daughter in Leeds worries about my stomach... why is an injection better
than the tablets?"). The background is about their life, in words no clinic
document uses; the question is what the document must answer. Scope checks
(``scope.py``) weigh words the document lacks by where they stand, so a long
message is not declined for mentioning Leeds.

``split_message`` is pure: the ask is every sentence that ends in a question
mark; failing that, every sentence (or, in one long run-on sentence, every
comma clause onwards) that opens like a question ("can they...", "which
conditions..."); failing that, the last sentence. Whatever is left is
background.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: Words a question opens with, once greetings and fillers are dropped.
_QUESTION_OPENERS = frozenset(
    "what whats what's which who whom whose when where why how how's hows can could will would should shall may "
    "might must is isn't isnt are aren't arent am was were do does doesn't doesnt did didn't didnt have has "
    "any anything tell explain".split()
)
_SENTENCE = re.compile(r"[^.?!\n]+[.?!]*")
_CLAUSE = re.compile(r"[^,;]+")
_LEAD = re.compile(r"^\W*(?:(?:and|but|so|also|just|ok|okay|please|hi|hello|hey|well|sorry|um|er)\b\W*)*", re.IGNORECASE)


@dataclass(frozen=True)
class MessageParts:
    ask: str  # the sentences (or clauses) that ask; the whole message when nothing else is found
    background: str  # everything else, possibly empty


def _opens_like_question(text: str) -> bool:
    first = _LEAD.sub("", text).split(maxsplit=1)
    return bool(first) and first[0].lower() in _QUESTION_OPENERS


def split_message(message: str) -> MessageParts:
    """The asking part of a message and its background (see the module docstring)."""
    sentences = [s.strip() for s in _SENTENCE.findall(message) if s.strip()]
    if len(sentences) <= 1:
        return _split_run_on(message.strip())
    asks = [s for s in sentences if s.endswith("?")] or [s for s in sentences if _opens_like_question(s)]
    if not asks:
        asks = [sentences[-1]]
    background = [s for s in sentences if s not in asks]
    return MessageParts(" ".join(asks), " ".join(background))


def _split_run_on(sentence: str) -> MessageParts:
    """One sentence: from the first comma clause that opens like a question onwards
    (all of it when the first clause already does: "can you send me a list of..., like X, how often")."""
    clauses = [c.strip() for c in _CLAUSE.findall(sentence) if c.strip()]
    if clauses and _opens_like_question(clauses[0]):
        return MessageParts(sentence, "")
    for i, clause in enumerate(clauses[1:], start=1):
        if _opens_like_question(clause):
            return MessageParts(", ".join(clauses[i:]), ", ".join(clauses[:i]))
    return MessageParts(sentence, "")
