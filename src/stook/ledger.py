"""The store's ledger: an SQLite file inside the store, so a copied store keeps its history.

It holds the bag index (identifier, version, name, state), harvest state per source,
and an append-only log of PREMIS 3 events. The schema is changed only by numbered
migrations; every write happens inside a transaction. Events can be inserted, never
updated or deleted (triggers refuse it).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stook import AGENT
from stook.errors import LedgerError

LEDGER_FILE = "stook-ledger.sqlite"

PREMIS_EVENT_TYPE = "http://id.loc.gov/vocabulary/preservation/eventType/"
PREMIS_OUTCOME = "http://id.loc.gov/vocabulary/preservation/eventOutcome/"

EVENT_TYPES = {
    "cap": "capture",
    "val": "validation",
    "mes": "message digest calculation",
    "ing": "ingestion",
    "fix": "fixity check",
    "tra": "transfer",
    "rep": "replication",
    "dea": "deaccession",
    # Also from the id.loc.gov vocabulary, for repair, quarantine and dropped files.
    "del": "deletion",
    "mod": "modification",
    "qua": "quarantine",
    "rec": "recovery",
}
OUTCOMES = {"suc": "success", "fai": "failure", "war": "warning"}

# Numbered migrations: append, never edit one that has shipped.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE bags (
            id INTEGER PRIMARY KEY,
            identifier TEXT NOT NULL,
            id_key TEXT NOT NULL,
            version INTEGER NOT NULL CHECK (version >= 1),
            name TEXT NOT NULL,
            path TEXT NOT NULL UNIQUE,
            fingerprint TEXT NOT NULL,
            payload_oxum TEXT NOT NULL,
            size INTEGER NOT NULL,
            title TEXT,
            groups TEXT NOT NULL DEFAULT '[]',
            created TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('pending', 'stored')),
            UNIQUE (id_key, version)
        );
        CREATE INDEX bags_by_created ON bags (created);
        CREATE TABLE events (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            uuid TEXT NOT NULL UNIQUE,
            type TEXT NOT NULL,
            datetime TEXT NOT NULL,
            identifier TEXT,
            version INTEGER,
            bag TEXT,
            agent TEXT NOT NULL,
            outcome TEXT NOT NULL CHECK (outcome IN ('suc', 'fai', 'war')),
            detail TEXT NOT NULL DEFAULT '',
            data TEXT
        );
        CREATE INDEX events_by_bag ON events (bag, type, datetime);
        CREATE INDEX events_by_identifier ON events (identifier);
        CREATE TRIGGER events_no_update BEFORE UPDATE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        CREATE TRIGGER events_no_delete BEFORE DELETE ON events
            BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END;
        """,
    ),
    (
        2,
        """
        CREATE TABLE harvest_state (
            base_url TEXT NOT NULL,
            metadata_prefix TEXT NOT NULL,
            set_spec TEXT NOT NULL DEFAULT '',
            last_response_date TEXT,
            window_from TEXT,
            window_until TEXT,
            resumption_token TEXT,
            pages_done INTEGER NOT NULL DEFAULT 0,
            records_done INTEGER NOT NULL DEFAULT 0,
            updated TEXT NOT NULL,
            PRIMARY KEY (base_url, metadata_prefix, set_spec)
        );
        CREATE TABLE tombstones (
            id_key TEXT PRIMARY KEY,
            identifier TEXT NOT NULL,
            datestamp TEXT,
            deleted_at TEXT NOT NULL,
            event_uuid TEXT NOT NULL
        );
        """,
    ),
    (
        3,
        """
        ALTER TABLE harvest_state ADD COLUMN run_response_date TEXT;
        """,
    ),
    (
        4,
        """
        ALTER TABLE bags ADD COLUMN pending_events TEXT;
        """,
    ),
    (
        5,
        # Each bag's latest fixity checks, kept by a trigger as fix events are appended,
        # so planning an audit reads one row per bag instead of every fix event ever
        # recorded (a store audited daily for years holds millions).
        """
        CREATE TABLE fixity (
            bag TEXT PRIMARY KEY,
            last_any TEXT,
            last_outcome TEXT,
            last_full TEXT,
            last_intact TEXT
        );
        CREATE TRIGGER events_keep_fixity AFTER INSERT ON events
        WHEN NEW.type = 'fix' AND NEW.bag IS NOT NULL
        BEGIN
            INSERT INTO fixity (bag, last_any, last_outcome, last_full, last_intact)
            SELECT NEW.bag, NEW.datetime, NEW.outcome,
                CASE WHEN full THEN NEW.datetime END,
                CASE WHEN full AND NEW.outcome = 'suc' THEN NEW.datetime END
            FROM (SELECT COALESCE(json_extract(NEW.data, '$.mode'), 'full') = 'full' AS full)
            WHERE true
            ON CONFLICT (bag) DO UPDATE SET
                last_any = excluded.last_any,
                last_outcome = excluded.last_outcome,
                last_full = COALESCE(excluded.last_full, last_full),
                last_intact = COALESCE(excluded.last_intact, last_intact);
        END;
        INSERT INTO fixity (bag, last_any, last_outcome, last_full, last_intact)
        SELECT f.bag,
            (SELECT datetime FROM events WHERE seq = f.any_seq),
            (SELECT outcome FROM events WHERE seq = f.any_seq),
            (SELECT datetime FROM events WHERE seq = (
                SELECT MAX(seq) FROM events WHERE type = 'fix' AND bag = f.bag
                AND COALESCE(json_extract(data, '$.mode'), 'full') = 'full')),
            (SELECT datetime FROM events WHERE seq = (
                SELECT MAX(seq) FROM events WHERE type = 'fix' AND bag = f.bag AND outcome = 'suc'
                AND COALESCE(json_extract(data, '$.mode'), 'full') = 'full'))
        FROM (SELECT bag, MAX(seq) AS any_seq FROM events
              WHERE type = 'fix' AND bag IS NOT NULL GROUP BY bag) f;
        """,
    ),
    # (6 is reserved.)
    (
        7,
        # The record kept for a received bag that carries no data/record.json of its own
        # (a bag made by another tool): built from its bag-info, so the bag itself stays
        # byte-identical. Keyed by the bag's store path; written once, never changed.
        """
        CREATE TABLE IF NOT EXISTS foreign_records (
            path TEXT PRIMARY KEY,
            record TEXT NOT NULL,
            kept TEXT NOT NULL
        );
        """,
    ),
]


def utc_now() -> str:
    """UTC time to the microsecond with a Z (2026-11-27T06:40:00.123456Z), as every
    timestamp in the ledger is written."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")[:-6] + "Z"


def new_uuid() -> str:
    """A random (version 4) UUID as text; ``str(uuid.uuid4())`` costs several times more."""
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


BAG_COLUMNS = (
    "identifier, id_key, version, name, path, fingerprint, payload_oxum, size, title, groups,"
    " created, state"
)


@dataclass(frozen=True)
class BagVersion:
    identifier: str
    id_key: str
    version: int
    name: str
    path: str  # relative to the store root: "<name>/v<N>"
    fingerprint: str
    payload_oxum: str
    size: int
    title: str | None
    groups: tuple[str, ...]
    created: str
    state: str

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> BagVersion:
        """From a row selected as ``SELECT {BAG_COLUMNS} FROM bags`` (by position: fast)."""
        identifier, id_key, version, name, path, fingerprint, oxum, size, title, groups, created, state = row
        return cls(
            identifier, id_key, version, name, path, fingerprint, oxum, size, title,
            () if groups == "[]" else tuple(json.loads(groups)), created, state,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["groups"] = list(self.groups)
        return data


@dataclass(frozen=True)
class Event:
    """One PREMIS event: what happened to which bag version, when, by whom, with what outcome."""

    type: str
    outcome: str
    identifier: str | None = None
    version: int | None = None
    bag: str | None = None
    detail: str = ""
    data: dict[str, Any] | None = None
    uuid: str = field(default_factory=new_uuid)
    datetime: str = field(default_factory=utc_now)
    agent: str = AGENT
    seq: int | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown PREMIS event type {self.type!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown PREMIS event outcome {self.outcome!r}")

    @property
    def type_uri(self) -> str:
        return PREMIS_EVENT_TYPE + self.type

    @property
    def outcome_uri(self) -> str:
        return PREMIS_OUTCOME + self.outcome

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "type": self.type,
            "type_label": EVENT_TYPES[self.type],
            "type_uri": self.type_uri,
            "datetime": self.datetime,
            "identifier": self.identifier,
            "version": self.version,
            "bag": self.bag,
            "agent": self.agent,
            "outcome": self.outcome,
            "outcome_label": OUTCOMES[self.outcome],
            "outcome_uri": self.outcome_uri,
            "detail": self.detail,
            "data": self.data,
        }

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Event:
        return cls(
            type=row["type"],
            outcome=row["outcome"],
            identifier=row["identifier"],
            version=row["version"],
            bag=row["bag"],
            detail=row["detail"],
            data=json.loads(row["data"]) if row["data"] else None,
            uuid=row["uuid"],
            datetime=row["datetime"],
            agent=row["agent"],
            seq=row["seq"],
        )


class Ledger:
    """Access to one store's SQLite ledger. Cheap to open; migrates on first use."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._conn = sqlite3.connect(str(path), timeout=30, isolation_level=None)
            self._conn.row_factory = sqlite3.Row
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute("PRAGMA foreign_keys=ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"{path}: cannot open the ledger: {exc}; "
                "if the file is damaged, restore it from a copy of the store",
                path=path,
            ) from exc

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- schema -------------------------------------------------------------------

    def schema_version(self) -> int:
        row = self._conn.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def _migrate(self) -> None:
        current = self.schema_version()
        latest = MIGRATIONS[-1][0]
        if current > latest:
            raise LedgerError(
                f"{self.path}: the ledger is at schema version {current}, newer than this "
                f"stook understands ({latest}); upgrade stook",
                path=self.path,
            )
        for number, script in MIGRATIONS:
            if number <= current:
                continue
            with self.transaction() as conn:
                for statement in _statements(script):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")

    # -- transactions -------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """An immediate (write-locking) transaction: all of it is committed, or none."""
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except sqlite3.DatabaseError as exc:
            raise LedgerError(
                f"{self.path}: cannot start a ledger transaction: {exc}", path=self.path
            ) from exc
        try:
            yield self._conn
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        else:
            try:
                self._conn.execute("COMMIT")
            except sqlite3.DatabaseError as exc:
                self._conn.execute("ROLLBACK")
                raise LedgerError(f"{self.path}: cannot commit to the ledger: {exc}", path=self.path) from exc

    # -- bags ---------------------------------------------------------------------

    def insert_bags(
        self, conn: sqlite3.Connection, bags: Sequence[tuple[BagVersion, Sequence[EventRow]]]
    ) -> None:
        """Add bag versions; a pending one keeps the events to record once it is stored,
        so a crash between its rename and its final commit loses none of them."""
        conn.executemany(
            "INSERT INTO bags (identifier, id_key, version, name, path, fingerprint, payload_oxum,"
            " size, title, groups, created, state, pending_events) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [_bag_row(bag, events) for bag, events in bags],
        )

    def mark_stored(self, conn: sqlite3.Connection, paths: Sequence[str], created: str) -> None:
        """Make pending versions visible; ``created`` is that moment (OAI datestamps use it)."""
        conn.executemany(
            "UPDATE bags SET state='stored', created=?, pending_events=NULL WHERE path=?",
            [(created, path) for path in paths],
        )

    def pending_events(self, path: str) -> list[Event]:
        """The events a pending version is to be recorded with (empty if none were kept)."""
        row = self._conn.execute("SELECT pending_events FROM bags WHERE path=?", (path,)).fetchone()
        if row is None or not row[0]:
            return []
        return [_row_event(item) for item in json.loads(row[0])]

    def forget_pending(self, conn: sqlite3.Connection, path: str) -> None:
        conn.execute("DELETE FROM bags WHERE path=? AND state='pending'", (path,))

    def versions(self, id_key: str, *, include_pending: bool = False) -> list[BagVersion]:
        sql = f"SELECT {BAG_COLUMNS} FROM bags WHERE id_key=?"
        if not include_pending:
            sql += " AND state='stored'"
        rows = self._conn.execute(sql + " ORDER BY version", (id_key,)).fetchall()
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
            rows = self._conn.execute(
                f"SELECT {BAG_COLUMNS} FROM bags b WHERE id_key IN ({','.join('?' * len(chunk))})"
                " AND version = (SELECT MAX(version) FROM bags WHERE id_key = b.id_key)",
                chunk,
            )
            for row in rows:
                bag = BagVersion.from_row(row)
                found[bag.id_key] = bag
        return found

    def bag_by_path(self, path: str) -> BagVersion | None:
        row = self._conn.execute(f"SELECT {BAG_COLUMNS} FROM bags WHERE path=?", (path,)).fetchone()
        return BagVersion.from_row(row) if row else None

    def pending(self) -> list[BagVersion]:
        rows = self._conn.execute(f"SELECT {BAG_COLUMNS} FROM bags WHERE state='pending'").fetchall()
        return [BagVersion.from_row(r) for r in rows]

    def bags(self, *, latest_only: bool = False) -> list[BagVersion]:
        if latest_only:
            sql = (
                f"SELECT {BAG_COLUMNS} FROM bags b WHERE state='stored' AND version = (SELECT MAX(version) "
                "FROM bags WHERE id_key=b.id_key AND state='stored') ORDER BY id_key"
            )
        else:
            sql = f"SELECT {BAG_COLUMNS} FROM bags WHERE state='stored' ORDER BY id_key, version"
        return [BagVersion.from_row(r) for r in self._conn.execute(sql)]

    # -- events -------------------------------------------------------------------

    def append_events(self, conn: sqlite3.Connection, events: Iterable[Event]) -> None:
        self.append_rows(conn, [event_row(e) for e in events])

    def append_rows(self, conn: sqlite3.Connection, rows: Sequence[EventRow]) -> None:
        """Append events already turned into rows (see :func:`event_row`)."""
        conn.executemany(
            "INSERT INTO events (uuid, type, datetime, identifier, version, bag, agent, outcome,"
            " detail, data) VALUES (?,?,?,?,?,?,?,?,?,?)",
            rows,
        )

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
        for row in self._conn.execute(f"SELECT * FROM events{where} ORDER BY seq", args):
            yield Event.from_row(row)

    # -- foreign records (migration 7) ------------------------------------------------
    # Records kept for received bags without a data/record.json of their own; see
    # stook.transfer.foreign. One block, to move whole when the ledger is split.

    def keep_foreign_record(self, path: str, record_json: bytes) -> bool:
        """Keep the record (canonical JSON) of the bag at store path ``path``; a bag never
        changes, so a record already kept for it stays. True if it was kept now."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO foreign_records (path, record, kept) VALUES (?, ?, ?)"
                " ON CONFLICT (path) DO NOTHING",
                (path, record_json.decode("utf-8"), utc_now()),
            )
            return cursor.rowcount == 1

    def foreign_record(self, path: str) -> bytes | None:
        """The record kept for the bag at ``path``, or None."""
        return self.foreign_records_of(self._conn, [path]).get(path)

    @staticmethod
    def foreign_records_of(conn: sqlite3.Connection, paths: Sequence[str]) -> dict[str, bytes]:
        """``{path: record JSON}`` for those of ``paths`` that have one, through any connection
        to a ledger (read-only ones too: the provider's). A ledger before migration 7 has none."""
        found: dict[str, bytes] = {}
        wanted = list(dict.fromkeys(paths))
        try:
            for start in range(0, len(wanted), 500):  # well under SQLite's host-parameter limit
                chunk = wanted[start:start + 500]
                rows = conn.execute(
                    f"SELECT path, record FROM foreign_records WHERE path IN ({','.join('?' * len(chunk))})",
                    chunk,
                )
                found.update((str(path), str(record).encode("utf-8")) for path, record in rows)
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
        return found

    # -- end of foreign records ----------------------------------------------------------

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for modules that keep their own tables (harvest state)."""
        return self._conn


EventRow = tuple[Any, ...]  # the columns of the events table, as inserted



def event_row(e: Event) -> EventRow:
    """An event as the row it is inserted as; its data serialized once, here."""
    data = json.dumps(e.data, ensure_ascii=False, sort_keys=True) if e.data is not None else None
    return (e.uuid, e.type, e.datetime, e.identifier, e.version, e.bag, e.agent, e.outcome, e.detail, data)


def _row_event(row: Sequence[Any] | dict[str, Any]) -> Event:
    """An event kept with a pending bag, back from its row (or, as kept before rows were
    used, from a dict of its fields)."""
    if isinstance(row, dict):
        return Event(**row)
    uuid_, type_, when, identifier, version, bag, agent, outcome, detail, data = row
    return Event(type_, outcome, identifier, version, bag, detail=detail,
                 data=json.loads(data) if data is not None else None,
                 uuid=uuid_, datetime=when, agent=agent)


def _bag_row(bag: BagVersion, pending_events: Sequence[EventRow]) -> tuple[Any, ...]:
    return (
        bag.identifier,
        bag.id_key,
        bag.version,
        bag.name,
        bag.path,
        bag.fingerprint,
        bag.payload_oxum,
        bag.size,
        bag.title,
        json.dumps(list(bag.groups), ensure_ascii=False),
        bag.created,
        bag.state,
        json.dumps(pending_events, ensure_ascii=False) if pending_events else None,
    )


def _statements(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    statements: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            statements.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        statements.append(buffer.strip())
    return statements
