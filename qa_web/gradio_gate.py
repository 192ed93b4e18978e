"""An allow-list in front of the Gradio apps: the routes the chat and the embed use, and nothing else.

Gradio registers about eighty routes per mounted app (files, uploads, deep
links, dev reload, MCP, run history, vibe editing...). This middleware lets
through only what the pages, `gradio_client` and the documented two-step
HTTP call need: the page, its config, theme and built assets, the API info,
the heartbeat, joining the queue, reading the queue's event stream, and
`/gradio_api/call/<name>` for public `gr.api` endpoints. Every other path
under a Gradio mount, any method not listed, and any `deep_link` query is
answered 404 (the security headers come from `HardeningMiddleware`, which
wraps this one).

The two routes that start an event have their JSON body read, checked against
the page's events (`qa_web.gradio_surface`) and passed on re-serialised, so
Gradio parses exactly what was checked. The event-stream routes are only
passed on for a session or event the queue knows, since Gradio answers an
unknown one with a 200 stream that then fails with a traceback. Paths under
`/api` belong to the JSON API and pass untouched. This module does not limit
body size (the hardening middleware does) or decide what an answer says.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from urllib.parse import parse_qs

from .gradio_surface import SESSION_HASH, Refusal, Surface, check_call, check_join
from .hardening import app_path, send_refusal

logger = logging.getLogger(__name__)

OPEN, JOIN, DATA, HEARTBEAT, CALL, RESULT = "open", "join", "data", "heartbeat", "call", "result"
#: (method, path under the mount) served as Gradio serves them.
OPEN_ROUTES = frozenset({
    ("GET", "/"), ("HEAD", "/"), ("GET", "/config"), ("GET", "/theme.css"), ("GET", "/favicon.ico"),
    ("GET", "/robots.txt"), ("GET", "/gradio_api/info"),
})
OPEN_PREFIXES = (("GET", "/assets/"), ("GET", "/static/"))  # Gradio's built files, served from its package
_NAME = r"[A-Za-z0-9_]{1,64}"
_ID = r"[A-Za-z0-9_-]{1,64}"
CHECKED_ROUTES = (
    ("POST", re.compile(r"/gradio_api/queue/join"), JOIN),
    ("GET", re.compile(r"/gradio_api/queue/data"), DATA),
    ("GET", re.compile(rf"/gradio_api/heartbeat/{_ID}"), HEARTBEAT),
    ("POST", re.compile(rf"/gradio_api/call/(?P<name>{_NAME})"), CALL),
    ("GET", re.compile(rf"/gradio_api/call/(?P<name>{_NAME})/(?P<event>{_ID})"), RESULT),
)
NOT_FOUND = Refusal(404, "not_found", "Not found.")


def classify(method: str, path: str) -> tuple[str, dict[str, str]] | None:
    """Which allowed route `method path` (under a Gradio mount) is, or None if it is not one."""
    if (method, path) in OPEN_ROUTES or any(method == m and path.startswith(p) for m, p in OPEN_PREFIXES):
        return OPEN, {}
    for allowed, pattern, route in CHECKED_ROUTES:
        if method == allowed and (match := pattern.fullmatch(path)):
            return route, match.groupdict()
    return None


def _session_known(blocks, session_hash: str) -> bool:
    # Gradio's queue keeps a message queue per session with events in flight
    # (gradio/routes.py queue_data_helper raises 404 inside the stream otherwise).
    return session_hash in blocks._queue.pending_messages_per_session


def _event_known(blocks, event_id: str) -> bool:
    """Resolves the event's session as gradio/routes.py simple_predict_get does."""
    queue = blocks._queue
    event = queue.event_ids_to_events.get(event_id)
    if event is not None:
        session = event.session_hash
    else:
        session = next((s for s, ids in queue.pending_event_ids_session.items() if event_id in ids), event_id)
    return _session_known(blocks, session)


async def _read_body(receive) -> bytes | None:
    """The whole body, or None if the client went away (or the size cap cut it off)."""
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _parse(body: bytes) -> tuple[object, Refusal | None]:
    try:
        return json.loads(body), None
    except (ValueError, RecursionError):  # not JSON, not UTF-8, a 5,000-digit number, or nested too deep
        return None, Refusal(400, "invalid_json", "The request body is not valid JSON.")


class GradioGate:
    def __init__(self, app, *, pages: Mapping[str, tuple[object, Surface]],
                 own_prefixes: tuple[str, ...] = ("/api",)) -> None:
        """`pages`: the Blocks mounted at each path prefix ("" for the app at "/") and
        its `surface_of`, worked out by the caller so a page the gate cannot check
        stops the app at creation rather than at its first request. `own_prefixes`:
        paths of the app's own FastAPI routes (the JSON API, the staff page), which
        pass untouched."""
        self.app = app
        self.own_prefixes = own_prefixes
        # Longest prefix first, so "/embed" is tried before the chat at "/".
        self.mounts: list[tuple[str, object, Surface]] = sorted(
            ((prefix.rstrip("/"), blocks, surface) for prefix, (blocks, surface) in pages.items()),
            key=lambda item: -len(item[0]),
        )

    def _mount(self, path: str):
        for prefix, blocks, surface in self.mounts:
            if not prefix or path == prefix or path.startswith(prefix + "/"):
                return blocks, surface, path[len(prefix) :] or "/"
        return None

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        path = app_path(scope)
        if any(path == prefix or path.startswith(prefix + "/") for prefix in self.own_prefixes):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":  # Gradio 6 needs none; uvicorn runs with ws="none"
            await send({"type": "websocket.close", "code": 1008})
            return
        found = self._mount(path)
        route = classify(scope["method"], found[2]) if found else None
        query = parse_qs(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
        if route is None or "deep_link" in query:  # a deep link writes the whole chat to disk
            await self._refuse(send, NOT_FOUND)
            return
        blocks, surface, _ = found
        kind, params = route
        if kind == DATA:
            sessions = query.get("session_hash", [])
            if len(sessions) != 1 or not SESSION_HASH.fullmatch(sessions[0]) or not _session_known(blocks, sessions[0]):
                await self._refuse(send, Refusal(404, "unknown_session", "No answer is pending for this session."))
                return
        elif kind == RESULT:
            if params["name"] not in surface.public:
                await self._refuse(send, NOT_FOUND)
                return
            if not _event_known(blocks, params["event"]):
                await self._refuse(send, Refusal(404, "unknown_event", "No such event is pending."))
                return
        elif kind in (JOIN, CALL):
            await self._checked_event(scope, receive, send, kind, params, surface)
            return
        await self.app(scope, receive, send)

    async def _checked_event(self, scope, receive, send, kind, params, surface: Surface) -> None:
        if kind == CALL and params["name"] not in surface.public:
            await self._refuse(send, NOT_FOUND)
            return
        raw = await _read_body(receive)
        if raw is None:
            return  # nothing to answer; the size cap answers 413 itself
        body, refusal = _parse(raw)
        refusal = refusal or (check_join(body, surface) if kind == JOIN else check_call(params["name"], body, surface))
        if refusal is not None:
            logger.warning("refused %s %r: %r", scope["method"], app_path(scope)[:80], refusal.message)  # repr: no forged log lines
            await self._refuse(send, refusal)
            return
        checked = json.dumps(body).encode()
        headers = [(k, v) for k, v in scope.get("headers", []) if k not in (b"content-length", b"content-type")]
        headers += [(b"content-type", b"application/json"), (b"content-length", str(len(checked)).encode())]
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": checked, "more_body": False}
            return await receive()  # after the body: only the client's disconnect

        await self.app({**scope, "headers": headers}, replay, send)

    @staticmethod
    async def _refuse(send, refusal: Refusal) -> None:
        await send_refusal(send, refusal.status, refusal.code, refusal.message)
