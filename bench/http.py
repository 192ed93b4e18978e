"""Sections 3 and 7: the real web app (``python app.py``) over loopback.

The server runs as a subprocess on a free 127.0.0.1 port with the bench's
index. Measured: process start to first answer; ``POST /api/ask`` at 1, 4,
16 and 64 concurrent clients (bounded request counts, distinct (question, k)
pairs so the answer cache never serves them); the Gradio ``ask`` event's
two-step call; ``GET /api/health`` as the app's cheapest route (it has no
no-op route); in-process ``ask()`` in this process just before, for the
same questions; server RSS idle and after the 64-client run; the server's CPU
time per answer at each level, beside the encoder's own CPU time for the same
requests (the capacity ceiling of the cores). Optionally a
second server with two threads per encode (``QA_TORCH_THREADS=2``), replaying the same requests.
"""

from __future__ import annotations

from http.client import HTTPConnection, HTTPException
import json
import os
import random
import signal
import socket
import subprocess
import threading
import time

from bench import plots
from bench.context import PYTHON, REPO, Context, clear_cache
from bench.inprocess import texts_ask_encodes, warm_up
from bench.stats import Check, Section, ratio, summary, timed

LEVELS = (1, 4, 16, 64)
TIMEOUT_S = 120
#: uvicorn closes a keep-alive connection after 5 s idle, and a request sent on it at that moment
#: fails (RemoteDisconnected): an open loop's spare connections sit idle that long. A client
#: reconnects after a shorter idle spell instead, as nginx does (keepalive_timeout 3s, deploy/).
IDLE_RECONNECT_S = 2.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, ctx: Context, **env: str) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        logs = ctx.work_dir / f"server-{self.port}.log"
        self.spawn = time.perf_counter()
        self.proc = subprocess.Popen([PYTHON, "app.py", "--port", str(self.port), "--no-access-log"], cwd=REPO,
                                     env=ctx.child_env(**env), stdout=logs.open("w"), stderr=subprocess.STDOUT)
        self.first_answer_ms = self._wait()

    def _wait(self) -> float:
        import httpx

        deadline = time.time() + 300
        with httpx.Client(timeout=30) as client:  # one client: httpx.post makes a TLS context per call
            while time.time() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"app.py exited with {self.proc.returncode}")
                try:
                    r = client.post(self.url + "/api/ask", json={"question": "What is a hip injection?", "k": 3})
                    if r.status_code == 200:
                        return (time.perf_counter() - self.spawn) * 1000
                except httpx.HTTPError:
                    pass
                time.sleep(0.1)
        raise RuntimeError("app.py did not answer within 300 s")

    def cpu_s(self) -> float:
        """CPU seconds (user + system) the server process has used so far."""
        import psutil

        times = psutil.Process(self.proc.pid).cpu_times()
        return times.user + times.system

    def rss_mb(self) -> float:
        import psutil

        p = psutil.Process(self.proc.pid)
        return sum(c.memory_info().rss for c in [p, *p.children(recursive=True)]) / 2**20

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class _Client:
    """One keep-alive HTTP/1.1 connection from the standard library.

    The load generator shares the server's two cores, so it must be light:
    at 16 clients httpx took 0.3 of a core and ``http.client`` 0.05, and
    the server's throughput rose by about as much (a /tmp script, same run).
    """

    def __init__(self, url: str) -> None:
        host, port = url.removeprefix("http://").split(":")
        self._connection = HTTPConnection(host, int(port), timeout=TIMEOUT_S)
        self._used = time.monotonic()

    def request(self, method: str, path: str, body: dict | None = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        headers = {} if body is None else {"Content-Type": "application/json"}
        if time.monotonic() - self._used > IDLE_RECONNECT_S:
            self._connection.close()  # see IDLE_RECONNECT_S; the request below reconnects
        try:
            self._connection.request(method, path, body=data, headers=headers)
            response = self._connection.getresponse()
            return response.status, response.read()
        except (OSError, HTTPException):
            self._connection.close()  # the next request opens a new connection
            raise
        finally:
            self._used = time.monotonic()

    def post(self, path: str, body: dict) -> int:
        return self.request("POST", path, body)[0]

    def get(self, path: str) -> int:
        return self.request("GET", path)[0]

    def close(self) -> None:
        self._connection.close()


def _load(server: Server, jobs: list[dict], clients: int) -> dict:
    """Send ``jobs`` (JSON bodies) from ``clients`` threads; latencies of 200s, status counts,
    and the server's CPU time per answer (where its capacity goes)."""
    url = server.url
    lock, queue, ok_ms, busy_ms, status = threading.Lock(), list(reversed(jobs)), [], [], {}

    def worker():
        client = _Client(url)
        try:
            while True:
                with lock:
                    if not queue:
                        return
                    body = queue.pop()
                try:
                    ms, code = timed(client.post, "/api/ask", body)
                except (OSError, HTTPException) as exc:
                    ms, code = 0.0, type(exc).__name__
                with lock:
                    status[code] = status.get(code, 0) + 1
                    (ok_ms if code == 200 else busy_ms if code == 503 else []).append(ms)
        finally:
            client.close()

    cpu_start, start = server.cpu_s(), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - start, server.cpu_s() - cpu_start
    return {"ok": summary(ok_ms), "busy": summary(busy_ms), "status": status, "wall_s": wall,
            "throughput": len(ok_ms) / wall, "errors": sum(v for k, v in status.items() if k not in (200, 503)),
            "cpu_ms_per_answer": 1000 * cpu / max(1, len(ok_ms)), "cores_busy": cpu / wall}


def _gradio(url: str, questions: list[str], k: int) -> list[float]:
    """The Gradio event's two steps: POST /gradio_api/call/ask, then read its event stream."""
    import httpx

    out, done = [], 0
    with httpx.Client(timeout=TIMEOUT_S) as client:
        for q in questions:
            start = time.perf_counter()
            event = client.post(url + "/gradio_api/call/ask", json={"data": [q, k]}).json()["event_id"]
            with client.stream("GET", f"{url}/gradio_api/call/ask/{event}") as stream:
                for line in stream.iter_lines():
                    if line.startswith("event:") and line.split(":", 1)[1].strip() in ("complete", "error"):
                        done += line.split(":", 1)[1].strip() == "complete"
                        break
            out.append((time.perf_counter() - start) * 1000)
    return out, done


def _jobs(questions: list[str], n: int, offset: int) -> list[dict]:
    """Distinct (question, k) pairs, ``n`` from ``offset`` on, in one fixed shuffled order.

    Shuffled, so every window mixes short and long questions and small and
    large k alike: in question-then-k order the 16-client window held k 3-6
    and the single client's k 1-2, and bigger answers cost more.
    """
    pairs = [(q, k) for k in range(1, 11) for q in questions]
    random.Random(0).shuffle(pairs)
    return [{"question": q, "k": k} for q, k in (pairs[(offset + i) % len(pairs)] for i in range(n))]


def encode_only_cpu_ms(assistant, jobs: list[dict], *, per_batch: int = 8) -> float:
    """CPU ms per question of the encoder alone on the texts ``ask()`` encodes for
    ``jobs`` (the question and its focused form), ``per_batch`` questions per call as
    the micro-batcher forms them under load: the part of a server's capacity no web
    stack or retrieval change can win back."""
    encoder = assistant.embedder.model  # the backend itself, on this thread (one intra-op thread)
    texts = [texts_ask_encodes(assistant, job["question"]) for job in jobs]
    start = time.thread_time()
    for i in range(0, len(texts), per_batch):
        encoder.encode([t for group in texts[i : i + per_batch] for t in group])
    return 1000 * (time.thread_time() - start) / max(1, len(texts))


def http(ctx: Context) -> Section:
    a = ctx.assistant
    warm_up(a)
    qs = ctx.questions
    # 16 clients x 24 requests: a 1-second window (the old 128) swung throughput by 1.6x between two identical servers.
    counts = {1: 30, 4: 40, 16: 64, 64: 128} if ctx.quick else {1: 120, 4: 160, 16: 384, 64: 256}
    sec = Section("http", "3. Over HTTP, and 7. server memory")
    server = Server(ctx)
    try:
        rss_idle = server.rss_mb()
        n1 = counts[1]
        single = _jobs(qs, n1, 0)
        inproc, noop, rest1 = [], [], []
        client = _Client(server.url)
        try:
            for i, job in enumerate(single):  # interleaved so load drift hits all three alike
                clear_cache(a)
                steps = [(inproc, lambda: a.ask(job["question"], job["k"])),
                         (rest1, lambda: client.post("/api/ask", job)),
                         (noop, lambda: client.get("/api/health"))]
                for bucket, fn in (steps if i % 2 == 0 else steps[::-1]):
                    bucket.append(timed(fn)[0])
        finally:
            client.close()
        clear_cache(a)
        # Each level's own (question, k) pairs: k changes the answer's size and cost, so a
        # comparison between servers must replay the same pairs (`offsets`).
        results, offsets, offset = {}, {}, n1
        for level in LEVELS:
            offsets[level] = offset
            results[level] = _load(server, _jobs(qs, counts[level], offset), level)
            offset += counts[level]
        rss_after = server.rss_mb()
        gradio, gradio_done = _gradio(server.url, [j["question"] for j in _jobs(qs, min(30, n1), offset)], 7)
        first_ms = server.first_answer_ms
    finally:
        server.stop()
    one_thread = None
    if not ctx.quick:
        s1 = Server(ctx, QA_TORCH_THREADS="2")
        try:
            one_thread = {lvl: _load(s1, _jobs(qs, counts[lvl], offsets[lvl]), lvl) for lvl in (1, 16)}
        finally:
            s1.stop()
    si, sn, sg, s1 = summary(inproc), summary(noop), summary(gradio), summary(rest1)
    base = results[1]
    from qa_web.settings import DEFAULT_CONCURRENCY, DEFAULT_QUEUE_SIZE

    sec.add(f"`python app.py` on 127.0.0.1 (default settings: {DEFAULT_CONCURRENCY} questions in flight, encoded in "
            f"shared batches, {DEFAULT_QUEUE_SIZE} waiting, then 503 busy). "
            f"Process start to first answer over HTTP: **{first_ms / 1000:.1f} s**. Every request is a distinct "
            "(question, k) pair, so no answer comes from the cache. Each client is a thread of this process with one "
            "keep-alive `http.client` connection (a load generator light enough to leave the server its cores). "
            "The app has no no-op route; `GET /api/health` "
            "(a small JSON from memory, through the same middleware) stands in for one.", "")
    rows = [["in-process `ask()` (this process, same questions)", 1, n1, si["p50"], si["p95"], "", "", ""],
            ["`GET /api/health` (≈ no-op)", 1, n1, sn["p50"], sn["p95"], "", "", ""],
            ["`POST /api/ask` (interleaved with the two rows above)", 1, n1, s1["p50"], s1["p95"], "", "", ""],
            [f"Gradio `ask` event (POST + event stream; {gradio_done} of {len(gradio)} completed)", 1, len(gradio), sg["p50"], sg["p95"], "", "", ""]]
    for row in rows:
        row += ["", ""]
    for level, r in results.items():
        rows.append([f"`POST /api/ask`", level, counts[level], r["ok"]["p50"], r["ok"]["p95"], r["throughput"],
                     r["status"].get(503, 0), r["errors"], r["cpu_ms_per_answer"], r["cores_busy"]])
    sec.table(["what", "clients", "requests", "p50 ms", "p95 ms", "answers/s", "503 busy", "errors",
               "server CPU ms per answer", "server cores busy"], rows)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    floor_ms = encode_only_cpu_ms(a, _jobs(qs, counts[16], offsets[16]))
    sec.add(f"Capacity: at 16 clients the server spent **{results[16]['cpu_ms_per_answer']:.1f} ms of CPU per answer** "
            f"({results[16]['cores_busy']:.2f} of {cores} cores busy). The encoder alone, on the texts of the same "
            f"16-client requests in batches of 8 questions (one thread, this process), costs **{floor_ms:.1f} ms** of it "
            f"({ratio(floor_ms, results[16]['cpu_ms_per_answer']):.0%}); so {cores} cores could answer at most "
            f"**{1000 * cores / floor_ms:.0f} answers/s** if the server did nothing but encode. The latencies at 4, 16 "
            "and 64 clients are those of a closed loop (latency = clients / throughput, Little's law); the bars on "
            "latency under load are section 3b's, on arrivals that do not wait for answers.", "")
    busy = results[64]["busy"]
    sec.add(f"Past the limit (64 clients > 2 running + 32 waiting): {results[64]['status'].get(503, 0)} requests got 503 "
            f"`busy` with Retry-After, in p50 {busy['p50']:.1f} ms (no hang); status counts {json.dumps({str(k): v for k, v in results[64]['status'].items()})}.", "")
    sec.add(f"Ratios: HTTP p50 at 1 client − in-process p50 (interleaved) = **{s1['p50'] - si['p50']:.1f} ms** (ratio {ratio(s1['p50'], si['p50']):.2f}); "
            f"throughput 16 clients / 1 client = **{ratio(results[16]['throughput'], base['throughput']):.2f}**; "
            f"p95 at 16 clients / p50 at 1 client = **{ratio(results[16]['ok']['p95'], base['ok']['p50']):.2f}**; "
            f"Gradio event p50 / REST p50 = **{ratio(sg['p50'], s1['p50']):.2f}**.", "")
    sec.add("### 7. Server memory", "", f"RSS idle (after the first answer): **{rss_idle:.0f} MB**; after the 64-client run: "
            f"**{rss_after:.0f} MB** (ratio {ratio(rss_after, rss_idle):.2f}).", "")
    if one_thread:
        sec.add("### Threads in the server: default (1 thread per encode and search) vs `QA_TORCH_THREADS=2`, same requests", "")
        sec.table(["server", "clients", "p50 ms", "p95 ms", "answers/s"],
                  [["default", 1, base["ok"]["p50"], base["ok"]["p95"], base["throughput"]],
                   ["default", 16, results[16]["ok"]["p50"], results[16]["ok"]["p95"], results[16]["throughput"]],
                   ["2 threads per encode", 1, one_thread[1]["ok"]["p50"], one_thread[1]["ok"]["p95"], one_thread[1]["throughput"]],
                   ["2 threads per encode", 16, one_thread[16]["ok"]["p50"], one_thread[16]["ok"]["p95"], one_thread[16]["throughput"]]])
    sec.figures.append(plots.lines("http.png", ctx.out_dir, list(LEVELS),
                                   {"p50 ms": [results[l]["ok"]["p50"] for l in LEVELS], "p95 ms": [results[l]["ok"]["p95"] for l in LEVELS]},
                                   xlabel="concurrent clients", ylabel="ms", title="POST /api/ask latency", logx=True))
    sec.checks += [
        Check("POST /api/ask p50 at 1 client ≤ in-process ask() p50 + 5 ms", s1["p50"] - si["p50"], 5.0,
              f"{s1['p50']:.1f} ms vs {si['p50']:.1f} ms, interleaved (value is the difference in ms)"),
        Check("16 clients: zero errors", results[16]["errors"] + results[16]["status"].get(503, 0), 0, str(results[16]["status"])),
        Check("16 clients: throughput ≥ 1.6× single client", ratio(results[16]["throughput"], base["throughput"]), 1.6,
              f"{results[16]['throughput']:.1f} vs {base['throughput']:.1f} answers/s", higher=True),
    ]
    sec.numbers = {"levels": {str(k): v for k, v in results.items()}, "encode_only_cpu_ms": floor_ms, "inprocess": si, "noop": sn, "gradio": sg,
                   "rss_idle": rss_idle, "rss_after": rss_after, "first_answer_ms": first_ms}
    return sec
