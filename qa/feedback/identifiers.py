"""Structured identifiers the redaction library has no detector for, as spans.

scrubadub (see ``redact``) finds emails, URLs, phone numbers (Google's
libphonenumber), UK postcodes, National Insurance and card numbers. This
module adds what a clinic's messages hold besides: long numbers (NHS, US
social security, hospital and drama-range phone numbers: any run of 7 or more
digits), record ids (letters and 4+ digits, or anything after "NHS number",
"MRN", "hospital number"), calendar dates with a year, birthdays, and street
addresses. Pure functions over a string; it does not find names (``names``)
and does not replace anything (``redact``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    kind: str  # "name", "phone", "number", "id", "date", "address", "email", ...


#: Fewest digits that make a run of numbers an identifier: no dose, score, duration or
#: year in a patient's message has 7 digits, every phone, NHS, SSN and record number has.
MIN_IDENTIFIER_DIGITS = 7
_NUMBER = re.compile(r"(?<![\w])\+?\(?\d[\d \-.()]*\d(?![\w])")
_RECORD_ID = re.compile(r"(?<![\w-])(?=[A-Za-z0-9-]*\d)(?=[A-Za-z0-9-]*[A-Za-z])[A-Za-z0-9][A-Za-z0-9-]{4,}(?![\w-])")
_QUANTITY = re.compile(r"^\d+[a-z]{1,3}$", re.IGNORECASE)  # "1990s", "1000mg": a number and its unit
#: A plain address with "@": scrubadub's own pattern also reads "it at all" as an email, so its
#: matches without "@" or " dot " are dropped (``redact``) and this one stands in.
_EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+")
_ID_CONTEXT = re.compile(
    r"\b(?:nhs|hospital|patient|mrn|medical record|record|reference|ref|case|chi|ssn|social security|id)"
    r"(?:\s+(?:number|no\.?|num|#))?\s*(?:is|was|:|#|-)?\s*(?P<value>[A-Za-z]{0,3}[\d][\w\- ]{2,16}\d)",
    re.IGNORECASE,
)
_MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
          r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
_DAY = r"\d{1,2}(?:st|nd|rd|th)?"
_DATES = (
    re.compile(r"(?<![\w/.-])\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d{2})(?![\w/.-])"),
    re.compile(r"(?<![\w-])\d{4}-\d{1,2}-\d{1,2}(?![\w-])"),
    re.compile(rf"\b{_DAY}(?:\s+of)?\s+{_MONTH},?\s+\d{{4}}\b", re.IGNORECASE),
    re.compile(rf"\b{_MONTH}\s+{_DAY},?\s+\d{{4}}\b", re.IGNORECASE),
)
_BIRTH = re.compile(
    rf"\b(?:born|birthday|dob|d\.o\.b\.?|date of birth)\b\W{{0,3}}(?:is|was|on|in|:)?\s*(?:the\s+)?"
    rf"(?P<value>{_DAY}(?:\s+of)?\s+{_MONTH}|{_MONTH}\s+{_DAY}|\d{{4}}|\d{{1,2}}[/.\-]\d{{1,2}})",
    re.IGNORECASE,
)
_STREET = (r"(?:street|st|road|rd|avenue|ave|lane|ln|drive|close|crescent|cres|way|place|court|ct|gardens|"
           r"terrace|grove|square|sq|hill|park|row|walk|mews|boulevard|blvd|parade|rise|view)")
_ADDRESS = re.compile(
    rf"\b\d{{1,4}}[a-z]?,?\s+(?:[A-Za-z][A-Za-z'’-]+\s+){{1,3}}{_STREET}\b\.?"
    rf"|\b(?:flat|apartment|apt|unit)\s+\d{{1,4}}[a-z]?\b",
    re.IGNORECASE,
)
_NOT_AN_ADDRESS_WORD = re.compile(r"^(?:times?|days?|weeks?|months?|years?|hours?|mins?|minutes?|mg|ml|tablets?|"
                                  r"injections?|shots?|of|a|the|and|or|to|in|on|at|for|my|is|was)$", re.IGNORECASE)


def numbers(text: str) -> list[Span]:
    """Runs of at least ``MIN_IDENTIFIER_DIGITS`` digits (spaces, dots, dashes, brackets between)."""
    out = []
    for m in _NUMBER.finditer(text):
        if sum(c.isdigit() for c in m.group()) >= MIN_IDENTIFIER_DIGITS:
            out.append(Span(m.start(), m.end(), "number"))
    return out


def record_ids(text: str) -> list[Span]:
    """Letter-and-digit codes with 4+ digits (RX1234567), and whatever follows "NHS number" or "MRN"."""
    out = [Span(m.start(), m.end(), "id") for m in _RECORD_ID.finditer(text)
           if sum(c.isdigit() for c in m.group()) >= 4 and not _QUANTITY.match(m.group())]
    out += [Span(m.start("value"), m.end("value"), "id") for m in _ID_CONTEXT.finditer(text)]
    return out


def emails(text: str) -> list[Span]:
    return [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]


def dates(text: str) -> list[Span]:
    """Calendar dates with a year, and a birthday with or without one."""
    out = [Span(m.start(), m.end(), "date") for pattern in _DATES for m in pattern.finditer(text)]
    out += [Span(m.start("value"), m.end("value"), "date") for m in _BIRTH.finditer(text)]
    return out


def addresses(text: str) -> list[Span]:
    """A house number, up to three words and a street type ("22 Acacia Avenue"), or "Flat 4"."""
    out = []
    for m in _ADDRESS.finditer(text):
        inner = m.group().split()[1:-1]
        if not any(_NOT_AN_ADDRESS_WORD.match(w) for w in inner):
            out.append(Span(m.start(), m.end(), "address"))
    return out


def structured(text: str) -> list[Span]:
    """Every span this module finds (overlaps are resolved by ``redact``)."""
    return numbers(text) + record_ids(text) + emails(text) + dates(text) + addresses(text)
