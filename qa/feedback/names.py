"""Personal names in a patient's message, as spans: cues and a list of first names.

No offline library finds names without a downloaded model (scrubadub's name
detector needs TextBlob corpora, Presidio's a spaCy model), so names are found
two ways here:

1. **Cues**, in any case: "my name is X", "I'm X and", "this is X", "call me X",
   "my husband X", "Dr X", a sign-off ("thanks, X" at the end). The words after
   a cue are a name when capitalised or listed below.
2. **A list of first names** (Faker's en_US, en_GB, en_IE, en_IN and en_NZ
   lists, ~2,500 names, bundled with the package): a capitalised listed name
   anywhere, with a capitalised word after it as the surname.

Words that are names and everyday words ("Will", "May", "Hope", "Grace") are
left out of the list unless a cue precedes them. Pure functions; this module
does not redact (``redact`` does) and finds no other identifier.
"""

from __future__ import annotations

import re
from functools import lru_cache
from importlib import import_module

from .identifiers import Span

_LOCALES = ("en_US", "en_GB", "en_IE", "en_IN", "en_NZ")
#: Listed first names that are also everyday words or clinic words: only a cue makes them names.
EVERYDAY = frozenset("""
will may june april august hope joy faith grace mark bill pat rose iris ivy art bob don gene guy jack max
miles rich ray dawn eve page sue frank chase lance drew hunter mason parker carter cole dean earl glen grant
heath holly jean king lee major pearl penny reed rocky rod rusty sandy sky summer autumn sunny tanner troy
wade warren woody young case chance destiny precious star crystal ruby amber jade daisy poppy heather olive
hazel violet lily iris brook brooke river rain storm misty honey ginger candy cherry melody harmony autumn
christian justin! norman nick sally carol lynn dusty forrest price wood wells long short hill park child
angel baby bunny noble royal sterling marsh bay ash rowan clay stone neil gay sharon!
""".replace("!", "").split())
_TOKEN = r"[A-Za-z][A-Za-z'’-]*"
_RELATIVE = (r"husband|wife|partner|son|daughter|mum|mom|mother|dad|father|brother|sister|carer|friend|"
             r"neighbour|neighbor|grandson|granddaughter|niece|nephew|boyfriend|girlfriend|aunt|auntie|uncle|"
             r"grandma|grandad|granddad|grandpa|nan|nana|gran|fiance|fiancee|colleague|boss|cousin|child|kid")
_CUES = re.compile(
    rf"\b(?:(?:my\s+name\s+is|name'?s|i\s+am|i'?m|im|this\s+is|it'?s|call\s+me|signed|"
    rf"(?:my|our|her|his)\s+(?:{_RELATIVE})(?:\s+is)?|doctor|nurse|sister|consultant|surgeon)\s*,?"
    rf"|(?P<title>dr|mr|mrs|ms|miss|mx|prof)\.?)"  # only an abbreviated title may end in a full stop
    rf"\s+(?P<name>{_TOKEN}(?:\s+{_TOKEN}){{0,2}})",
    re.IGNORECASE,
)
_SIGN_OFF = re.compile(
    rf"\b(?:thanks|thank\s+you|many\s+thanks|regards|kind\s+regards|best\s+wishes|best|cheers|sincerely|"
    rf"love|from)\s*[,.!]*\s+(?P<name>{_TOKEN}(?:\s+{_TOKEN})?)\W*$",
    re.IGNORECASE,
)
_NOT_A_NAME = frozenset("""
a an the and or but so is am are was were be been being to of in on at for with about from by as it its this that
these those there here what when where who why how which can could would should will shall may might must do does
did done have has had not no yes very really just also too still only even ever never always now then ok okay
worried wondering asking writing going having getting feeling trying hoping looking waiting due booked scheduled
booking sorry afraid sure glad fine well better worse sore ill unwell pregnant diabetic allergic 71 due over
currently recently after before again back home here please hi hello dear thanks thank regards best cheers all
i me my mine you your we our they them their he him his she her hip hips injection injections shot jab pain
doctor dr nurse surgeon consultant mum dad wife husband son daughter partner carer the physio gp
monday tuesday wednesday thursday friday saturday sunday january february march april june july august
september october november december christmas easter said says told tells gave gives thinks thought
recommended recommends suggested suggests wants wanted asked asks explained mentioned injected put advised
""".split())


@lru_cache(maxsize=1)
def first_names() -> frozenset[str]:
    """Casefolded first names from Faker's person providers, minus ``EVERYDAY`` words."""
    names: set[str] = set()
    for locale in _LOCALES:
        provider = import_module(f"faker.providers.person.{locale}").Provider
        for attribute in ("first_names", "first_names_male", "first_names_female"):
            names.update(n.casefold() for n in getattr(provider, attribute, ()) or ())
    return frozenset(n for n in names if n.isalpha() and len(n) > 1) - EVERYDAY - _NOT_A_NAME


def _is_capitalised(word: str) -> bool:
    return word[:1].isupper() and not word.isupper() or (word.isupper() and len(word) > 1 and word.isalpha()
                                                         and word.casefold() in first_names())


def _name_words(words: list[tuple[int, int, str]], *, cued: bool) -> list[tuple[int, int, str]]:
    """The leading words that make a name: capitalised or listed ones, never grammar words."""
    kept: list[tuple[int, int, str]] = []
    for start, end, word in words:
        folded = word.casefold().strip("'’-")
        apostrophe = re.search(r"['’](.)", word)
        if folded in _NOT_A_NAME or (apostrophe and not apostrophe.group(1).isupper()) \
                or not folded.replace("-", "").replace("'", "").replace("’", "").isalpha():
            break  # "I'd", "it's" are not names; "O'Brien" and "Smith-Jones" are
        listed = folded in first_names() or (cued and folded in EVERYDAY)
        if not (listed or _is_capitalised(word)) or (kept and not _is_capitalised(word) and not listed):
            break
        kept.append((start, end, word))
    return kept


def _words_at(text: str, start: int, end: int) -> list[tuple[int, int, str]]:
    return [(start + m.start(), start + m.end(), m.group()) for m in re.finditer(_TOKEN, text[start:end])]


def cued_names(text: str) -> list[Span]:
    spans = []
    for pattern in (_CUES, _SIGN_OFF):
        for m in pattern.finditer(text):
            words = _words_at(text, m.start("name"), m.end("name"))
            kept = _name_words(words, cued=True)
            if not kept and "title" in m.groupdict() and m.group("title") and words \
                    and words[0][2].casefold() not in _NOT_A_NAME and words[0][2].isalpha():
                kept = words[:1]  # "dr okafor": after an abbreviated title, one word is a name in any case
            if kept:
                spans.append(Span(kept[0][0], kept[-1][1], "name"))
    return spans


def listed_names(text: str) -> list[Span]:
    """A capitalised listed first name, and the capitalised word after it (the surname)."""
    spans = []
    words = list(re.finditer(_TOKEN, text))
    for i, m in enumerate(words):
        word = m.group()
        if word.casefold() not in first_names() or not _is_capitalised(word):
            continue
        end = m.end()
        nxt = words[i + 1] if i + 1 < len(words) else None
        if nxt and _is_capitalised(nxt.group()) and nxt.group().casefold() not in _NOT_A_NAME \
                and text[end:nxt.start()].strip() == "":
            end = nxt.end()
        spans.append(Span(m.start(), end, "name"))
    return spans


def names(text: str) -> list[Span]:
    return cued_names(text) + listed_names(text)
