"""Connection limits uvicorn lacks: a deadline to send each request, a cap on header bytes and on open connections.

uvicorn closes a keep-alive connection that sits idle after a response
(`timeout_keep_alive`), but a connection that never completes a request (an
open socket that sends nothing, or slowloris sending a header line every few
seconds) stays open for good, and its `limit_concurrency` answers new
requests with a plain 503 without closing any connection. The protocol class
built here gives each connection `header_timeout` seconds, from the moment it
is ready for a request (opened, or done with the previous answer), to deliver
that request's headers and body, then closes it; answers a request head over
`max_header_bytes` with 431 (the httptools parser has no such limit; h11 gets
`h11_max_incomplete_event_size` too); and answers a connection beyond
`max_connections` with 503 and closes it. Both refusals carry the security
headers. One mixin covers both of uvicorn's HTTP implementations, which share
the attributes it uses (`cycle`, `connections`, `transport`, `loop`).

It does not limit the time spent answering: a request fully received may take
as long as the app needs (the chat's event stream stays open while a tab is
open). Nor does it limit rates or bandwidth: that is the reverse proxy's job.
"""

from __future__ import annotations

import logging
import time

from .hardening import NO_STORE, error_json, security_headers

logger = logging.getLogger(__name__)
_REASONS = {431: b"Request Header Fields Too Large", 503: b"Service Unavailable"}
_quiet_since = 0.0  # when the connection cap was last reported


def raw_refusal(status: int, code: str, message: str) -> bytes:
    """A whole HTTP/1.1 response (JSON, security headers, connection: close) for the socket."""
    body = error_json(code, message)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
               (b"connection", b"close"), NO_STORE, *security_headers()]
    head = b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]) + b"".join(k + b": " + v + b"\r\n" for k, v in headers)
    return head + b"\r\n" + body


def _report_cap(limit: int) -> None:
    """One log line per burst, not one per refused connection."""
    global _quiet_since
    now = time.monotonic()
    if now - _quiet_since > 10:
        logger.warning("connection limit (%d) reached: refusing new connections with 503", limit)
    _quiet_since = now


class _Guard:
    header_timeout: float
    max_header_bytes: int
    max_connections: int
    _deadline = None
    _head_bytes = 0

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        if len(self.connections) > self.max_connections:
            _report_cap(self.max_connections)
            transport.write(raw_refusal(503, "busy", "Too many open connections. Please retry in a few seconds."))
            transport.close()
            return
        self._arm()

    def data_received(self, data: bytes) -> None:
        waiting = self._waiting_for_head()
        if waiting:
            self._head_bytes += len(data)
        super().data_received(data)
        if waiting and self._waiting_for_head() and self._head_bytes > self.max_header_bytes and not self.transport.is_closing():
            self.transport.write(raw_refusal(431, "headers_too_large", f"Request headers over {self.max_header_bytes} bytes."))
            self.transport.close()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._arm()  # the next request on this connection gets its own deadline

    def connection_lost(self, exc) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _waiting_for_head(self) -> bool:
        return self.cycle is None or self.cycle.response_complete

    def _arm(self) -> None:
        self._disarm()
        self._head_bytes = 0
        self._deadline = self.loop.call_later(self.header_timeout, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        # Still waiting for the head, or the head came but the body is still trickling in.
        if (self._waiting_for_head() or self.cycle.more_body) and not self.transport.is_closing():
            self.transport.close()


def guarded_protocol(*, header_timeout: float, max_header_bytes: int, max_connections: int) -> type:
    """uvicorn's own HTTP protocol class (httptools when installed, else h11) with the limits above."""
    from uvicorn.protocols.http.auto import AutoHTTPProtocol

    limits = {"header_timeout": header_timeout, "max_header_bytes": max_header_bytes, "max_connections": max_connections}
    return type(f"Guarded{AutoHTTPProtocol.__name__}", (_Guard, AutoHTTPProtocol), limits)
