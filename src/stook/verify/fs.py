"""Filesystem access confined to one bag directory, and one-read multi-algorithm hashing.

RFC 8493 §5.1: implementers MUST ensure that files outside the bag are not accessed.
Every path reaching this module has already been checked lexically
(:func:`stook.bagspec.unsafe_reason`); here symlinks are resolved without
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

from stook.bagspec.hashing import CHUNK, HASHLIB_NAMES, OPEN_FLAGS, hash_chunks

KEEP_LIMIT = 4 << 20  # tag files up to this size are kept after parsing, to be hashed

Kind = Literal["file", "missing", "directory", "special", "outside", "loop", "unreadable"]

@dataclass(frozen=True)
class Entry:
    """What a bag-relative path is, found without opening it."""

    kind: Kind
    size: int = 0
    via_symlink: bool = False
    detail: str = ""


class BagFS:
    """Read-only view of one bag directory that refuses to leave it.

    The bag root is resolved once; directories are listed once with
    ``os.scandir`` and their entries (with cached ``lstat`` results) answer
    every later lookup, so a plain file costs one ``lstat`` however often the
    run asks about it. Only symlinks go through ``os.path.realpath``.
    """

    def __init__(self, root: str) -> None:
        # Files are opened under the path as given; symlinks are judged against the
        # resolved root, which costs an lstat per path component and so is resolved
        # only when a symlink turns up.
        self.root = os.path.abspath(root)
        self._prefix = self.root + os.sep
        self._real_root: str | None = None
        # bag-relative directory -> its entries by name; only real (non-symlink)
        # directories reached from the root without crossing a symlink are listed
        self._listings: dict[str, dict[str, os.DirEntry[str]]] = {}
        # regular files found by listing, with no symlink anywhere below the root -> size
        self._plain: dict[str, int] = {}
        # small tag files already read, so hashing them does not read them again
        self._content: dict[str, bytes] = {}

    def abspath(self, rel: str) -> str:
        return self._prefix + rel.replace("/", os.sep) if rel else self.root

    @property
    def real_root(self) -> str:
        if self._real_root is None:
            self._real_root = os.path.realpath(self.root)
        return self._real_root

    def inside(self, real: str) -> bool:
        """Whether a resolved path lies in the bag (the root included)."""
        root = self.real_root
        return real == root or real.startswith(root + os.sep)

    def listing(self, rel_dir: str) -> dict[str, os.DirEntry[str]]:
        """Entries of a real directory of the bag, by name (listed once); raises OSError."""
        found = self._listings.get(rel_dir)
        if found is None:
            with os.scandir(self.abspath(rel_dir)) as it:
                found = {de.name: de for de in sorted(it, key=_entry_name)}
            self._listings[rel_dir] = found
        return found

    def lookup(self, rel: str) -> Entry:
        """Classify ``rel`` (a lexically safe, normalised POSIX path) without opening it."""
        parent, _, name = rel.rpartition("/")
        entries = self._listings.get(parent)
        if entries is None:
            return self._resolve(rel)
        de = entries.get(name)
        if de is None:
            return Entry("missing")
        return self._classify(rel, de)

    def _classify(self, rel: str, de: os.DirEntry[str]) -> Entry:
        """An entry of a listed directory: its cached lstat, or full resolution if a symlink."""
        if de.is_symlink():
            return self._resolve(rel)
        try:
            st = de.stat(follow_symlinks=False)
        except FileNotFoundError:
            return Entry("missing")
        except OSError as exc:
            return Entry("unreadable", detail=exc.strerror or str(exc))
        mode = st.st_mode
        if stat.S_ISREG(mode):
            self._plain[rel] = st.st_size
            return Entry("file", st.st_size)
        if stat.S_ISDIR(mode):
            return Entry("directory")
        if stat.S_ISLNK(mode):  # replaced by a symlink since it was listed
            return self._resolve(rel)
        return Entry("special", detail=describe_mode(mode))

    def _resolve(self, rel: str) -> Entry:
        """Classify ``rel`` by resolving every symlink on the way (lstat/readlink only)."""
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
        via_symlink = real != (self.real_root + os.sep + rel.replace("/", os.sep) if rel else self.real_root)
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

    def _real_path(self, rel: str) -> str:
        """Where ``rel`` really is, checked to lie inside the bag; raises OSError otherwise.

        A file the listing found with no symlink on its way needs no realpath: each
        directory below the root is re-checked with one lstat to be a real directory
        still, and the file itself is opened with O_NOFOLLOW. Anything else is
        resolved in full, as the listing cannot vouch for it.
        """
        if rel in self._plain:
            path = self.root
            parts = rel.split("/")
            for part in parts[:-1]:
                path = path + os.sep + part
                if not stat.S_ISDIR(os.lstat(path).st_mode):
                    break  # changed since it was listed: resolve in full
            else:
                return path + os.sep + parts[-1]
        real = os.path.realpath(self.abspath(rel))
        if not self.inside(real):
            raise PermissionError(f"{rel} resolves outside the bag")
        return real

    def open_fd(self, rel: str) -> tuple[int, int]:
        """Open a regular file inside the bag; return (fd, size); raise OSError for anything else."""
        fd = os.open(self._real_path(rel), OPEN_FLAGS)
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise IsADirectoryError(f"{rel} is not a regular file")
        except BaseException:
            os.close(fd)
            raise
        return fd, st.st_size

    def _read_small(self, rel: str) -> bytes | None:
        """A small file the listing found plain, read without another stat; None otherwise.

        The read is bounded to one byte more than the listed size, so a file swapped
        for a device or FIFO since the listing cannot trap the reader; if that byte
        arrives, the file is not what was listed and the caller checks it in full.
        """
        size = self._plain.get(rel)
        if size is None or size >= CHUNK:
            return None
        fd = os.open(self._real_path(rel), OPEN_FLAGS)
        try:
            data = os.read(fd, size + 1)
        finally:
            os.close(fd)
        return data if len(data) <= size else None

    def read_bytes(self, rel: str) -> bytes:
        """Whole content of a (tag) file inside the bag; small ones are kept for :meth:`hash`."""
        data = self._read_small(rel)
        if data is None:
            fd, size = self.open_fd(rel)
            try:
                data = _read_all(fd, size)
            finally:
                os.close(fd)
        if len(data) <= KEEP_LIMIT:
            self._content[rel] = data
        return data

    def hash(
        self,
        rel: str,
        algorithms: tuple[str, ...],
        advance: Callable[[int], None] | None = None,
    ) -> tuple[dict[str, str], int]:
        """Digest ``rel`` once, feeding each chunk to every algorithm; return digests, bytes.

        A tag file already read for parsing is hashed from those very bytes; other
        files under 1 MiB are read whole, larger ones in 1 MiB chunks.
        """
        hashers = [(alg, hashlib.new(HASHLIB_NAMES[alg])) for alg in algorithms]
        data = self._content.pop(rel, None)
        if data is None:
            data = self._read_small(rel)
        if data is None:
            fd, size = self.open_fd(rel)
            try:
                if size < CHUNK:
                    data = _read_all(fd, size)
                else:
                    total = hash_chunks(fd, [h for _, h in hashers], advance)
                    return {alg: h.hexdigest() for alg, h in hashers}, total
            finally:
                os.close(fd)
        for _, h in hashers:
            h.update(data)
        if advance is not None and data:
            advance(len(data))
        return {alg: h.hexdigest() for alg, h in hashers}, len(data)

    def walk(self, top: str) -> Iterator[tuple[str, Entry]]:
        """Every non-directory under ``top`` (a bag-relative dir), never entering symlinks.

        Symlinks are classified by where they point; symlinked directories are
        reported as such but not descended into, so a loop cannot trap the walk.
        """
        stack = [top]
        while stack:
            rel_dir = stack.pop()
            try:
                entries = self.listing(rel_dir)
            except OSError as exc:
                yield rel_dir, Entry("unreadable", detail=exc.strerror or str(exc))
                continue
            for name, de in entries.items():
                rel = f"{rel_dir}/{name}" if rel_dir else name
                if de.is_dir(follow_symlinks=False):
                    stack.append(rel)
                    continue
                yield rel, self._classify(rel, de)


def _entry_name(de: os.DirEntry[str]) -> str:
    return de.name


def _read_all(fd: int, size: int) -> bytes:
    """Read to end of file: one read for a file that did not change since fstat."""
    first = os.read(fd, size + 1 if size < CHUNK else CHUNK)
    if len(first) <= size < CHUNK:
        return first  # a short read of a regular file is its end: no second read
    chunks = [first]
    while chunk := os.read(fd, CHUNK):
        chunks.append(chunk)
    return first if len(chunks) == 1 else b"".join(chunks)


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
