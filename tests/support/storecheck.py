"""What a store holds, to prove a refused command changed nothing in it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stook.ledger import LEDGER_FILE
from stook.store import LOCK_FILE, Store


def store_state(store_path: Path) -> tuple[dict[str, bytes], list[dict[str, Any]], list[dict[str, Any]]]:
    """Every file of the store but the ledger's own (with its bytes), the ledger's bags and events.

    The SQLite files are compared through the ledger's contents instead of their bytes,
    which opening the store may touch without changing anything in them.
    """
    if not store_path.exists():
        return {}, [], []
    files = {
        str(path.relative_to(store_path)): path.read_bytes()
        for path in sorted(store_path.rglob("*"))
        if path.is_file() and not path.name.startswith(LEDGER_FILE) and path.name != LOCK_FILE
    }
    with Store.open(store_path) as store:
        bags = [bag.to_dict() for bag in store.ledger.bags()]
        events = [event.to_dict() for event in store.ledger.events()]
    return files, bags, events
