"""One stored version as a person reads it: its record, its files (as its manifest lists
them) and what changed between two versions.

A file is only ever found through the bag's own manifest: a download names a manifest
entry, which is then checked to be a regular file inside the bag's ``data/`` (no link,
no ``..``) before it is opened. Nothing a browser sends becomes a path by itself.
"""

from __future__ import annotations

import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stook.drops import payload_files
from stook.errors import StookError
from stook.ledger import BagVersion
from stook.store import RECORD_FILE, Store, read_record

RECORD_PATH = f"data/{RECORD_FILE}"


@dataclass(frozen=True)
class BagFile:
    """One payload file of a stored version, as its manifest lists it."""

    path: str  # "data/..."
    algorithm: str
    digest: str
    size: int | None  # None: not on disk (the audit will say more)

    @property
    def rel(self) -> str:
        """The path under data/ (what download links carry)."""
        return self.path[len("data/"):]


def version_record(store: Store, bag: BagVersion) -> dict[str, Any] | None:
    """The version's record: its ``data/record.json``, or the one kept for a bag from
    another tool; None when neither can be read."""
    record = read_record(store.bag_path(bag))
    if record is not None:
        return record
    kept = store.ledger.foreign_record(bag.path)
    if kept is None:
        return None
    try:
        found = json.loads(kept)
    except ValueError:
        return None
    return found if isinstance(found, dict) else None


def bag_files(store: Store, bag: BagVersion) -> list[BagFile]:
    """The payload files of the version's manifest (sha512 where it has one), with sizes."""
    bag_dir = store.bag_path(bag)
    try:
        listed = payload_files(bag_dir)
    except StookError:
        return []
    files = []
    for path, (algorithm, digest) in sorted(listed.items()):
        found = safe_payload_file(bag_dir, path)
        size = found.stat().st_size if found is not None else None
        files.append(BagFile(path, algorithm, digest, size))
    return files


def safe_payload_file(bag_dir: Path, path: str) -> Path | None:
    """``bag_dir/path`` when ``path`` is a ``data/...`` entry naming a regular file inside
    the bag (no ``..``, no absolute path, no symbolic link on the way); else None."""
    parts = path.split("/")
    if len(parts) < 2 or parts[0] != "data" or any(p in ("", ".", "..") for p in parts) or "\x00" in path:
        return None
    current = bag_dir
    for part in parts:
        current = current / part
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            return None
        if stat.S_ISLNK(mode):
            return None
    return current if stat.S_ISREG(mode) else None


def stored_file(store: Store, bag: BagVersion, rel: str) -> tuple[Path, BagFile] | None:
    """The file ``data/<rel>`` of the version, only if its manifest lists it."""
    wanted = "data/" + rel
    for entry in bag_files(store, bag):
        if entry.path == wanted:
            found = safe_payload_file(store.bag_path(bag), wanted)
            return (found, entry) if found is not None else None
    return None


# -- differences between two versions -------------------------------------------------


@dataclass(frozen=True)
class Change:
    path: str  # JSON path of the field
    before: str | None
    after: str | None

    @property
    def kind(self) -> str:
        if self.before is None:
            return "added"
        if self.after is None:
            return "removed"
        return "changed"


def flatten(value: Any, path: str = "$") -> dict[str, str]:
    """Every scalar of a record by its JSON path (``$.dates[0].value``), as text."""
    out: dict[str, str] = {}
    if isinstance(value, dict):
        for key in sorted(value):
            out.update(flatten(value[key], f"{path}.{key}"))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out.update(flatten(item, f"{path}[{index}]"))
    elif isinstance(value, str):
        out[path] = value
    else:
        out[path] = json.dumps(value)
    return out


def record_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[Change]:
    """The fields that differ between two records, in the after record's order."""
    old = flatten(before or {})
    new = flatten(after or {})
    changes = [Change(path, old.get(path), new[path]) for path in new if old.get(path) != new[path]]
    changes.extend(Change(path, old[path], None) for path in old if path not in new)
    return changes


def file_changes(before: list[BagFile], after: list[BagFile]) -> list[tuple[str, str]]:
    """(path, what happened) for each payload file added, removed or changed (the record
    itself aside: its fields are compared one by one)."""
    old = {f.path: f for f in before if f.path != RECORD_PATH}
    new = {f.path: f for f in after if f.path != RECORD_PATH}
    out = []
    for path in sorted(set(old) | set(new)):
        if path not in old:
            out.append((path, "added"))
        elif path not in new:
            out.append((path, "removed"))
        elif (old[path].algorithm, old[path].digest) != (new[path].algorithm, new[path].digest):
            out.append((path, "changed"))
    return out
