"""Spot warning signs in a patient's message, so the answer leads with safety.

The clinic keeps ``corpus/warning_signs.csv`` (``term,level,note``). Levels:

* ``emergency``: trouble breathing, chest pain, a swelling face... -> urgent,
  and the patient is told to call emergency services now;
* ``warning``: fever, pus, pain getting worse... -> urgent;
* ``personal``: words that are only a warning when the patient describes
  themselves ("my hip is red and swollen"), not when they ask about the
  document ("is swelling a risk?").

Two readings are patterns, not table rows, because their wordings are too many
to list: a fever given as a number ("38.2 and rising", "temp 101") is a
``warning``, and a face, lip, tongue or throat swelling in any words and either
order ("her lips have puffed up") is an ``emergency``.

A term preceded closely by a negation ("no fever", "not swollen") does not
count, and questions framed as asking *about* risks ("what are the signs of
infection?") are informational, not urgent, unless an emergency term is
present. ``load_warning_signs`` reads the file; ``triage`` is pure.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

from ..clinic_tables import read_table
from ..text import fold, term_spans

WARNING_SIGNS_FILE = "warning_signs.csv"
log = logging.getLogger("qa.decisions.triage")
LEVELS = ("emergency", "warning", "personal")

_NEGATION = re.compile(r"\b(no|not|never|without|don'?t have|dont have|didn'?t get|haven'?t had|isn'?t|wasn'?t|aren'?t|none)\b(\W+\w+){0,2}\W*$")
_PERSONAL = re.compile(r"\b(i|i'm|im|i've|ive|my|me|mine|myself|we|our|he|she|his|her|mum|mom|dad)\b")
_INFORMATIONAL = re.compile(
    r"\b(signs? of|symptoms? of|risks?|chances? of|likely|common|can (it|they|a|an|the|hip|injections?) (cause|lead)|"
    r"could (it|they) (cause|lead)|cause|what (are|is) the|side effects?|what should i (watch|look) for|"
    r"when should i|what if|if i (get|have|develop|notice)|why (does|do|would) (it|they|steroids?|injections?))\b"
)

# History, not what is happening now: a sign in the same clause as a long-past
# time ("years ago", "last month", "back in 2019", "over the winter") is the
# patient's background. Days and weeks are not history here: "my injection
# was 3 days ago and I have a fever" is the window the guidance is for.
_LONG_PAST = re.compile(
    r"\b(years? ago|months? ago|(a|one|two|three|four|five|six|several|few|couple of|many|\d+) (years?|months?) ago|"
    r"last (year|month|winter|summer|spring|autumn|fall|christmas)|(in|back in|since) (19|20)\d\d|back in|years back|"
    r"as a (child|kid|teenager)|used to|once years|over the (winter|summer|spring|autumn|years)|"
    r"when i was (younger|a)|previously|in the past)\b"
)
# ...unless the clause also says it is happening now.
_NOW = re.compile(r"\b(now|still|currently|today|tonight|this (morning|afternoon|evening|week)|yesterday|since (my|the|his|her|their) (injection|jab|shot)|at the moment|keeps|getting)\b")
_CLAUSE_BREAK = re.compile(r"[.!?;\n,]|\b(but|though|so)\b")
# Trying not to get something ("so I don't pick up an infection", "to avoid
# swelling", "how do you stop infection", "reduce the risk of bleeding") is not having it.
_AVOIDING = re.compile(r"\b(so (that )?(i|you|we|they|he|she) (don'?t|do not|won'?t)|avoid(ing)?|prevent(ing)?|"
                       r"how (do|does|can|will|would) (you|they|the doctors?|i|we) (stop|reduce|lower|minimi[sz]e)|"
                       r"(reduce|lower|minimi[sz]e) (the )?(risk|chance)s? of)\b(\W+\w+){0,3}\W*$")
# "worse than my hip" compares ("worse than before" is getting worse); "numb it first" is what the doctor does and a
# "hot water bottle" is a thing, not a symptom. Only a space may come between,
# so "I feel weak, it is getting worse" still counts.
_COMPARISON_AFTER = re.compile(r"^\s+than\b(?!\s+(before|yesterday|earlier|ever|it was|last night|this morning))")
_NOT_A_SYMPTOM_AFTER = {
    "numb": re.compile(r"^\s+(it|the (area|skin|spot|site|hip|leg|joint)|you|me|him|her|them|everything)\b"),
    "hot": re.compile(r"^\s+(water|bath|baths|shower|drink|drinks|tea|pack|compress|weather|day|flush|flushes|flash|"
                      r"flashes|food|tub|towel)\b"),
}

# A fever given as a number ("38.2 and rising", "temp 101", "39 degrees"): a reading at or
# over 38 C / 100.4 F. A decimal in the Celsius range or a degree sign is a temperature
# on its own (Fahrenheit needs its decimal: "room 101"); a whole number needs a temperature
# word in the message ("temp is 39", "temperature 102"); a unit after it ("38 mg", "40 mins",
# "101 years") makes it something else.
_DEGREES = r"(?:\s*(?:°|º|degrees?\b|deg\b)\s*(?:c\b|f\b|celsius\b|fahrenheit\b)?|\s*(?:c|f)\b)"
_NOT_A_TEMPERATURE_AFTER = r"(?!\s*(?:%|mg|mcg|ml|kg|g\b|lbs?|cm|mm|m\b|km|miles?|mins?|minutes?|h\b|hrs?|hours?|"
_NOT_A_TEMPERATURE_AFTER += r"days?|weeks?|wks?|months?|years?|yrs?|y\.?o\b|kilos?|pounds?|stone|units?|x\b|/))"
_CELSIUS = r"(?:3[89]|4[0-2])"
_FAHRENHEIT = r"(?:100[.,][4-9]|10[1-7](?:[.,]\d)?)"
_FAHRENHEIT_DECIMAL = r"(?:100[.,][4-9]|10[1-7][.,]\d)"
_TEMPERATURE = re.compile(
    rf"\b(?:{_CELSIUS}[.,]\d{{1,2}}\b{_NOT_A_TEMPERATURE_AFTER}|(?:{_CELSIUS}|{_FAHRENHEIT}){_DEGREES}|"
    rf"{_FAHRENHEIT_DECIMAL}\b{_NOT_A_TEMPERATURE_AFTER})")
_TEMPERATURE_NUMBER = re.compile(rf"\b(?:{_CELSIUS}|{_FAHRENHEIT})\b(?![.,]\d){_NOT_A_TEMPERATURE_AFTER}")
_TEMPERATURE_WORD = re.compile(r"\b(temp|temps|temperature|thermometer|fever|feverish|febrile)\b")
# A swelling of the face or airway in any words and either order ("tongue swelling",
# "her lips have puffed right up", "face all swollen"), within one phrase: an allergic
# reaction the answer must send to emergency care. Asked as a possibility ("can your
# throat swell?") it is not one.
_SWELLING_PART = r"(?:tongue|lips?|face|facial|throat|mouth|cheeks?)"
_SWELLING_WORD = r"(?:swell\w*|swollen|puff\w*|blown up|ballooned|bloated)"
_AIRWAY_SWELLING = re.compile(
    rf"\b(?:{_SWELLING_PART}\b(?:\s+[\w']+){{0,3}}?\s+{_SWELLING_WORD}|{_SWELLING_WORD}(?:\s+[\w']+)?\s+{_SWELLING_PART}\b)")
_POSSIBILITY_BEFORE = re.compile(r"\b(can|could|might|may|would|will|does|do|if)\b(\W+\w+){0,2}\W*$")
# A negation between the part and the swelling word denies it ("tongue and throat not swollen",
# "lips aren't puffy"): the words before the match are checked by ``_NEGATION``, these inside it.
_NEGATION_INSIDE = re.compile(r"\b(no|not|never|isn'?t|aren'?t|wasn'?t|weren'?t|hasn'?t|haven'?t|didn'?t|nothing)\b")

# Asking what *will* happen ("will I be numb?") is not describing a symptom.
_PROSPECTIVE = re.compile(r"\b(will (i|my|it)|would (i|my)|should i (expect|feel|be)|am i going to|going to be|how long|normal to (be|feel|have))\b")


@dataclass(frozen=True)
class WarningSign:
    term: str  # folded
    level: str
    note: str


@dataclass(frozen=True)
class Triage:
    urgent: bool
    emergency: bool
    signs: tuple[str, ...] = ()  # the terms that matched, for explanations and tests
    denied: tuple[str, ...] = ()  # signs the message only mentions as absent ("no fever or anything")
    #: The strongest level that made the message urgent (``LEVELS``; "" when not urgent): a sign
    #: of the ``personal`` level alone ("my hip is red") is weaker evidence than a ``warning`` one.
    level: str = ""
    #: The clauses (folded) in which the matched signs were told: "i have a fever" of "I have a fever,
    #: can I go to work tomorrow?", read on its own by the urgency veto (``qa.decisions.policy``).
    clauses: tuple[str, ...] = ()

    def either(self, other: Triage) -> Triage:
        """Urgent if either reading is: the message as typed, or with its typos corrected ("feaver")."""
        levels = [level for level in LEVELS if level in (self.level, other.level)]
        return Triage(urgent=self.urgent or other.urgent, emergency=self.emergency or other.emergency,
                      signs=tuple(dict.fromkeys(self.signs + other.signs)),
                      denied=tuple(dict.fromkeys(self.denied + other.denied)), level=levels[0] if levels else "",
                      clauses=tuple(dict.fromkeys(self.clauses + other.clauses)))


#: How a fever given as a number is recorded among a message's signs.
TEMPERATURE_READING = WarningSign("temperature reading", "warning", "a fever given as a number")


def temperature_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` (folded) gives a body temperature of a fever, as (start, end) spans."""
    spans = [m.span() for m in _TEMPERATURE.finditer(text)]
    if not spans and _TEMPERATURE_WORD.search(text):
        spans = [m.span() for m in _TEMPERATURE_NUMBER.finditer(text)]
    return spans


#: How a swelling of the face or airway in other words is recorded among a message's signs.
AIRWAY_SWELLING = WarningSign("swelling of the face or throat", "emergency", "an allergic reaction")


def airway_swelling_spans(text: str) -> list[tuple[int, int]]:
    """Where ``text`` (folded) says a face, lip, tongue or throat is swelling, not asked as a possibility
    or denied between its words."""
    return [m.span() for m in _AIRWAY_SWELLING.finditer(text)
            if not _POSSIBILITY_BEFORE.search(text[: m.start()]) and not _NEGATION_INSIDE.search(m.group())]


#: Used when the clinic's file is missing or empty: triage must never switch
#: itself off silently, so these are the document's own warning signs and the
#: emergencies the answer tells patients to call about.
BUILT_IN_SIGNS = tuple(
    WarningSign(term, level, "built-in")
    for level, terms in (
        ("emergency", ("trouble breathing", "difficulty breathing", "can't breathe", "cant breathe", "chest pain",
                       "face swelling", "swollen face", "swollen lips", "throat swelling", "anaphylaxis")),
        ("warning", ("fever", "pus", "severe pain", "getting worse", "can't feel", "cant feel")),
        ("personal", ("redness", "swelling", "swollen", "warmth", "numb", "numbness", "weak", "weakness", "worse")),
    )
    for term in terms
)


def load_warning_signs(corpus_dir: Path) -> tuple[WarningSign, ...]:
    """The clinic's warning signs; the built-in list (with a log warning) if the
    file is missing or holds none."""
    path = corpus_dir / WARNING_SIGNS_FILE
    if not path.is_file():
        log.warning("%s not found: using the built-in warning signs.", path)
        return BUILT_IN_SIGNS
    signs = []
    for row in read_table(path, columns=("term", "level", "note")):
        term, level = _normalise(row["term"]), row["level"].strip().lower()
        if term and level in LEVELS:
            signs.append(WarningSign(term, level, row["note"].strip()))
    if not signs:
        log.warning("%s lists no usable warning signs: using the built-in ones.", path)
        return BUILT_IN_SIGNS
    return tuple(signs)


def _normalise(text: str) -> str:
    return fold(text).replace("’", "'")


def triage(message: str, signs: tuple[WarningSign, ...]) -> Triage:
    """Is this message describing warning signs (urgent) or an emergency?"""
    text = _normalise(message)
    personal = bool(_PERSONAL.search(text))
    informational = bool(_INFORMATIONAL.search(text))
    matched: list[WarningSign] = []
    clauses: list[str] = []
    denied: list[str] = []
    readings = ((sign, term_spans(text, sign.term, plural=True)) for sign in signs)  # "chest pains", lazily
    described = ((TEMPERATURE_READING, temperature_spans(text)), (AIRWAY_SWELLING, airway_swelling_spans(text)))
    for sign, spans in (*readings, *described):
        negated = False
        for start, end in spans:
            before = text[:start]
            if _NEGATION.search(before):
                negated = True
            elif not _AVOIDING.search(before) and _describes_now(text, start, end):
                matched.append(sign)
                clauses.append(_clause(text, start, end))
                break
        else:
            if negated:
                denied.append(sign.term)
    emergency = any(s.level == "emergency" for s in matched)
    warning = any(s.level == "warning" for s in matched) and (personal or not informational)
    describes_self = personal and not informational and not _PROSPECTIVE.search(text)
    # Several signs together ("hot, red and swollen") describe a wound, not a topic.
    several = sum(s.level == "personal" for s in matched) >= 2
    personal_sign = any(s.level == "personal" for s in matched) and (describes_self or (several and not informational))
    urgent = emergency or warning or personal_sign
    level = "emergency" if emergency else "warning" if warning else "personal" if personal_sign else ""
    return Triage(urgent=urgent, emergency=emergency, signs=tuple(s.term for s in matched) if urgent else (),
                  denied=tuple(denied), level=level, clauses=tuple(dict.fromkeys(clauses)) if urgent else ())


def _describes_now(text: str, start: int, end: int) -> bool:
    """Is the sign at ``text[start:end]`` something happening now, not history,
    a comparison ("worse than") or a verb ("numb the skin")?"""
    after = text[end:]
    last_word = text[start:end].rsplit(" ", 1)[-1]
    if _COMPARISON_AFTER.match(after) or (last_word in _NOT_A_SYMPTOM_AFTER and _NOT_A_SYMPTOM_AFTER[last_word].match(after)):
        return False
    clause = _clause(text, start, end)
    return not _LONG_PAST.search(clause) or bool(_NOW.search(clause))


def _clause(text: str, start: int, end: int) -> str:
    """The clause of ``text`` around ``text[start:end]``: between the punctuation, "but", "though" or "so" around it."""
    breaks = [m.end() for m in _CLAUSE_BREAK.finditer(text, 0, start)]
    clause_start = breaks[-1] if breaks else 0
    clause_end = _CLAUSE_BREAK.search(text, end)
    return text[clause_start : clause_end.start() if clause_end else len(text)].strip()
