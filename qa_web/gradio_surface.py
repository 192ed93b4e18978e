"""What a Gradio page may be sent: its events, their inputs, and a check of each payload.

`surface_of(blocks)` reads the events a mounted `gr.Blocks` registered (its
dependencies) at app-creation time: every Python event a UI trigger fires, and
every public `gr.api` endpoint, with the kind of value each input takes,
worked out from the input component's type (text, a number, a button's label,
chat messages, a server-side State that the browser sends as null). An input
component this module does not know (an Image, a File, a MultimodalTextbox:
anything whose value can name a file) stops the app from starting, with a
message saying what to do, rather than being let through.

`check_join` and `check_call` are pure checks of a parsed JSON body against
that surface: the right keys, a known event, and each value of the kind its
input takes (`qa_web.gradio_values`), so nothing shaped like Gradio's FileData
ever reaches Gradio (it would hash and copy the named file). This module does
not read requests or answer them; `qa_web.gradio_gate` does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from .gradio_values import BOOLEAN, CHAT, CHOICE, INTEGER, LABEL, NUMBER, STATE, TEXT, is_text, plain_json, value_fits

JOIN_KEYS = frozenset({"data", "fn_index", "session_hash", "trigger_id", "event_data"})
CALL_KEYS = frozenset({"data", "session_hash"})
SESSION_HASH = re.compile(r"[A-Za-z0-9_-]{1,64}")
_API_TYPES = {"string": TEXT, "integer": INTEGER, "number": NUMBER, "boolean": BOOLEAN}


class UnsupportedInput(ValueError):
    """An event takes an input whose payload the gate cannot check."""


@dataclass(frozen=True)
class Event:
    fn_index: int
    name: str  # the function's api_name, for messages and the public API
    inputs: tuple[str, ...]  # one kind per input, in order
    public: bool  # callable by name through /gradio_api/call/<name>


@dataclass(frozen=True)
class Surface:
    events: Mapping[int, Event]  # by fn_index: what /gradio_api/queue/join accepts
    public: Mapping[str, Event]  # by api_name: what /gradio_api/call/<name> accepts


@dataclass(frozen=True)
class Refusal:
    status: int
    code: str
    message: str


def _component_kinds() -> dict[type, str]:
    import gradio as gr

    return {
        gr.Textbox: TEXT, gr.Markdown: TEXT, gr.HTML: TEXT, gr.Button: LABEL, gr.Number: NUMBER, gr.Slider: NUMBER,
        gr.Checkbox: BOOLEAN, gr.Dropdown: CHOICE, gr.Radio: CHOICE, gr.CheckboxGroup: CHOICE, gr.State: STATE,
        gr.Chatbot: CHAT,
    }


def _kind(component, kinds: dict[type, str]) -> str | None:
    from gradio.components.api_component import Api

    if type(component) is Api:  # a gr.api parameter: its declared JSON type
        return _API_TYPES.get((component.api_info() or {}).get("type"))
    return kinds.get(type(component))  # the exact type: a subclass may carry files


def surface_of(blocks) -> Surface:
    """The events of `blocks` that a browser or an API client may start."""
    kinds = _component_kinds()
    events: dict[int, Event] = {}
    for fn_index, fn in blocks.fns.items():
        public = getattr(fn, "api_visibility", "private") == "public" and bool(fn.api_name)
        if fn.fn is None or not (fn.targets or public):
            continue  # runs in the browser only, or nothing can trigger it
        inputs = []
        for component in fn.inputs:
            kind = _kind(component, kinds)
            if kind is None or fn.batch:
                what = "a batched event" if fn.batch else f"a {type(component).__name__} input"
                raise UnsupportedInput(
                    f"The event '{fn.api_name}' takes {what}, which the request gate cannot check "
                    "(its payload could name a file on the server). Use text, number, button, state or "
                    "chatbot inputs, or teach qa_web/gradio_surface.py the new kind with a test."
                )
            inputs.append(kind)
        events[fn_index] = Event(fn_index, str(fn.api_name), tuple(inputs), public)
    public = {event.name: event for event in events.values() if event.public}
    return Surface(MappingProxyType(events), MappingProxyType(public))


# -------------------------------------------------------------- payloads
def _check_data(event: Event, data: Any) -> Refusal | None:
    if not isinstance(data, list) or len(data) != len(event.inputs):
        kinds = ", ".join(event.inputs) or "nothing"
        return Refusal(422, "invalid_data", f"'data' must be a list of {len(event.inputs)} values ({kinds}).")
    for position, (kind, value) in enumerate(zip(event.inputs, data)):
        if isinstance(value, str) and not is_text(value):
            return Refusal(422, "invalid_text", f"data[{position}] is not valid text: it holds a lone UTF-16 surrogate.")
        if not value_fits(kind, value):
            return Refusal(422, "invalid_data", f"data[{position}] must be {kind}.")
    return None


def _extra_keys(body: dict, allowed: frozenset) -> Refusal | None:
    extra = sorted(str(k)[:40] for k in set(body) - allowed)
    if extra:
        return Refusal(422, "invalid_request", f"'{extra[0]}' is not an accepted field; send only {', '.join(sorted(allowed))}.")
    return None


def _session(body: dict, *, required: bool) -> Refusal | None:
    session = body.get("session_hash")
    if session is None and not required:
        return None
    if not isinstance(session, str) or not SESSION_HASH.fullmatch(session):
        return Refusal(422, "invalid_request", "'session_hash' must be 1 to 64 letters, digits, '-' or '_'.")
    return None


def check_join(body: Any, surface: Surface) -> Refusal | None:
    """A /gradio_api/queue/join body: one of this page's events and its inputs."""
    if not isinstance(body, dict):
        return Refusal(422, "invalid_request", 'The body must be a JSON object like {"data": [...], "fn_index": 0, "session_hash": "..."}.')
    if refusal := _extra_keys(body, JOIN_KEYS) or _session(body, required=True):
        return refusal
    fn_index = body.get("fn_index")
    if isinstance(fn_index, bool) or not isinstance(fn_index, int) or fn_index not in surface.events:
        return Refusal(404, "unknown_event", "'fn_index' names no event of this page.")
    trigger = body.get("trigger_id")
    if trigger is not None and (isinstance(trigger, bool) or not isinstance(trigger, int)):
        return Refusal(422, "invalid_request", "'trigger_id' must be a whole number or null.")
    if not plain_json(body.get("event_data")):
        return Refusal(422, "invalid_request", "'event_data' must be plain JSON with no file in it.")
    return _check_data(surface.events[fn_index], body.get("data"))


def check_call(api_name: str, body: Any, surface: Surface) -> Refusal | None:
    """A /gradio_api/call/<api_name> body: a public endpoint and its inputs."""
    event = surface.public.get(api_name)
    if event is None:
        return Refusal(404, "not_found", "Not found.")
    if not isinstance(body, dict):
        return Refusal(422, "invalid_request", 'The body must be a JSON object like {"data": [...]}.')
    return _extra_keys(body, CALL_KEYS) or _session(body, required=False) or _check_data(event, body.get("data"))
