"""Changing a storage root so that it is a valid OCFL root at every instant.

An OCFL object is one directory whose root inventory, sidecar and version
directories must agree. Writing a new version into it in place would show, for a
while, a version directory the inventory does not list (or an inventory newer than
its sidecar). So an update is built beside the object and swapped in whole:

1. the object's files are hard-linked into a staging directory inside the root
   (``extensions/stook-staging``, a storage root extension OCFL tools ignore), the
   new version directories are written there, the inventory and sidecar last;
2. the staged batch is made durable;
3. ``renameat2(RENAME_EXCHANGE)`` swaps the staged object and the live one in one
   step: readers see the old object or the new one, never a mixture;
4. the old tree, now in staging, is deleted.

A new object is renamed into place together with whichever of its n-tuple parent
directories do not exist yet, so no empty directory ever appears in the hierarchy.
A kill at any moment leaves only staging debris, which the next export removes.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from stook.durable import exchange_directories
from stook.ocfl.layout import OcflError


def exchange(a: Path, b: Path) -> None:
    """Swap two directories atomically (Linux ``renameat2`` with ``RENAME_EXCHANGE``)."""
    try:
        exchange_directories(a, b)
    except OSError as exc:
        if exc.errno == errno.ENOSYS:
            raise OcflError(
                f"{b}: this system has no renameat2(RENAME_EXCHANGE); stook updates OCFL objects only "
                "where it can swap them atomically (Linux with glibc 2.28 or later)", path=b) from exc
        hint = ("; the filesystem cannot swap directories atomically: write the OCFL root on a local "
                "Linux filesystem (ext4, xfs, btrfs, tmpfs)") if exc.errno == errno.EINVAL else ""
        raise OcflError(f"{b}: cannot swap in the updated object: {exc.strerror}{hint}", path=b) from exc


def link_tree(source: Path, target: Path, skip: frozenset[str] = frozenset()) -> None:
    """Recreate ``source``'s directories under ``target`` with every file hard-linked.

    Top-level names in ``skip`` are left out (the root inventory and sidecar, rewritten).
    """
    target.mkdir()
    for dirpath, dirs, files in os.walk(source):
        rel = os.path.relpath(dirpath, source)
        base = target if rel == "." else target / rel
        for name in dirs:
            (base / name).mkdir()
        for name in files:
            if rel == "." and name in skip:
                continue
            os.link(os.path.join(dirpath, name), base / name)


def remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def root_lock(root: Path) -> Iterator[None]:
    """Hold an exclusive lock on the storage root (a lock on its directory: no file is left)."""
    fd = os.open(root, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            raise OcflError(
                f"{root}: another stook process is writing this OCFL storage root; wait for it to "
                "finish and try again", path=root) from exc
        yield
    finally:
        os.close(fd)


def clear_staging(staging: Path) -> int:
    """Remove what an interrupted export left in staging; returns how many entries went."""
    if not staging.is_dir():
        return 0
    entries = list(staging.iterdir())
    for entry in entries:
        remove_tree(entry)
    with suppress(OSError):
        staging.rmdir()
    return len(entries)


def place_new(built: Path, target: Path, root: Path) -> Path:
    """Move a staged object (the directory ``built``, in staging) to ``target``.

    The object is carried with every missing ancestor of ``target`` under ``root``,
    in one rename of the topmost missing one; nothing is left behind in staging.
    Returns the directory whose entries changed (to be synced).
    """
    missing: list[str] = []
    parent = target.parent
    while parent != root and not parent.exists():
        missing.append(parent.name)
        parent = parent.parent
    top = built
    if missing:
        # The missing ancestors are made in staging, the object moved into the deepest,
        # and the topmost renamed into place, carrying the rest.
        top = built.with_name(f"{built.name}-{missing[-1]}")
        inner = top.joinpath(*reversed(missing[:-1]))
        inner.mkdir(parents=True)
        os.rename(built, inner / target.name)
    destination = parent / (missing[-1] if missing else target.name)
    try:
        os.rename(top, destination)
    except OSError as exc:
        raise OcflError(f"{target}: cannot move the new object into place: {exc.strerror}",
                        path=target) from exc
    return parent
