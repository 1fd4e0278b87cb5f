"""Which records of a page this harvest may store or tombstone: only its own.

A harvest source is a repository's base URL and the metadata format harvested from
it (:class:`stook.ledger.Source`). A record another source supplied (entered by
hand, received from a partner, harvested from elsewhere) with the same identifier is
a collision: it is set apart, never bagged over the other source's record and never
tombstoned, unless the user maps this source onto the existing records on purpose
(``adopt_existing``), which moves them to this source with a PREMIS event each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from stook.errors import UsageError
from stook.ledger import Source
from stook.names import identifier_key
from stook.store import Store


@dataclass
class Collision:
    """One identifier this source sent that another source supplied."""

    identifier: str
    owner: Source
    deleted: bool = False  # a deletion header, not a record

    def reason(self, source: Source) -> str:
        what = "a deletion of record" if self.deleted else "record"
        return (
            f"{what} {self.identifier!r} collides with a record supplied by {self.owner.describe()}, "
            f"not by {source.describe()}; not {'tombstoned' if self.deleted else 'bagged'}"
        )


@dataclass
class Split:
    """The identifiers of a page this harvest owns (or may take), and the collisions."""

    collisions: list[Collision] = field(default_factory=list)
    taken_over: list[str] = field(default_factory=list)

    def colliding(self) -> set[str]:
        return {c.identifier for c in self.collisions}


def split_by_owner(
    store: Store,
    source: Source,
    records: Sequence[str],
    deletions: Sequence[str],
    *,
    adopt_existing: bool,
) -> Split:
    """Sort a page's identifiers: owned by this source (or by nobody yet) go ahead; the
    others are collisions, or, with ``adopt_existing``, taken over now."""
    keys: dict[str, str] = {}
    for identifier in (*records, *deletions):
        try:
            keys[identifier] = identifier_key(identifier)
        except UsageError:
            continue  # unusable identifiers are refused elsewhere, with their reason
    owners = store.ledger.owners_of(keys.values())
    split = Split()
    foreign: list[str] = []
    deleted = set(deletions)
    for identifier, key in keys.items():
        owner = owners.get(key)
        if owner is None or owner.owner == source.owner:
            continue
        if adopt_existing:
            foreign.append(identifier)
        else:
            split.collisions.append(Collision(identifier, owner, deleted=identifier in deleted))
    if foreign:
        store.take_over(foreign, source, reason="the harvest was asked to adopt existing records")
        split.taken_over = foreign
    return split
