"""The append-only PREMIS event log, and what other parts read back from it: the digests
recorded at ingest and each bag's latest fixity checks (the ``fixity`` table, brought up
to date in the same transaction as fixity events are appended)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any, NamedTuple

from stook.ledger.db import Guarded
from stook.ledger.model import Event, EventRow, event_row

_APPEND = (
    "INSERT INTO events (uuid, type, datetime, identifier, version, bag, agent, outcome,"
    " detail, data) VALUES (?,?,?,?,?,?,?,?,?,?)"
)


# Each bag's latest checks, from the fix events appended after ``seq`` (in order: the last
# one wins): a check in fast mode (data.mode "fast") is a check, but not a full one.
_FOLLOW_FIXITY = """
INSERT INTO fixity (bag, last_any, last_outcome, last_full, last_intact)
SELECT bag, datetime, outcome,
    CASE WHEN full THEN datetime END,
    CASE WHEN full AND outcome = 'suc' THEN datetime END
FROM (SELECT seq, bag, datetime, outcome, COALESCE(json_extract(data, '$.mode'), 'full') = 'full' AS full
      FROM events WHERE seq > ? AND type = 'fix' AND bag IS NOT NULL)
ORDER BY seq
ON CONFLICT (bag) DO UPDATE SET
    last_any = excluded.last_any,
    last_outcome = excluded.last_outcome,
    last_full = COALESCE(excluded.last_full, last_full),
    last_intact = COALESCE(excluded.last_intact, last_intact)
"""


def insert_event_rows(conn: Guarded, rows: Sequence[EventRow]) -> None:
    """Append events already turned into rows, inside the caller's transaction, and bring
    the ``fixity`` table up to date with the fixity events among them (one statement for
    all of them: as cheap per event as the append itself)."""
    if not rows:
        return
    last = conn.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0]
    conn.executemany(_APPEND, rows)
    if any(row[1] == "fix" and row[5] is not None for row in rows):
        conn.execute(_FOLLOW_FIXITY, (last,))


class FixityRow(NamedTuple):
    """A bag's latest fixity checks: any mode, its outcome, the last full check, the last
    full check that found the bag intact."""

    last_any: str | None
    last_outcome: str | None
    last_full: str | None
    last_intact: str | None


def parse_ingest(raw: str | None) -> dict[str, str] | None:
    """The sha512 digests in a ``mes`` event's data (JSON text); None if it holds none."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    digests = data.get("sha512") if isinstance(data, dict) else None
    if not isinstance(digests, dict) or not all(isinstance(v, str) for v in digests.values()):
        return None
    return {str(k): v.lower() for k, v in digests.items()}


class EventLog:
    """Queries of the ``events`` and ``fixity`` tables (mixed into :class:`stook.ledger.Ledger`)."""

    conn: Guarded
    transaction: Callable[[], AbstractContextManager[Guarded]]  # from LedgerDB

    def append_events(self, conn: Guarded, events: Iterable[Event]) -> None:
        self.append_rows(conn, [event_row(e) for e in events])

    def append_rows(self, conn: Guarded, rows: Sequence[EventRow]) -> None:
        """Append events already turned into rows (see :func:`stook.ledger.event_row`)."""
        insert_event_rows(conn, rows)

    def record_events(self, events: Sequence[Event]) -> None:
        """Append events in a transaction of their own."""
        with self.transaction() as conn:
            self.append_events(conn, events)

    def events(
        self,
        *,
        identifier: str | None = None,
        bag: str | None = None,
        types: Sequence[str] | None = None,
    ) -> Iterator[Event]:
        """Events in the order they were recorded, optionally filtered."""
        clauses: list[str] = []
        args: list[Any] = []
        if identifier is not None:
            clauses.append("identifier = ?")
            args.append(identifier)
        if bag is not None:
            clauses.append("bag = ?")
            args.append(bag)
        if types:
            clauses.append(f"type IN ({','.join('?' * len(types))})")
            args.extend(types)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        for row in self.conn.execute(f"SELECT * FROM events{where} ORDER BY seq", args):
            yield Event.from_row(row)

    def ingest_event(self, bag_path: str) -> dict[str, Any] | None:
        """The data of the bag's first successful ``mes`` event (digests and algorithms at
        ingest), or None when it has none."""
        row = self.conn.execute(
            "SELECT data FROM events WHERE bag = ? AND type = 'mes' AND outcome = 'suc'"
            " AND data IS NOT NULL ORDER BY seq LIMIT 1",
            (bag_path,),
        ).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(row[0])
        except ValueError:
            return None
        return data if isinstance(data, dict) else None

    def ingest_digests(self, bag_path: str) -> dict[str, str] | None:
        """The payload sha512 digests recorded when ``bag_path`` was ingested (its first
        successful ``mes`` event)."""
        row = self.conn.execute(
            "SELECT data FROM events WHERE bag = ? AND type = 'mes' AND outcome = 'suc'"
            " AND data IS NOT NULL ORDER BY seq LIMIT 1",
            (bag_path,),
        ).fetchone()
        return None if row is None else parse_ingest(row[0])

    def ingest_data(self, bag_paths: list[str]) -> dict[str, str]:
        """The raw data of each bag's first successful ``mes`` event, in one query for many bags."""
        found: dict[str, str] = {}
        for start in range(0, len(bag_paths), 500):  # well under SQLite's host-parameter limit
            chunk = bag_paths[start:start + 500]
            rows = self.conn.execute(
                "SELECT bag, data FROM events WHERE type = 'mes' AND outcome = 'suc' AND data IS NOT NULL"
                f" AND bag IN ({','.join('?' * len(chunk))}) ORDER BY seq",
                chunk,
            )
            for bag, data in rows:
                found.setdefault(bag, data)
        return found

    def fixity_rows(self) -> dict[str, FixityRow]:
        """Per bag path, its latest fixity checks (one row per bag, however long the log)."""
        rows = self.conn.execute("SELECT bag, last_any, last_outcome, last_full, last_intact FROM fixity")
        return {bag: FixityRow(*rest) for bag, *rest in rows}

    def fix_counts(self, since: str) -> list[tuple[str, str, int]]:
        """(UTC day, outcome, checks) of the fixity checks recorded since ``since`` (a
        dashboard's chart: one grouped query, however many checks)."""
        rows = self.conn.execute(
            "SELECT substr(datetime, 1, 10) AS day, outcome, COUNT(*) FROM events"
            " WHERE type = 'fix' AND datetime >= ? GROUP BY day, outcome ORDER BY day",
            (since,),
        )
        return [(str(day), str(outcome), int(count)) for day, outcome, count in rows]

    def recoveries(self, since: str, limit: int = 50) -> list[Event]:
        """The latest fixity checks since ``since`` that found a bag intact again after a
        failure, and repairs (``rec`` events), newest first."""
        rows = self.conn.execute(
            "SELECT * FROM events WHERE datetime >= ? AND (type = 'rec' OR (type = 'fix'"
            " AND outcome = 'suc' AND json_extract(data, '$.recovered') = 1)) ORDER BY seq DESC LIMIT ?",
            (since, limit),
        )
        return [Event.from_row(row) for row in rows]
