"""What keeps /admin/ safe besides the password: headers, sessions, and where a post comes from.

``AdminHeaders`` is the outermost ASGI middleware, so the admin responses
leave with ``Cache-Control: no-store``, ``X-Frame-Options: DENY`` and
``frame-ancestors 'none'`` whatever inner middleware set. ``Sessions`` keeps
logged-in staff in this process's memory with idle and absolute expiry.
``cross_site`` reads the browser's ``Sec-Fetch-Site`` and ``Origin``. The
routes that use them are in ``qa_web.admin``.
"""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from fastapi import Request

PREFIX = "/admin"
IDLE_SECONDS, MAX_SESSION_SECONDS = 30 * 60, 8 * 3600
_HEADERS = [
    (b"cache-control", b"no-store"), (b"pragma", b"no-cache"), (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
                                 b"frame-ancestors 'none'; base-uri 'none'"),
    # same-origin, not no-referrer: under no-referrer Chromium sends "Origin: null" with the page's own
    # form posts, and the cross-site check refuses a null origin (sandboxed frames send it too).
    (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"same-origin"),
]


class AdminHeaders:
    """Outermost ASGI middleware: the admin paths' caching and framing headers, set last."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root):]
        if not (path == PREFIX or path.startswith(PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        names = {name for name, _ in _HEADERS}

        async def secured(message):
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + _HEADERS}
            await send(message)

        await self.app(scope, receive, secured)


@dataclass
class Session:
    user: str
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    started: float = field(default_factory=time.monotonic)
    seen: float = field(default_factory=time.monotonic)


class Sessions:
    def __init__(self) -> None:
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def start(self, user: str) -> tuple[str, Session]:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._by_token[token] = session = Session(user)
        return token, session

    def get(self, token: str | None) -> Session | None:
        now = time.monotonic()
        with self._lock:
            session = self._by_token.get(token or "")
            if session and (now - session.seen > IDLE_SECONDS or now - session.started > MAX_SESSION_SECONDS):
                del self._by_token[token]
                session = None
            if session:
                session.seen = now
        return session

    def end(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)


def cross_site(request: Request) -> bool:
    """A browser says where a POST comes from; anything but this origin is refused."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return True
    origin = request.headers.get("origin")
    if origin is None:
        return False
    here = urlsplit(str(request.base_url))
    return origin.rstrip("/") != f"{here.scheme}://{here.netloc}"
