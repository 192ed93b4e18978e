"""ASGI middleware that caps request size and puts the security headers on every response.

It refuses bodies over a size limit with 413; answers 404 for Gradio's file,
proxy, upload, run-without-queue, streaming, component, run-history and
monitoring routes (a block-list kept as a second line behind the allow-list
in `qa_web.gradio_gate`); and adds the same security headers to every answer,
its own refusals included: a Content-Security-Policy that only allows this
origin, frame-ancestors for the pages, nosniff, no referrer, and
`Cache-Control: no-store` on everything but Gradio's static files, so no
question or answer is kept by a browser or a proxy cache. It does not do
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
#: Gradio's built JavaScript, CSS and icons: the only answers a cache may keep.
STATIC_PATH = re.compile(r"^(?:/embed)?/(?:assets|static)/")

# Gradio's page needs inline scripts and styles; everything must come from here.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; media-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'"
)
PAGE_CSP = (_CSP + "; frame-ancestors 'self'").encode()
NO_STORE = (b"cache-control", b"no-store")


def security_headers(csp: bytes = PAGE_CSP, *, frameable: bool = False) -> list[tuple[bytes, bytes]]:
    """The headers every response carries (X-Frame-Options unless it is the embed)."""
    headers = [(b"content-security-policy", csp), (b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer")]
    if not frameable:
        headers.append((b"x-frame-options", b"SAMEORIGIN"))
    return headers


def error_json(code: str, message: str) -> bytes:
    return json.dumps({"error": {"code": code, "message": message}}).encode()


def app_path(scope) -> str:
    """The request path under the app, without the public root path (--root-path)."""
    path = scope.get("path", "")
    root = scope.get("root_path", "")
    if root and path.startswith(root):
        path = path[len(root) :] or "/"
    return path


async def send_refusal(send, status: int, code: str, message: str, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    """A short JSON error with the security headers and no-store."""
    body = error_json(code, message)
    extra = [h for h in (headers or security_headers()) if h[0] != NO_STORE[0]] + [NO_STORE]
    if status == 413:
        # The rest of the refused body may still be on its way: were the connection kept, those
        # bytes would be read as the next request's headers (a 431 for the client's next call).
        extra.append((b"connection", b"close"))
    start_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": start_headers})
    await send({"type": "http.response.body", "body": body})


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
        # With no allow-list the embed may be framed by any page, including a
        # host page opened from disk (file://), which "frame-ancestors *" would block.
        embed_ancestors = "; frame-ancestors " + " ".join(("'self'", *embed_origins)) if embed_origins else ""
        self.embed_csp = (_CSP + embed_ancestors).encode()

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = app_path(scope)
        is_embed = path == self.embed_prefix or path.startswith(self.embed_prefix + "/")
        extra = security_headers(self.embed_csp, frameable=True) if is_embed else security_headers()
        if not STATIC_PATH.match(path):
            extra.append(NO_STORE)
        if BLOCKED_PATH.search(path) or BLOCKED_PATH.search(scope.get("raw_path", b"").decode("latin-1")):
            await send_refusal(send, 404, "not_found", "Not found.", extra)
            return
        too_large_message = f"Request body over {self.max_body_bytes} bytes: send a shorter question."
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body_bytes):
            await send_refusal(send, 413, "too_large", too_large_message, extra)
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
                await send_refusal(send, 413, "too_large", too_large_message, extra)
                return
            if message["type"] == "http.response.start":
                names = {k for k, _ in extra}
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in names]
                message = {**message, "headers": kept + extra}
            await send(message)

        await self.app(scope, limited_receive, secured_send)
        if too_large and not started:  # the app gave up without answering
            await send_refusal(send, 413, "too_large", too_large_message, extra)
