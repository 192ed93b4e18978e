"""The JSON API, the gradio_client endpoint and the hardening of the running server.

Every test talks to one real `python app.py` (real model, real index built into
a temporary folder) over loopback HTTP; see tests/web_fixtures.py.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest

from web_fixtures import REPO, files_under, web_server  # noqa: F401  (fixture)

pytestmark = pytest.mark.timeout(300)

ANSWER_KEYS = {
    "question", "message", "passages", "best_sentence", "confidence", "abstained",
    "urgent", "emergency", "related_questions", "input_error",
}
PASSAGE_KEYS = {"id", "heading_path", "source", "start", "end", "text", "plain_text", "score"}
# A traceback, or any absolute path of this machine, must never reach a client.
LEAK = re.compile(r"Traceback|File \"|/work/|/tmp/|/usr/|/home/|site-packages|\.py\b")


@pytest.fixture(scope="module")
def http(web_server):
    with httpx.Client(base_url=web_server.base_url, timeout=60) as client:
        yield client


def ask(http, body, **kwargs):
    return http.post("/api/ask", json=body, **kwargs)


def assert_clean_error(response, status_range=range(400, 500)):
    assert response.status_code in status_range, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"} and body["error"]["message"]
    assert not LEAK.search(response.text), response.text


# --------------------------------------------------------------------- answers
def test_health_reports_ready_without_server_paths(http):
    response = http.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["model_loaded"] is True
    assert body["index"]["passage_count"] > 0
    assert body["index"]["sources"] == ["hip_injections.md"]
    assert not LEAK.search(response.text)


def test_ask_quotes_the_document_verbatim(http):
    response = ask(http, {"question": "What are the risks of a hip injection?", "k": 3})
    assert response.status_code == 200
    answer = response.json()
    assert ANSWER_KEYS <= set(answer)
    assert not answer["abstained"] and answer["input_error"] is None
    assert 1 <= len(answer["passages"]) <= 3
    corpus = (REPO / "corpus" / answer["passages"][0]["source"]).read_text(encoding="utf-8")
    for passage in answer["passages"]:
        assert PASSAGE_KEYS <= set(passage)
        # Round trip: each quote is exactly the corpus slice it claims to be.
        assert corpus[passage["start"] : passage["end"]] == passage["text"]
    assert "risk" in json.dumps(answer["passages"]).lower()
    assert answer["best_sentence"] in answer["passages"][0]["plain_text"]
    assert 2 <= len(answer["related_questions"]) <= 3
    assert 0.0 <= answer["confidence"] <= 1.0


def test_k_limits_the_number_of_passages(http):
    answer = ask(http, {"question": "Who performs a hip injection?", "k": 1}).json()
    assert len(answer["passages"]) == 1
    default = ask(http, {"question": "Who performs a hip injection?"}).json()
    assert len(default["passages"]) <= 3


def test_urgent_and_emergency_flags(http):
    urgent = ask(http, {"question": "I have a fever and the injection site is red and swollen"}).json()
    assert urgent["urgent"] and not urgent["abstained"]
    emergency = ask(http, {"question": "I have chest pain and cannot breathe after my injection"}).json()
    assert emergency["emergency"] and "emergency" in emergency["message"].lower()


def test_off_topic_question_abstains(http):
    answer = ask(http, {"question": "What is the capital of France?"}).json()
    assert answer["abstained"] and "clinic" in answer["message"].lower()


def test_openapi_schema_is_published(http):
    schema = http.get("/api/openapi.json").json()
    assert "/api/ask" in schema["paths"] and "/api/health" in schema["paths"]
    assert http.get("/api/docs").status_code == 200


def test_gradio_client_ask(web_server):
    from gradio_client import Client

    client = Client(web_server.base_url, verbose=False, download_files=False, analytics_enabled=False)
    answer = client.predict(question="How long does the pain relief last?", k=2, api_name="/ask")
    assert ANSWER_KEYS <= set(answer) and len(answer["passages"]) <= 2
    assert answer["passages"] and not answer["abstained"]
    # Only the documented endpoint is public: the chat's own events are private.
    assert list(client.view_api(print_info=False, return_format="dict")["named_endpoints"]) == ["/ask"]


def test_history_lets_the_website_ask_a_follow_up(http):
    follow_up = {"question": "which type is used for it"}
    alone = ask(http, follow_up).json()
    in_context = ask(http, {**follow_up, "history": ["can hip injections help osteoarthritis"]}).json()
    assert alone["abstained"] and not in_context["abstained"]
    assert "Hyaluronic Acid" in in_context["passages"][0]["text"]


def test_answers_carry_the_clinics_contact_details(http):
    answer = ask(http, {"question": "how much does it cost?"}).json()
    assert answer["abstained"]
    assert set(answer["clinic"]) == {"name", "phone", "hours", "website", "emergency_number"}
    assert answer["clinic"]["phone"]


# ------------------------------------------------------------- bad requests
TOO_LONG = "why " * 300  # 1200 characters: over qa.MAX_QUESTION_CHARS (1000)
MALFORMED = {
    "not json": b"{question: 'x'",
    "empty body": b"",
    "number body": b"42",
    "list body": b'["What are the risks?"]',
    "null body": b"null",
    "string body": b'"What are the risks?"',
    "missing question": b'{"k": 3}',
    "question number": b'{"question": 42}',
    "question list": b'{"question": ["a", "b"]}',
    "question null": b'{"question": null}',
    "question object": b'{"question": {"text": "x"}}',
    "k string": b'{"question": "risks?", "k": "3"}',
    "k float": b'{"question": "risks?", "k": 2.5}',
    "k bool": b'{"question": "risks?", "k": true}',
    "k zero": b'{"question": "risks?", "k": 0}',
    "k eleven": b'{"question": "risks?", "k": 11}',
    "k negative": b'{"question": "risks?", "k": -1}',
    "extra field": b'{"question": "risks?", "debug": true}',
    "over-long question": json.dumps({"question": TOO_LONG}).encode(),
    "invalid utf-8": b'{"question": "\xff\xfe"}',
    "history string": b'{"question": "and how long?", "history": "what are steroids"}',
    "history numbers": b'{"question": "and how long?", "history": [1, 2]}',
    "history too many": json.dumps({"question": "and?", "history": ["what is it?"] * 11}).encode(),
    "history item too long": json.dumps({"question": "and?", "history": [TOO_LONG]}).encode(),
}


@pytest.mark.parametrize("body", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_requests_get_a_clean_4xx(http, body):
    response = http.post("/api/ask", content=body, headers={"content-type": "application/json"})
    assert_clean_error(response)
    # ... and the server keeps serving.
    assert http.get("/api/health").status_code == 200


def test_over_long_question_says_what_to_do(http):
    response = ask(http, {"question": TOO_LONG})
    assert response.status_code == 422
    assert "1000" in response.json()["error"]["message"]


def test_body_over_the_size_limit_is_refused(http):
    response = http.post("/api/ask", content=b'{"question": "' + b"a" * 200_000 + b'"}',
                         headers={"content-type": "application/json"})
    assert_clean_error(response)
    assert response.status_code == 413


@pytest.mark.parametrize("method,path", [("GET", "/api/ask"), ("GET", "/api/nope"), ("DELETE", "/api/health")])
def test_wrong_routes_and_methods_are_clean(http, method, path):
    assert_clean_error(http.request(method, path))


# ------------------------------------------------------------------ hardening
CORPUS = REPO / "corpus" / "hip_injections.md"


def file_paths(index_dir):
    index_file = next(p for p in files_under(index_dir))
    return [
        "/etc/passwd",
        str(CORPUS),
        str(index_file),
        str(REPO / "app.py"),
        "../../../../etc/passwd",
        "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
        "%2Fetc%2Fpasswd",
        "%252Fetc%252Fpasswd",
        "....//....//etc/passwd",
        "http://127.0.0.1:1/",
        "https://example.com/t.png",
    ]


def test_file_routes_refuse_paths_outside_the_app(http, web_server):
    for prefix in ("", "/embed"):
        for route in ("/gradio_api/file=", "/file=", "/gradio_api/file%3D", "/gradio_api/proxy="):
            for target in file_paths(web_server.index_dir):
                response = http.get(prefix + route + target)
                assert response.status_code in (403, 404), (route, target, response.status_code)
                assert "root:" not in response.text and "Hip Injections" not in response.text
                assert not LEAK.search(response.text), response.text


def test_uploads_are_refused(http):
    for path in ("/gradio_api/upload", "/embed/gradio_api/upload", "/gradio_api/upload?upload_id=x"):
        response = http.post(path, files={"files": ("x.html", b"<script>alert(1)</script>", "text/html")})
        assert response.status_code in (403, 404, 405, 413), (path, response.status_code)
    assert not any("x.html" in p.name for p in files_under(http_root(http)))


def http_root(http):  # the shared server's private folder
    from web_fixtures import _SHARED

    return _SHARED["server"].root


def test_queue_bypass_routes_are_closed(http):
    body = {"data": ["What are the risks?", 3], "fn_index": 0, "session_hash": "abc"}
    for path in ("/gradio_api/run/ask", "/gradio_api/api/ask", "/gradio_api/run/predict", "/embed/gradio_api/run/ask"):
        response = http.post(path, json=body)
        assert response.status_code in (403, 404, 405), (path, response.status_code)
        assert not LEAK.search(response.text)


def test_queue_route_still_works_for_ask(http):
    # The documented two-step Gradio HTTP call goes through the queue.
    response = http.post("/gradio_api/call/ask", json={"data": ["Who performs a hip injection?", 1]})
    assert response.status_code == 200
    event_id = response.json()["event_id"]
    stream = http.get(f"/gradio_api/call/ask/{event_id}")
    assert "event: complete" in stream.text and "heading_path" in stream.text


@pytest.mark.parametrize("path", ["/api/ask", "/api/health", "/", "/gradio_api/info", "/config", "/embed/"])
def test_cross_origin_requests_get_no_cors_allowance(http, path):
    evil = {"Origin": "https://evil.example", "Host": "clinic.example.org"}
    if path == "/api/ask":
        response = http.post(path, json={"question": "risks?"}, headers=evil)
    else:
        response = http.get(path, headers=evil)
    assert "access-control-allow-origin" not in response.headers
    preflight = http.options(path, headers={**evil, "Access-Control-Request-Method": "POST"})
    assert "access-control-allow-origin" not in preflight.headers
    assert "access-control-allow-credentials" not in preflight.headers


def test_pages_carry_security_headers(http):
    page = http.get("/")
    assert "frame-ancestors 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    embed = http.get("/embed/")
    assert embed.status_code == 200
    assert "x-frame-options" not in embed.headers
    assert "default-src 'self'" in embed.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"


def test_monitoring_and_run_history_are_off(http):
    for path in ("/monitoring", "/gradio_api/run-history/records", "/gradio_api/mcp/sse", "/gradio_api/vibe-edit"):
        assert http.get(path).status_code in (403, 404, 405), path
    config = http.get("/config").json()
    assert not LEAK.search(json.dumps({k: v for k, v in config.items() if k in ("root", "space_id", "is_space")}))


def test_patient_questions_never_reach_logs_or_disk(http, web_server):
    marker = "zqxmarker7731"
    question = f"Does {marker} hip injection hurt?"
    assert ask(http, {"question": question}).status_code == 200
    assert ask(http, {"question": question, "k": 99}).status_code == 422
    assert ask(http, {"question": question + "x" * 1000}).status_code == 422
    http.post("/gradio_api/call/ask", json={"data": [question, 2]})
    from gradio_client import Client

    Client(web_server.base_url, verbose=False, download_files=False, analytics_enabled=False).predict(
        question=question, k=1, api_name="/ask"
    )
    assert marker not in web_server.logs()
    for path in files_under(web_server.root):
        assert marker.encode() not in path.read_bytes(), f"question text written to {path.relative_to(web_server.root)}"


def test_chunked_body_over_the_limit_is_refused(http):
    def chunks():
        yield b'{"question": "'
        for _ in range(40):
            yield b"a" * 4096
        yield b'"}'

    response = http.post("/api/ask", content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    # The unread rest of the body must not be read as the next request on this connection (a 431).
    assert response.headers.get("connection") == "close"
    assert http.get("/api/health").status_code == 200


JUNK = (b"", b"null", b"[]", b'{"data": 5}', b'{"fn_index": "x", "data": null, "session_hash": 1}', b"\xff\xfe")


@pytest.mark.parametrize("path", ["/gradio_api/queue/join", "/gradio_api/call/ask", "/gradio_api/call/nope", "/gradio_api/cancel"])
@pytest.mark.parametrize("body", JUNK)
def test_gradio_routes_answer_junk_without_tracebacks_or_paths(http, path, body):
    response = http.post(path, content=body, headers={"content-type": "application/json"})
    assert response.status_code < 500 or response.status_code == 503, (path, body, response.status_code)
    assert not LEAK.search(response.text), response.text[:500]
    assert http.get("/api/health").status_code == 200
