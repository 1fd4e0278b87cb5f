"""Unpacking a received bag (directory, tar, gzipped tar or zip) safely into the store's ``.tmp``.

Everything that arrives is hostile until checked. Entries are streamed one by one
into a fresh directory that becomes the bag; nothing is ever written elsewhere:

* names must be relative, without ``..``, drive letters, backslashes, control
  characters or undecodable bytes, and all under one top-level directory;
* only regular files and directories are accepted: symbolic and hard links,
  devices, FIFOs and sockets are refused (their target is never looked at);
* an entry that appears twice (exactly, or equal after Unicode NFC normalization)
  is refused; names that differ only in case are reported as a warning, since
  they collide on case-insensitive filesystems;
* the caps on bytes and entries count what is actually written, not what an
  archive declares (a compression bomb lies about its sizes), and so does the cap
  on the expansion ratio (bytes written per compressed byte read), judged for each
  entry and for the whole archive once either has written more than 1 MiB;
* the store's filesystem must keep a margin of free space (5% of its size, at
  most 1 GiB): checked against the archive's declared sizes before anything is
  written, and again while writing, so a lying archive stops before the margin;
* a zip entry whose name bytes do not match its declared encoding (flagged UTF-8
  but not UTF-8, or UTF-8 without the flag) is a name-encoding problem, named
  with the entry's index and raw bytes, before anything is written;
* a truncated or damaged archive (short data, missing end-of-archive marker,
  bad CRC, broken gzip stream) is an error that says so.

Files are created with ``O_EXCL | O_NOFOLLOW`` and mode 0644, directories 0755,
whatever the archive claims. Problems are collected, not raised, so the report
names every one; hitting a cap stops the extraction at once.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from stook.errors import Problem
from stook.transfer.sink import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_FILES,
    DEFAULT_MAX_RATIO,
    FORMATS,
    Extraction,
    Limits,
    Sink,
    SourceFormat,
    StopExtraction,
    show_name,
    special_kind,
)
from stook.transfer.tararchive import declared_tar_size, extract_tar
from stook.transfer.ziparchive import extract_zip

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_FILES",
    "DEFAULT_MAX_RATIO",
    "FORMATS",
    "Extraction",
    "Limits",
    "SourceFormat",
    "detect_format",
    "extract",
    "format_from_name",
]


def detect_format(path: Path) -> SourceFormat | None:
    """The kind of bag at ``path``, from its content rather than its name."""
    if path.is_dir():
        return "dir"
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return None
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return format_from_name(path)


def format_from_name(path: Path) -> SourceFormat | None:
    """The archive kind a file name promises (.tar, .tar.gz/.tgz, .zip), if any."""
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    if name.endswith(".tar"):
        return "tar"
    if name.endswith(".zip"):
        return "zip"
    return None


def extract(source: Path, target: Path, fmt: SourceFormat, limits: Limits | None = None) -> Extraction:
    """Unpack the bag at ``source`` into the new directory ``target`` (the bag itself).

    ``target`` must not exist; the caller removes it when the result has errors.
    """
    limits = limits or Limits()
    result = Extraction(format=fmt)
    archive_size = None if fmt == "dir" else source.stat().st_size
    sink = Sink(target, result, limits, archive_size)
    try:
        if fmt == "dir":
            sink.declare(str(source), _tree_size(source))
            _copy_dir(source, sink)
        elif fmt == "zip":
            extract_zip(source, sink)
        else:
            sink.declare(source.name, declared_tar_size(source, gz=fmt == "tar.gz"))
            extract_tar(source, sink, gz=fmt == "tar.gz")
    except StopExtraction:
        pass
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            result.errors.append(Problem(str(source), (
                f"the store's filesystem ({target.parent}) is full: no space left while extracting "
                f"(after {result.bytes} bytes); nothing was added: free some space or use a store on "
                "a larger filesystem")))
        else:
            result.errors.append(Problem(str(source), f"cannot be read or extracted: {exc.strerror or exc}"))
    if result.top is None and not result.errors:
        result.errors.append(Problem(str(source), "holds no bag directory (the archive is empty)"))
    return result


def _tree_size(directory: Path) -> int:
    """Bytes of the regular files under ``directory`` (links not followed)."""
    total = 0
    for dirpath, _dirs, files in os.walk(directory):
        for name in files:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode):
                total += st.st_size
    return total


# -- directories ------------------------------------------------------------------


def _copy_dir(source: Path, sink: Sink) -> None:
    top = source.resolve().name or "bag"
    sink.result.top = top
    _copy_tree(source, top, sink)


def _copy_tree(directory: Path, prefix: str, sink: Sink) -> None:
    with os.scandir(directory) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        raw = f"{prefix}/{entry.name}"
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            sink.error(raw, f"cannot be read: {exc.strerror or exc}")
            continue
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            target = os.readlink(entry.path)
            sink.refuse(raw, f"symbolic link to {show_name(target)}")
        elif stat.S_ISDIR(mode):
            if sink.add_dir(raw):
                _copy_tree(Path(entry.path), raw, sink)
        elif stat.S_ISREG(mode):
            if st.st_nlink > 1:
                sink.warn(raw, f"has {st.st_nlink} hard links on the sending side; its content is copied")
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
            try:
                fd = os.open(entry.path, flags)
            except OSError as exc:
                sink.error(raw, f"cannot be read: {exc.strerror or exc}")
                continue
            with os.fdopen(fd, "rb") as reader:
                sink.add_file(raw, reader, st.st_size)
        else:
            sink.refuse(raw, special_kind(mode))
