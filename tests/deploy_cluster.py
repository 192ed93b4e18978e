"""A real deployment on loopback for the deploy tests: Debian's nginx running
deploy/nginx/qa-faq.conf in front of two `app.py` replicas started the way
deploy/systemd/qa-faq@.service starts them (deploy_files.py rewrites their
ports and paths). /var/lib/qa-faq becomes a test folder with a copy of the
corpus, a copy of conftest's `few_labelled_index` and the session's ONNX
export. The learned decisions are not what these tests are about, so the
replicas and the build unit's command get one more variable,
QA_TRAINING_DIR=conftest's `few_labelled`, the sets that index was fitted on:
a rebuild under load then costs seconds, not a minute of reading 1,500
labelled messages. The `cluster` fixture starts it once per
session and brings any replica a test left stopped back up. This module
asserts nothing about behaviour; the tests do.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from deploy_files import (  # noqa: F401  (needs_nginx, REPO re-exported for the tests)
    BUILD_UNIT, MISSING, NGINX, OPENSSL, REPO, SITE, UNIT, UnitCommand, main_conf, make_certificate, needs_nginx,
    render_site, unit_command,
)
from loopback import free_port, wait_until_healthy  # noqa: F401  (free_port re-exported)

START_TIMEOUT_S = 180  # hang guards only, never asserted as speed
STOP_TIMEOUT_S = 60


def snapshot(folder: Path) -> list[tuple[str, int, int]]:
    """Every file under ``folder`` with its size and modification time: equal snapshots, nothing written."""
    return sorted((str(p.relative_to(folder)), p.lstat().st_size, p.lstat().st_mtime_ns) for p in folder.rglob("*"))


@dataclass
class Replica:
    """One `qa-faq@PORT` replica; every start gets a fresh log file (uvicorn's access log is in it)."""

    port: int
    command: UnitCommand
    logs: Path
    process: subprocess.Popen | None = None
    log: Path | None = None
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        self.starts += 1
        self.log = self.logs / f"replica-{self.port}-{self.starts}.log"
        Path(self.command.env["GRADIO_TEMP_DIR"]).parent.mkdir(parents=True, exist_ok=True)  # the private /tmp
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **self.command.env}
        self.process = subprocess.Popen(self.command.argv, cwd=self.command.cwd, env=env,
                                        stdout=self.log.open("wb"), stderr=subprocess.STDOUT)

    def wait_ready(self) -> None:
        if wait_until_healthy(self.url + "/api/health", alive=self.alive, timeout_s=START_TIMEOUT_S, interval_s=0.2):
            return
        if not self.alive():
            raise RuntimeError(f"replica {self.port} exited:\n{self.log_text()[-3000:]}")
        raise RuntimeError(f"replica {self.port} not healthy in {START_TIMEOUT_S} s:\n{self.log_text()[-3000:]}")

    def health(self) -> dict:
        return httpx.get(self.url + "/api/health", timeout=10).json()

    def ask(self, question: str, k: int = 3) -> dict:
        """POST /api/ask to this replica directly, past nginx."""
        response = httpx.post(self.url + "/api/ask", json={"question": question, "k": k}, timeout=30)
        response.raise_for_status()
        return response.json()

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log and self.log.exists() else ""

    def served(self, request: str) -> int:
        """How many access-log lines of this start name ``request`` (e.g. 'POST /api/ask')."""
        return self.log_text().count(f'"{request} HTTP/1.1" 200')

    def signal(self, sig: int) -> None:
        self.process.send_signal(sig)

    def terminate(self) -> int:
        """SIGTERM, as `systemctl stop` sends; the exit code."""
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=STOP_TIMEOUT_S)

    def kill(self) -> None:
        if self.alive():
            self.process.kill()
        if self.process is not None:
            self.process.wait(timeout=STOP_TIMEOUT_S)


@dataclass
class Cluster:
    """nginx on 127.0.0.1 (HTTPS and a plain-HTTP redirect) in front of two replicas."""

    prefix: Path
    state: Path
    cert: Path
    http_port: int
    https_port: int
    replicas: list[Replica]
    nginx: subprocess.Popen | None = None
    training_dir: Path | None = None  # QA_TRAINING_DIR of the replicas and the build

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def start_nginx(self) -> None:
        conf = self.prefix / "nginx.conf"
        self.nginx = subprocess.Popen([NGINX, "-p", str(self.prefix), "-c", str(conf), "-e", str(self.prefix / "error.log"),
                                       "-g", "daemon off;"], stdout=(self.prefix / "nginx.out").open("wb"), stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.nginx.poll() is not None:
                raise RuntimeError(f"nginx exited:\n{self.error_log()[-3000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.https_port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("nginx did not listen within 30 s")

    def ensure_up(self) -> None:
        """Both replicas running and healthy (a test may have left one stopped)."""
        for replica in self.replicas:
            if not replica.alive():
                replica.start()
        for replica in self.replicas:
            replica.wait_ready()

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def build_command(self) -> UnitCommand:
        command = unit_command(BUILD_UNIT, instance="", state=self.state, private_tmp=self.prefix / "build-tmp")
        return with_training_dir(command, self.training_dir)

    def stop(self) -> None:
        for replica in self.replicas:
            replica.kill()
        if self.nginx is not None and self.nginx.poll() is None:
            self.nginx.send_signal(signal.SIGQUIT)
            try:
                self.nginx.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.nginx.kill()
                self.nginx.wait()


def with_training_dir(command: UnitCommand, training_dir: Path | None) -> UnitCommand:
    if training_dir is None:
        return command
    return UnitCommand(command.argv, {**command.env, "QA_TRAINING_DIR": str(training_dir)}, command.cwd)


def make_cluster(root: Path, *, index_dir: Path, encoder_cache: Path, corpus_dir: Path, training_dir: Path) -> Cluster:
    """Write the configs and start nginx; replicas start on the first `ensure_up`.
    ``index_dir``: an index of ``corpus_dir`` fitted on ``training_dir``."""
    state, prefix = root / "var-lib-qa-faq", root / "nginx"
    prefix.mkdir(parents=True)
    shutil.copytree(corpus_dir, state / "corpus")
    shutil.copytree(index_dir, state / "index", symlinks=True)
    (state / "encoders").symlink_to(encoder_cache)
    cert, key = make_certificate(prefix)
    ports = (free_port(), free_port())
    http_port, https_port = free_port(), free_port()
    site = prefix / "qa-faq.conf"
    site.write_text(render_site(SITE.read_text(encoding="utf-8"), replica_ports=ports, http_port=http_port,
                                https_port=https_port, cert=cert, key=key))
    (prefix / "nginx.conf").write_text(main_conf(prefix, site))
    replicas = [Replica(port, with_training_dir(unit_command(UNIT, instance=str(port), state=state,
                                                             private_tmp=root / f"tmp-{port}"), training_dir), root)
                for port in ports]
    cluster = Cluster(prefix, state, cert, http_port, https_port, replicas, training_dir=training_dir)
    cluster.start_nginx()
    return cluster


# ----------------------------------------------------------------- the fixture
_SHARED: dict[str, Cluster] = {}


@pytest.fixture
def cluster(request, tmp_path_factory, encoder_cache, few_labelled) -> Cluster:
    """The session's deployment (made on first use), with both replicas up."""
    if NGINX is None or OPENSSL is None:
        pytest.skip(MISSING)
    if "cluster" not in _SHARED:
        made = make_cluster(tmp_path_factory.mktemp("deploy"), index_dir=request.getfixturevalue("few_labelled_index"),
                            encoder_cache=encoder_cache, corpus_dir=REPO / "corpus", training_dir=few_labelled)
        request.session.config.add_cleanup(made.stop)
        _SHARED["cluster"] = made
    deployed = _SHARED["cluster"]
    if deployed.nginx.poll() is not None:
        pytest.fail(f"nginx died:\n{deployed.error_log()[-3000:]}")
    deployed.ensure_up()
    return deployed
