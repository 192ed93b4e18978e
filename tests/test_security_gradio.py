"""Attacks on the Gradio side of the real server (issue #14), each sent as the exact request
over loopback to `python app.py`, then the server's health, its stderr and its disk checked.

The server is tests/web_fixtures.py's `security_server`: its own folder (HOME, cwd,
GRADIO_TEMP_DIR and TMPDIR all inside it), so "nothing written" means no file under
that folder holds the marker. Events are found from the page's /config, not by number.
"""

from __future__ import annotations

import asyncio
import functools
import json
import random
import re
import uuid

import httpx
import pytest

from web_fixtures import files_under, security_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(120)

PAGES = ("", "/embed")
GENERIC_404 = {"error": {"code": "not_found", "message": "Not found."}}
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "referrer-policy")

#: A frozen server never answers; a busy machine answers late. A hang guard, not a speed bar.
HEALTH_TIMEOUT_S = 10


@pytest.fixture(scope="module")
def http(security_server):
    with httpx.Client(base_url=security_server.base_url, timeout=30) as client:
        yield client


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}}


def backend_events(http, page: str) -> list[dict]:
    """The page's Python events as its config lists them (what a browser may send)."""
    return [d for d in http.get(f"{page}/config").json()["dependencies"] if d["backend_fn"]]


def fillers(http, page: str, event: dict) -> list:
    """A value each input of `event` accepts: null for server-side state, text otherwise."""
    types = {c["id"]: c["type"] for c in http.get(f"{page}/config").json()["components"]}
    return [None if types.get(i) == "state" else "x" for i in event["inputs"]]


def question_event(http, page: str) -> dict:
    """The event that answers a question: `respond`, which the chat runs after its browser-side send step."""
    return next(d for d in backend_events(http, page) if d.get("api_name") == "respond")


def join(http, page: str, fn_index: int, data: list, session: str, **extra) -> httpx.Response:
    body = {"data": data, "fn_index": fn_index, "session_hash": session, **extra}
    return http.post(f"{page}/gradio_api/queue/join", json=body)


def read_stream(http, page: str, session: str) -> list[dict]:
    """The session's event stream until Gradio closes it (bounded by the client timeout)."""
    messages = []
    with http.stream("GET", f"{page}/gradio_api/queue/data", params={"session_hash": session}) as stream:
        assert stream.headers["cache-control"] == "no-store"
        for line in stream.iter_lines():
            if line.startswith("data: "):
                messages.append(json.loads(line[6:]))
                if messages[-1]["msg"] in ("close_stream", "unexpected_error"):
                    break
    return messages


def assert_refused(response: httpx.Response, *statuses: int) -> None:
    """A short JSON error with the security headers, never a traceback or a path."""
    assert response.status_code in (statuses or range(400, 500)), (response.status_code, response.text[:300])
    assert set(response.json()) == {"error"} and len(response.text) < 400
    assert all(name in response.headers for name in SECURITY_HEADERS), response.headers
    assert response.headers["cache-control"] == "no-store"


def assert_no_traceback(server) -> None:
    errors = server.stderr.read_text(errors="replace")
    assert "Traceback" not in errors and "Exception in ASGI" not in errors, errors[-3000:]


def marker() -> str:
    return "zq" + uuid.uuid4().hex[:12]


def assert_not_on_disk(server, text: str) -> None:
    assert text not in server.logs()
    for path in files_under(server.root):
        assert text.encode() not in path.read_bytes(), f"{text} written to {path.relative_to(server.root)}"


# ------------------------------------------------------- FileData: freeze and copy
def test_dev_zero_named_as_a_file_is_refused_and_the_server_stays_healthy(http, security_server):
    # The request: Gradio hashed /dev/zero on the event loop for good.
    body = {"data": [file_data("/dev/zero"), None], "fn_index": question_event(http, "")["id"], "session_hash": "x"}
    response = http.post("/gradio_api/queue/join", json=body)
    assert httpx.get(f"{security_server.base_url}/api/health", timeout=HEALTH_TIMEOUT_S).status_code == 200
    assert_refused(response, 422)
    for page in PAGES:
        for event in backend_events(http, page):
            for position in range(len(event["inputs"])):
                data = fillers(http, page, event)
                data[position] = file_data("/dev/zero")
                assert_refused(join(http, page, event["id"], data, "x"), 422)
    assert_refused(http.post("/gradio_api/call/ask", json={"data": [file_data("/dev/zero"), 3]}), 422)
    assert httpx.get(f"{security_server.base_url}/api/health", timeout=HEALTH_TIMEOUT_S).status_code == 200
    assert_no_traceback(security_server)


def test_a_planted_file_named_anywhere_in_a_payload_is_never_copied(http, security_server, tmp_path):
    secret = marker()
    planted = tmp_path / "planted.txt"
    planted.write_text(f"secret {secret}\n")
    named = file_data(str(planted))
    event = question_event(http, "")
    shapes = [
        [named, None],
        ["hip injection risks", named],
        [[named], None],
        [{"text": "x", "files": [named]}, None],
        ["hip", None, named],
    ]
    for page in PAGES:
        question = question_event(http, page)["id"]
        for data in shapes:
            assert_refused(join(http, page, question, data, "p1"), 422)
        assert_refused(join(http, page, question, ["hip", None], "p1", event_data={"value": named}), 422)
    chat = [{"role": "user", "content": [{"type": "file", "file": named}]}]
    assert_refused(join(http, "", event["id"], [chat, None], "p1"), 422)
    assert_refused(http.post("/gradio_api/call/ask", json={"data": [named, 3]}), 422)
    assert_refused(http.post("/gradio_api/call/ask", json={"data": ["risks?", named]}), 422)
    assert_not_on_disk(security_server, secret)
    assert not list((security_server.root / "gradio-tmp").rglob("planted.txt"))


# --------------------------------------------------- nothing of a chat on disk
def test_a_chat_cannot_be_written_to_disk_through_a_deep_link(http, security_server):
    secret = marker()
    for page in PAGES:
        session = f"s{uuid.uuid4().hex[:10]}"
        event = question_event(http, page)
        assert join(http, page, event["id"], [f"Does {secret} hip injection hurt?", None], session).status_code == 200
        messages = read_stream(http, page, session)
        assert any(m["msg"] == "process_completed" and m["success"] for m in messages), messages
        assert_refused(http.get(f"{page}/gradio_api/deep_link", params={"session_hash": session}), 404)
        for route in (f"{page}/", f"{page}/config"):
            assert_refused(http.get(route, params={"deep_link": "AQUpqOTW3js"}), 404)
            assert_refused(http.get(route, params={"deep_link": ""}), 404)
    assert http.post("/gradio_api/call/ask", json={"data": [f"Does {secret} hurt?", 1]}).status_code == 200
    assert not list(security_server.root.rglob("deep_links"))
    assert_not_on_disk(security_server, secret)


# ------------------------------------------------------------ closed routes
@pytest.mark.parametrize("page", PAGES)
def test_dev_reload_and_the_chat_events_by_name_are_closed(http, page):
    assert_refused(http.get(f"{page}/gradio_api/dev/reload"), 404)
    for event in backend_events(http, page):  # the chat's own events are private: not callable by name
        if event["api_visibility"] == "public":
            continue
        assert_refused(http.post(f"{page}/gradio_api/call/{event['api_name']}", json={"data": ["x", None]}), 404)


def test_the_public_ask_endpoint_still_answers_through_the_gate(http):
    event_id = http.post("/gradio_api/call/ask", json={"data": ["Who performs a hip injection?", 1]}).json()["event_id"]
    stream = http.get(f"/gradio_api/call/ask/{event_id}")
    assert stream.headers["cache-control"] == "no-store"
    assert "event: complete" in stream.text and "heading_path" in stream.text


# ------------------------------------------------- former 500s, now 4xx, quietly
FORMER_500S = [
    ("POST", "/gradio_api/call/v2/ask", {"data": ["risks?", 3]}),
    ("POST", "/gradio_api/call/nonexistent", {"data": ["risks?"]}),
    ("POST", "/gradio_api/queue/join", {"data": ["risks?", None], "fn_index": 999, "session_hash": "s1"}),
    ("GET", "/gradio_api/queue/data?session_hash=nosuchsession", None),
    ("GET", "/gradio_api/call/ask/nosuchevent", None),
    ("POST", "/gradio_api/queue/join", {"data": "x", "fn_index": "0", "session_hash": ["x"]}),
]


@pytest.mark.parametrize("method,path,body", FORMER_500S, ids=[f"{m} {p.split('?')[0]}" for m, p, _ in FORMER_500S])
def test_former_500s_are_short_4xx_without_a_traceback(http, security_server, method, path, body):
    for page in PAGES:
        assert_refused(http.request(method, page + path, json=body))
    assert_no_traceback(security_server)
    assert http.get("/api/health").status_code == 200


def test_a_lone_surrogate_is_named_and_a_zero_width_joiner_is_ignored(http):
    surrogate = http.post("/api/ask", content=b'{"question": "will the shot hurt?\\ud800"}', headers={"content-type": "application/json"})
    assert_refused(surrogate, 422)
    assert surrogate.json()["error"]["code"] == "invalid_text" and "surrogate" in surrogate.json()["error"]["message"]
    body = {"data": ["hurt?\ud800", None], "fn_index": question_event(http, "")["id"], "session_hash": "s2"}
    escaped = json.dumps(body).encode()  # "\ud800" as a JSON escape, as a browser would send it
    refused = http.post("/gradio_api/queue/join", content=escaped, headers={"content-type": "application/json"})
    assert_refused(refused, 422)
    assert "surrogate" in refused.json()["error"]["message"]
    # Each of these declined when the joiner split a word in two.
    for question in ("will the sh\u200dot hurt?", "What should I do after the injec\u200dtion?", "How lo\u200dng does the pain relief last?"):
        plain = http.post("/api/ask", json={"question": question.replace("\u200d", "")}).json()
        joined = http.post("/api/ask", json={"question": question}).json()
        assert not joined["abstained"], question
        assert joined["passages"][0]["id"] == plain["passages"][0]["id"]


# ------------------------------------------------------- every registered route
class StandIn:
    """Enough for create_app to build the same routes in this process; never asked."""

    manifest = {"passage_count": 1, "corpus": [{"name": "hip_injections.md"}]}

    def corpus_markdown(self, source: str) -> str:
        return "# Hip injections\n"

    def ask(self, question, k=3):
        raise AssertionError("not used")


@functools.lru_cache(maxsize=1)
def stand_in_app():
    """The real create_app in this process, over a stand-in assistant (built once: about 4 s)."""
    from qa_web.server import create_app

    return create_app(StandIn(), max_chars=1000)


def registered_routes() -> list[tuple[str, str]]:
    """(method, path template) of every route FastAPI and both Gradio mounts register."""
    try:
        from fastapi.routing import iter_route_contexts
    except ImportError:  # an older FastAPI: plain route objects
        def iter_route_contexts(routes):
            return routes

    found = []

    def walk(routes, prefix: str) -> None:
        for route in iter_route_contexts(routes):
            original = getattr(route, "original_route", route)
            if hasattr(getattr(original, "app", None), "routes") and not getattr(route, "methods", None):
                walk(original.app.routes, prefix + original.path)
            else:
                found.extend((method, prefix + route.path) for method in sorted(route.methods or ()))

    walk(stand_in_app().routes, "")
    return found


OPEN_ON_EVERY_PAGE = {
    ("GET", "/"), ("HEAD", "/"), ("GET", "/config"), ("GET", "/theme.css"), ("GET", "/favicon.ico"),
    ("GET", "/robots.txt"), ("GET", "/gradio_api/info"), ("GET", "/assets/{path:path}"), ("GET", "/static/{path:path}"),
    ("GET", "/gradio_api/heartbeat/{session_hash}"), ("POST", "/gradio_api/queue/join"), ("GET", "/gradio_api/queue/data"),
}
OPEN_ON_THE_CHAT = {("POST", "/gradio_api/call/{api_name}"), ("GET", "/gradio_api/call/{api_name}/{event_id}")}
OPEN_API = {
    ("GET", "/api/openapi.json"), ("HEAD", "/api/openapi.json"), ("GET", "/api/docs"), ("HEAD", "/api/docs"),
    ("POST", "/api/ask"), ("GET", "/api/health"),
}
EXPECTED_OPEN = (
    OPEN_API | {(m, "/embed" + p) for m, p in OPEN_ON_EVERY_PAGE} | OPEN_ON_EVERY_PAGE | OPEN_ON_THE_CHAT
)
SAMPLES = {"session_hash": "walk1", "api_name": "ask", "event_id": "walk1"}
NOT_REGISTERED = [("GET", "/nonexistent"), ("PUT", "/"), ("OPTIONS", "/config"), ("DELETE", "/gradio_api/queue/join"),
                  ("GET", "/embed/gradio_api/call/ask/walk1"), ("GET", "/config/"), ("GET", "/gradio_api/info/")]


def concrete(template: str) -> str:
    return re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: SAMPLES.get(m.group(1), "x"), template)


def test_every_registered_route_is_on_the_allow_list_or_refused(security_server):
    routes = registered_routes()
    assert len(routes) > 100 and ("POST", "/gradio_api/queue/join") in routes  # the walk saw both mounts
    assert EXPECTED_OPEN <= set(routes), EXPECTED_OPEN - set(routes)
    with httpx.Client(base_url=security_server.base_url, timeout=10) as client:
        for method, template in routes + NOT_REGISTERED:
            with client.stream(method, concrete(template), json={} if method == "POST" else None) as response:
                body = b"" if method == "HEAD" else next(response.iter_bytes(), b"")
            label = f"{method} {template} -> {response.status_code} {body[:120]!r}"
            assert response.status_code < 500, label
            assert all(name in response.headers for name in SECURITY_HEADERS), label
            refused = response.status_code == 404 and (method == "HEAD" or json.loads(body or b"null") == GENERIC_404)
            if (method, template) in EXPECTED_OPEN:
                assert not refused, label
            elif template != "/api/{rest:path}":  # the API's own catch-all answers 404/405 in the same shape
                assert refused, label
    assert_no_traceback(security_server)


def test_gradios_own_file_check_is_on_behind_the_gate():
    # The second line: were a FileData to get past the gate, Gradio itself now refuses
    # a path that was not uploaded (mount_gradio_app alone leaves this check off).
    from gradio import processing_utils
    from gradio.context import LocalContext
    from gradio.exceptions import InvalidPathError

    mounted = [r.app.get_blocks() for r in stand_in_app().routes if hasattr(getattr(r, "app", None), "get_blocks")]
    assert len(mounted) == 2
    for blocks in mounted:
        textbox = next(c for fn in blocks.fns.values() for c in fn.inputs if type(c).__name__ == "Textbox")
        token = LocalContext.blocks.set(blocks)
        try:
            with pytest.raises(InvalidPathError):
                move = processing_utils.async_move_files_to_cache(file_data("/dev/zero"), textbox, check_in_upload_folder=True)
                asyncio.run(asyncio.wait_for(move, timeout=5))
        finally:
            LocalContext.blocks.reset(token)


def test_an_event_whose_input_could_name_a_file_stops_the_app_at_creation():
    import gradio as gr

    from qa_web.gradio_surface import UnsupportedInput, surface_of

    with gr.Blocks() as blocks:
        upload, text = gr.File(), gr.Textbox()
        upload.upload(lambda f: "", inputs=[upload], outputs=[text])
    with pytest.raises(UnsupportedInput, match="File input.*gradio_surface.py"):
        surface_of(blocks)


# ------------------------------------------------------------------ fuzz
FILE_LIKE = ({"path": "/etc/passwd"}, file_data("/dev/zero"), {"url": "http://127.0.0.1:1/"}, {"meta": {}})


def random_json(rng: random.Random, depth: int = 0):
    pick = rng.randrange(11 if depth < 4 else 6)
    if pick == 0:
        return None
    if pick == 1:
        return rng.choice([True, False])
    if pick == 2:
        return rng.choice([0, -1, 1, 2**63, -(2**70), 10**40])
    if pick == 3:
        return rng.choice([0.5, -1e308, 1e308, 3.0])
    if pick == 4:
        return "".join(rng.choice("ab ?<>'\"\\\u200d\u00e9\U0001f489\x00") for _ in range(rng.randrange(12)))
    if pick == 5:
        return rng.choice(["", "x" * 3000, "../../etc/passwd", "/dev/zero"])
    if pick in (6, 7):
        return [random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if pick == 8:
        return rng.choice(FILE_LIKE)
    keys = ["data", "fn_index", "session_hash", "event_data", "trigger_id", "path", "meta", "batched", "simple_format", "x"]
    return {rng.choice(keys): random_json(rng, depth + 1) for _ in range(rng.randrange(5))}


def mutants(rng: random.Random, valid: dict, count: int):
    """Random bodies, and a valid body with one field replaced, dropped or added."""
    for _ in range(count):
        body = dict(valid)
        roll = rng.random()
        if roll < 0.3:
            yield random_json(rng)
            continue
        key = rng.choice([*body, "event_data", "batched", "oauth_token", "x"])
        if roll < 0.4:
            body.pop(key, None)
        else:
            body[key] = random_json(rng)
        yield body


RAW = (b"", b"{", b"\xff\xfe", b"[" * 5000, b'{"data": [' + b"1," * 3000 + b"1]}", b"NaN", b'{"data": [NaN, Infinity]}')


def test_fuzz_the_remaining_gradio_routes(http, security_server):
    rng = random.Random(14)
    statuses = []
    for page in PAGES:
        # A valid body of the chat's clear event: valid mutants cost no model time.
        clear = next(d for d in backend_events(http, page) if not d["inputs"])
        valid_join = {"data": [], "fn_index": clear["id"], "session_hash": "fuzz1", "trigger_id": None}
        posts = [(f"{page}/gradio_api/queue/join", body) for body in mutants(rng, valid_join, 120)]
        posts += [(f"{page}/gradio_api/call/ask", body) for body in mutants(rng, {"data": ["risks?", 1]}, 40)]
        for path, body in posts:
            statuses.append(http.post(path, content=json.dumps(body), headers={"content-type": "application/json"}).status_code)
        for path in (f"{page}/gradio_api/queue/join", f"{page}/gradio_api/call/ask"):
            statuses += [http.post(path, content=raw, headers={"content-type": "application/json"}).status_code for raw in RAW]
        for value in ("", "x" * 100, "../x", "a b", "\u00e9", "%00", "nosession"):
            statuses.append(http.get(f"{page}/gradio_api/queue/data", params={"session_hash": value}).status_code)
            statuses.append(http.get(f"{page}/gradio_api/call/ask/{value}").status_code)
    assert statuses and max(statuses) < 500, sorted(set(statuses))
    assert httpx.get(f"{security_server.base_url}/api/health", timeout=HEALTH_TIMEOUT_S).status_code == 200
    assert not http.post("/api/ask", json={"question": "Is the injection painful?"}).json()["abstained"]
    assert_no_traceback(security_server)
