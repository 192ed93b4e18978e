"""Redaction before anything of a patient's words is stored.

``redact(text)`` returns the text with every identifier replaced by its kind
in brackets ("call me on [PHONE]", "my husband [NAME]") and the count per kind.

Why scrubadub (2.0.1): it replaces the hand-written regexes we would otherwise
keep for emails, URLs, UK postcodes, National Insurance and card numbers, and
phone numbers in any format (through Google's libphonenumber), installs from
PyPI with no model and runs offline. Presidio was the alternative: its names
need a downloaded spaCy model and it pulls tldextract, which fetches the
public suffix list at run time; without the model it finds no more than
scrubadub does. Neither finds names offline, so names (``names``) and the
identifiers of a clinic's messages (``identifiers``: NHS, hospital and social
security numbers, dates of birth, street addresses) are ours, merged here.
This module replaces spans; it does not decide what is stored.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from dataclasses import dataclass, field
from functools import lru_cache

from . import identifiers, names
from .identifiers import Span

log = logging.getLogger("qa.feedback")
#: scrubadub's filth types, as the labels a reader sees.
_LABELS = {
    "email": "EMAIL", "phone": "PHONE", "phone_us": "PHONE", "postalcode": "POSTCODE", "url": "URL",
    "twitter": "HANDLE", "skype": "HANDLE", "national_insurance_number": "ID", "credit_card": "NUMBER",
    "credential": "CREDENTIAL", "tax_reference_number": "ID", "vehicle_licence_plate": "ID",
    "drivers_licence": "ID", "social_security_number": "ID",
}
_lock = threading.Lock()


@dataclass(frozen=True)
class Redacted:
    text: str
    counts: dict[str, int] = field(default_factory=dict)  # kind -> how many were replaced

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@lru_cache(maxsize=1)
def _scrubber():
    import scrubadub
    import scrubadub.detectors

    scrubber = scrubadub.Scrubber(locale="en_GB")  # the default detectors for the UK
    scrubber.add_detector(scrubadub.detectors.PhoneDetector(locale="en_US", name="phone_us"))
    return scrubber


def library_spans(text: str) -> list[Span]:
    """Spans scrubadub finds (merged filth is split back into its parts' kinds)."""
    with _lock:
        found = list(_scrubber().iter_filth(text))
    spans = []
    for filth in found:
        kind = getattr(filth, "detector_name", None) or filth.type
        parts = getattr(filth, "filths", None) or [filth]
        kind = getattr(parts[0], "detector_name", kind)
        label = _LABELS.get(kind, _LABELS.get(filth.type, "ID")).lower()
        if label == "email" and "@" not in filth.text and " dot " not in filth.text.casefold():
            continue  # "no pain with it at all" is no address; real ones are found by ``identifiers``
        spans.append(Span(filth.beg, filth.end, label))
    return spans


def merge(spans: list[Span]) -> list[Span]:
    """Overlapping or touching spans become one, labelled by the longest of them."""
    merged: list[tuple[int, int, Span]] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start <= merged[-1][1]:
            start, end, longest = merged[-1]
            if span.end - span.start > longest.end - longest.start:
                longest = span
            merged[-1] = (start, max(end, span.end), longest)
        else:
            merged.append((span.start, span.end, span))
    return [Span(start, end, longest.kind) for start, end, longest in merged]


def apply(text: str, spans: list[Span]) -> Redacted:
    """Replace each span with ``[KIND]``; pure."""
    out, counts, cursor = [], Counter(), 0
    for span in merge(spans):
        out.append(text[cursor:span.start])
        out.append(f"[{span.kind.upper()}]")
        counts[span.kind] += 1
        cursor = span.end
    out.append(text[cursor:])
    return Redacted("".join(out), dict(counts))


def redact(text: str) -> Redacted:
    """``text`` with every identifier found replaced by its kind."""
    if not text:
        return Redacted("")
    spans = library_spans(text) + identifiers.structured(text) + names.names(text)
    return apply(text, spans)
