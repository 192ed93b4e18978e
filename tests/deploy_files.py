"""The shipped deploy/ files, rewritten for a test on loopback.

Only addresses and paths change, and each rewrite must apply exactly as often
as expected, so a reshaped config fails loudly here instead of being
half-tested: the upstream and listen ports (loopback), the server name, the
certificate (self-signed, made here), /opt/qa-faq (this checkout),
/var/lib/qa-faq (a test folder) and /tmp (a private folder per process, as
the units' PrivateTmp gives). Pure text in, text out, apart from
`make_certificate`; nothing here starts a server.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SITE = REPO / "deploy" / "nginx" / "qa-faq.conf"
UNIT = REPO / "deploy" / "systemd" / "qa-faq@.service"
BUILD_UNIT = REPO / "deploy" / "systemd" / "qa-faq-build.service"
DOC_PORTS = (8001, 8002)  # the replica ports the shipped config lists

NGINX = shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)
OPENSSL = shutil.which("openssl")
MISSING = ("Debian's nginx (and openssl, for a test certificate) not installed: "
           "`scripts/setup.sh --dev` installs them as root (apt-get install nginx-light openssl)")
needs_nginx = pytest.mark.skipif(NGINX is None or OPENSSL is None, reason=MISSING)


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
