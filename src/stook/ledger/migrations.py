"""The ledger's schema, as numbered migrations: append, never edit one that has shipped.

A migration is SQL (split into statements here, trigger bodies kept whole) or a
function of the connection, for a step that needs to read what is there (such as
working out who supplied each record already stored). Each runs in its own
transaction with the ``user_version`` it brings the ledger to.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from urllib.parse import urlsplit

Migration = str | Callable[[sqlite3.Connection], None]

_INITIAL = """
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
"""

_HARVEST_STATE = """
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
"""

# Each bag's latest fixity checks, kept by a trigger as fix events are appended, so
# planning an audit reads one row per bag instead of every fix event ever recorded
# (a store audited daily for years holds millions).
_FIXITY = """
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
"""

# Who supplied each record (its provenance): hand entry, one harvest source (base URL
# and metadata prefix), or a partner's transfer. A harvest may change or delete only
# the records its own source supplied.
_SOURCES = """
CREATE TABLE sources (
    id_key TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('manual', 'harvest', 'received')),
    detail TEXT NOT NULL DEFAULT '{}',
    assigned TEXT NOT NULL
);
CREATE INDEX sources_by_owner ON sources (owner);
"""


def _backfill_sources(conn: sqlite3.Connection) -> None:
    """Give every record already stored the source it came from, read from its events:
    a capture names the harvest (the base URL it was harvested from, its prefix), a
    transfer a receive; anything else was entered by hand."""
    for statement in statements(_SOURCES):
        conn.execute(statement)
    bases = [row[0] for row in conn.execute("SELECT DISTINCT base_url FROM harvest_state")]
    first = conn.execute(
        "SELECT id_key, identifier, created FROM bags WHERE state = 'stored' AND version = "
        "(SELECT MIN(version) FROM bags b WHERE b.id_key = bags.id_key AND b.state = 'stored')"
    ).fetchall()
    for id_key, identifier, created in first:
        kinds = dict(conn.execute(
            "SELECT type, data FROM events WHERE identifier = ? AND type IN ('cap', 'tra')"
            " ORDER BY seq DESC", (identifier,)
        ).fetchall())
        if "cap" in kinds:
            data = json.loads(kinds["cap"] or "{}")
            url = str(data.get("url") or "")
            base = next((b for b in bases if url.startswith(b)), None)
            if base is None:
                parts = urlsplit(url)
                base = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.scheme else url
            prefix = str(data.get("metadata_prefix") or "oai_dc")
            owner, kind = f"harvest {base} {prefix}", "harvest"
            detail = {"base_url": base, "metadata_prefix": prefix}
        elif "tra" in kinds:
            owner, kind, detail = "received", "received", {}
        else:
            owner, kind, detail = "manual", "manual", {}
        conn.execute(
            "INSERT OR IGNORE INTO sources (id_key, owner, kind, detail, assigned) VALUES (?,?,?,?,?)",
            (id_key, owner, kind, json.dumps(detail, sort_keys=True), created),
        )


MIGRATIONS: list[tuple[int, Migration]] = [
    (1, _INITIAL),
    (2, _HARVEST_STATE),
    (3, "ALTER TABLE harvest_state ADD COLUMN run_response_date TEXT;"),
    (4, "ALTER TABLE bags ADD COLUMN pending_events TEXT;"),
    (5, _FIXITY),
    (6, _backfill_sources),
    # The record kept for a received bag that carries no data/record.json of its own (a
    # bag made by another tool): built from its bag-info, so the bag itself stays
    # byte-identical. Keyed by the bag's store path; written once, never changed.
    (7, """
CREATE TABLE IF NOT EXISTS foreign_records (
    path TEXT PRIMARY KEY,
    record TEXT NOT NULL,
    kept TEXT NOT NULL
);
"""),
    # The fixity table is brought up to date once per append (one statement over the events
    # just appended, see stook.ledger.events.insert_event_rows), not by a trigger per row:
    # the trigger was a third of the cost of recording an audit's events.
    (8, "DROP TRIGGER events_keep_fixity;"),
]
LATEST = MIGRATIONS[-1][0]


def statements(script: str) -> list[str]:
    """Split a migration script into statements, keeping trigger bodies whole."""
    found: list[str] = []
    buffer = ""
    for line in script.strip().splitlines():
        buffer += line + "\n"
        if sqlite3.complete_statement(buffer):
            found.append(buffer.strip())
            buffer = ""
    if buffer.strip():
        found.append(buffer.strip())
    return found
