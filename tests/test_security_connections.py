"""Slow, idle, oversized and too many connections, forwarded headers and shutdown, against
the real server (issue #14): raw sockets to `python app.py` on loopback, every wait bounded.

The server runs with web_fixtures.SECURITY_ARGS: 2 s to send a request, idle keep-alive
1 s, at most 24 connections, and no proxy trusted on loopback. "Closed" means the socket
reads end-of-file or is reset within a bound well above the limit; no test asserts speed.
"""

from __future__ import annotations

import signal
import socket
import time

import httpx
import pytest

from web_fixtures import SECURITY_LIMITS, security_server, start_security_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(120)

SECURITY_HEADERS = (b"content-security-policy:", b"x-content-type-options: nosniff", b"referrer-policy: no-referrer", b"cache-control: no-store")
BOUND_S = SECURITY_LIMITS["header_timeout"] + 6  # the limit plus ample slack for a busy machine


def connect(server) -> socket.socket:
    host, port = server.base_url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=5)


def closed_within(sock: socket.socket, seconds: float, *, drip: bytes = b"", every: float = 0.3) -> tuple[bool, bytes]:
    """Read (sending `drip` every `every` s) until the server closes the socket or time runs out."""
    received, deadline, next_drip = b"", time.monotonic() + seconds, time.monotonic()
    sock.settimeout(0.1)
    while time.monotonic() < deadline:
        try:
            if drip and time.monotonic() >= next_drip:
                sock.sendall(drip)
                next_drip += every
            chunk = sock.recv(65536)
            if not chunk:
                return True, received
            received += chunk
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return True, received
    return False, received


def healthy(server) -> bool:
    """A frozen server never answers; a busy machine answers late (10 s: a hang guard, not a speed bar)."""
    return httpx.get(f"{server.base_url}/api/health", timeout=10).status_code == 200


def test_an_idle_connection_is_closed(security_server):
    with connect(security_server) as sock:
        assert closed_within(sock, BOUND_S) == (True, b"")
    assert healthy(security_server)


def test_slowloris_headers_are_cut_off(security_server):
    # A header line every 0.3 s, never the blank line that ends the head.
    with connect(security_server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n")
        closed, received = closed_within(sock, BOUND_S, drip=b"X-Slow: 1\r\n")
        assert closed and b"200 OK" not in received
    assert healthy(security_server)


def test_a_body_trickled_in_is_cut_off(security_server):
    head = b"POST /api/ask HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    with connect(security_server) as sock:
        sock.sendall(head)
        closed, received = closed_within(sock, BOUND_S, drip=b" ")
        assert closed and b"200 OK" not in received
    assert healthy(security_server)


def test_an_idle_keep_alive_connection_is_closed_after_its_answer(security_server):
    with connect(security_server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n")
        closed, received = closed_within(sock, BOUND_S)
        assert closed and received.startswith(b"HTTP/1.1 200")


def test_an_oversized_request_head_gets_431_with_the_security_headers(security_server):
    with connect(security_server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 40_000 + b"\r\n")
        closed, received = closed_within(sock, BOUND_S)
    assert closed and received.startswith(b"HTTP/1.1 431")
    head = received.lower()
    assert all(h in head for h in SECURITY_HEADERS) and b'"code": "headers_too_large"' in head
    assert healthy(security_server)


def test_connections_over_the_limit_get_503_and_are_closed(security_server):
    limit = SECURITY_LIMITS["max_connections"]
    sockets = [connect(security_server) for _ in range(limit + 2)]
    try:
        # Until the two over the limit have been answered (a busy machine answers late), bounded.
        answered: dict[int, bytes] = {}
        deadline = time.monotonic() + BOUND_S
        while len(answered) < len(sockets) - limit and time.monotonic() < deadline:
            for i, sock in enumerate(sockets):
                if i not in answered:
                    sock.settimeout(0.05)
                    try:
                        answered[i] = sock.recv(4096)
                    except socket.timeout:
                        pass
        refused = list(answered.values())
        assert refused, "no connection was refused"
        assert len(sockets) - len(refused) <= limit
        assert all(r.startswith(b"HTTP/1.1 503") and all(h in r.lower() for h in SECURITY_HEADERS) for r in refused)
    finally:
        for sock in sockets:
            sock.close()
    deadline = time.monotonic() + BOUND_S  # the refused and closed slots free up again
    while time.monotonic() < deadline:
        try:
            if healthy(security_server):
                break
        except httpx.HTTPError:
            time.sleep(0.2)
    assert healthy(security_server)


def test_forwarded_headers_from_an_untrusted_peer_are_dropped(security_server):
    # This server trusts only 192.0.2.1 as its proxy, so loopback may not set them.
    spoofed = {"X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https", "Forwarded": "host=evil.example"}
    for page in ("", "/embed"):
        config = httpx.get(f"{security_server.base_url}{page}/config", headers=spoofed, timeout=10).json()
        assert "evil.example" not in config["root"] and config["root"].startswith("http://")
    page = httpx.get(f"{security_server.base_url}/", headers=spoofed, timeout=10).text
    assert "evil.example" not in page


def test_every_answer_that_can_carry_a_question_is_not_stored(security_server):
    with httpx.Client(base_url=security_server.base_url, timeout=30) as http:
        responses = [
            http.post("/api/ask", json={"question": "Who performs a hip injection?"}),
            http.post("/api/ask", json={"question": 1}),
            http.post("/api/ask", content=b"x" * 70_000),  # over the body limit: the middleware's own 413
            http.get("/gradio_api/file=/etc/passwd"),  # the middleware's own 404
            http.get("/config"),
            http.get("/"),
        ]
        event_id = http.post("/gradio_api/call/ask", json={"data": ["Is it painful?", 1]})
        responses += [event_id, http.get(f"/gradio_api/call/ask/{event_id.json()['event_id']}")]
    for response in responses:
        assert response.headers["cache-control"] == "no-store", (response.request.url, response.status_code)
        assert response.headers["x-content-type-options"] == "nosniff" and "content-security-policy" in response.headers


def test_a_stopping_server_ends_open_streams_within_its_graceful_timeout(security_server, tmp_path):
    # Its own server (this test stops it), on the shared server's index; --graceful-timeout 1.
    args = ("--graceful-timeout", "1", "--header-timeout", "2")
    server = start_security_server(tmp_path / "stopping", args=args, index_dir=security_server.index_dir)
    try:
        with httpx.Client(base_url=server.base_url, timeout=10) as http:
            with http.stream("GET", "/gradio_api/heartbeat/tab1") as heartbeat:  # an open chat tab
                next(heartbeat.iter_bytes())
                server.process.send_signal(signal.SIGTERM)
                server.process.wait(timeout=20)
        assert server.process.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once stopped
        errors = server.stderr.read_text(errors="replace")
        assert "Traceback" not in errors and "Exception in ASGI" not in errors, errors[-3000:]
    finally:
        server.stop()
