"""What can still be read from a ledger file that is damaged, older, or about to be replaced.

Each table is read on its own, so a damaged page loses only the rows on it; the rows
come back as they are stored, ready to be written into a new ledger
(:meth:`SalvageRestore.restore`). Used by the ledger rebuild (:mod:`stook.store.rebuild`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stook.ledger.db import Guarded
from stook.ledger.model import BAG_COLUMNS, BagVersion


@dataclass
class Salvage:
    """What could still be read from the old ledger."""

    bags: dict[str, BagVersion] = field(default_factory=dict)
    events: list[tuple[Any, ...]] = field(default_factory=list)
    sources: list[tuple[Any, ...]] = field(default_factory=list)
    states: list[tuple[Any, ...]] = field(default_factory=list)
    tombstones: list[tuple[Any, ...]] = field(default_factory=list)
    error: str | None = None


_EVENT_COLUMNS = "uuid, type, datetime, identifier, version, bag, agent, outcome, detail, data"
_STATE_COLUMNS = ("base_url, metadata_prefix, set_spec, last_response_date, window_from, window_until,"
                  " resumption_token, pages_done, records_done, run_response_date, updated")


def salvage(path: Path) -> Salvage:
    """Read whatever the old ledger still yields, table by table (a damaged page loses
    only what is on it)."""
    old = Salvage()
    if not path.exists() or path.stat().st_size == 0:
        return old
    try:
        raw = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        old.error = str(exc)
        return old
    queries: list[tuple[str, Callable[[list[tuple[Any, ...]]], None]]] = [
        (f"SELECT {BAG_COLUMNS} FROM bags", lambda rows: old.bags.update(
            (r[4], BagVersion.from_row(r)) for r in rows)),
        (f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY seq", old.events.extend),
        ("SELECT id_key, owner, kind, detail, assigned FROM sources", old.sources.extend),
        (f"SELECT {_STATE_COLUMNS} FROM harvest_state", old.states.extend),
        ("SELECT id_key, identifier, datestamp, deleted_at, event_uuid FROM tombstones",
         old.tombstones.extend),
    ]
    try:
        for sql, keep in queries:
            try:
                keep(raw.execute(sql).fetchall())
            except sqlite3.Error as exc:
                table = sql.split(" FROM ")[1].split()[0]
                old.error = (old.error + "; " if old.error else "") + f"{table}: {exc}"
    finally:
        raw.close()
    return old


class SalvageRestore:
    """Writing salvaged rows into a new ledger (mixed into :class:`stook.ledger.Ledger`)."""

    def restore(self, conn: Guarded, old: Salvage, known_keys: Iterable[str]) -> None:
        """The old ledger's sources of records still known, its harvest checkpoints and
        tombstones, into this (new) ledger inside the caller's transaction."""
        keys = set(known_keys)
        conn.executemany("INSERT OR IGNORE INTO sources (id_key, owner, kind, detail, assigned)"
                         " VALUES (?,?,?,?,?)", [s for s in old.sources if s[0] in keys])
        conn.executemany(f"INSERT OR IGNORE INTO harvest_state ({_STATE_COLUMNS})"
                         " VALUES (?,?,?,?,?,?,?,?,?,?,?)", old.states)
        conn.executemany("INSERT OR IGNORE INTO tombstones (id_key, identifier, datestamp, deleted_at,"
                         " event_uuid) VALUES (?,?,?,?,?)", old.tombstones)
