"""Read-only queries on a store's ledger: the records an OAI-PMH provider serves.

Part of the ledger package, so the ledger owns every query of its tables; the provider
(:mod:`stook.provider`) turns what these return into OAI-PMH responses.

A *record* is the latest stored version of an identifier; its datestamp is the time
that version entered the store (``bags.created``, truncated to seconds). A tombstone
newer than the latest version makes the record *deleted*, with the deletion time as
its datestamp (``deletedRecord`` is ``persistent``).

Lists are cut from a *snapshot* (the highest bag row id and the latest deletion
visible when the first page was asked for) and walked in (time, kind, tie) order
with keyset pagination, so concurrent writers never shift or repeat pages.

The ledger is opened read-only, one SQLite connection per thread (waitress answers
requests from a pool of threads; sqlite3 connections are not shared across threads).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.request import pathname2url

from stook.errors import StoreError, UsageError
from stook.ledger.foreign import foreign_records_of
from stook.ledger.model import LEDGER_FILE
from stook.names import identifier_key
from stook.oainames import set_spec_for_group

__all__ = ["Item", "Position", "Repository", "Selection", "Snapshot", "seconds"]

Position = tuple[str, int, str]


def seconds(stamp: str) -> str:
    """A ledger time (``YYYY-MM-DDTHH:MM:SS[.ffffff]Z``) as an OAI datestamp (whole seconds)."""
    return stamp[:19] + "Z"


@dataclass(frozen=True)
class Snapshot:
    max_bag_id: int
    max_deleted_at: str


@dataclass(frozen=True)
class Selection:
    """A selective-harvest request: set and an inclusive/exclusive time window."""

    set_spec: str | None = None
    lower: str | None = None  # inclusive, "YYYY-MM-DDTHH:MM:SS"
    upper: str | None = None  # exclusive, "YYYY-MM-DDTHH:MM:SS" (until + 1 s)


@dataclass(frozen=True)
class Item:
    """One record as the provider serves it (header data plus where its bag is)."""

    identifier: str
    datestamp: str
    deleted: bool
    groups: tuple[str, ...]
    bag_path: str | None  # the latest version's "<name>/v<N>", None if never stored
    position: Position

    @property
    def set_specs(self) -> list[str]:
        return [set_spec_for_group(g) for g in self.groups]


def _in_set(groups_json: str | None, spec: str) -> int:
    if not groups_json:
        return 0
    prefix = spec + ":"
    for group in json.loads(groups_json):
        encoded = set_spec_for_group(group)
        if encoded == spec or encoded.startswith(prefix):
            return 1
    return 0


_LATEST_GROUPS = (
    "(SELECT l.{col} FROM bags l WHERE l.id_key = t.id_key AND l.state = 'stored' AND l.id <= :max_id"
    " ORDER BY l.version DESC LIMIT 1)"
)


class Repository:
    """Thread-safe read access to one store's ledger for the provider."""

    def __init__(self, store_path: str | Path) -> None:
        self.root = Path(store_path)
        self.ledger_path = self.root / LEDGER_FILE
        if not self.ledger_path.is_file():
            if self.root.is_dir():
                raise StoreError(
                    f"{self.root}: not a stook store (no {LEDGER_FILE}); check the store path, "
                    "or bag a record into it first",
                    path=self.root,
                )
            raise StoreError(f"{self.root}: store not found; check the store path ($STOOK_STORE)",
                             path=self.root)
        self._local = threading.local()
        with self.reading() as conn:
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        if "bags" not in tables:
            raise StoreError(f"{self.ledger_path}: the ledger has no bag index; is it a stook ledger?",
                             path=self.ledger_path)
        self.has_tombstones = "tombstones" in tables
        self._identity = ""

    # -- connections ------------------------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        uri = f"file:{pathname2url(str(self.ledger_path.resolve()))}?mode=ro"
        try:
            conn = sqlite3.connect(uri, uri=True, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(f"{self.ledger_path}: cannot open the ledger to read it: {exc}",
                             path=self.ledger_path) from exc
        conn.row_factory = sqlite3.Row
        conn.create_function("stook_in_set", 2, _in_set, deterministic=True)
        return conn

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """This thread's connection, inside one read transaction (a consistent view)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._local.conn = None
            conn.close()
            raise StoreError(f"{self.ledger_path}: cannot read the ledger: {exc}",
                             path=self.ledger_path) from exc

    # -- repository-wide facts ----------------------------------------------------

    def snapshot(self, conn: sqlite3.Connection) -> Snapshot:
        """The bags and deletions a new list may show: all stored rows below the first pending one."""
        row = conn.execute(
            "SELECT COALESCE((SELECT MIN(id) FROM bags WHERE state = 'pending') - 1,"
            " (SELECT MAX(id) FROM bags), 0)"
        ).fetchone()
        max_deleted = ""
        if self.has_tombstones:
            max_deleted = conn.execute("SELECT COALESCE(MAX(deleted_at), '') FROM tombstones").fetchone()[0]
        return Snapshot(int(row[0]), str(max_deleted))

    def identity(self, conn: sqlite3.Connection) -> str:
        """What tells this store from others: the UUID of its first event ("" while it has none).
        A copy of the store shares it, so its tokens stay good on the copy."""
        if self._identity:
            return self._identity
        row = conn.execute("SELECT uuid FROM events ORDER BY seq LIMIT 1").fetchone()
        self._identity = str(row[0]) if row else ""
        return self._identity

    def kept_records(self, conn: sqlite3.Connection, paths: list[str]) -> dict[str, bytes]:
        """The records the ledger keeps for received bags without one of their own, by bag path."""
        return foreign_records_of(conn, paths) if paths else {}

    def earliest(self, conn: sqlite3.Connection) -> str | None:
        """The earliest time anything in the store changed (None for an empty store)."""
        stamps = [conn.execute("SELECT MIN(created) FROM bags WHERE state = 'stored'").fetchone()[0]]
        if self.has_tombstones:
            stamps.append(conn.execute("SELECT MIN(deleted_at) FROM tombstones").fetchone()[0])
        found = [s for s in stamps if s]
        return seconds(min(found)) if found else None

    def groups(self, conn: sqlite3.Connection) -> list[str]:
        """Every group of every record's latest version, sorted."""
        rows = conn.execute(
            "SELECT DISTINCT j.value FROM bags b, json_each(b.groups) j WHERE b.state = 'stored'"
            " AND b.groups != '[]' AND NOT EXISTS (SELECT 1 FROM bags n WHERE n.id_key = b.id_key"
            " AND n.state = 'stored' AND n.version > b.version)"
        ).fetchall()
        return sorted(str(r[0]) for r in rows if isinstance(r[0], str) and r[0])

    # -- one record -----------------------------------------------------------------

    def get(self, conn: sqlite3.Connection, identifier: str) -> Item | None:
        """The record for ``identifier`` now (latest version or its deletion), or None."""
        try:
            key = identifier_key(identifier)
        except (UsageError, ValueError):
            return None
        row = conn.execute(
            "SELECT id, identifier, path, groups, created FROM bags WHERE id_key = ? AND state = 'stored'"
            " ORDER BY version DESC LIMIT 1",
            (key,),
        ).fetchone()
        tomb = None
        if self.has_tombstones:
            tomb = conn.execute(
                "SELECT identifier, deleted_at FROM tombstones WHERE id_key = ?", (key,)
            ).fetchone()
        groups = tuple(json.loads(row["groups"])) if row else ()
        if tomb is not None and (row is None or tomb["deleted_at"] > row["created"]):
            return Item(row["identifier"] if row else tomb["identifier"], seconds(tomb["deleted_at"]),
                        True, groups, row["path"] if row else None, (tomb["deleted_at"], 1, key))
        if row is None:
            return None
        return Item(row["identifier"], seconds(row["created"]), False, groups, row["path"],
                    (row["created"], 0, f"{row['id']:012d}"))

    # -- lists ------------------------------------------------------------------------

    def _live_where(self, sel: Selection) -> str:
        clauses = [
            "b.state = 'stored'",
            "b.id <= :max_id",
            "NOT EXISTS (SELECT 1 FROM bags n WHERE n.id_key = b.id_key AND n.version > b.version"
            " AND n.state = 'stored' AND n.id <= :max_id)",
        ]
        if self.has_tombstones:
            clauses.append(
                "NOT EXISTS (SELECT 1 FROM tombstones t WHERE t.id_key = b.id_key"
                " AND t.deleted_at > b.created AND t.deleted_at <= :max_del)"
            )
        if sel.lower:
            clauses.append("b.created >= :lower")
        if sel.upper:
            clauses.append("b.created < :upper")
        if sel.set_spec:
            clauses.append("stook_in_set(b.groups, :set_spec)")
        return " AND ".join(clauses)

    def _dead_where(self, sel: Selection) -> str:
        clauses = [
            "t.deleted_at <= :max_del",
            "NOT EXISTS (SELECT 1 FROM bags b WHERE b.id_key = t.id_key AND b.state = 'stored'"
            " AND b.id <= :max_id AND b.created >= t.deleted_at)",
        ]
        if sel.lower:
            clauses.append("t.deleted_at >= :lower")
        if sel.upper:
            clauses.append("t.deleted_at < :upper")
        if sel.set_spec:
            clauses.append(f"stook_in_set({_LATEST_GROUPS.format(col='groups')}, :set_spec)")
        return " AND ".join(clauses)

    @staticmethod
    def _params(snap: Snapshot, sel: Selection) -> dict[str, object]:
        return {
            "max_id": snap.max_bag_id,
            "max_del": snap.max_deleted_at,
            "lower": sel.lower,
            "upper": sel.upper,
            "set_spec": sel.set_spec,
        }

    def count(self, conn: sqlite3.Connection, snap: Snapshot, sel: Selection) -> int:
        """How many records the list has (its completeListSize)."""
        params = self._params(snap, sel)
        live_sql = f"SELECT COUNT(*) FROM bags b WHERE {self._live_where(sel)}"
        total = conn.execute(live_sql, params).fetchone()[0]
        if self.has_tombstones and snap.max_deleted_at:
            total += conn.execute(
                f"SELECT COUNT(*) FROM tombstones t WHERE {self._dead_where(sel)}", params
            ).fetchone()[0]
        return int(total)

    def page(
        self,
        conn: sqlite3.Connection,
        snap: Snapshot,
        sel: Selection,
        after: Position | None,
        limit: int,
    ) -> list[Item]:
        """Up to ``limit`` records after ``after`` in (time, kind, tie) order."""
        params = self._params(snap, sel)
        params["limit"] = limit
        live_where = self._live_where(sel)
        if after is not None:
            stamp, kind, tie = after
            params.update(p_stamp=stamp, p_id=int(tie) if kind == 0 else 0)
            if kind == 0:
                live_where += (" AND b.created >= :p_stamp AND (b.created > :p_stamp OR b.id > :p_id)")
            else:  # after a tombstone: bags at the same instant sort before tombstones
                live_where += " AND b.created > :p_stamp"
        items: list[Item] = [
            Item(r["identifier"], seconds(r["created"]), False, tuple(json.loads(r["groups"])), r["path"],
                 (r["created"], 0, f"{r['id']:012d}"))
            for r in conn.execute(
                "SELECT b.id, b.identifier, b.path, b.groups, b.created FROM bags b"
                f" WHERE {live_where} ORDER BY b.created, b.id LIMIT :limit",
                params,
            )
        ]
        if self.has_tombstones and snap.max_deleted_at:
            dead_where = self._dead_where(sel)
            if after is not None:
                stamp, kind, tie = after
                params.update(p_stamp=stamp, p_key=tie if kind == 1 else "")
                dead_where += (
                    " AND t.deleted_at >= :p_stamp AND (t.deleted_at > :p_stamp OR t.id_key > :p_key)"
                )
            sql = (
                "SELECT t.id_key, t.identifier, t.deleted_at,"
                f" {_LATEST_GROUPS.format(col='groups')} AS groups,"
                f" {_LATEST_GROUPS.format(col='path')} AS path,"
                f" {_LATEST_GROUPS.format(col='identifier')} AS bag_identifier"
                f" FROM tombstones t WHERE {dead_where} ORDER BY t.deleted_at, t.id_key LIMIT :limit"
            )
            for r in conn.execute(sql, params):
                items.append(
                    Item(r["bag_identifier"] or r["identifier"], seconds(r["deleted_at"]), True,
                         tuple(json.loads(r["groups"])) if r["groups"] else (), r["path"],
                         (r["deleted_at"], 1, r["id_key"]))
                )
            items.sort(key=lambda item: item.position)
        return items[:limit]
