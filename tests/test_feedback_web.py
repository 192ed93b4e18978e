"""Feedback over HTTP on real servers: POST /api/feedback, and /admin/ under attack.

Every request here is the exact one a browser or an attacker would send, to
``python app.py --collect-feedback`` on loopback (tests/feedback_fixtures.py);
afterwards the tests check the server's health and what reached the disk.
The admin routes are walked from the router itself, so a route added later
is covered by the login check without editing this file.
"""

from __future__ import annotations

import re
import time

import httpx
import pytest

from feedback_fixtures import STAFF_PASSWORD, STAFF_USER, collecting_server  # noqa: F401  (fixtures)
from web_fixtures import files_under, web_server  # noqa: F401  (fixtures)

pytestmark = pytest.mark.timeout(300)
EVIL = "http://evil.example"


def admin_routes() -> list[tuple[str, str]]:
    """(method, path) of every route the admin router registers."""
    from qa_web.admin import build_router

    return sorted((method, route.path) for route in build_router(object()).routes for method in route.methods
                  if method != "HEAD")


def login(base_url: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base_url, timeout=30)
    form = client.get("/admin/login")
    token = re.search(r'name="csrf" value="([^"]+)"', form.text).group(1)
    done = client.post("/admin/login", data={"username": STAFF_USER, "password": STAFF_PASSWORD, "csrf": token})
    assert done.status_code == 303 and done.headers["location"] == "/admin/", done.text
    page = client.get("/admin/")
    assert page.status_code == 200
    return client, re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)


def ask(base_url: str, question: str) -> dict:
    response = httpx.post(f"{base_url}/api/ask", json={"question": question}, timeout=60)
    assert response.status_code == 200
    return response.json()


def wait_for_message(client: httpx.Client, text: str, kind: str | None) -> dict:
    """Stored on a background thread: poll the admin API (bounded), never assert on time.
    ``kind`` None: unanswered or disliked."""
    for _ in range(120):
        lists = client.get("/admin/api/messages").json()
        items = lists[kind] if kind else lists["unanswered"] + lists["disliked"]
        found = [i for i in items if text in i["question"]]
        if found:
            return found[0]
        time.sleep(0.25)
    raise AssertionError(f"{text!r} never appeared among {kind} messages")


@pytest.mark.parametrize("method,path", admin_routes())
def test_every_admin_route_refuses_without_login(collecting_server, method, path):
    response = httpx.request(method, collecting_server.base_url + path, data={"ids": "1", "csrf": "x"},
                             follow_redirects=False, timeout=30)
    if (method, path) == ("GET", "/admin/login"):
        assert response.status_code == 200  # the login form itself
    elif (method, path) == ("POST", "/admin/login"):
        assert response.status_code == 403  # no login-form token: not a form we served
    elif method == "GET" and not path.startswith("/admin/api"):
        assert response.status_code == 303 and response.headers["location"] in ("/admin/", "/admin/login")
    else:
        assert response.status_code == 401 and response.json()["error"]["code"] == "login_required"
    assert response.headers["x-frame-options"] == "DENY"
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"


def test_admin_pages_are_never_framed_or_cached_when_logged_in(collecting_server):
    client, _ = login(collecting_server.base_url)
    for path in ("/admin/", "/admin/api/messages", "/admin/api/passages?q=infection"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert client.get("/admin/api/passages?q=infection").json()["passages"]


def test_cross_site_and_tokenless_posts_change_nothing(collecting_server):
    base = collecting_server.base_url
    marker = "quagga-crosssite can i bring my quagga to the clinic?"
    ask(base, marker)
    client, csrf = login(base)
    item = wait_for_message(client, "quagga-crosssite", "unanswered")
    ids = ",".join(map(str, item["ids"]))
    attempts = [({"Origin": EVIL}, csrf), ({"Sec-Fetch-Site": "cross-site"}, csrf), ({}, "stale-token"), ({}, "")]
    for headers, token in attempts:
        for path in ("/admin/dismiss", "/admin/assign", "/admin/not-covered", "/admin/logout"):
            response = client.post(path, data={"csrf": token, "ids": ids, "passage_id": "x", "term": "quagga",
                                               "topic": "pets"}, headers=headers, follow_redirects=False)
            assert response.status_code == 403, (path, headers, response.text)
    assert client.post("/admin/login", data={"username": STAFF_USER, "password": STAFF_PASSWORD, "csrf": "x"},
                       headers={"Origin": EVIL}).status_code == 403
    assert wait_for_message(client, "quagga-crosssite", "unanswered")["ids"] == item["ids"], "still waiting for review"
    assert "quagga" not in (collecting_server.corpus_dir / "not_covered.csv").read_text()
    assert client.get("/admin/").status_code == 200, "the session survived (logout was refused too)"
    same_site = client.post("/admin/dismiss", data={"csrf": csrf, "ids": ids}, headers={"Origin": base},
                            follow_redirects=False)
    assert same_site.status_code == 303
    assert not [i for i in client.get("/admin/api/messages").json()["unanswered"] if "quagga" in i["question"]]


def test_failed_logins_are_rate_limited_per_account(collecting_server):
    client = httpx.Client(base_url=collecting_server.base_url, timeout=30)
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/admin/login").text).group(1)
    codes = [client.post("/admin/login", data={"username": "mallory", "password": f"guess{n}", "csrf": token}).status_code
             for n in range(7)]
    assert codes[:5] == [401] * 5 and codes[5:] == [429, 429]
    login(collecting_server.base_url)  # another account is not locked out
    assert httpx.get(f"{collecting_server.base_url}/api/health").status_code == 200


def test_feedback_api_validates_and_keeps_only_redacted_words(collecting_server):
    base = collecting_server.base_url
    for body in ({}, {"answer_id": "x"}, {"answer_id": "x", "helpful": "no"}, {"answer_id": 5, "helpful": False},
                 {"answer_id": "x", "helpful": False, "extra": 1}, {"answer_id": "x", "helpful": False, "comment": "c" * 1001}):
        response = httpx.post(f"{base}/api/feedback", json=body, timeout=30)
        assert response.status_code == 422 and "error" in response.json(), body
    unknown = httpx.post(f"{base}/api/feedback", json={"answer_id": "0" * 32, "helpful": False}, timeout=30)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "unknown_answer"
    assert httpx.get(f"{base}/api/feedback", timeout=30).status_code == 405

    answer = ask(base, "zebracorn: My name is Jane Quokkaton, how long does the pain relief last? call 07700 900417")
    assert re.fullmatch(r"[0-9a-f]{32}", answer["answer_id"])
    sent = httpx.post(f"{base}/api/feedback", timeout=30, json={
        "answer_id": answer["answer_id"], "helpful": False, "comment": "wrong, write to jq@example.org"})
    assert sent.status_code == 202
    client, _ = login(base)
    # "zebracorn" may make it abstain (kept at once, then marked unhelpful) or be answered (kept when disliked).
    kept = wait_for_message(client, "zebracorn", None)
    for _ in range(120):
        if kept["comment"]:
            break
        time.sleep(0.25)
        kept = wait_for_message(client, "zebracorn", None)
    assert kept["helpful"] is False and kept["question"] == "zebracorn: My name is [NAME], how long does the pain relief last? call [NUMBER]"
    assert kept["comment"] == "wrong, write to [EMAIL]" and kept["shown"]
    found_marker = False
    for path in files_under(collecting_server.root):
        data = path.read_bytes()
        found_marker |= b"zebracorn" in data
        for secret in (b"Quokkaton", b"jq@example"):
            assert secret not in data, f"{secret!r} reached {path}"
        # Part of the number, not inside a longer number: these six digits turn up by chance
        # among the fitted weights' decimals ("0.1290041764").
        assert not re.search(rb"(?<![0-9.])900417(?![0-9])", data), f"the phone number reached {path}"
    assert found_marker, "the redacted message is on disk (so the search above would have found the rest)"


def test_without_collection_nothing_is_kept_and_no_route_exists(web_server):
    base = web_server.base_url
    answer = ask(base, "okapi-marker-off: can I park at the clinic? my name is Olga Okapinska")
    assert httpx.post(f"{base}/api/feedback", json={"answer_id": answer["answer_id"], "helpful": False},
                      timeout=30).status_code == 404
    assert httpx.get(f"{base}/admin/", timeout=30, follow_redirects=False).status_code == 404
    assert httpx.get(f"{base}/admin/login", timeout=30).status_code == 404
    for path in files_under(web_server.root):
        assert b"okapi-marker-off" not in path.read_bytes(), path
        assert path.name != "feedback.sqlite3", path
