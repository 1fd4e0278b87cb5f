"""Hashing for bags: which algorithms, how long their digests are, one read for all of them."""

from __future__ import annotations

import functools
import hashlib
import io
import os
from collections.abc import Callable
from typing import Any

CHUNK = 1 << 20  # 1 MiB: large enough that hashlib releases the GIL
#: How a bag's files are opened: never through a symlink, never blocking on a FIFO.
OPEN_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_NONBLOCK", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)

# Normalised manifest algorithm names (RFC 8493 \u00a72.4) -> hashlib names.
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
#: Manifest algorithms from the strongest, for choosing which manifest to trust.
STRENGTH = ("sha512", "sha384", "sha256", "sha224", "sha1", "md5")


@functools.lru_cache(maxsize=64)
def digest_size(algorithm: str) -> int | None:
    """Hex length of a digest in ``algorithm`` (a normalised name), None if unsupported."""
    name = HASHLIB_NAMES.get(algorithm)
    return None if name is None else hashlib.new(name).digest_size * 2


def hash_chunks(fd: int, hashers: list[Any], advance: Callable[[int], None] | None = None) -> int:
    """Feed a file to every hasher in 1 MiB chunks (hashlib releases the GIL); the bytes read."""
    total = 0
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    with io.FileIO(fd, "rb", closefd=False) as fh:
        while n := fh.readinto(buf):
            chunk = view[:n]
            for h in hashers:
                h.update(chunk)
            total += n
            if advance is not None:
                advance(n)
    return total
