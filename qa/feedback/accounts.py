"""Staff accounts for the review page: argon2 or bcrypt hashes, never a default password.

Accounts come from a file of ``name:hash`` lines (``QA_ADMIN_USERS_FILE``,
default ``<data dir>/admin_users.txt``, written by ``python -m qa feedback
add-user NAME``) and from ``QA_ADMIN_USERS`` ("name:hash name2:hash2").
With neither there is no account and nobody can log in. ``LoginThrottle``
limits failed logins per account and in total, with a clock it is given.
This module checks passwords; sessions and cookies are the web layer's.
"""

from __future__ import annotations

import os
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from pathlib import Path

from .errors import FeedbackError

_NAME = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
MIN_PASSWORD_CHARS = 12


def _is_hash(value: str) -> bool:
    return value.startswith("$argon2") or value[:4] in ("$2a$", "$2b$", "$2y$")


def parse_accounts(text: str, *, source: str) -> dict[str, str]:
    """``name:hash`` entries (lines or whitespace-separated); ``#`` starts a comment."""
    accounts = {}
    entries = [entry for line in text.splitlines() for entry in line.split("#", 1)[0].split()]
    for n, entry in enumerate(entries):
        name, _, hashed = entry.partition(":")
        if not _NAME.match(name) or not _is_hash(hashed):
            raise FeedbackError(f"{source}: entry {n + 1} is not 'name:hash' with an argon2 or bcrypt hash: "
                                "create accounts with `python -m qa feedback add-user NAME`.")
        accounts[name] = hashed
    return accounts


def load_accounts(users_file: Path, inline: str = "") -> dict[str, str]:
    accounts = parse_accounts(users_file.read_text(encoding="utf-8"), source=str(users_file)) \
        if users_file.is_file() else {}
    accounts.update(parse_accounts(inline, source="QA_ADMIN_USERS"))
    return accounts


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    if len(password) < MIN_PASSWORD_CHARS:
        raise FeedbackError(f"Use a password of at least {MIN_PASSWORD_CHARS} characters.")
    return PasswordHasher().hash(password)


_DUMMY: list[str] = []


def verify(accounts: dict[str, str], name: str, password: str) -> bool:
    """True when ``name`` exists and ``password`` matches; an unknown name costs the same time."""
    hashed = accounts.get(name)
    if hashed is None:
        if not _DUMMY:
            from argon2 import PasswordHasher
            _DUMMY.append(PasswordHasher().hash(uuid.uuid4().hex))
        hashed, password = _DUMMY[0], password + "\0never"
    try:
        if hashed.startswith("$argon2"):
            from argon2 import PasswordHasher
            from argon2.exceptions import Argon2Error, InvalidHashError

            try:
                return PasswordHasher().verify(hashed, password) and name in accounts
            except (Argon2Error, InvalidHashError):
                return False
        import bcrypt

        return bcrypt.checkpw(password.encode("utf-8")[:72], hashed.encode("ascii")) and name in accounts
    except ValueError:
        return False


def add_account(users_file: Path, name: str, password: str) -> None:
    """Add or replace ``name`` in the accounts file (owner-only, replaced atomically)."""
    if not _NAME.match(name):
        raise FeedbackError("An account name is 1-64 letters, digits, '.', '_', '-' or '@'.")
    accounts = load_accounts(users_file)
    accounts[name] = hash_password(password)
    users_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = users_file.with_name(f".{users_file.name}.{uuid.uuid4().hex[:8]}")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write("".join(f"{n}:{h}\n" for n, h in accounts.items()))
    os.replace(tmp, users_file)


class LoginThrottle:
    """At most ``per_account`` failed logins per account and ``overall`` in all per ``window`` seconds."""

    def __init__(self, *, per_account: int = 5, overall: int = 30, window: float = 900.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.per_account, self.overall, self.window, self.clock = per_account, overall, window, clock
        self._failures: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str) -> deque:
        failures = self._failures.setdefault(key, deque())
        while failures and failures[0] <= self.clock() - self.window:
            failures.popleft()
        return failures

    def retry_after(self, name: str) -> float:
        """Seconds until ``name`` may try again; 0 when it may now."""
        with self._lock:
            waits = [f[0] + self.window - self.clock() for key, limit in ((name.casefold(), self.per_account),
                                                                          ("*", self.overall))
                     if len(f := self._recent(key)) >= limit]
        return max(waits, default=0.0)

    def failed(self, name: str) -> None:
        with self._lock:
            now = self.clock()
            for key in (name.casefold(), "*"):
                self._recent(key).append(now)
            if len(self._failures) > 10_000:  # names typed by strangers must not grow memory forever
                self._failures = {k: v for k, v in self._failures.items() if v and k != "*"} | {"*": self._recent("*")}

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.casefold(), None)
