"""Making a batch of written files durable with one call instead of one fsync per file.

On Linux ``syncfs(2)`` flushes the filesystem that holds the store in one system
call: a batch of bags is written, synced once, then renamed into place and
committed to the ledger (group commit). Elsewhere every file and directory is
fsynced one by one.
"""

from __future__ import annotations

import ctypes
import errno
import os
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from stook.errors import NoSpace, StoreError


def _libc() -> ctypes.CDLL:
    """The C library this process already runs on (no ``find_library``, which runs ldconfig)."""
    return ctypes.CDLL(None, use_errno=True)


@lru_cache(maxsize=1)
def _syncfs() -> Any:
    if not hasattr(os, "O_DIRECTORY"):
        return None
    try:
        libc = _libc()
        func = libc.syncfs
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int]
    func.restype = ctypes.c_int
    return func


AT_FDCWD = -100
RENAME_EXCHANGE = 2  # linux/fs.h


@lru_cache(maxsize=1)
def _renameat2() -> Any:
    try:
        libc = _libc()
        func = libc.renameat2
    except (OSError, AttributeError):
        return None
    func.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    func.restype = ctypes.c_int
    return func


def exchange_directories(a: Path, b: Path) -> None:
    """Swap the directories ``a`` and ``b`` in one step (``renameat2(RENAME_EXCHANGE)``): a crash
    leaves one or the other in each place, never neither. Raises OSError, with ENOSYS where
    the C library has no renameat2 and EINVAL where the filesystem cannot swap."""
    func = _renameat2()
    if func is None:
        raise OSError(errno.ENOSYS, "renameat2(RENAME_EXCHANGE) is not available", str(a))
    if func(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) != 0:
        err = ctypes.get_errno()
        raise OSError(err, os.strerror(err), str(a))


def sync_filesystem(any_path: Path) -> bool:
    """Flush the filesystem holding ``any_path``; False when syncfs is unavailable."""
    func = _syncfs()
    if func is None:
        return False
    fd = os.open(any_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        if func(fd) != 0:
            err = ctypes.get_errno()
            raise StoreError(
                f"{any_path}: the filesystem could not be flushed to disk: {os.strerror(err)}",
                path=any_path,
            )
    finally:
        os.close(fd)
    return True


def fsync_path(path: Path) -> None:
    flags = os.O_RDONLY | (os.O_DIRECTORY if path.is_dir() and hasattr(os, "O_DIRECTORY") else 0)
    fd = os.open(path, flags)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_durable(root: Path, trees: Iterable[Path]) -> None:
    """Ensure every file and directory under ``trees`` (all inside ``root``) is on disk."""
    if sync_filesystem(root):
        return
    for tree in trees:
        for dirpath, _dirs, files in os.walk(tree):
            for name in files:
                fsync_path(Path(dirpath, name))
            fsync_path(Path(dirpath))


def fsync_dirs(root: Path, dirs: Iterable[Path]) -> None:
    """Make renames inside ``dirs`` durable."""
    if sync_filesystem(root):
        return
    for directory in dict.fromkeys(dirs):
        fsync_path(directory)


def free_bytes(path: Path) -> int | None:
    """Bytes an unprivileged writer may still use on the filesystem holding ``path``."""
    try:
        stat = os.statvfs(path)
    except OSError:
        return None
    return stat.f_bavail * stat.f_frsize


def no_space(where: Path, doing: str, needed: int | None = None) -> NoSpace:
    """The error for a full filesystem: where, during what, and how much space was wanted."""
    free = free_bytes(where)
    parts = []
    if needed is not None:
        parts.append(f"it needs about {_size(needed)}")
    if free is not None:
        parts.append(f"{_size(free)} free")
    detail = f" ({', '.join(parts)})" if parts else ""
    return NoSpace(
        f"{where}: no space left on the filesystem while {doing}{detail}; nothing was stored",
        path=where, needed=needed, hint="free some space (or move the store) and run again",
    )


def _size(count: int) -> str:
    if count < 1024:
        return f"{count} bytes"
    value = float(count)
    for unit in ("KiB", "MiB", "GiB"):
        value /= 1024
        if value < 1024 or unit == "GiB":
            break
    return f"{value:.1f} {unit}"
