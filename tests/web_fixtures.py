"""Shared helpers for the web tests: one real `python app.py` server per test run.

The server runs in a subprocess on a free loopback port with the real model,
a copy of the session's index (conftest.py) in its own folder, and its own HOME,
working directory and Gradio temp folder, so a test can search everything it
wrote. `start_server` without an index builds one on start-up, as a clinic's
first start does (test_web_config.py's server does that).
stdout and stderr go to files for the privacy test. Import the fixtures by
name into a test module; the server itself is started once and shared.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from loopback import free_port, wait_until_healthy  # noqa: F401  (free_port re-exported)

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
START_TIMEOUT_S = 180

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian chromium not installed at /usr/bin/chromium (apt-get install -y chromium)"
)


@dataclass
class WebServer:
    base_url: str
    root: Path  # everything the server may write lives under here
    index_dir: Path
    stdout: Path
    stderr: Path
    process: subprocess.Popen

    def logs(self) -> str:
        return self.stdout.read_text(errors="replace") + self.stderr.read_text(errors="replace")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def with_index(root: Path, built_index_dir: Path) -> Path:
    """Copy the session's index to ``root/index``, where `start_server` points the server."""
    shutil.copytree(built_index_dir, root / "index", symlinks=True)
    return root / "index"


def start_server(root: Path, *, extra_env: dict[str, str] | None = None, args: tuple[str, ...] = ()) -> WebServer:
    """Start app.py in a subprocess and wait until /api/health answers."""
    for name in ("home", "cwd", "gradio-tmp"):
        (root / name).mkdir(parents=True, exist_ok=True)
    index_dir = root / "index"
    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "GRADIO_ANALYTICS_ENABLED": "False",
        "QA_INDEX_DIR": str(index_dir),
        "GRADIO_TEMP_DIR": str(root / "gradio-tmp"),
        "HOME": str(root / "home"),
        "XDG_CACHE_HOME": str(root / "home" / ".cache"),
        "PYTHONPATH": str(REPO),
        "PYTHONUNBUFFERED": "1",
        "PORT": str(port),
        "HOST": "127.0.0.1",
        **(extra_env or {}),
    }
    stdout, stderr = root / "server.stdout.log", root / "server.stderr.log"
    process = subprocess.Popen(
        [sys.executable, str(REPO / "app.py"), *args],
        cwd=root / "cwd",
        env=env,
        stdout=stdout.open("wb"),
        stderr=stderr.open("wb"),
    )
    server = WebServer(f"http://127.0.0.1:{port}", root, index_dir, stdout, stderr, process)
    if wait_until_healthy(f"{server.base_url}/api/health", alive=lambda: process.poll() is None,
                          timeout_s=START_TIMEOUT_S):
        return server
    if process.poll() is not None:
        raise RuntimeError(f"app.py exited with {process.returncode}:\n{server.logs()[-3000:]}")
    server.stop()
    raise RuntimeError(f"app.py did not become healthy in {START_TIMEOUT_S}s:\n{server.logs()[-3000:]}")


_SHARED: dict[str, WebServer] = {}


@pytest.fixture(scope="session")
def web_server(request, tmp_path_factory) -> WebServer:
    """The one shared real server (started on first use, stopped at the end)."""
    if "server" not in _SHARED:
        root = tmp_path_factory.mktemp("web-server")
        with_index(root, request.getfixturevalue("built_index_dir"))
        server = start_server(root)
        _SHARED["server"] = server
        request.session.config.add_cleanup(server.stop)
    server = _SHARED["server"]
    if server.process.poll() is not None:
        pytest.fail(f"the shared server died:\n{server.logs()[-3000:]}")
    return server


@pytest.fixture(scope="session")
def artifacts_dir(tmp_path_factory) -> Path:
    """Screenshots go to $TEST_ARTIFACTS_DIR if set (CI uploads it), else a tmp dir."""
    configured = os.environ.get("TEST_ARTIFACTS_DIR")
    path = Path(configured) if configured else tmp_path_factory.mktemp("artifacts")
    path.mkdir(parents=True, exist_ok=True)
    return path


def files_under(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def copy_if_requested(src: Path, dest: Path, env_flag: str = "UPDATE_DOCS_SCREENSHOTS") -> None:
    """Refresh a README screenshot only when asked (tests never write into the repo otherwise)."""
    if os.environ.get(env_flag) == "1":
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)


#: The security tests' server: 2 s to send a request, idle keep-alive 1 s, at
#: most 24 connections, X-Forwarded-* believed from no loopback peer, 2 s to stop.
SECURITY_ARGS = (
    "--header-timeout", "2", "--keep-alive-timeout", "1", "--max-connections", "24",
    "--forwarded-allow-ips", "192.0.2.1", "--graceful-timeout", "2",
)
SECURITY_LIMITS = {"header_timeout": 2.0, "keep_alive_timeout": 1.0, "max_connections": 24}


def start_security_server(root: Path, *, args: tuple[str, ...] = SECURITY_ARGS, index_dir: Path | None = None) -> WebServer:
    """A real app.py with SECURITY_ARGS and its own TMPDIR under `root`, so a test can
    search every file the process wrote. `index_dir`: reuse an index already built."""
    (root / "tmp").mkdir(parents=True, exist_ok=True)
    env = {"TMPDIR": str(root / "tmp")}
    if index_dir is not None:
        env["QA_INDEX_DIR"] = str(index_dir)
    return start_server(root, extra_env=env, args=args)


@pytest.fixture(scope="session")
def security_server(request, tmp_path_factory) -> WebServer:
    """One server for the attacks (tests/test_security_*.py), apart from the shared one,
    so a regression that freezes it cannot take the rest of the suite down with it."""
    if "security" not in _SHARED:
        root = tmp_path_factory.mktemp("security-server")
        server = start_security_server(root, index_dir=with_index(root, request.getfixturevalue("built_index_dir")))
        _SHARED["security"] = server
        request.session.config.add_cleanup(server.stop)
    server = _SHARED["security"]
    if server.process.poll() is not None:
        pytest.fail(f"the security server died:\n{server.logs()[-3000:]}")
    return server
