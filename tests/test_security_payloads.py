"""The gate's pure decisions on hand-built inputs: which routes are open, which payload
values fit which input, which proxies are trusted, and the new flags. No server and no
Gradio here (tests/test_security_gradio.py sends the same things to the real server)."""

from __future__ import annotations

import pytest

from qa_web.forwarded import is_trusted, parse_trusted
from qa_web.gradio_gate import CALL, DATA, HEARTBEAT, JOIN, OPEN, RESULT, classify
from qa_web.gradio_surface import Event, Surface, check_call, check_join
from qa_web.gradio_values import CHAT, LABEL, NUMBER, STATE, TEXT, value_fits
from qa_web.settings import Settings, parse_settings

FILE = {"path": "/dev/zero", "meta": {"_type": "gradio.FileData"}}
# A page with one question event (text + state) at fn_index 0 and the public "ask" at 20.
SURFACE = Surface(
    events={0: Event(0, "respond", (TEXT, STATE), False), 20: Event(20, "ask", (TEXT, "a whole number"), True)},
    public={"ask": Event(20, "ask", (TEXT, "a whole number"), True)},
)


@pytest.mark.parametrize("method,path,route", [
    ("GET", "/", OPEN), ("HEAD", "/", OPEN), ("GET", "/assets/index-x.js", OPEN), ("GET", "/config", OPEN),
    ("POST", "/gradio_api/queue/join", JOIN), ("GET", "/gradio_api/queue/data", DATA),
    ("GET", "/gradio_api/heartbeat/abc-123", HEARTBEAT), ("POST", "/gradio_api/call/ask", CALL),
    ("GET", "/gradio_api/call/ask/e1", RESULT),
    ("GET", "/gradio_api/deep_link", None), ("GET", "/gradio_api/dev/reload", None), ("POST", "/gradio_api/call/v2/ask", None),
    ("POST", "/gradio_api/cancel", None), ("GET", "/gradio_api/file=/etc/passwd", None), ("POST", "/", None),
    ("GET", "/config/", None), ("GET", "/gradio_api/heartbeat/a/b", None), ("PUT", "/gradio_api/queue/join", None),
])
def test_only_listed_routes_are_open(method, path, route):
    found = classify(method, path)
    assert (found[0] if found else None) == route


@pytest.mark.parametrize("kind,value,fits", [
    (TEXT, "What are the risks?", True), (TEXT, "", True), (TEXT, "hurt?\ud800", False), (TEXT, None, False),
    (TEXT, FILE, False), (TEXT, ["x"], False), (LABEL, None, True), (LABEL, "Ask", True),
    (STATE, None, True), (STATE, [], False), (STATE, FILE, False),
    (NUMBER, 3, True), (NUMBER, 2.5, True), (NUMBER, True, False), (NUMBER, float("nan"), False),
    (CHAT, [{"role": "user", "content": "hi"}], True),
    (CHAT, [{"role": "assistant", "content": [{"type": "text", "text": "<p>x</p>"}], "metadata": None, "options": None}], True),
    (CHAT, [{"role": "user", "content": [{"type": "file", "file": FILE}]}], False),
    (CHAT, [{"role": "user", "content": FILE}], False), (CHAT, [{"role": "tool", "content": "x"}], False),
])
def test_values_fit_only_their_kind(kind, value, fits):
    assert value_fits(kind, value) is fits


def test_join_bodies():
    ok = {"data": ["risks?", None], "fn_index": 0, "session_hash": "abc", "trigger_id": 5, "event_data": None}
    assert check_join(ok, SURFACE) is None
    assert check_join({**ok, "fn_index": 999}, SURFACE).status == 404  # no such event
    assert check_join({**ok, "fn_index": True}, SURFACE).status == 404
    assert check_join({**ok, "data": [FILE, None]}, SURFACE).message == "data[0] must be text."
    assert check_join({**ok, "data": ["risks?"]}, SURFACE).message.startswith("'data' must be a list of 2 values")
    assert check_join({**ok, "event_data": {"value": FILE}}, SURFACE).status == 422
    assert check_join({**ok, "simple_format": True}, SURFACE).code == "invalid_request"
    assert check_join({**ok, "session_hash": "../x"}, SURFACE).status == 422
    assert check_join([ok], SURFACE).status == 422


def test_call_bodies_reach_public_endpoints_only():
    assert check_call("ask", {"data": ["risks?", 3]}, SURFACE) is None
    assert check_call("respond", {"data": ["risks?", None]}, SURFACE).status == 404
    assert check_call("ask", {"data": ["risks?", "3"]}, SURFACE).message == "data[1] must be a whole number."


@pytest.mark.parametrize("host,entries,trusted", [
    ("127.0.0.1", ("127.0.0.1",), True), ("127.0.0.2", ("127.0.0.1",), False), ("10.1.2.3", ("10.0.0.0/8",), True),
    ("::1", ("127.0.0.1",), False), ("203.0.113.9", ("*",), True), ("127.0.0.1", (), False), (None, ("127.0.0.1",), False),
])
def test_forwarded_headers_trust_only_the_listed_proxies(host, entries, trusted):
    assert is_trusted(host, parse_trusted(entries)) is trusted


def test_the_new_flags_and_their_environment_variables():
    assert parse_settings([], env={}) == Settings()
    assert Settings().forwarded_allow_ips == ("127.0.0.1",)
    env = {"FORWARDED_ALLOW_IPS": "10.0.0.5, 10.1.0.0/16", "HEADER_TIMEOUT": "3", "GRACEFUL_TIMEOUT": "0"}
    settings = parse_settings(["--max-connections", "50"], env=env)
    assert settings.forwarded_allow_ips == ("10.0.0.5", "10.1.0.0/16")
    assert (settings.header_timeout, settings.graceful_timeout, settings.max_connections) == (3.0, 0.0, 50)
    assert parse_settings(["--forwarded-allow-ips", ""], env={}).forwarded_allow_ips == ()
    for bad in (["--forwarded-allow-ips", "proxy.local"], ["--header-timeout", "0"], ["--max-connections", "0"]):
        with pytest.raises(SystemExit):
            parse_settings(bad, env={})
