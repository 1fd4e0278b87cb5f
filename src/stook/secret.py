"""The store's secret for signing OAI-PMH resumption tokens.

Each store has a random secret of its own in ``<store>/.token-secret`` (mode 0600),
made when the store is created, or for an older store the first time it is served
with write access. ``STOOK_TOKEN_SECRET`` in the environment takes precedence (for
several servers sharing one, or a store kept read-only). A read-only store with
neither is served with a secret of that process only: its tokens do not survive a
restart, and the provider says so once.

:func:`rotate_secret` replaces the secret; every token signed with the old one is then
refused as ``badResumptionToken``, also by servers already running (they re-read the
file when it changes). Here only the secret lives, so opening a store stays cheap;
the provider derives its signing key from it (:mod:`stook.provider.tokens`).
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from stook.errors import StoreError, UsageError
from stook.ledger import LEDGER_FILE

__all__ = [
    "MIN_ENV_LENGTH",
    "SECRET_ENV",
    "SECRET_FILE",
    "TokenSecret",
    "create_secret",
    "read_secret",
    "rotate_secret",
]

SECRET_FILE = ".token-secret"
SECRET_ENV = "STOOK_TOKEN_SECRET"
MIN_ENV_LENGTH = 16
_BYTES = 32
_READ_ONLY = (errno.EACCES, errno.EPERM, errno.EROFS)

Origin = Literal["given", "environment", "file", "process"]


def _write_new(root: Path, *, replace: bool) -> None:
    """Write a fresh random secret beside the ledger: whole or not at all, never readable by others."""
    target = root / SECRET_FILE
    tmp = root / f"{SECRET_FILE}.{os.urandom(4).hex()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, (os.urandom(_BYTES).hex() + "\n").encode("ascii"))
            os.fsync(fd)
        finally:
            os.close(fd)
        if replace:
            os.replace(tmp, target)
        else:
            with contextlib.suppress(FileExistsError):
                os.link(tmp, target)  # never over a secret another process made meanwhile
    finally:
        if tmp.exists():
            tmp.unlink()
    dir_fd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def create_secret(root: str | os.PathLike[str]) -> bool:
    """Give the store at ``root`` a secret unless it has one; True if one was made now.

    Raises :class:`OSError` when the store cannot be written (callers decide what that means).
    """
    path = Path(root)
    if (path / SECRET_FILE).exists():
        return False
    _write_new(path, replace=False)
    return True


def rotate_secret(root: str | os.PathLike[str]) -> None:
    """Replace the store's secret with a new random one: tokens signed before are refused."""
    path = Path(root)
    if not (path / LEDGER_FILE).is_file():
        raise StoreError(f"{path}: not a stook store (no {LEDGER_FILE}); check the store path", path=path)
    try:
        _write_new(path, replace=True)
    except OSError as exc:
        raise StoreError(
            f"{path / SECRET_FILE}: cannot write a new token secret: {exc.strerror or exc}; "
            "the store needs write access",
            path=path / SECRET_FILE,
        ) from exc


def read_secret(root: str | os.PathLike[str]) -> bytes | None:
    """The secret in the store's file, None when it has none; StoreError when it is damaged."""
    file = Path(root) / SECRET_FILE
    try:
        text = file.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{file}: cannot read the token secret: {exc.strerror or exc}", path=file) from exc
    try:
        secret = bytes.fromhex(text.decode("ascii").strip())
    except (UnicodeDecodeError, ValueError):
        secret = b""
    if len(secret) < 16:
        raise StoreError(
            f"{file}: the token secret is damaged (expected at least 32 hex digits); "
            "make a new one with `stook secret rotate`",
            path=file,
        )
    return secret


class TokenSecret:
    """Where a provider's signing secret comes from; a changed file (rotation) is re-read."""

    def __init__(self, origin: Origin, secret: bytes, file: Path | None = None,
                 warning: str | None = None) -> None:
        self.origin: Origin = origin
        self.file = file
        self.warning = warning
        self._secret = secret
        self._seen = self._identity()
        self._lock = threading.Lock()

    @classmethod
    def for_store(
        cls,
        root: str | os.PathLike[str],
        *,
        given: bytes | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> TokenSecret:
        """The secret to serve the store at ``root`` with: ``given``, else ``STOOK_TOKEN_SECRET``,
        else the store's file (made now when missing and the store is writable), else one of
        this process only, with a warning."""
        path = Path(root)
        if given is not None:
            return cls("given", given)
        env = (environ if environ is not None else os.environ).get(SECRET_ENV, "")
        if env:
            if len(env) < MIN_ENV_LENGTH:
                raise UsageError(
                    f"{SECRET_ENV} is {len(env)} characters long; use at least {MIN_ENV_LENGTH} "
                    "random characters (e.g. 64 hex digits)"
                )
            return cls("environment", env.encode("utf-8"))
        file = path / SECRET_FILE
        secret = read_secret(path)
        if secret is None:
            try:
                create_secret(path)
            except OSError as exc:
                if exc.errno not in _READ_ONLY:
                    raise StoreError(f"{file}: cannot create the token secret: {exc.strerror or exc}",
                                     path=file) from exc
                return cls("process", os.urandom(_BYTES), warning=(
                    f"{path}: the store has no token secret and is read-only, so resumption tokens are "
                    f"signed with a secret of this process only and will not survive a restart "
                    f"(set {SECRET_ENV}, or serve the store once with write access)"))
            secret = read_secret(path)
            assert secret is not None
        warning = None
        mode = file.stat().st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            warning = f"{file}: the token secret can be read by other users; chmod 600 it"
        return cls("file", secret, file, warning)

    def _identity(self) -> tuple[int, int, int] | None:
        if self.file is None:
            return None
        try:
            st = os.stat(self.file)
        except OSError:
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def current(self) -> bytes:
        """The secret now: the file is read again when it changed since it was last read
        (a rotated secret takes effect at the next request). A file that became unreadable
        or damaged leaves the last good secret in use."""
        if self.file is None:
            return self._secret
        seen = self._identity()
        if seen is None or seen == self._seen:
            return self._secret
        with self._lock:
            try:
                fresh = read_secret(self.file.parent)
            except StoreError:
                fresh = None
            if fresh is not None:
                self._secret = fresh
            self._seen = seen
            return self._secret
