"""The outermost middleware: whatever escapes the app becomes one log line, never a traceback.

Starlette logs an exception that reaches the server with its whole
traceback (8 to 15 KB on stderr per request, with paths of this machine),
after a bare "Internal Server Error". This middleware catches any exception
the app lets out: if no answer has started it sends a short JSON 500 with
the security headers; if a stream had started it ends the stream. Either
way it logs one line with the exception's type, the method and the path
(never the message, which could quote a question). A request still running
when a stopping server's --graceful-timeout runs out (an open chat tab's
heartbeat stream) is cancelled by uvicorn; it is ended quietly here, with a
503 if it had no answer yet, instead of a traceback. It does not turn bad
requests into 4xx answers: the API, the gate and the hardening middleware
do that, and a 500 here means a bug worth a test.
"""

from __future__ import annotations

import asyncio
import logging

from .hardening import send_refusal

logger = logging.getLogger(__name__)
MESSAGE = "Something went wrong on our side. Please try again or contact the clinic."


class Backstop:
    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracked_send(message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracked_send)
        except asyncio.CancelledError:  # only uvicorn cancels a request's task: at shutdown
            await self._end(send, started, 503, "busy", "The server is restarting. Please retry in a moment.")
        except Exception as exc:  # noqa: BLE001 - this is the last place to catch it
            logger.error("unhandled %s in %s %r", type(exc).__name__, scope.get("method"), scope.get("path", "")[:80])
            await self._end(send, started, 500, "internal_error", MESSAGE)

    @staticmethod
    async def _end(send, started: bool, status: int, code: str, message: str) -> None:
        """A JSON error if nothing was sent yet, else the end of the stream already under way."""
        try:
            if not started:
                await send_refusal(send, status, code, message)
            else:
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        except Exception:  # noqa: BLE001 - the client is gone or the answer already ended
            pass
