"""Who may write through ``stook web``: a users file with hashed passwords, plus one
user from the environment.

The file (default ``<store>/.web-users.json``, mode 0600) maps each name to a salted
scrypt hash (werkzeug's ``generate_password_hash``); passwords themselves are never
stored. ``stook web-user add NAME`` manages it. A first user can also come from
``STOOK_WEB_USER`` and ``STOOK_WEB_PASSWORD`` (kept in memory only), so a fresh server
can be used before any file exists.
"""

from __future__ import annotations

import hmac
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stook.errors import UsageError

USERS_FILE = ".web-users.json"
USER_ENV = "STOOK_WEB_USER"
PASSWORD_ENV = "STOOK_WEB_PASSWORD"
USERS_ENV = "STOOK_WEB_USERS"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
MIN_PASSWORD = 8
# Checked against when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = "scrypt:32768:8:1$AAAAAAAAAAAAAAAA$" + "0" * 128


def default_users_file(store: Path) -> Path:
    env = os.environ.get(USERS_ENV)
    return Path(env) if env else store / USERS_FILE


def check_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"{name!r} is not a usable user name",
            hint="use 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit",
        )
    return name


@dataclass(frozen=True)
class Users:
    """The users file's accounts and the environment's user, checked in constant time."""

    hashes: Mapping[str, str]
    env_user: str | None = None
    env_password: str | None = None

    @property
    def names(self) -> list[str]:
        names = set(self.hashes)
        if self.env_user:
            names.add(self.env_user)
        return sorted(names)

    @property
    def anyone(self) -> bool:
        return bool(self.names)

    def check(self, name: str, password: str) -> bool:
        """True when ``password`` is the password of ``name``."""
        from werkzeug.security import check_password_hash

        if self.env_user and self.env_password and name == self.env_user:
            return hmac.compare_digest(password.encode("utf-8"), self.env_password.encode("utf-8"))
        stored = self.hashes.get(name)
        ok = check_password_hash(stored or _DUMMY_HASH, password)
        return ok and stored is not None


def load_users(path: Path, *, environ: Mapping[str, str] | None = None) -> Users:
    """The users of ``path`` (none if it does not exist) and of the environment."""
    env = os.environ if environ is None else environ
    hashes = {name: entry["hash"] for name, entry in read_users_file(path).items()}
    user = env.get(USER_ENV) or None
    password = env.get(PASSWORD_ENV) or None
    if user and not password:
        raise UsageError(f"{USER_ENV} is set but {PASSWORD_ENV} is not; set both, or neither")
    if user:
        check_name(user)
    return Users(hashes, user, password)


def read_users_file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the users file: {exc.strerror}", path=path) from exc
    try:
        data = json.loads(raw)
        users = data["users"]
        if not isinstance(users, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("hash"), str) for v in users.values()
        ):
            raise ValueError("users must map names to {hash: ...}")
    except (ValueError, KeyError, TypeError) as exc:
        raise UsageError(
            f"{path}: not a stook web users file ({exc})",
            path=path, hint="manage it with stook web-user add/remove, or move it away and add users again",
        ) from exc
    return users


def _write_users_file(path: Path, users: Mapping[str, Any]) -> None:
    text = json.dumps({"about": "stook web users: scrypt password hashes; manage with stook web-user",
                       "users": dict(sorted(users.items()))}, indent=2, ensure_ascii=False) + "\n"
    part = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise UsageError(f"{path}: cannot write the users file: {exc.strerror}", path=path) from exc


def add_user(path: Path, name: str, password: str, *, replace: bool = False) -> bool:
    """Add ``name`` (or, with ``replace``, set a new password); True if the user is new."""
    from werkzeug.security import generate_password_hash

    check_name(name)
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"the password for {name!r} is too short; use at least {MIN_PASSWORD} characters")
    users = read_users_file(path)
    new = name not in users
    if not new and not replace:
        raise UsageError(f"{path}: the user {name!r} exists already",
                         hint="give the replace flag (--replace) to set a new password")
    users[name] = {"hash": generate_password_hash(password),
                   "changed": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    _write_users_file(path, users)
    return new


def remove_user(path: Path, name: str) -> None:
    users = read_users_file(path)
    if name not in users:
        raise UsageError(f"{path}: no user {name!r} to remove", path=path)
    del users[name]
    _write_users_file(path, users)
