"""A real deployment on loopback for the deploy tests: Debian's nginx running
deploy/nginx/qa-faq.conf in front of two `app.py` replicas started the way
deploy/systemd/qa-faq@.service starts them.

Only addresses and paths are rewritten, each rewrite checked to apply exactly
as often as expected (so a changed config fails loudly here instead of being
half-tested): the upstream and listen ports (loopback), the server name, the
certificate (self-signed, made here), /opt/qa-faq (this checkout),
/var/lib/qa-faq (a test folder with a copy of the corpus, a copy of the
session's index and the session's ONNX export) and /tmp (a private folder per
replica, as the unit's PrivateTmp gives). This module asserts nothing about
behaviour; the tests do.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "deploy" / "nginx" / "qa-faq.conf"
UNIT = REPO / "deploy" / "systemd" / "qa-faq@.service"
BUILD_UNIT = REPO / "deploy" / "systemd" / "qa-faq-build.service"
DOC_PORTS = (8001, 8002)  # the replica ports the shipped config lists
START_TIMEOUT_S = 180  # hang guards only, never asserted as speed
STOP_TIMEOUT_S = 60

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
OPENSSL = shutil.which("openssl")
MISSING = ("Debian's nginx (and openssl, for a test certificate) not installed: "
           "`scripts/setup.sh --dev` installs them as root (apt-get install nginx-light openssl)")
needs_nginx = pytest.mark.skipif(NGINX is None or OPENSSL is None, reason=MISSING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----------------------------------------------------------------- the shipped files, rewritten
def render_site(text: str, *, replica_ports: tuple[int, int], http_port: int, https_port: int, cert: Path, key: Path) -> str:
    """deploy/nginx/qa-faq.conf with loopback ports, server name localhost and a test certificate."""
    def sub(pattern: str, replacement: str, expected: int) -> None:
        nonlocal text
        text, n = re.subn(pattern, replacement, text)
        if n != expected:
            raise AssertionError(f"{pattern!r} matched {n} times in {SITE.name}, expected {expected}: update deploy_cluster.py")

    for doc_port, port in zip(DOC_PORTS, replica_ports):
        sub(rf"server 127\.0\.0\.1:{doc_port} ", f"server 127.0.0.1:{port} ", 2)  # both upstreams
    sub(r"listen 80;", f"listen 127.0.0.1:{http_port};", 1)
    sub(r"listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;", 1)
    sub(r"\n[ \t]*listen \[::\]:\d+(?: ssl)?;", "", 2)  # no IPv6 here
    sub(r"server_name faq\.example\.org;", "server_name localhost;", 2)
    sub(r"ssl_certificate\s+/\S+;", f"ssl_certificate {cert};", 1)
    sub(r"ssl_certificate_key\s+/\S+;", f"ssl_certificate_key {key};", 1)
    return text


def main_conf(prefix: Path, site: Path) -> str:
    """A main nginx.conf like Debian's, with every path in ``prefix``."""
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must reach the 0700 tmp folders
    temps = "".join(f"    {name}_temp_path {prefix / name};\n" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    mime = "    include /etc/nginx/mime.types;\n" if Path("/etc/nginx/mime.types").is_file() else ""
    return (f"{user}worker_processes auto;\npid {prefix}/nginx.pid;\nerror_log {prefix}/error.log info;\n"
            f"events {{ worker_connections 768; }}\n"
            f"http {{\n{mime}    default_type application/octet-stream;\n    access_log {prefix}/access.log;\n"
            f"{temps}    include {site};\n}}\n")


@dataclass(frozen=True)
class UnitCommand:
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: Path


def unit_command(unit: Path, *, instance: str, state: Path, private_tmp: Path) -> UnitCommand:
    """ExecStart, Environment and WorkingDirectory of a unit file, with its paths moved into test folders."""
    moves = (("/opt/qa-faq/.venv/bin/python", sys.executable), ("/opt/qa-faq", str(REPO)),
             ("/var/lib/qa-faq", str(state)), ("/tmp", str(private_tmp)))

    def move(value: str) -> str:
        value = value.replace("%i", instance)
        for old, new in moves:
            if value == old or value.startswith(old + "/"):
                return new + value[len(old):]
        return value

    env, argv, cwd = {}, (), REPO
    for line in unit.read_text(encoding="utf-8").splitlines():
        key, _, value = line.partition("=")
        if key == "Environment":
            name, _, setting = value.partition("=")
            env[name] = move(setting)
        elif key == "ExecStart":
            argv = tuple(move(token) for token in value.split())
        elif key == "WorkingDirectory":
            cwd = Path(move(value))
    return UnitCommand(argv, env, cwd)


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run([OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True, timeout=60)
    return cert, key


# ----------------------------------------------------------------- processes
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
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if not self.alive():
                raise RuntimeError(f"replica {self.port} exited:\n{self.log_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
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
        return unit_command(BUILD_UNIT, instance="", state=self.state, private_tmp=self.prefix / "build-tmp")

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


def make_cluster(root: Path, *, index_dir: Path, encoder_cache: Path, corpus_dir: Path) -> Cluster:
    """Write the configs and start nginx; replicas start on the first `ensure_up`."""
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
    replicas = [Replica(port, unit_command(UNIT, instance=str(port), state=state, private_tmp=root / f"tmp-{port}"), root)
                for port in ports]
    cluster = Cluster(prefix, state, cert, http_port, https_port, replicas)
    cluster.start_nginx()
    return cluster


# ----------------------------------------------------------------- the fixture
_SHARED: dict[str, Cluster] = {}


@pytest.fixture
def cluster(request, tmp_path_factory, built_index_dir, encoder_cache) -> Cluster:
    """The session's deployment (made on first use), with both replicas up."""
    if NGINX is None or OPENSSL is None:
        pytest.skip(MISSING)
    if "cluster" not in _SHARED:
        made = make_cluster(tmp_path_factory.mktemp("deploy"), index_dir=built_index_dir, encoder_cache=encoder_cache,
                            corpus_dir=REPO / "corpus")
        request.session.config.add_cleanup(made.stop)
        _SHARED["cluster"] = made
    deployed = _SHARED["cluster"]
    if deployed.nginx.poll() is not None:
        pytest.fail(f"nginx died:\n{deployed.error_log()[-3000:]}")
    deployed.ensure_up()
    return deployed
