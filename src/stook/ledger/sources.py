"""Provenance: which source supplied each record, and so may change or delete it.

A record belongs to the source of its first version: hand entry, one harvest source
(the repository's base URL and the metadata format harvested from it: a record seen
through several of its sets is one record of that source), or a partner's transfer
(named by the Source-Organization of the bags received). Another source touches it
only when the user says so: a harvest with ``adopt_existing`` takes the record over,
an explicit new version adds a version and leaves the owner as it was.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from stook.ledger.db import Guarded
from stook.ledger.model import utc_now

SourceKind = Literal["manual", "harvest", "received"]
_KINDS: dict[str, SourceKind] = {"manual": "manual", "harvest": "harvest", "received": "received"}
_FIELDS = ("base_url", "metadata_prefix", "set_spec", "organization")


@dataclass(frozen=True)
class Source:
    """Where a record came from; ``owner`` is the key that decides who may change it."""

    kind: SourceKind
    base_url: str = ""
    metadata_prefix: str = ""
    set_spec: str = ""
    organization: str = ""

    @classmethod
    def manual(cls) -> Source:
        return cls("manual")

    @classmethod
    def harvest(cls, base_url: str, metadata_prefix: str, set_spec: str | None = None) -> Source:
        return cls("harvest", base_url=base_url.strip(), metadata_prefix=metadata_prefix,
                   set_spec=set_spec or "")

    @classmethod
    def received(cls, organization: str | None = None) -> Source:
        return cls("received", organization=(organization or "").strip())

    @property
    def owner(self) -> str:
        if self.kind == "harvest":
            return f"harvest {self.base_url} {self.metadata_prefix}"
        if self.kind == "received":
            return f"received {self.organization}".rstrip()
        return "manual"

    def describe(self) -> str:
        """For messages: who this source is, in words."""
        if self.kind == "harvest":
            return f"the harvest of {self.base_url} ({self.metadata_prefix})"
        if self.kind == "received":
            return f"bags received from {self.organization}" if self.organization else "bags received"
        return "hand entry"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind, "owner": self.owner}
        for name in _FIELDS:
            if value := getattr(self, name):
                data[name] = value
        return data

    def detail_json(self) -> str:
        data = self.to_dict()
        data.pop("kind")
        data.pop("owner")
        return json.dumps(data, sort_keys=True, ensure_ascii=False)

    @classmethod
    def from_row(cls, kind: str, detail: str) -> Source:
        data = json.loads(detail or "{}")
        fields = {name: str(data[name]) for name in _FIELDS if name in data}
        return cls(_KINDS[kind], **fields)


class SourceTable:
    """Queries of the ``sources`` table (mixed into :class:`stook.ledger.Ledger`)."""

    conn: Guarded

    def owners_of(self, id_keys: Iterable[str]) -> dict[str, Source]:
        """The source of each key that has one, in one query per few hundred keys."""
        found: dict[str, Source] = {}
        keys = list(dict.fromkeys(id_keys))
        for start in range(0, len(keys), 500):
            chunk = keys[start:start + 500]
            rows = self.conn.execute(
                f"SELECT id_key, kind, detail FROM sources WHERE id_key IN ({','.join('?' * len(chunk))})",
                chunk,
            )
            for key, kind, detail in rows:
                found[key] = Source.from_row(kind, detail)
        return found

    def owner_of(self, id_key: str) -> Source | None:
        return self.owners_of([id_key]).get(id_key)

    def claim(self, conn: Guarded, id_keys: Iterable[tuple[str, Source]], *, when: str | None = None) -> None:
        """Record the source of records stored for the first time (an owner, once set, stays)."""
        stamp = when or utc_now()
        conn.executemany(
            "INSERT OR IGNORE INTO sources (id_key, owner, kind, detail, assigned) VALUES (?,?,?,?,?)",
            [(key, source.owner, source.kind, source.detail_json(), stamp) for key, source in id_keys],
        )

    def transfer(self, conn: Guarded, id_key: str, source: Source) -> None:
        """Make ``source`` the owner of a record (the user adopted it on purpose)."""
        conn.execute(
            "INSERT INTO sources (id_key, owner, kind, detail, assigned) VALUES (?,?,?,?,?)"
            " ON CONFLICT (id_key) DO UPDATE SET owner=excluded.owner, kind=excluded.kind,"
            " detail=excluded.detail, assigned=excluded.assigned",
            (id_key, source.owner, source.kind, source.detail_json(), utc_now()),
        )
