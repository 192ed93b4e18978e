"""ASGI middleware that closes what this app does not use and caps request size.

Gradio serves many routes a text-only FAQ never needs. This middleware answers
404 for the file and proxy routes (no file is ever served from disk or fetched
from a URL), uploads, the run-without-queue routes, streaming, component and
run-history routes and monitoring; refuses bodies over a size limit with 413;
and adds security headers (a Content-Security-Policy that only allows this
origin, frame-ancestors for the pages, nosniff, no referrer). It does not do
authentication, rate limiting per client or TLS: put a reverse proxy in front.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

#: Route patterns refused with 404, matched against the decoded path anywhere
#: under the app (the chat at "/" and the embed view at "/embed" both mount Gradio).
BLOCKED_PATH = re.compile(
    r"/(?:gradio_api/)?(?:file=|proxy=)"  # files from disk or URLs (traversal, SSRF)
    r"|/gradio_api/(?:upload|run/|api/|stream/|component_server|vibe-edit|run-history|mcp|process_recording|file/)"
    r"|/gradio_api/(?:run|api|upload)$"
    r"|/monitoring(?:/|$)",
    re.IGNORECASE,
)

# Gradio's page needs inline scripts and styles; everything must come from here.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)


def _json(status: int, code: str, message: str) -> tuple[dict, bytes]:
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
    }
    return start, body


class HardeningMiddleware:
    def __init__(
        self,
        app,
        *,
        max_body_bytes: int,
        embed_prefix: str = "/embed",
        embed_origins: Sequence[str] = (),
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.embed_prefix = embed_prefix
        self.page_csp = (_CSP + "; frame-ancestors 'self'").encode()
        # With no allow-list the embed may be framed by any page, including a
        # host page opened from disk (file://), which "frame-ancestors *" would block.
        embed_ancestors = "; frame-ancestors " + " ".join(("'self'", *embed_origins)) if embed_origins else ""
        self.embed_csp = (_CSP + embed_ancestors).encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :] or "/"
        if BLOCKED_PATH.search(path) or BLOCKED_PATH.search(scope.get("raw_path", b"").decode("latin-1")):
            await self._refuse(send, 404, "not_found", "Not found.")
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await self._refuse(send, 413, "too_large", f"Request body over {self.max_body_bytes} bytes.")
            return

        received = 0
        too_large = False

        async def limited_receive():
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body_bytes:
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        is_embed = path == self.embed_prefix or path.startswith(self.embed_prefix + "/")
        csp = self.embed_csp if is_embed else self.page_csp
        replaced = started = False

        async def secured_send(message):
            nonlocal replaced, started
            started = True
            if replaced:
                return  # the app's own answer to a cut-off body is dropped
            if message["type"] == "http.response.start" and too_large:
                # The body was cut off at the limit: whatever the app made of
                # that (FastAPI says 400), the client learns the real reason.
                replaced = True
                await self._refuse(send, 413, "too_large", f"Request body over {self.max_body_bytes} bytes.")
                return
            if message["type"] == "http.response.start":
                extra = [
                    (b"content-security-policy", csp),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                ]
                if not is_embed:
                    extra.append((b"x-frame-options", b"SAMEORIGIN"))
                names = {k for k, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, limited_receive, secured_send)
        if too_large and not started:  # the app gave up without answering
            await self._refuse(send, 413, "too_large", f"Request body over {self.max_body_bytes} bytes.")

    @staticmethod
    async def _refuse(send, status: int, code: str, message: str) -> None:
        start, body = _json(status, code, message)
        await send(start)
        await send({"type": "http.response.body", "body": body})
