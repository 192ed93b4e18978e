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

``split_questions`` then cuts the ask into the separate questions it holds
("is it a steroid they put in, and will I need someone to take me home?"),
so each can find its own passage.

``sentences`` lists a message's sentences for the urgency model, which reads
each one's vector beside the whole message's (``qa.reading``).
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


#: Where a second question starts inside a sentence: "and", "also", a comma,
#: semicolon or dash, followed by words that open a question.
_JOINER = re.compile(r"(?:\s*[,;]\s*|\s+-\s+|\s+)(?:(?:and|also|plus)\s+)+|\s*[;]\s*|\s+-\s+")
#: How a second question opens inside a sentence: a question word, or a verb
#: with its subject ("and will I...", not "and has arthritis").
_INNER_QUESTION = re.compile(
    r"(?:what|whats|what's|which|who|when|where|why|how)\b|"
    r"(?:can|could|will|would|should|do|does|did|is|are|am|was|were|have|has|may|might|must|shall)\s+"
    r"(?:i|you|we|they|he|she|it|my|your|the|there|this|that|someone|somebody)\b",
    re.IGNORECASE,
)
#: Fewer words than this are not a question of their own ("and why?").
MIN_QUESTION_WORDS = 3


def split_questions(message: str) -> tuple[str, ...]:
    """The separate questions a message asks, in order; ``(message,)`` when it asks one.

    A question is a sentence, or a part of one after "and", "also", a comma
    with "and", a semicolon or a dash, that ends in a question mark or opens
    like a question ("...after, and what can I take for it?"). Background
    sentences are left out. A piece that does not open like a question, or
    has under ``MIN_QUESTION_WORDS`` words, follows up the question before it
    ("how will I be lying? on my front?", "how long does it last and why?").
    """
    pieces: list[str] = []
    for sentence in (s.strip() for s in _SENTENCE.findall(message)):
        start = 0
        for joint in _JOINER.finditer(sentence):
            if joint.start() > start and _INNER_QUESTION.match(sentence, joint.end()):
                pieces.append(sentence[start:joint.start()])
                start = joint.end()
        pieces.append(sentence[start:])
    questions: list[str] = []
    for piece in (p.strip(" ,;-") for p in pieces):
        opens = _opens_like_question(piece)
        if not (opens or piece.endswith("?")):
            continue  # background
        if questions and (not opens or len(piece.split()) < MIN_QUESTION_WORDS):
            questions[-1] = f"{questions[-1]} {piece}"  # a follow-up: "how will I lie? on my front?"
        else:
            questions.append(piece)
    return tuple(questions) if len(questions) > 1 else (message.strip(),)


#: A sentence of fewer words ("Hi.", "Thanks!") says nothing on its own about a warning sign.
MIN_WORDS_PER_SENTENCE = 2
_WORD = re.compile(r"\w+")


def sentences(message: str) -> tuple[str, ...]:
    """The message's sentences of ``MIN_WORDS_PER_SENTENCE`` words or more; ``()`` when it has fewer than
    two (its own vector then stands for its one sentence).

    Why: a warning sign told in one sentence of a long story ("...back to running next week. The
    spot's come up in a hot lump since last night. Can I still go?") is diluted in the
    whole message's vector, which is mostly about the story. The urgency model reads, beside it,
    the elementwise largest of the sentences' vectors, where the sign keeps its own direction
    (docs/evaluation.md, "Sentences")."""
    found = tuple(s.strip() for s in _SENTENCE.findall(message) if len(_WORD.findall(s)) >= MIN_WORDS_PER_SENTENCE)
    return found if len(found) > 1 else ()
