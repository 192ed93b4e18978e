"""Believe X-Forwarded-* headers only from the reverse proxy (`--forwarded-allow-ips`).

uvicorn's proxy support rewrites the client address and scheme from a
trusted peer's X-Forwarded-For and X-Forwarded-Proto, but leaves every
forwarded header in place for anyone, and Gradio builds the page's public
URL (the config's "root") from X-Forwarded-Host: a client could make the
page point its scripts and event stream at another host. This middleware
looks at the peer that actually connected: from a trusted proxy it applies
uvicorn's `ProxyHeadersMiddleware`; from anyone else it drops every
forwarded header before the app sees the request. It does not validate what
a trusted proxy sends, and it does nothing for TLS.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

FORWARDED_HEADERS = frozenset({
    b"forwarded", b"x-forwarded-for", b"x-forwarded-proto", b"x-forwarded-host", b"x-forwarded-port",
    b"x-forwarded-prefix", b"x-forwarded-server", b"x-real-ip",
})


def parse_trusted(entries: Sequence[str]) -> tuple[bool, tuple]:
    """(trust everyone, networks) from "127.0.0.1", "10.0.0.0/8", "*" entries."""
    networks = tuple(ipaddress.ip_network(e, strict=False) for e in entries if e != "*")
    return "*" in entries, networks


def is_trusted(host: str | None, trusted: tuple[bool, tuple]) -> bool:
    everyone, networks = trusted
    if everyone:
        return True
    try:
        address = ipaddress.ip_address(host or "")
    except ValueError:
        return False  # no address (a Unix socket) or not an IP
    return any(address in network for network in networks)


class ForwardedHeaders:
    def __init__(self, app, *, trusted: Sequence[str]) -> None:
        self.app = app
        self.trusted = parse_trusted(trusted)
        self.proxied = ProxyHeadersMiddleware(app, trusted_hosts=list(trusted)) if trusted else app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        client = scope.get("client")
        if is_trusted(client[0] if client else None, self.trusted):
            await self.proxied(scope, receive, send)
            return
        headers = [(k, v) for k, v in scope.get("headers", []) if k not in FORWARDED_HEADERS]
        await self.app({**scope, "headers": headers}, receive, send)
