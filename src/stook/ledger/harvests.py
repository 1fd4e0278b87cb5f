"""Harvest checkpoints and tombstones.

One ``harvest_state`` row per (base URL, metadata prefix, set). A harvest in progress
has a ``resumption_token``; its datestamp window (``window_from``/``window_until``, as
sent) and the responseDate of its first request (``run_response_date``) survive a
crash with it. A complete harvest clears the token and keeps ``last_response_date``,
the ``from`` of the next incremental harvest. A record deleted at its source gets a
tombstone (and its bags stay).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from stook.errors import UsageError
from stook.ledger.db import Guarded
from stook.ledger.model import BagVersion, Event, utc_now
from stook.names import identifier_key


@dataclass(frozen=True)
class HarvestState:
    base_url: str
    metadata_prefix: str
    set_spec: str = ""
    last_response_date: str | None = None
    window_from: str | None = None
    window_until: str | None = None
    resumption_token: str | None = None
    pages_done: int = 0
    records_done: int = 0
    run_response_date: str | None = None
    updated: str = ""

    @property
    def in_progress(self) -> bool:
        return bool(self.resumption_token)

    def to_dict(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "metadata_prefix": self.metadata_prefix,
            "set_spec": self.set_spec or None,
            "last_response_date": self.last_response_date,
            "window_from": self.window_from,
            "window_until": self.window_until,
            "resumption_token": self.resumption_token,
            "pages_done": self.pages_done,
            "records_done": self.records_done,
            "run_response_date": self.run_response_date,
            "updated": self.updated,
        }


_STATE_COLUMNS = (
    "base_url, metadata_prefix, set_spec, last_response_date, window_from, window_until,"
    " resumption_token, pages_done, records_done, run_response_date, updated"
)


class HarvestLog:
    """Queries of ``harvest_state`` and ``tombstones`` (mixed into :class:`stook.ledger.Ledger`)."""

    conn: Guarded
    latest: Callable[..., BagVersion | None]  # from BagIndex
    append_events: Callable[[Guarded, Iterable[Event]], None]  # from EventLog

    def load_state(self, base_url: str, metadata_prefix: str, set_spec: str | None) -> HarvestState:
        """The saved state of a source, or a fresh one when it was never harvested."""
        row = self.conn.execute(
            f"SELECT {_STATE_COLUMNS} FROM harvest_state"
            " WHERE base_url=? AND metadata_prefix=? AND set_spec=?",
            (base_url, metadata_prefix, set_spec or ""),
        ).fetchone()
        if row is None:
            return HarvestState(base_url, metadata_prefix, set_spec or "")
        return HarvestState(*row)

    def harvest_states(self) -> list[HarvestState]:
        rows = self.conn.execute(f"SELECT {_STATE_COLUMNS} FROM harvest_state ORDER BY base_url").fetchall()
        return [HarvestState(*row) for row in rows]

    def save_state(self, conn: Guarded, state: HarvestState) -> HarvestState:
        """Write ``state`` inside the caller's transaction; returns it with ``updated`` set."""
        state = replace(state, updated=utc_now())
        conn.execute(
            f"INSERT INTO harvest_state ({_STATE_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)"
            " ON CONFLICT (base_url, metadata_prefix, set_spec) DO UPDATE SET"
            " last_response_date=excluded.last_response_date, window_from=excluded.window_from,"
            " window_until=excluded.window_until, resumption_token=excluded.resumption_token,"
            " pages_done=excluded.pages_done, records_done=excluded.records_done,"
            " updated=excluded.updated, run_response_date=excluded.run_response_date",
            (
                state.base_url, state.metadata_prefix, state.set_spec, state.last_response_date,
                state.window_from, state.window_until, state.resumption_token, state.pages_done,
                state.records_done, state.run_response_date, state.updated,
            ),
        )
        return state

    def record_deletion(
        self, conn: Guarded, *, identifier: str, datestamp: str, base_url: str
    ) -> Event | None:
        """Tombstone a record deleted at the source and log a ``dea`` event, once per deletion.

        The bags stay: stook never deletes a version. A deletion already tombstoned with
        the same datestamp (a page harvested again after a restart) changes nothing.
        """
        try:
            key = identifier_key(identifier)
        except UsageError:
            event = Event("dea", "war",
                          detail=f"a record deleted at source {base_url} (datestamp {datestamp}) "
                          f"has an unusable identifier {identifier!r}; nothing to tombstone",
                          data={"base_url": base_url, "datestamp": datestamp, "identifier": identifier})
            self.append_events(conn, [event])
            return None
        row = conn.execute("SELECT datestamp FROM tombstones WHERE id_key=?", (key,)).fetchone()
        if row is not None and row[0] == datestamp:
            return None
        latest = self.latest(key)
        kept = f"bags kept (latest {latest.path})" if latest else "no bag was stored for it"
        event = Event(
            "dea",
            "suc",
            identifier=identifier,
            version=latest.version if latest else None,
            bag=latest.path if latest else None,
            detail=f"deleted at source {base_url} (datestamp {datestamp}); {kept}",
            data={"base_url": base_url, "datestamp": datestamp, "deleted_at_source": True},
        )
        conn.execute(
            "INSERT INTO tombstones (id_key, identifier, datestamp, deleted_at, event_uuid)"
            " VALUES (?,?,?,?,?)"
            " ON CONFLICT (id_key) DO UPDATE SET identifier=excluded.identifier,"
            " datestamp=excluded.datestamp, deleted_at=excluded.deleted_at, event_uuid=excluded.event_uuid",
            (key, identifier, datestamp, event.datetime, event.uuid),
        )
        self.append_events(conn, [event])
        return event

    def clear_tombstones(self, conn: Guarded, identifiers: list[str]) -> None:
        """A record that is live again at the source is no longer tombstoned."""
        if identifiers:
            conn.executemany(
                "DELETE FROM tombstones WHERE id_key=?", [(identifier_key(i),) for i in identifiers]
            )

    def tombstones(self) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT id_key, identifier, datestamp, deleted_at, event_uuid FROM tombstones ORDER BY id_key"
        ).fetchall()
        names = ("id_key", "identifier", "datestamp", "deleted_at", "event_uuid")
        return [dict(zip(names, row, strict=True)) for row in rows]

