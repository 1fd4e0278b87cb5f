"""What an audit tells about a record: its history, and the next step for a failed bag."""

from __future__ import annotations

import shlex

from stook.audit.model import BagAudit
from stook.errors import UsageError
from stook.ledger import Event
from stook.store import Store


def record_history(store: Store, ref: str) -> tuple[str, list[Event]]:
    """Every event of the record ``ref`` names (identifier, bag name, ``<name>/v<N>``, label),
    all versions, in the order they were recorded."""
    versions = store.resolve(ref)
    if not versions:
        raise UsageError(
            f"{ref!r} names no record or bag in the store {store.root}",
            hint="give a record identifier, a bag name or a store path <name>/v<N>; list them with stook ls",
        )
    identifier = versions[0].identifier
    paths = {b.path for b in store.versions(identifier)}
    events = [
        e for e in store.ledger.events()
        if e.identifier == identifier or (e.identifier is None and e.bag in paths)
    ]
    return identifier, events


def next_step(bag: BagAudit, store: str) -> str | None:
    """What to run to put a failed or missing bag right: a repair from a partner's copy."""
    if bag.status not in ("failed", "missing") or bag.identifier is None or bag.version is None:
        return None
    return (f"restore with: stook repair {shlex.quote(bag.identifier)} --version {bag.version}"
            f" --from <partner copy> --store {shlex.quote(store)}")
