"""Records kept for received bags that carry no ``data/record.json`` of their own.

A bag made by another tool stays byte for byte as it arrived; the record stook builds
for it from its bag-info (see :mod:`stook.transfer.foreign`) is kept here, keyed by
the bag's store path, written once and never changed (a bag never changes either).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

from stook.ledger.db import Guarded
from stook.ledger.model import utc_now


def foreign_records_of(conn: Any, paths: Sequence[str]) -> dict[str, bytes]:
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


class ForeignRecords:
    """Queries of the ``foreign_records`` table (mixed into :class:`stook.ledger.Ledger`)."""

    conn: Guarded
    transaction: Callable[[], AbstractContextManager[Guarded]]  # from LedgerDB

    def keep_foreign_record(self, path: str, record_json: bytes) -> bool:
        """Keep the record (canonical JSON) of the bag at store path ``path``; a record
        already kept for it stays. True if it was kept now."""
        with self.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO foreign_records (path, record, kept) VALUES (?, ?, ?)"
                " ON CONFLICT (path) DO NOTHING",
                (path, record_json.decode("utf-8"), utc_now()),
            )
            return cursor.rowcount == 1

    def foreign_record(self, path: str) -> bytes | None:
        """The record kept for the bag at ``path``, or None."""
        return foreign_records_of(self.conn, [path]).get(path)

    foreign_records_of = staticmethod(foreign_records_of)
