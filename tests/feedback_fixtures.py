"""Fixtures for the feedback tests: a real PostgreSQL and a real collecting server.

``postgres_server`` runs Debian's PostgreSQL (initdb + pg_ctl) on a free
loopback port with its data folder under the session's tmp path; as root it
runs as the ``postgres`` system user (PostgreSQL refuses root), which needs the
tmp path's folders to be searchable (``o+x``, never readable). It skips, saying
how to install it, where the binaries are missing. ``collecting_server`` is
``python app.py --collect-feedback`` with its own corpus copy, index, data
folder and one staff account. Import the fixtures by name.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from web_fixtures import REPO, free_port, start_server

STAFF_USER, STAFF_PASSWORD = "staff", "correct horse battery staple"
PG_MISSING = ("PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian's postgresql "
              "(`scripts/setup.sh --dev` does, as root, or `apt-get install postgresql`)")


def _pg_bin(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def _as_postgres_user() -> list[str]:
    if os.geteuid() != 0:
        return []
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        pytest.skip("running as root and there is no 'postgres' user to run PostgreSQL as (install Debian's postgresql)")
    runuser = shutil.which("runuser")
    if runuser is None:
        pytest.skip("running as root without `runuser` to start PostgreSQL as the postgres user")
    return [runuser, "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory):
    """Base URL (without database) of a PostgreSQL started for this session on 127.0.0.1."""
    initdb, pg_ctl = _pg_bin("initdb"), _pg_bin("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip(PG_MISSING)
    prefix = _as_postgres_user()
    root = tmp_path_factory.mktemp("postgres")
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if prefix:
        owner = pwd.getpwnam("postgres")
        for folder in (root, *root.parents):  # searchable only: the postgres user can reach its folder
            if folder != Path("/"):
                folder.chmod(folder.stat().st_mode | 0o001)
        for folder in (root, sockets):
            os.chown(folder, owner.pw_uid, owner.pw_gid)
    user = "postgres" if prefix else pwd.getpwuid(os.geteuid()).pw_name
    subprocess.run([*prefix, initdb, "-D", str(data), "-U", user, "--auth=trust", "-E", "UTF8", "--no-sync"],
                   check=True, capture_output=True)
    port = free_port()
    options = f"-p {port} -k {sockets} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run([*prefix, pg_ctl, "-D", str(data), "-o", options, "-l", str(root / "server.log"), "-w", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://{user}@127.0.0.1:{port}"
    finally:
        subprocess.run([*prefix, pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], capture_output=True)


@pytest.fixture
def postgres_url(postgres_server):
    """A fresh, empty database on the session's PostgreSQL."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    plain = postgres_server.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"{postgres_server}/{name}"


def staff_accounts() -> str:
    from qa.feedback.accounts import hash_password

    return f"{STAFF_USER}:{hash_password(STAFF_PASSWORD)}"


_SHARED: dict = {}


@pytest.fixture(scope="session")
def collecting_server(request, tmp_path_factory):
    """``app.py --collect-feedback`` with a private corpus copy (the admin page writes to it)."""
    if "server" not in _SHARED:
        root = tmp_path_factory.mktemp("collecting-server")
        shutil.copytree(REPO / "corpus", root / "corpus")
        # The session's index of the same corpus: the server starts without building one (it rebuilds its copy).
        shutil.copytree(request.getfixturevalue("built_index_dir"), root / "index", symlinks=True)
        server = start_server(root, extra_env={"QA_CORPUS_DIR": str(root / "corpus"), "QA_ADMIN_USERS": staff_accounts()},
                              args=("--collect-feedback", "--data-dir", str(root / "data"), "--retention-days", "7"))
        server.corpus_dir, server.data_dir = root / "corpus", root / "data"
        _SHARED["server"] = server
        request.session.config.add_cleanup(server.stop)
    server = _SHARED["server"]
    if server.process.poll() is not None:
        pytest.fail(f"the collecting server died:\n{server.logs()[-3000:]}")
    return server
