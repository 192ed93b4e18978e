"""A second real server, configured as a clinic would behind a reverse proxy:
ROOT_PATH=/faq, a CORS allow-list and an embed allow-list, all set through
environment variables (the flags are covered in test_web_render.py). Like a
clinic's first start it has no index yet and builds one on start-up (from
conftest's `few_labelled` sets, to keep the build short); the suite's other
servers start on a copy of the session's index."""

from __future__ import annotations

import httpx
import pytest

from web_fixtures import start_server

pytestmark = pytest.mark.timeout(300)

CLINIC = "https://clinic.example.org"


@pytest.fixture(scope="module")
def configured_server(tmp_path_factory, few_labelled):
    server = start_server(
        tmp_path_factory.mktemp("configured-server"),
        extra_env={"ROOT_PATH": "/faq", "CORS_ORIGINS": CLINIC, "EMBED_ORIGINS": CLINIC,
                   "QA_TRAINING_DIR": str(few_labelled)},
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def configured(configured_server):
    with httpx.Client(base_url=configured_server.base_url, timeout=60) as client:
        yield client


def test_a_first_start_builds_its_index_in_the_configured_folder(configured_server, configured):
    import json

    manifest = json.loads((configured_server.index_dir / "current" / "manifest.json").read_text())
    health = configured.get("/api/health").json()
    assert health["index"]["built_at"] == manifest["built_at"] and health["index"]["passage_count"] > 0
    assert (configured_server.index_dir / "decisions.json").is_file()  # the learned decisions were fitted too


def test_root_path_is_used_for_the_pages_public_urls(configured):
    # The proxy strips /faq, so the app still answers at "/"; Gradio builds its
    # links under the public prefix.
    assert configured.get("/api/health").status_code == 200
    assert configured.get("/config").json()["root"].endswith("/faq")
    assert configured.get("/embed/config").json()["root"].endswith("/faq/embed")
    proxied = configured.get("/config", headers={"X-Forwarded-Host": "clinic.example.org", "X-Forwarded-Proto": "https"})
    assert proxied.json()["root"] == "https://clinic.example.org/faq"


def test_cors_allows_only_the_listed_origin(configured):
    allowed = configured.post("/api/ask", json={"question": "Who performs a hip injection?"}, headers={"Origin": CLINIC})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == CLINIC
    assert "access-control-allow-credentials" not in allowed.headers
    preflight = configured.options(
        "/api/ask", headers={"Origin": CLINIC, "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type"}
    )
    assert preflight.headers["access-control-allow-origin"] == CLINIC
    other = configured.post("/api/ask", json={"question": "x"}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in other.headers


def test_embed_may_only_be_framed_by_the_listed_origin(configured):
    csp = configured.get("/embed/").headers["content-security-policy"]
    assert f"frame-ancestors 'self' {CLINIC}" in csp
    assert "frame-ancestors 'self'" in configured.get("/").headers["content-security-policy"]


def test_serving_freezes_the_start_up_heap():
    """serve() calls settle_heap() first: the objects alive at start are frozen, so a full
    collection while serving walks only what requests made."""
    import gc

    from qa_web.server import settle_heap

    try:
        settle_heap()
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()  # this process's other tests collect as usual
