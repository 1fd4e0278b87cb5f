"""The store's ledger: an SQLite file inside the store, so a copied store keeps its history.

It holds the bag index (identifier, version, name, state), who supplied each record,
harvest state per source, and an append-only log of PREMIS 3 events. The schema is
changed only by numbered migrations (:mod:`stook.ledger.migrations`); every write
happens inside a transaction; events can be inserted, never updated or deleted
(triggers refuse it). Each table's queries live in a module of their own, and no
other part of stook touches the connection.
"""

from __future__ import annotations

from pathlib import Path

from stook.errors import ReadOnlyStore
from stook.ledger.appender import EventAppender
from stook.ledger.bags import BagIndex
from stook.ledger.db import Guarded, LedgerDB, ledger_error, writable
from stook.ledger.events import EventLog, FixityRow, parse_ingest
from stook.ledger.foreign import ForeignRecords, foreign_records_of
from stook.ledger.harvests import HarvestLog, HarvestState
from stook.ledger.migrations import LATEST as SCHEMA_VERSION
from stook.ledger.migrations import MIGRATIONS
from stook.ledger.model import (
    BAG_COLUMNS,
    EVENT_TYPES,
    LEDGER_FILE,
    OUTCOMES,
    PREMIS_EVENT_TYPE,
    PREMIS_OUTCOME,
    BagVersion,
    Event,
    EventRow,
    event_row,
    new_uuid,
    utc_now,
)
from stook.ledger.salvage import Salvage, SalvageRestore, salvage
from stook.ledger.sources import Source, SourceTable


class Ledger(LedgerDB, BagIndex, EventLog, HarvestLog, SourceTable, ForeignRecords, SalvageRestore):
    """Access to one store's SQLite ledger. Cheap to open; migrates on first use
    (a read-only ledger is opened read-only and never migrated)."""

    def __init__(self, path: Path, *, read_only: bool | None = None) -> None:
        super().__init__(path, read_only=read_only)

    def appender(self) -> EventAppender:
        """Something that commits events on a thread and a connection of its own, while the
        caller goes on (see :mod:`stook.ledger.appender`); close it when done."""
        if self.read_only:
            raise ReadOnlyStore(
                f"{self.path.parent}: the store is read-only; this step needs to write to its ledger",
                path=self.path.parent,
            )
        return EventAppender(self.path)

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = [
    "BAG_COLUMNS",
    "EVENT_TYPES",
    "LEDGER_FILE",
    "MIGRATIONS",
    "OUTCOMES",
    "PREMIS_EVENT_TYPE",
    "PREMIS_OUTCOME",
    "SCHEMA_VERSION",
    "BagVersion",
    "Event",
    "EventAppender",
    "EventRow",
    "FixityRow",
    "Guarded",
    "HarvestState",
    "Ledger",
    "Salvage",
    "Source",
    "event_row",
    "foreign_records_of",
    "ledger_error",
    "new_uuid",
    "parse_ingest",
    "salvage",
    "utc_now",
    "writable",
]
