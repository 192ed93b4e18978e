"""Loopback plumbing shared by the tests that start real servers: a free port, and
waiting for a server's health check.

The wait polls through one ``httpx.Client``: ``httpx.get`` makes a new client per
call, and with it a TLS context (certificates loaded even for plain http), about
30 ms of CPU every poll, taken from the server that is starting beside it (a
minute of CPU over the suite's server starts, measured with py-spy).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_healthy(url: str, *, alive: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    """Poll ``url`` until it answers 200 (True), the process dies or ``timeout_s`` passes (False).

    ``alive`` is asked before every poll, so a server that exits is reported at once
    instead of at the deadline; the caller says what went wrong, with its logs.
    """
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2) as client:
        while time.monotonic() < deadline and alive():
            try:
                if client.get(url).status_code == 200:
                    return True
            except httpx.HTTPError:
                pass
            time.sleep(interval_s)  # a health check costs the server next to nothing
    return False
