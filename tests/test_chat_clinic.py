"""corpus/clinic.toml: the clinic's contact details, checked at start-up.

Pure parsing over hand-written tables, the shipped file itself, and the app
refusing to start (with the field named) when the file is wrong. That the
details reach the patient is checked in real Chromium in test_chat_failures.py
and test_chat_answers.py.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from qa_web.clinic import DEFAULT_PATH, FIELDS, Clinic, ClinicError, load_clinic, parse_clinic

GOOD = {
    "name": "Riverside Hip Clinic",
    "phone": "+44 (0)1632 960-123",
    "hours": "Monday to Friday, 8am to 6pm",
    "website": "https://www.riverside.example/hips",
    "emergency_number": "999",
}


def test_good_details_give_a_clinic_with_a_dialable_phone():
    clinic = parse_clinic(GOOD)
    assert clinic == Clinic(**GOOD)
    # "+44 (0)1632 960-123": the + and the digits only.
    assert clinic.phone_href == "tel:+4401632960123"
    assert clinic.emergency_href == "tel:999"
    assert not clinic.is_placeholder


def test_spaces_are_tidied():
    assert parse_clinic({**GOOD, "name": "  Riverside \n Hip   Clinic "}).name == "Riverside Hip Clinic"


@pytest.mark.parametrize("field", FIELDS)
def test_a_missing_field_is_named(field):
    data = {k: v for k, v in GOOD.items() if k != field}
    with pytest.raises(ClinicError, match=rf"'{field}' is missing\. Write it like"):
        parse_clinic(data, source="corpus/clinic.toml")


@pytest.mark.parametrize(
    "field,value,problem",
    [
        ("phone", 1632960123, "must be text in quotes, not int"),
        ("phone", "call us", "is not a phone number"),
        ("phone", "12", "is not a phone number"),
        ("phone", "+44 1632 960123 ext 4", "is not a phone number"),
        ("emergency_number", "9-9-9", "must be 2 to 6 digits"),
        ("emergency_number", "ask", "must be 2 to 6 digits"),
        ("website", "www.clinic.example", "must be a web address starting with https://"),
        ("website", "javascript:alert(1)", "must be a web address starting with https://"),
        ("name", "   ", "is empty"),
        ("hours", "x" * 121, "is longer than 120 characters"),
        ("name", ["Riverside"], "must be text in quotes, not list"),
    ],
)
def test_a_wrong_field_is_named_with_what_to_write(field, value, problem):
    with pytest.raises(ClinicError) as error:
        parse_clinic({**GOOD, field: value}, source="corpus/clinic.toml")
    assert str(error.value).startswith(f"corpus/clinic.toml: '{field}' {problem}. Write it like ")


def test_an_unknown_field_is_refused_so_typos_show():
    with pytest.raises(ClinicError, match="unknown field 'phone_number'; the fields are name, phone"):
        parse_clinic({**GOOD, "phone_number": "1"})


def test_the_shipped_file_loads_and_is_marked_as_placeholders(caplog):
    clinic = load_clinic(DEFAULT_PATH)
    assert clinic.is_placeholder and clinic.emergency_number
    assert "placeholder contact details" in caplog.text
    assert "EDIT EVERY VALUE BELOW" in DEFAULT_PATH.read_text(encoding="utf-8")


def test_a_file_that_is_not_toml_or_is_missing_says_so(tmp_path):
    broken = tmp_path / "clinic.toml"
    broken.write_text('name = "Riverside\nphone = 1\n', encoding="utf-8")
    with pytest.raises(ClinicError, match=r"not valid TOML .*field = \"value\""):
        load_clinic(broken)
    with pytest.raises(ClinicError, match="no such file"):
        load_clinic(tmp_path / "nowhere.toml")


def test_the_app_does_not_start_with_a_wrong_clinic_file(tmp_path):
    """create_app reads corpus/clinic.toml beside the assistant's documents at start-up."""
    from qa_web.server import create_app

    (tmp_path / "clinic.toml").write_text(
        "\n".join(f'{k} = "{v}"' for k, v in {**GOOD, "website": "clinic.example"}.items()), encoding="utf-8"
    )
    fake = SimpleNamespace(manifest={}, paths=SimpleNamespace(corpus_dir=tmp_path), ask=None, corpus_markdown=None)
    with pytest.raises(ClinicError, match=r"clinic\.toml: 'website' must be a web address starting with https://"):
        create_app(fake, max_chars=1000)
