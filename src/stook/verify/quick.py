"""The fast path of a full check: a bag that is plainly laid out and intact, confirmed in one pass.

The engine (:mod:`stook.verify.engine`) checks everything and names every problem,
and pays for that bookkeeping on every bag. In a preservation store nearly every bag
is intact and plain: BagIt 1.0 (or 0.97, as bagit-python writes it) in UTF-8, regular
files only, manifests in supported algorithms that list exactly the payload, no
fetch.txt, no odd lines. An audit, or ``stook verify`` of many bags, spends most of
its time confirming such bags.

:func:`plainly_intact` confirms one with a listing per directory and a read per file,
all through directory descriptors opened with ``O_NOFOLLOW`` (nothing outside the bag
can be reached). It answers None the moment anything is out of the ordinary: a
symlink, an extra tag file, a line the engine would warn about, a wrong size, a digest
that differs. The caller then runs the engine, which finds and names it. Its one
promise, held by tests that mutate bags and compare: it never vouches for a bag that
the engine would fault or warn about.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass

# The engine's own line grammar and name checks, so the two can never drift apart.
from stook.bagspec import (
    CHUNK,
    DECLARATION,
    HASHLIB_NAMES,
    HEX,
    MANIFEST_LINE,
    MANIFEST_NAME,
    ONCE,
    OPEN_FLAGS,
    OXUM,
    digest_size,
    hash_chunks,
    is_plain_path,
    name_findings,
)

# bagit.txt exactly as written by stook (1.0) or bagit-python (0.97) -> the version. A plain
# 0.97 bag meets every 1.0 rule checked here, so the engine has no pre-1.0 leniency to apply.
DECLARATIONS = {DECLARATION: "1.0", DECLARATION.replace(b"1.0", b"0.97"): "0.97"}
_DIR_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_DIRECTORY", 0)
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
)


@dataclass(frozen=True)
class Intact:
    """What a full check of a plainly intact bag establishes, in the engine's terms."""

    files_checked: int
    bytes_hashed: int
    algorithms: tuple[str, ...]  # in the engine's order: by manifest name, first seen
    payload_oxum: str  # bytes.files of data/ as found
    payload_digests: dict[str, dict[str, str]]  # algorithm -> payload path -> digest (verified)
    version: str = "1.0"  # BagIt-Version


class _Unusual(Exception):
    """Something the fast path does not vouch for; the engine takes over."""


def plainly_intact(path: str) -> Intact | None:
    """Confirm a plain, intact BagIt 1.0 or 0.97 bag in one pass, or None (then run the engine)."""
    fds: list[int] = []
    try:
        return _check(path, fds)
    except (_Unusual, OSError, UnicodeDecodeError, ValueError):
        return None
    finally:
        for fd in fds:
            os.close(fd)


def _check(path: str, fds: list[int]) -> Intact:
    root = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
    fds.append(root)
    tags: dict[str, bytes] = {}
    manifests: list[tuple[str, bool, str]] = []  # name, is a tag manifest, algorithm
    has_data = False
    for de in os.scandir(root):
        name = de.name
        if name == "data":
            if not de.is_dir(follow_symlinks=False):
                raise _Unusual
            has_data = True
            continue
        if not de.is_file(follow_symlinks=False):
            raise _Unusual
        if name not in ("bagit.txt", "bag-info.txt"):
            m = MANIFEST_NAME.match(name)
            if m is None or m.group(2) not in HASHLIB_NAMES:
                raise _Unusual  # fetch.txt, other tag files, odd algorithm names: the engine
            manifests.append((name, bool(m.group(1)), m.group(2)))
        tags[name] = _read(root, name)
    version = DECLARATIONS.get(tags.get("bagit.txt", b""))
    if not has_data or "bag-info.txt" not in tags or version is None:
        raise _Unusual
    if not any(not tag for _, tag, _ in manifests):
        raise _Unusual
    payload = _payload_files(root, fds)
    if any(name_findings(tuple(sorted([*payload, *tags])))):
        raise _Unusual  # case or normalization collisions, names Windows refuses

    manifests.sort()
    listed: dict[str, list[tuple[str, str]]] = {}  # file -> (algorithm, expected digest)
    payload_digests: dict[str, dict[str, str]] = {}
    tag_listed = {name for name in tags if not name.startswith("tagmanifest-")}
    for name, tag, algorithm in manifests:
        entries = _parse_manifest(tags[name], algorithm)
        if tag:
            if set(entries) != tag_listed:
                raise _Unusual  # a tag file not listed, or a listed one that is not plain
        else:
            if set(entries) != payload.keys():
                raise _Unusual
            payload_digests.setdefault(algorithm, entries)
        for rel, digest in entries.items():
            listed.setdefault(rel, []).append((algorithm, digest))

    found_bytes = 0
    for rel, (dir_fd, name) in payload.items():
        found_bytes += _verify_payload_file(dir_fd, name, listed[rel])
    oxum = f"{found_bytes}.{len(payload)}"
    declared = _payload_oxum(tags["bag-info.txt"])
    if declared is not None and declared != oxum:
        raise _Unusual
    hashed = found_bytes
    for rel in listed.keys() - payload.keys():
        data = tags[rel]
        _compare(data, listed[rel])
        hashed += len(data)
    algorithms: list[str] = []
    for _, _, algorithm in manifests:
        if algorithm not in algorithms:
            algorithms.append(algorithm)
    return Intact(len(listed), hashed, tuple(algorithms), oxum, payload_digests, version)


def _read(dir_fd: int, name: str) -> bytes:
    """A small tag file's bytes, read whole; a large one is left to the engine."""
    fd = os.open(name, OPEN_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size >= CHUNK:
            raise _Unusual
        data = os.read(fd, st.st_size + 1)
    finally:
        os.close(fd)
    if len(data) != st.st_size:
        raise _Unusual  # changed while being read
    return data


def _payload_files(root: int, fds: list[int]) -> dict[str, tuple[int, str]]:
    """Every file under data/ -> (descriptor of its directory, name); only plain entries."""
    found: dict[str, tuple[int, str]] = {}
    stack = [("data", root, "data")]
    while stack:
        rel_dir, parent, name = stack.pop()
        fd = os.open(name, _DIR_FLAGS, dir_fd=parent)
        fds.append(fd)
        for de in os.scandir(fd):
            rel = f"{rel_dir}/{de.name}"
            if de.is_file(follow_symlinks=False):
                found[rel] = (fd, de.name)
            elif de.is_dir(follow_symlinks=False):
                stack.append((rel, fd, de.name))
            else:
                raise _Unusual  # a symlink, FIFO, socket or device
    return found


def _lines(data: bytes) -> list[str]:
    """A tag file's lines: UTF-8 without BOM, each ended by LF, no CR, no blank line."""
    text = data.decode("utf-8")
    if not text.endswith("\n") or "\r" in text or text.startswith("\ufeff"):
        raise _Unusual
    lines = text[:-1].split("\n")
    for line in lines:
        if not line.strip():
            raise _Unusual
    return lines


def _parse_manifest(data: bytes, algorithm: str) -> dict[str, str]:
    """``checksum path`` lines with nothing the engine would decode, warn about or refuse."""
    size = digest_size(algorithm)
    entries: dict[str, str] = {}
    for line in _lines(data):
        m = MANIFEST_LINE.match(line)
        if m is None:
            raise _Unusual
        checksum, raw = m.group(1), m.group(2)
        # a path listed twice (a warning or an error in the engine, by its checksums) and
        # anything the engine would decode or normalise (NFC/NFD twins) go to the engine
        if (len(checksum) != size or not HEX.match(checksum) or raw in entries
                or raw.startswith(("*", "./")) or not is_plain_path(raw)):
            raise _Unusual
        entries[raw] = checksum.lower()
    return entries


def _payload_oxum(data: bytes) -> str | None:
    """bag-info.txt's Payload-Oxum, if every line is one the engine accepts without a word."""
    oxum: str | None = None
    seen: set[str] = set()
    last: str | None = None
    for line in _lines(data):
        if line[0] in " \t":
            if last is None or last == "payload-oxum":
                raise _Unusual  # continues nothing, or would make the Oxum unreadable
            continue
        label, colon, rest = line.partition(":")
        if (not colon or label != label.strip(" \t") or not label.strip()
                or len(rest) < 2 or rest[0] not in " \t" or rest[1] in " \t"):
            raise _Unusual
        last = label.lower()
        if last in ONCE:
            if last in seen:
                raise _Unusual
            seen.add(last)
        if last == "payload-oxum":
            oxum = rest.strip(" \t")
            if not OXUM.match(oxum):
                raise _Unusual
    return oxum


def _verify_payload_file(dir_fd: int, name: str, expected: list[tuple[str, str]]) -> int:
    """Hash one payload file in every listed algorithm; its size if every digest matches."""
    fd = os.open(name, OPEN_FLAGS, dir_fd=dir_fd)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise _Unusual
        if st.st_size < CHUNK:
            data = os.read(fd, st.st_size + 1)
            if len(data) != st.st_size:
                raise _Unusual
            _compare(data, expected)
            return st.st_size
        hashers = [hashlib.new(HASHLIB_NAMES[alg]) for alg, _ in expected]
        if hash_chunks(fd, hashers, None) != st.st_size:
            raise _Unusual
    finally:
        os.close(fd)
    for h, (_, digest) in zip(hashers, expected, strict=True):
        if h.hexdigest() != digest:
            raise _Unusual
    return st.st_size


def _compare(data: bytes, expected: list[tuple[str, str]]) -> None:
    for algorithm, digest in expected:
        if hashlib.new(HASHLIB_NAMES[algorithm], data).hexdigest() != digest:
            raise _Unusual
