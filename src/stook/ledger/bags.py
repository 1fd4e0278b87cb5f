"""The bag index: one row per bag version, pending until it is in place, then stored."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from stook.ledger.db import Guarded
from stook.ledger.model import BAG_COLUMNS, BagVersion, Event, EventRow, row_event

_INSERT = (
    "INSERT INTO bags (identifier, id_key, version, name, path, fingerprint, payload_oxum,"
    " size, title, groups, created, state, pending_events) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _bag_row(bag: BagVersion, pending_events: Sequence[EventRow]) -> tuple[Any, ...]:
    return (
        bag.identifier, bag.id_key, bag.version, bag.name, bag.path, bag.fingerprint,
        bag.payload_oxum, bag.size, bag.title, json.dumps(list(bag.groups), ensure_ascii=False),
        bag.created, bag.state,
        json.dumps(pending_events, ensure_ascii=False) if pending_events else None,
    )


class BagIndex:
    """Queries of the ``bags`` table (mixed into :class:`stook.ledger.Ledger`)."""

    conn: Guarded

    def insert_bags(self, conn: Guarded, bags: Sequence[tuple[BagVersion, Sequence[EventRow]]]) -> None:
        """Add bag versions; a pending one keeps the events to record once it is stored,
        so a crash between its rename and its final commit loses none of them."""
        conn.executemany(_INSERT, [_bag_row(bag, events) for bag, events in bags])

    def mark_stored(self, conn: Guarded, paths: Sequence[str], created: str) -> None:
        """Make pending versions visible; ``created`` is that moment (OAI datestamps use it)."""
        conn.executemany(
            "UPDATE bags SET state='stored', created=?, pending_events=NULL WHERE path=?",
            [(created, path) for path in paths],
        )

    def pending_events(self, path: str) -> list[Event]:
        """The events a pending version is to be recorded with (empty if none were kept)."""
        row = self.conn.execute("SELECT pending_events FROM bags WHERE path=?", (path,)).fetchone()
        if row is None or not row[0]:
            return []
        return [row_event(item) for item in json.loads(row[0])]

    def forget_pending(self, conn: Guarded, path: str) -> None:
        conn.execute("DELETE FROM bags WHERE path=? AND state='pending'", (path,))

    def versions(self, id_key: str, *, include_pending: bool = False) -> list[BagVersion]:
        sql = f"SELECT {BAG_COLUMNS} FROM bags WHERE id_key=?"
        if not include_pending:
            sql += " AND state='stored'"
        rows = self.conn.execute(sql + " ORDER BY version", (id_key,)).fetchall()
        return [BagVersion.from_row(r) for r in rows]

    def latest(self, id_key: str, *, include_pending: bool = False) -> BagVersion | None:
        found = self.versions(id_key, include_pending=include_pending)
        return found[-1] if found else None

    def latest_of(self, id_keys: Iterable[str]) -> dict[str, BagVersion]:
        """The latest version, pending ones included, of each key that has one: one query
        per few hundred keys, for a batch about to be stored."""
        found: dict[str, BagVersion] = {}
        keys = list(dict.fromkeys(id_keys))
        for start in range(0, len(keys), 500):  # well under SQLite's host-parameter limit
            chunk = keys[start:start + 500]
            rows = self.conn.execute(
                f"SELECT {BAG_COLUMNS} FROM bags b WHERE id_key IN ({','.join('?' * len(chunk))})"
                " AND version = (SELECT MAX(version) FROM bags WHERE id_key = b.id_key)",
                chunk,
            )
            for row in rows:
                bag = BagVersion.from_row(row)
                found[bag.id_key] = bag
        return found

    def bag_by_path(self, path: str) -> BagVersion | None:
        row = self.conn.execute(f"SELECT {BAG_COLUMNS} FROM bags WHERE path=?", (path,)).fetchone()
        return BagVersion.from_row(row) if row else None

    def bag_states(self) -> dict[str, str]:
        """Every bag version's path and state (``stored`` or ``pending``): one light query."""
        return {str(path): str(state) for path, state in self.conn.execute("SELECT path, state FROM bags")}

    def pending(self) -> list[BagVersion]:
        rows = self.conn.execute(f"SELECT {BAG_COLUMNS} FROM bags WHERE state='pending'").fetchall()
        return [BagVersion.from_row(r) for r in rows]

    def bags(self, *, latest_only: bool = False, include_pending: bool = False) -> list[BagVersion]:
        if latest_only:
            sql = (
                f"SELECT {BAG_COLUMNS} FROM bags b WHERE state='stored' AND version = (SELECT MAX(version) "
                "FROM bags WHERE id_key=b.id_key AND state='stored') ORDER BY id_key"
            )
        elif include_pending:
            sql = f"SELECT {BAG_COLUMNS} FROM bags ORDER BY id_key, version"
        else:
            sql = f"SELECT {BAG_COLUMNS} FROM bags WHERE state='stored' ORDER BY id_key, version"
        return [BagVersion.from_row(r) for r in self.conn.execute(sql)]

    def stored_count(self, *, include_pending: bool = False) -> int:
        """How many bag versions are stored: never falls, so a ledger that holds fewer than
        the store once did is older than the store (see :mod:`stook.store.opening`)."""
        where = "" if include_pending else " WHERE state='stored'"
        return int(self.conn.execute(f"SELECT COUNT(*) FROM bags{where}").fetchone()[0])
