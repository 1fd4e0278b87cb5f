"""The store on disk: where bags are, how to find them without the ledger, and the
store's own note of how many versions it holds.

``<store>/<name>/v<N>/`` is version N of the record named ``<name>``; anything whose
name starts with a dot and the quarantine are not bags. ``.stook-store.json`` says
how many bag versions the store held after its last write: a ledger that knows fewer
is older than the bags (restored from an older copy, or truncated) and must be
rebuilt before anything trusts it.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

from stook.ledger import LEDGER_FILE
from stook.secret import SECRET_FILE

TMP_DIR = ".tmp"
QUARANTINE_DIR = "quarantine"
MARK_FILE = ".stook-store.json"
# Entries of a directory that hold no bags and no history: it may become a new store.
NOT_BAGS = {".gitkeep", ".DS_Store", ".lock", TMP_DIR, MARK_FILE, SECRET_FILE}


def bag_dirs(root: Path) -> set[str]:
    """Bag directories on disk: ``<name>/<dir>`` for each version, or ``<name>`` for a bag
    at the top. One listing per name directory: a store of N bags costs about N+1
    listings and no per-bag stat."""
    return set(_walk(root, first_only=False))


def first_bag_dir(root: Path) -> str | None:
    """Any bag directory on disk (``<name>/v<N>`` holding a bagit.txt), or None: cheap."""
    for rel in _walk(root, first_only=True):
        return rel
    return None


def _walk(root: Path, *, first_only: bool) -> Iterator[str]:
    try:
        top = list(os.scandir(root))
    except OSError:
        return
    for entry in top:
        if entry.name.startswith(".") or entry.name == QUARANTINE_DIR or entry.name == LEDGER_FILE:
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            subs = list(os.scandir(entry.path))
        except OSError:
            if not first_only:
                yield entry.name
            continue
        if any(sub.name == "bagit.txt" for sub in subs):
            yield entry.name  # a bag dropped at the top of the store
            continue
        for sub in subs:
            if not sub.is_dir(follow_symlinks=False):
                continue
            if first_only and not os.path.exists(os.path.join(sub.path, "bagit.txt")):
                continue
            yield f"{entry.name}/{sub.name}"


def read_mark(root: Path) -> int | None:
    """How many bag versions the store held after its last write, or None if unknown."""
    try:
        data = json.loads((root / MARK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("stored_versions") if isinstance(data, dict) else None
    return value if isinstance(value, int) and value >= 0 else None


class Mark:
    """The store's note of its stored versions, kept up to date by the one writer."""

    def __init__(self, root: Path, count: int) -> None:
        self.root = root
        self.count = count

    def add(self, stored: int) -> None:
        if stored:
            self.count += stored
            write_mark(self.root, self.count)


def write_mark(root: Path, stored_versions: int) -> None:
    """Note the count after a commit (replaced atomically; a lost update only makes the
    note lower, which never raises a false alarm)."""
    tmp = root / f"{MARK_FILE}.{os.getpid()}.tmp"
    text = json.dumps({"stored_versions": stored_versions, "about": "bag versions in this store; "
                       "a ledger that holds fewer is older than the bags"}) + "\n"
    with contextlib.suppress(OSError):
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, root / MARK_FILE)
