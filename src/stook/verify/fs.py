"""Filesystem access confined to one bag directory, and one-read multi-algorithm hashing.

RFC 8493 §5.1: implementers MUST ensure that files outside the bag are not accessed.
Every path reaching this module has already been checked lexically
(:func:`stook.verify.paths.unsafe_reason`); here symlinks are resolved without
opening anything, and only regular files whose real path lies inside the bag are
ever opened, with ``O_NOFOLLOW | O_NONBLOCK`` so a swapped-in symlink or FIFO
cannot trap the reader.
"""

from __future__ import annotations

import hashlib
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Literal

CHUNK = 1 << 20  # 1 MiB: large enough that hashlib releases the GIL

Kind = Literal["file", "missing", "directory", "special", "outside", "loop", "unreadable"]

# Normalised manifest algorithm names (RFC 8493 §2.4) -> hashlib names.
HASHLIB_NAMES: dict[str, str] = {
    "md5": "md5",
    "sha1": "sha1",
    "sha224": "sha224",
    "sha256": "sha256",
    "sha384": "sha384",
    "sha512": "sha512",
    "sha3224": "sha3_224",
    "sha3256": "sha3_256",
    "sha3384": "sha3_384",
    "sha3512": "sha3_512",
    "blake2b": "blake2b",
    "blake2b512": "blake2b",
    "blake2s": "blake2s",
    "blake2s256": "blake2s",
}


def digest_size(algorithm: str) -> int | None:
    """Hex length of a digest in ``algorithm`` (a normalised name), None if unsupported."""
    name = HASHLIB_NAMES.get(algorithm)
    return None if name is None else hashlib.new(name).digest_size * 2


@dataclass(frozen=True)
class Entry:
    """What a bag-relative path is, found without opening it."""

    kind: Kind
    size: int = 0
    via_symlink: bool = False
    detail: str = ""


class BagFS:
    """Read-only view of one bag directory that refuses to leave it."""

    def __init__(self, root: str) -> None:
        self.root = os.path.realpath(root)

    def abspath(self, rel: str) -> str:
        return os.path.join(self.root, *rel.split("/"))

    def inside(self, real: str) -> bool:
        return real == self.root or real.startswith(self.root + os.sep)

    def lookup(self, rel: str) -> Entry:
        """Classify ``rel`` (a lexically safe POSIX path) with lstat/readlink only."""
        target = self.abspath(rel)
        try:
            link_st = os.lstat(target)
        except FileNotFoundError:
            return Entry("missing")
        except NotADirectoryError:
            return Entry("missing")
        except OSError as exc:
            return Entry("unreadable", detail=exc.strerror or str(exc))
        real = os.path.realpath(target)
        via_symlink = real != target
        if not self.inside(real):
            return Entry("outside", via_symlink=True, detail=real)
        try:
            st = os.lstat(real) if via_symlink else link_st
        except FileNotFoundError:
            return Entry("missing", via_symlink=True, detail="dangling symlink")
        except OSError as exc:
            return Entry("unreadable", detail=exc.strerror or str(exc))
        mode = st.st_mode
        if stat.S_ISREG(mode):
            return Entry("file", st.st_size, via_symlink)
        if stat.S_ISDIR(mode):
            return Entry("directory", via_symlink=via_symlink)
        if stat.S_ISLNK(mode):
            return Entry("loop", via_symlink=True, detail="symlink loop")
        return Entry("special", via_symlink=via_symlink, detail=describe_mode(mode))

    def open_fd(self, rel: str) -> int:
        """Open a regular file inside the bag; raise OSError for anything else."""
        real = os.path.realpath(self.abspath(rel))
        if not self.inside(real):
            raise PermissionError(f"{rel} resolves outside the bag")
        flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
        flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
        fd = os.open(real, flags)
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise IsADirectoryError(f"{rel} is not a regular file")
        except BaseException:
            os.close(fd)
            raise
        return fd

    def read_bytes(self, rel: str) -> bytes:
        """Whole content of a (tag) file inside the bag."""
        fd = self.open_fd(rel)
        with os.fdopen(fd, "rb") as fh:
            return fh.read()

    def hash(
        self,
        rel: str,
        algorithms: tuple[str, ...],
        advance: Callable[[int], None] | None = None,
    ) -> tuple[dict[str, str], int]:
        """Digest ``rel`` once, feeding each chunk to every algorithm; return digests, bytes."""
        hashers = {alg: hashlib.new(HASHLIB_NAMES[alg]) for alg in algorithms}
        total = 0
        buf = bytearray(CHUNK)
        view = memoryview(buf)
        fd = self.open_fd(rel)
        with os.fdopen(fd, "rb", buffering=0) as fh:
            while True:
                n = fh.readinto(buf)
                if not n:
                    break
                chunk = view[:n]
                for h in hashers.values():
                    h.update(chunk)
                total += n
                if advance is not None:
                    advance(n)
        return {alg: h.hexdigest() for alg, h in hashers.items()}, total

    def walk(self, top: str) -> Iterator[tuple[str, Entry]]:
        """Every non-directory under ``top`` (a bag-relative dir), never entering symlinks.

        Symlinks are classified by where they point; symlinked directories are
        reported as such but not descended into, so a loop cannot trap the walk.
        """
        stack = [top]
        while stack:
            rel_dir = stack.pop()
            try:
                with os.scandir(self.abspath(rel_dir)) as it:
                    entries = sorted(it, key=lambda e: e.name)
            except OSError as exc:
                yield rel_dir, Entry("unreadable", detail=exc.strerror or str(exc))
                continue
            for de in entries:
                rel = f"{rel_dir}/{de.name}" if rel_dir else de.name
                if de.is_dir(follow_symlinks=False):
                    stack.append(rel)
                    continue
                yield rel, self.lookup(rel)


def describe_mode(mode: int) -> str:
    if stat.S_ISFIFO(mode):
        return "FIFO"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    if stat.S_ISSOCK(mode):
        return "socket"
    return "special file"
