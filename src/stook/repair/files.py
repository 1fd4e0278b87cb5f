"""Reading the files of a bag (stored or a partner's copy) without following links.

Repair reads two trees it must not trust blindly: the stored bag, which is damaged,
and a partner's copy, which may hold anything. Every file is reached one path
component at a time with ``O_NOFOLLOW`` (a symbolic link anywhere on the way makes
the file absent, never a way out), opened ``O_NONBLOCK`` (a FIFO never blocks) and
taken only when it is a regular file. Digests are remembered per file, so each file
is read once whatever the number of checks that need it.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from stook.bagspec import HASHLIB_NAMES

CHUNK = 1 << 20
TAG_FILE_LIMIT = 256 * 1024 * 1024  # a tag file (a manifest of a huge bag) read whole at most this big
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIR_FLAGS = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
_FILE_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
_NEW_FILE = (os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0))


def supported(algorithm: str) -> bool:
    return algorithm in HASHLIB_NAMES


def open_file(root: Path, rel: str) -> int | None:
    """A read descriptor of the regular file ``rel`` under ``root`` reached without any link,
    or None when there is no such regular file."""
    parts = rel.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    try:
        current = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    try:
        for part in parts[:-1]:
            try:
                nxt = os.open(part, _DIR_FLAGS, dir_fd=current)
            except OSError:
                return None
            os.close(current)
            current = nxt
        try:
            fd = os.open(parts[-1], _FILE_FLAGS, dir_fd=current)
        except OSError:
            return None
    finally:
        os.close(current)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        return None
    return fd


@dataclass
class Tree:
    """A bag directory as repair reads it; ``root`` None or absent means an empty tree."""

    root: Path | None
    label: str  # "the stored bag" / "the partner's copy", for messages
    _digests: dict[str, dict[str, str] | None] = field(default_factory=dict, repr=False)

    def digests(self, rel: str, algorithms: Iterable[str]) -> dict[str, str] | None:
        """``{algorithm: hex digest}`` of ``rel``; None when it is not a regular file here."""
        wanted = tuple(sorted(set(algorithms)))
        known = self._digests.get(rel, {})
        if rel in self._digests and known is None:
            return None
        assert known is not None
        if all(a in known for a in wanted):
            return {a: known[a] for a in wanted}
        found = self._hash(rel, tuple(sorted({*wanted, *known})))
        self._digests[rel] = found
        return None if found is None else {a: found[a] for a in wanted}

    def digest(self, rel: str, algorithm: str) -> str | None:
        found = self.digests(rel, (algorithm,))
        return None if found is None else found[algorithm]

    def _hash(self, rel: str, algorithms: tuple[str, ...]) -> dict[str, str] | None:
        if self.root is None:
            return None
        fd = open_file(self.root, rel)
        if fd is None:
            return None
        hashers = [hashlib.new(HASHLIB_NAMES[a]) for a in algorithms]
        with os.fdopen(fd, "rb") as handle:
            while chunk := handle.read(CHUNK):
                for h in hashers:
                    h.update(chunk)
        return {a: h.hexdigest() for a, h in zip(algorithms, hashers, strict=True)}

    def read(self, rel: str) -> bytes | None:
        """A tag file's bytes (None if absent here or larger than ``TAG_FILE_LIMIT``)."""
        if self.root is None:
            return None
        fd = open_file(self.root, rel)
        if fd is None:
            return None
        with os.fdopen(fd, "rb") as handle:
            data = handle.read(TAG_FILE_LIMIT + 1)
        return None if len(data) > TAG_FILE_LIMIT else data

    def top_level(self) -> dict[str, str]:
        """Entries at the top of the bag: name -> "file", "dir" or "other" (links, devices)."""
        if self.root is None or not self.root.is_dir():
            return {}
        found: dict[str, str] = {}
        with os.scandir(self.root) as listing:
            for entry in listing:
                found[entry.name] = _kind(entry)
        return found

    def walk(self, top: str) -> dict[str, str]:
        """Every entry under the directory ``top`` (bag-relative), links not followed."""
        found: dict[str, str] = {}
        if self.root is None:
            return found
        stack = [top]
        while stack:
            rel_dir = stack.pop()
            try:
                listing = list(os.scandir(self.root / rel_dir))
            except OSError:
                continue
            for entry in listing:
                rel = f"{rel_dir}/{entry.name}"
                kind = _kind(entry)
                found[rel] = kind
                if kind == "dir":
                    stack.append(rel)
        return found


def _kind(entry: os.DirEntry[str]) -> str:
    if entry.is_symlink():
        return "other"
    if entry.is_dir(follow_symlinks=False):
        return "dir"
    if entry.is_file(follow_symlinks=False):
        return "file"
    return "other"


def copy_checked(tree: Tree, rel: str, target: Path, algorithm: str) -> str | None:
    """Copy ``rel`` of ``tree`` to the new file ``target``; return the ``algorithm`` digest of
    the bytes written (None if the source vanished). The caller compares it."""
    if tree.root is None:
        return None
    fd = open_file(tree.root, rel)
    if fd is None:
        return None
    hasher = hashlib.new(HASHLIB_NAMES[algorithm])
    with os.fdopen(fd, "rb") as source, os.fdopen(os.open(target, _NEW_FILE, 0o644), "wb") as out:
        while chunk := source.read(CHUNK):
            hasher.update(chunk)
            out.write(chunk)
    return hasher.hexdigest()
