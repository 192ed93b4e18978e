"""The shipped deploy/ files: nginx and systemd accept them, they agree with each other, and
what the nginx site promises at its edge (HTTPS redirect, routing cookie, rate limit) holds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from http.client import HTTPSConnection

import pytest

from deploy_cluster import cluster  # noqa: F401  (fixture)
from deploy_files import BUILD_UNIT, NGINX, REPO, SITE, UNIT, main_conf, make_certificate, needs_nginx, render_site, unit_command


def _servers(upstream: str) -> list[str]:
    block = re.search(rf"upstream {upstream} \{{(.*?)\n\}}", SITE.read_text(encoding="utf-8"), re.S).group(1)
    return re.findall(r"^\s*server (\S+) ([^;]*);", block, re.M)


def test_both_upstreams_list_the_same_replicas():
    # The chat's sticky group and the API's round-robin group must send to the same replicas.
    assert _servers("qa_faq_api") == _servers("qa_faq_chat") and len(_servers("qa_faq_api")) >= 2


def test_replicas_and_the_build_share_one_index_corpus_and_encoder_cache(tmp_path):
    replica = unit_command(UNIT, instance="8001", state=tmp_path, private_tmp=tmp_path / "tmp")
    build = unit_command(BUILD_UNIT, instance="", state=tmp_path, private_tmp=tmp_path / "tmp")
    for name in ("QA_INDEX_DIR", "QA_CORPUS_DIR", "QA_ENCODER_CACHE"):
        assert replica.env[name] == build.env[name] and replica.env[name].startswith(str(tmp_path))
    assert replica.argv[-4:] == ("--host", "127.0.0.1", "--port", "8001")  # loopback only
    text = UNIT.read_text(encoding="utf-8")
    assert "ReadOnlyPaths=/var/lib/qa-faq" in text and "ProtectSystem=strict" in text  # replicas cannot write the index


@needs_nginx
def test_nginx_accepts_the_shipped_site(tmp_path):
    cert, key = make_certificate(tmp_path)
    site = tmp_path / "qa-faq.conf"
    site.write_text(render_site(SITE.read_text(encoding="utf-8"), replica_ports=(18001, 18002), http_port=18080,
                                https_port=18443, cert=cert, key=key))
    (tmp_path / "nginx.conf").write_text(main_conf(tmp_path, site))
    checked = subprocess.run([NGINX, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-e", str(tmp_path / "error.log")],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0 and "syntax is ok" in checked.stderr, checked.stderr
    assert "[warn]" not in checked.stderr, checked.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze not installed")
def test_systemd_accepts_the_units(tmp_path):
    moved = {"/opt/qa-faq/.venv/bin/python": sys.executable, "/opt/qa-faq": str(REPO)}  # this test's python, as deploy_files does
    for unit in (UNIT, BUILD_UNIT, UNIT.with_name("qa-faq.target")):
        text = unit.read_text(encoding="utf-8")
        for old, new in moved.items():
            text = text.replace(old, new)
        (tmp_path / unit.name.replace("@.", "@8001.")).write_text(text)
    checked = subprocess.run(["systemd-analyze", "verify", *sorted(str(p) for p in tmp_path.iterdir())],
                             capture_output=True, text=True, timeout=60)
    assert checked.returncode == 0 and checked.stderr.strip() == "", checked.stderr


def test_the_rolling_restart_script_parses():
    assert subprocess.run(["bash", "-n", str(REPO / "deploy" / "rolling-restart.sh")], timeout=10).returncode == 0


@needs_nginx
def test_plain_http_is_redirected_to_https(cluster):  # noqa: F811
    import httpx

    response = httpx.get(f"http://127.0.0.1:{cluster.http_port}/api/health?x=1", follow_redirects=False, timeout=10)
    assert response.status_code == 301
    assert response.headers["location"] == f"https://127.0.0.1/api/health?x=1"
    assert "nginx/" not in response.headers.get("server", "") and "nginx/" not in response.text  # no version shown


@needs_nginx
def test_the_routing_cookie_is_set_once_and_private(cluster):  # noqa: F811
    import httpx

    with httpx.Client(base_url=cluster.url, verify=str(cluster.cert), timeout=30) as client:
        first = client.get("/")
        cookie = first.headers["set-cookie"]
        assert re.fullmatch(r"qa_faq_replica=[0-9a-f]{32}; Path=/; Secure; HttpOnly; SameSite=Lax", cookie), cookie
        assert first.headers["strict-transport-security"].startswith("max-age=")
        again = client.get("/")  # the client sends the cookie back: nginx does not set a new one
        assert "set-cookie" not in again.headers
        assert client.get("/api/health").json()["status"] == "ok"


@needs_nginx
def test_questions_from_one_outside_address_are_rate_limited(cluster):  # noqa: F811
    # 127.0.0.2 is loopback on Linux but not the host's own 127.0.0.1, so it is limited like any
    # patient's address: 1 + a burst of 10 at once, then 429 until the 30-a-minute rate allows more.
    import ssl

    context = ssl.create_default_context(cafile=str(cluster.cert))
    connection = HTTPSConnection("localhost", cluster.https_port, context=context, timeout=30, source_address=("127.0.0.2", 0))
    statuses = []
    for n in range(16):
        connection.request("POST", "/api/ask", body=json.dumps({"question": f"will the shot hurt {n}?", "k": 1}),
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    connection.close()
    assert statuses[:11] == [200] * 11 and statuses[-3:] == [429] * 3, statuses
