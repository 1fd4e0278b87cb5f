"""Opening a store: make it when asked, and refuse to trust a ledger that is out of step.

A ledger that is missing, empty or older than the bags beside it would make stook
say the store holds nothing (or less than it does) and hand out version numbers
that are taken on disk. So opening compares the ledger with the store's own note of
how many versions it holds (and, when the ledger is empty, with the disk) and stops
with the way out: rebuild the ledger from the bags.
"""

from __future__ import annotations

import os
from pathlib import Path

from stook.errors import LedgerOutOfStep, StoreError
from stook.ledger import LEDGER_FILE, Ledger
from stook.secret import create_secret
from stook.store.layout import NOT_BAGS, first_bag_dir, read_mark


def _rebuild_hint(root: Path) -> str:
    return f"rebuild it from the bags with: stook ledger rebuild --store {root}"


def open_ledger(root: Path, *, create: bool, check: bool, read_only: bool | None) -> tuple[Ledger, int]:
    """The store's ledger and how many versions it holds as stored (see the module docstring)."""
    ledger_path = root / LEDGER_FILE
    exists = ledger_path.exists()
    empty = exists and ledger_path.stat().st_size == 0
    if not exists or empty:
        found = first_bag_dir(root) if check and root.is_dir() else None
        if found is not None:
            state = "is empty (0 bytes)" if empty else f"is missing (no {LEDGER_FILE})"
            raise LedgerOutOfStep(
                f"{root}: the store holds bags (such as {found}) but its ledger {state}; "
                "nothing is listed or changed until the ledger is rebuilt",
                path=root, hint=_rebuild_hint(root),
            )
        if not exists:
            _may_create(root, create)
    ledger = Ledger(ledger_path, read_only=read_only)
    try:
        count = ledger.stored_count()
        noted = read_mark(root) if check else None
        # pending versions count too: recovery completes those already in place
        if noted is not None and count < noted and ledger.stored_count(include_pending=True) < noted:
            raise LedgerOutOfStep(
                f"{ledger_path}: the ledger knows {count} bag versions but this store held {noted} after "
                "its last write: the ledger is older than the bags (restored from an older copy, or "
                "truncated); nothing is listed or changed until it is rebuilt",
                path=ledger_path, hint=_rebuild_hint(root),
            )
        if (check and count == 0 and noted is None and ledger.stored_count(include_pending=True) == 0
                and (found := first_bag_dir(root)) is not None):
            raise LedgerOutOfStep(
                f"{ledger_path}: the ledger knows no bags but the store holds some (such as {found})",
                path=ledger_path, hint=_rebuild_hint(root),
            )
    except BaseException:
        ledger.close()
        raise
    return ledger, count


def _may_create(root: Path, create: bool) -> None:
    """Make a new store at ``root`` if asked to and nothing is in the way."""
    if not create:
        if root.exists():
            raise StoreError(
                f"{root}: not a stook store (no {LEDGER_FILE}); check the store path, or bag a record "
                "into it first",
                path=root,
            )
        raise StoreError(f"{root}: store not found; check the store path ($STOOK_STORE)", path=root)
    if root.exists() and not root.is_dir():
        raise StoreError(f"{root}: exists and is not a directory", path=root)
    if root.is_dir():
        leftovers = [p.name for p in root.iterdir() if p.name not in NOT_BAGS]
        if leftovers:
            raise StoreError(
                f"{root}: not a stook store and not empty ({len(leftovers)} entries, "
                f"e.g. {sorted(leftovers)[0]!r}); choose an empty or new directory",
                path=root,
            )
    try:
        root.mkdir(parents=True, exist_ok=True)
        create_secret(root)  # the store's own secret for signing OAI-PMH resumption tokens
    except OSError as exc:
        raise StoreError(f"{root}: cannot create the store: {exc.strerror}", path=root) from exc


def writable_store(root: Path) -> bool:
    return os.access(root, os.W_OK)
