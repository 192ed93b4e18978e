"""The clinic's contact details (corpus/clinic.toml): read, checked, plain data.

`parse_clinic` is pure: it takes the TOML's table and returns a frozen
`Clinic` or raises `ClinicError` naming the file, the field and what to write.
`load_clinic` reads the file. The server loads it once at start-up, so a typo
stops the server with that message instead of showing a patient a wrong number.
This module does not render anything (see `qa_web.render`) and never writes.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

logger = logging.getLogger(__name__)

CLINIC_FILE = "clinic.toml"
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "corpus" / CLINIC_FILE
#: The shipped placeholder number (Ofcom's drama range): still there means "not edited yet".
PLACEHOLDER_PHONE = "01632 960000"

FIELDS = ("name", "phone", "hours", "website", "emergency_number")
_MAX_CHARS = {"name": 80, "phone": 30, "hours": 120, "website": 200, "emergency_number": 6}
_PHONE = re.compile(r"\+?[0-9][0-9 ()\-.]*[0-9]")
_EMERGENCY = re.compile(r"[0-9]{2,6}")
_EXAMPLES = {
    "name": '"Riverside Hip Clinic"',
    "phone": '"01632 960000" (digits, spaces, brackets, dashes; may start with +)',
    "hours": '"Monday to Friday, 8am to 6pm"',
    "website": '"https://www.your-clinic.org"',
    "emergency_number": '"999" (digits only)',
}


class ClinicError(ValueError):
    """corpus/clinic.toml is missing, not TOML, or a field is wrong; the message says which and how to fix it."""


@dataclass(frozen=True)
class Clinic:
    name: str
    phone: str
    hours: str
    website: str
    emergency_number: str

    def to_dict(self) -> dict[str, str]:
        return {"name": self.name, "phone": self.phone, "hours": self.hours, "website": self.website,
                "emergency_number": self.emergency_number}

    @property
    def phone_href(self) -> str:
        """A tel: link: the leading + and the digits only."""
        return "tel:" + ("+" if self.phone.startswith("+") else "") + re.sub(r"\D", "", self.phone)

    @property
    def emergency_href(self) -> str:
        return "tel:" + self.emergency_number

    @property
    def is_placeholder(self) -> bool:
        return self.phone == PLACEHOLDER_PHONE


def _problem(source: str, field: str, what: str) -> ClinicError:
    return ClinicError(f"{source}: '{field}' {what}. Write it like {_EXAMPLES[field]}.")


def parse_clinic(data: Mapping[str, object], *, source: str = CLINIC_FILE) -> Clinic:
    """Check every field of the parsed TOML and return the clinic's details."""
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        raise ClinicError(f"{source}: unknown field '{unknown[0]}'; the fields are {', '.join(FIELDS)}.")
    values: dict[str, str] = {}
    for field in FIELDS:
        if field not in data:
            raise _problem(source, field, "is missing")
        value = data[field]
        if not isinstance(value, str):
            raise _problem(source, field, f"must be text in quotes, not {type(value).__name__}")
        value = " ".join(value.split())
        if not value:
            raise _problem(source, field, "is empty")
        if len(value) > _MAX_CHARS[field]:
            raise _problem(source, field, f"is longer than {_MAX_CHARS[field]} characters")
        values[field] = value
    if not _PHONE.fullmatch(values["phone"]) or not 3 <= len(re.sub(r"\D", "", values["phone"])) <= 15:
        raise _problem(source, "phone", "is not a phone number")
    if not _EMERGENCY.fullmatch(values["emergency_number"]):
        raise _problem(source, "emergency_number", "must be 2 to 6 digits")
    url = urlsplit(values["website"])
    if url.scheme not in ("https", "http") or not url.hostname or " " in values["website"]:
        raise _problem(source, "website", "must be a web address starting with https://")
    return Clinic(**values)


def load_clinic(path: str | Path | None = None) -> Clinic:
    """Read and check corpus/clinic.toml (or `path`); warns while it holds the placeholders."""
    path = Path(path) if path is not None else DEFAULT_PATH
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ClinicError(f"{path}: no such file. Copy corpus/{CLINIC_FILE} from the repository and edit it.") from None
    except tomllib.TOMLDecodeError as exc:
        raise ClinicError(f"{path}: not valid TOML ({exc}). Each line is: field = \"value\".") from None
    clinic = parse_clinic(data, source=str(path))
    if clinic.is_placeholder:
        logger.warning("%s still holds the placeholder contact details: edit it before patients use the chat.", path)
    return clinic
