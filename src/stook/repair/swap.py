"""Building the repaired bag beside the stored one, then putting it in place in one step.

The repaired bag is built in the store's ``.tmp`` (same filesystem): intact stored files
are hard-linked (never rewritten, never opened for writing), replacements copied from
the partner with their digest checked as they are written. Once it is durable, Linux
``renameat2(RENAME_EXCHANGE)`` swaps it with the stored directory atomically: a crash
leaves either the old bag or the repaired one in place, and the other in ``.tmp``,
which the next open of the store clears. Where the filesystem cannot exchange two
directories, each replaced file is renamed over the damaged one instead (each file is
then old or new, never half written).
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path

from stook.durable import exchange_directories, fsync_dirs, make_durable
from stook.repair.files import Tree, copy_checked
from stook.repair.model import SwapMethod
from stook.repair.plan import Plan

_UNSUPPORTED = {errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM}


class CopyMismatch(Exception):
    """A replacement's bytes changed between the check and the copy."""

    def __init__(self, path: str, expected: str, found: str | None) -> None:
        super().__init__(path)
        self.path = path
        self.expected = expected
        self.found = found


def build(plan: Plan, stored: Tree, partner: Tree, target: Path) -> None:
    """Write the repaired bag as the new directory ``target`` (hard links and checked copies)."""
    assert stored.root is not None or not plan.carried
    target.mkdir(mode=0o755)
    for rel in sorted(plan.dirs):
        (target / rel).mkdir(mode=0o755, parents=True, exist_ok=True)
    for rel, choice in sorted(plan.choices.items()):
        dest = target / rel
        dest.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        if choice.repair is None:
            assert stored.root is not None
            _link(stored.root / rel, dest)
            continue
        r = choice.repair
        written = copy_checked(partner, rel, dest, r.algorithm)
        if written != r.digest:
            raise CopyMismatch(rel, r.digest, written)
    for rel in plan.carried:
        assert stored.root is not None
        dest = target / rel
        dest.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        _link(stored.root / rel, dest)


def _link(source: Path, dest: Path) -> None:
    """The stored file itself under a second name; a copy where hard links are refused."""
    try:
        os.link(source, dest, follow_symlinks=False)
    except OSError as exc:
        if exc.errno not in (errno.EMLINK, errno.EPERM, errno.EXDEV, errno.ENOTSUP):
            raise
        shutil.copyfile(source, dest, follow_symlinks=False)


def exchange(a: Path, b: Path) -> bool:
    """Swap the directories ``a`` and ``b`` atomically; False when the system cannot."""
    try:
        exchange_directories(a, b)
    except OSError as exc:
        if exc.errno in _UNSUPPORTED:
            return False
        raise
    return True


def put_in_place(store_root: Path, built: Path, bag_dir: Path, plan: Plan, *,
                 allow_exchange: bool) -> SwapMethod:
    """Make ``built`` (durable already) the bag at ``bag_dir``; return the method used.

    After an exchange the old bag is at ``built``; after a per-file replacement
    ``built`` holds the intact files' second names only. The caller removes it.
    """
    if not bag_dir.exists():
        bag_dir.parent.mkdir(mode=0o755, exist_ok=True)
        os.rename(built, bag_dir)
        fsync_dirs(store_root, [store_root, bag_dir.parent])
        return "rename"
    if allow_exchange and exchange(built, bag_dir):
        fsync_dirs(store_root, [bag_dir.parent, built.parent])
        return "exchange"
    touched: list[Path] = []
    for rel in sorted(plan.dirs):
        path = bag_dir / rel
        if not path.is_dir():
            path.mkdir(mode=0o755, parents=True)
            touched.append(path.parent)
    for repair in plan.replaced:
        os.replace(built / repair.path, bag_dir / repair.path)
        touched.append((bag_dir / repair.path).parent)
    fsync_dirs(store_root, [*touched, built])
    return "per-file"


def durable(store_root: Path, built: Path) -> None:
    make_durable(store_root, [built])
