"""Who may do what: users, their roles and tokens (docs/interface.md: Users and roles).

The users file (`ASSISTANT_USERS`) is TOML, one table a user, holding only the SHA-256 of each
token:

    [users.alice]
    role = "reader"
    token_sha256 = "<hex>"

`reader` asks, retrieves, lists reports, reads timelines and summaries and keeps its own
conversations and feedback; `evaluator` also runs and reads evaluations; `admin` also uploads and
deletes reports and sees every evaluation. `ASSISTANT_API_TOKEN` alone is one admin. With neither,
nothing asks for a token and everyone is `LOCAL` (an admin: keep `serve` on 127.0.0.1).

A running server reads the file again when it changes; a change that does not parse is logged
and the users read before stay in force (a typo must not lock everyone out or let anyone in).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
import threading
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from index.common.errors import AssistantError, ConfigError, InputError

log = logging.getLogger(__name__)

ROLES = ("reader", "evaluator", "admin")  # each may do what the ones before it may
# The least role for each right.
RIGHTS: Mapping[str, str] = {
    "ask": "reader",  # ask, retrieve, timelines, summaries
    "documents.read": "reader",
    "conversations": "reader",  # one's own, with feedback
    "evaluations": "evaluator",  # run one, read one's own
    "documents.change": "admin",  # upload, delete
    "evaluations.all": "admin",  # read everyone's
}
_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
_HEX = re.compile(r"[0-9a-f]{64}")
_SESSION_PURPOSE = b"report-assistant ui session"
SESSION_COOKIE = "assistant_session"  # set by the sign-in page (assistant/api/auth.py)
TOKEN_ADMIN = "admin"  # the user ASSISTANT_API_TOKEN stands for


class ForbiddenError(AssistantError):
    """The caller's role may not do this (HTTP 403)."""


@dataclass(frozen=True)
class User:
    """A signed-in person (or program) and their role."""

    name: str
    role: str

    def may(self, right: str) -> bool:
        """Whether this user's role includes `right` (one of RIGHTS)."""
        return ROLES.index(self.role) >= ROLES.index(RIGHTS[right])

    def require(self, right: str, doing: str) -> None:
        """ForbiddenError saying what was refused unless the role includes `right`."""
        if not self.may(right):
            raise ForbiddenError(f"{self.name} ({self.role}) may not {doing}")


LOCAL = User("local", "admin")


def token_hash(token: str) -> str:
    """The SHA-256 (hex) of a token: all the users file keeps of it."""
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class _Account:
    user: User
    token_sha256: str

    @property
    def session(self) -> str:
        # A browser's cookie: the name, and an HMAC keyed by the token's hash, which only the
        # server holds; stable across restarts, and it dies with the token.
        digest = hmac.new(self.token_sha256.encode(), _SESSION_PURPOSE, hashlib.sha256).hexdigest()
        return f"{self.user.name}.{digest}"


class Users:
    """The users a server knows: from the users file, read again when it changes, and the
    admin of `ASSISTANT_API_TOKEN`. `enabled` is false when there are neither."""

    def __init__(self, path: Path | None, api_token: str | None = None) -> None:
        self.path = Path(path) if path else None
        self._token_admin = (_Account(User(TOKEN_ADMIN, "admin"), token_hash(api_token))
                             if api_token else None)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._accounts: dict[str, _Account] = {}
        if self.path is not None:
            self._accounts = read_users(self.path)  # at start-up a bad file is an error
            self._stamp = _stamp(self.path)

    @property
    def enabled(self) -> bool:
        """Whether anything asks for a token."""
        return self.path is not None or self._token_admin is not None

    def identify(self, authorization: str | None, session: str | None) -> User | None:
        """Who sent a request with this `Authorization` header and session cookie: by bearer
        token, else by cookie; None when neither is someone's. `LOCAL` when nothing asks for a
        token."""
        if not self.enabled:
            return LOCAL
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer":
            return self.by_token(token)
        return self.by_session(session) if session else None

    def by_token(self, token: str) -> User | None:
        """The user whose token this is, or None."""
        given = token_hash(token)
        for account in self._all():
            if hmac.compare_digest(account.token_sha256, given):
                return account.user
        return None

    def by_session(self, cookie: str) -> User | None:
        """The user a browser's session cookie stands for, or None."""
        for account in self._all():
            if hmac.compare_digest(account.session, cookie):
                return account.user
        return None

    def session_for(self, token: str) -> str | None:
        """The session cookie for a token, or None when it is no one's."""
        given = token_hash(token)
        return next((a.session for a in self._all() if hmac.compare_digest(a.token_sha256, given)), None)

    def _all(self) -> list[_Account]:
        self._reload()
        return [*self._accounts.values(), *([self._token_admin] if self._token_admin else [])]

    def _reload(self) -> None:
        if self.path is None:
            return
        stamp = _stamp(self.path)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            try:
                self._accounts = read_users(self.path)
            except ConfigError as exc:
                log.error("%s; the users read before stay in force", exc)
            self._stamp = stamp


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    return info.st_mtime_ns, info.st_size


def read_users(path: Path) -> dict[str, _Account]:
    """The users of a users file (a missing file: none); ConfigError naming the file, and the
    line or the user, when it is wrong."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"users file {path}: cannot read it ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"users file {path}: not valid TOML: {exc}") from None
    users = data.get("users", {})
    unknown = sorted(set(data) - {"users"})
    if unknown or not isinstance(users, dict):
        raise ConfigError(f"users file {path}: expected only [users.NAME] tables, found {unknown or 'users'}")
    accounts = {}
    for name, entry in users.items():
        where = f"users file {path}: user {name!r}"
        if not _NAME.fullmatch(name):
            raise ConfigError(f"{where}: a name is 1-64 letters, digits, '.', '_' or '-'")
        if not isinstance(entry, dict) or entry.get("role") not in ROLES:
            raise ConfigError(f"{where}: role must be one of {', '.join(ROLES)}")
        digest = entry.get("token_sha256")
        if not isinstance(digest, str) or not _HEX.fullmatch(digest):
            raise ConfigError(f"{where}: token_sha256 must be 64 lower-case hex digits")
        accounts[name] = _Account(User(name, entry["role"]), digest)
    return accounts


def add_user(path: Path, name: str, role: str) -> str:
    """Add (or give a new token to) a user; the new token, which is stored nowhere."""
    if not _NAME.fullmatch(name):
        raise InputError(f"name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if role not in ROLES:
        raise InputError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    accounts = read_users(path)
    token = secrets.token_urlsafe(24)
    accounts[name] = _Account(User(name, role), token_hash(token))
    _write_users(path, accounts)
    return token


def remove_user(path: Path, name: str) -> User:
    """Remove a user; InputError when there is none of that name."""
    accounts = read_users(path)
    if name not in accounts:
        raise InputError(f"users file {path} has no user {name!r}")
    removed = accounts.pop(name).user
    _write_users(path, accounts)
    return removed


def list_users(path: Path) -> list[User]:
    """The users of the file, by name."""
    return [account.user for _, account in sorted(read_users(path).items())]


def _write_users(path: Path, accounts: Mapping[str, _Account]) -> None:
    """Write the file whole, through a temporary file (a reader never sees half of it)."""
    lines = ["# Report Assistant users: `assistant users add NAME --role ROLE`. Tokens are kept only as SHA-256.", ""]
    for name, account in sorted(accounts.items()):
        lines += [f'[users."{name}"]', f'role = "{account.user.role}"', f'token_sha256 = "{account.token_sha256}"', ""]
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as out:
        out.write("\n".join(lines))
    os.replace(temporary, path)
