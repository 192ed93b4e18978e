"""Traffic for the deploy tests: a steady, bounded stream of questions through nginx, and one chat tab.

`SteadyLoad` is a few client threads, each with one keep-alive HTTPS
connection, posting distinct (question, k) pairs to /api/ask one after another
with a pause between them, until stopped or `max_requests` are sent; it
records every outcome and judges none. `ChatTab` talks to the Gradio chat as
the page does: it loads "/" (getting nginx's routing cookie), then sends each
turn as POST .../queue/join and reads .../queue/data until the turn completes.
Nothing here measures speed.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from http.client import HTTPException, HTTPSConnection
from pathlib import Path

import httpx

WAIT_TIMEOUT_S = 120  # hang guard only
#: Each client's pause between questions: a steady stream that leaves the machine's cores
#: to what the test is about (a build, a restart), however busy the machine is.
PAUSE_S = 0.05
#: A runaway guard, never reached by a test: the load lasts until the test stops it.
MAX_REQUESTS = 100_000


def question_jobs() -> list[dict]:
    """Distinct (question, k) bodies from the eval questions, so answers are really computed."""
    from eval.dataset import load_questions

    texts = list(dict.fromkeys(q.question for q in load_questions()))
    return [{"question": q, "k": k} for k in (3, 1, 5, 2, 4) for q in texts]


class SteadyLoad:
    """``clients`` threads posting questions to ``host:port`` over TLS, ``pause_s`` apart each."""

    def __init__(self, port: int, cert: Path, *, clients: int = 4, pause_s: float = PAUSE_S,
                 max_requests: int = MAX_REQUESTS) -> None:
        self.port, self.clients, self.pause_s, self.max_requests = port, clients, pause_s, max_requests
        self.context = ssl.create_default_context(cafile=str(cert))
        self.jobs = question_jobs()
        self.outcomes: list[int | str] = []  # HTTP status, or the exception's name
        self._sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._client, daemon=True) for _ in range(clients)]

    def __enter__(self) -> "SteadyLoad":
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=WAIT_TIMEOUT_S)

    def _next(self) -> dict | None:
        with self._lock:
            if self._stop.is_set() or self._sent >= self.max_requests:
                return None
            body = self.jobs[self._sent % len(self.jobs)]
            self._sent += 1
            return body

    def _client(self) -> None:
        connection = HTTPSConnection("localhost", self.port, context=self.context, timeout=60)
        try:
            while (body := self._next()) is not None:
                try:
                    connection.request("POST", "/api/ask", body=json.dumps(body), headers={"Content-Type": "application/json"})
                    response = connection.getresponse()
                    data = response.read()
                    outcome = response.status if response.status != 200 or "message" in json.loads(data) else "bad body"
                except (OSError, HTTPException, ValueError) as exc:
                    outcome = type(exc).__name__
                    connection.close()  # reconnects on the next request
                with self._lock:
                    self.outcomes.append(outcome)
                self._stop.wait(self.pause_s)
        finally:
            connection.close()

    @property
    def answered(self) -> int:
        with self._lock:
            return sum(1 for o in self.outcomes if o == 200)

    def failures(self) -> dict[str, int]:
        with self._lock:
            failed = [str(o) for o in self.outcomes if o != 200]
        return {o: failed.count(o) for o in set(failed)}

    def wait_for_answers(self, more: int) -> None:
        """Block until ``more`` further questions have been answered (the load keeps flowing)."""
        target = self.answered + more
        deadline = time.monotonic() + WAIT_TIMEOUT_S
        while self.answered < target:
            with self._lock:
                spent = self._sent >= self.max_requests and len(self.outcomes) == self._sent
            if spent or time.monotonic() > deadline or self._stop.is_set():
                raise AssertionError(f"only {self.answered} of {target} answers"
                                     f"{' (all max_requests sent)' if spent else ''}; failures {self.failures()}")
            time.sleep(0.02)


class ChatTab:
    """One browser tab's chat, through nginx."""

    def __init__(self, base_url: str, cert: Path, *, session: str) -> None:
        self.client = httpx.Client(base_url=base_url, verify=str(cert), timeout=60)
        self.session = session
        page = self.client.get("/")
        page.raise_for_status()
        config = self.client.get("/config").json()
        box = next(c["id"] for c in config["components"] if c.get("props", {}).get("elem_id") == "qa-question")
        self.trigger = box
        # The page sends in two steps (a browser-side "looking it up", then `respond` on the server): call `respond`.
        self.fn_index = next(d["id"] for d in config["dependencies"] if d.get("api_name") == "respond")

    def turn(self, text: str) -> list[dict]:
        """Send one question as the page does; the chat's messages after it."""
        joined = self.client.post("/gradio_api/queue/join", json={
            "data": [text, None], "event_data": None, "fn_index": self.fn_index,
            "trigger_id": self.trigger, "session_hash": self.session})
        joined.raise_for_status()
        with self.client.stream("GET", "/gradio_api/queue/data", params={"session_hash": self.session}) as stream:
            for line in stream.iter_lines():
                if not line.startswith("data:"):
                    continue
                message = json.loads(line[5:])
                if message.get("msg") == "process_completed":
                    if not message.get("success", True):
                        raise AssertionError(f"chat turn failed: {message}")
                    return message["output"]["data"][1]
        raise AssertionError("the chat's event stream ended without an answer")

    def close(self) -> None:
        self.client.close()
