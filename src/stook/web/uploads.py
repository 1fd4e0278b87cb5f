"""Uploaded files, kept between the submits of one form.

A browser forgets a chosen file when the page comes back (a refused record, a row
added without JavaScript), so each upload is kept in the server's own staging folder
under a random token that the form carries in a hidden field. Nothing about a staged
file's place comes from the browser: the token is looked up here, and the file's name
is used only as a name (never as a path). When a record is bagged, its staged files
are copied into a folder of the store's ``.tmp`` (see :mod:`stook.web.entry`).
Staged files are removed after ``max_age`` seconds, and all of them when the server stops.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

from stook.payloadcheck import measure_file

_TOKEN = re.compile(r"^[0-9a-f]{32}$")
MAX_NAME_BYTES = 200


class Upload(Protocol):
    """What an uploaded file offers (werkzeug's FileStorage)."""

    filename: str | None
    stream: IO[bytes]


@dataclass(frozen=True)
class Staged:
    """One kept upload: its token, the name it had on the person's computer, where it is."""

    token: str
    name: str
    size: int
    path: Path
    created: float

    def first_bad_utf8(self) -> tuple[int, int] | None:
        """(offset, byte) of the first byte that is not UTF-8, or None for a UTF-8 file."""
        return measure_file(self.path, (), utf8=True, what="uploaded file").bad_utf8


def safe_name(raw: str | None) -> str:
    """The uploaded file's own name, kept only when it is one plain file name."""
    name = (raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    if (
        not name
        or name in (".", "..")
        or "\x00" in name
        or len(name.encode("utf-8", "surrogatepass")) > MAX_NAME_BYTES
        or any(ord(ch) < 32 for ch in name)
    ):
        return "upload"
    return name


class UploadStash:
    """The staging folder: put an upload, get it back by token, forget old ones."""

    def __init__(self, root: Path | None = None, *, max_age: float = 6 * 3600) -> None:
        self.root = root or Path(tempfile.mkdtemp(prefix="stook-web-uploads-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.max_age = max_age
        self._staged: dict[str, Staged] = {}
        self._lock = threading.Lock()

    def put(self, upload: Upload) -> Staged:
        """Keep an upload (streamed to disk, never held in memory whole)."""
        self.sweep()
        token = secrets.token_hex(16)
        folder = self.root / token
        folder.mkdir()
        name = safe_name(upload.filename)
        target = folder / name
        with open(target, "xb") as out:
            shutil.copyfileobj(upload.stream, out, 1 << 20)
        staged = Staged(token, name, target.stat().st_size, target, time.time())
        with self._lock:
            self._staged[token] = staged
        return staged

    def get(self, token: str | None) -> Staged | None:
        if not token or not _TOKEN.match(token):
            return None
        with self._lock:
            staged = self._staged.get(token)
        if staged is None or not staged.path.is_file():
            return None
        return staged

    def discard(self, token: str) -> None:
        with self._lock:
            staged = self._staged.pop(token, None)
        if staged is not None:
            shutil.rmtree(staged.path.parent, ignore_errors=True)

    def sweep(self) -> None:
        """Forget uploads older than ``max_age`` seconds (an abandoned form)."""
        cutoff = time.time() - self.max_age
        with self._lock:
            old = [t for t, s in self._staged.items() if s.created < cutoff]
        for token in old:
            self.discard(token)

    def close(self) -> None:
        with self._lock:
            self._staged.clear()
        shutil.rmtree(self.root, ignore_errors=True)


def copy_into(source: Path, target: Path) -> None:
    """Copy a staged or stored file to ``target`` (its folders made), never following a link."""
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(source, flags)
    with os.fdopen(fd, "rb") as src, open(target, "xb") as out:
        shutil.copyfileobj(src, out, 1 << 20)
