"""The ledger's SQLite connection: opening (also read-only), migrations, transactions,
and one translation of SQLite's errors into stook's.

Every query of the ledger goes through :class:`Guarded`, so a damaged page, a full
disk, a lock held too long or a read-only filesystem reaches the user as one line
naming the ledger file and what to do, never as a raw ``sqlite3`` traceback.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from stook.durable import free_bytes
from stook.errors import LedgerDamaged, LedgerError, NoSpace, ReadOnlyStore
from stook.ledger.migrations import LATEST, MIGRATIONS, statements

# SQLite primary result codes (https://sqlite.org/rescode.html)
_BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _NOTADB = 5, 6, 8, 10, 11, 13, 14, 26
# Below this much free space, an I/O error on the ledger is taken for a full disk: SQLite
# reports a full disk met while growing its shared-memory or journal file as an I/O error.
_NEARLY_FULL = 1 << 20


def ledger_error(exc: sqlite3.Error, path: Path) -> LedgerError | ReadOnlyStore | NoSpace:
    """The stook error for an SQLite error on the ledger at ``path``."""
    text = str(exc)
    code = getattr(exc, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    store = path.parent
    if primary in (_CORRUPT, _NOTADB) or "malformed" in text or "not a database" in text:
        return LedgerDamaged(
            f"{path}: the ledger is damaged ({text})",
            path=path,
            hint=f"see what is readable with: stook ledger check --store {store}; "
            f"then rebuild it from the bags with: stook ledger rebuild --store {store}",
        )
    free = free_bytes(store) if primary in (_IOERR, _CANTOPEN) or "I/O error" in text else None
    if primary == _FULL or "disk is full" in text or (free is not None and free < _NEARLY_FULL):
        return NoSpace(
            f"{path}: no space left on the filesystem holding the ledger ({text}"
            + (f"; {free} bytes free" if free is not None else "") + "); nothing was recorded",
            path=path,
            hint="free some space and run the command again",
        )
    if primary == _READONLY or "readonly" in text or "read-only" in text:
        return ReadOnlyStore(
            f"{store}: the store is read-only ({text}); this step needs to write to its ledger",
            path=store,
        )
    if primary in (_BUSY, _LOCKED) or "locked" in text:
        return LedgerError(
            f"{path}: the ledger stayed locked by another process ({text})",
            path=path,
            hint="wait for the other stook process to finish and try again",
        )
    return LedgerError(f"{path}: the ledger cannot be used: {text}", path=path)


class Cursor:
    """A cursor whose errors (also while rows are being fetched) are stook errors."""

    __slots__ = ("_cursor", "_path")

    def __init__(self, cursor: sqlite3.Cursor, path: Path) -> None:
        self._cursor = cursor
        self._path = path

    def fetchone(self) -> Any:
        try:
            return self._cursor.fetchone()
        except sqlite3.Error as exc:
            raise ledger_error(exc, self._path) from exc

    def fetchall(self) -> list[Any]:
        try:
            return self._cursor.fetchall()
        except sqlite3.Error as exc:
            raise ledger_error(exc, self._path) from exc

    def __iter__(self) -> Iterator[Any]:
        while True:
            try:
                rows = self._cursor.fetchmany(512)
            except sqlite3.Error as exc:
                raise ledger_error(exc, self._path) from exc
            if not rows:
                return
            yield from rows

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount


class Guarded:
    """The ledger's connection, translating every SQLite error (see :func:`ledger_error`)."""

    __slots__ = ("raw", "path")

    def __init__(self, raw: sqlite3.Connection, path: Path) -> None:
        self.raw = raw
        self.path = path

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        try:
            return Cursor(self.raw.execute(sql, params), self.path)
        except sqlite3.Error as exc:
            raise ledger_error(exc, self.path) from exc

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        try:
            return Cursor(self.raw.executemany(sql, rows), self.path)
        except sqlite3.Error as exc:
            raise ledger_error(exc, self.path) from exc


def writable(path: Path) -> bool:
    """Whether the ledger at ``path`` (and its directory, for the WAL files) can be written."""
    if not os.access(path.parent, os.W_OK):
        return False
    return not path.exists() or os.access(path, os.W_OK)


def _connect(path: Path, read_only: bool) -> sqlite3.Connection:
    if not read_only:
        raw = sqlite3.connect(str(path), timeout=30, isolation_level=None)
        raw.row_factory = sqlite3.Row
        raw.execute("PRAGMA journal_mode=WAL")
        raw.execute("PRAGMA synchronous=FULL")
        raw.execute("PRAGMA foreign_keys=ON")
        return raw
    uri = "file:" + quote(os.fspath(path.absolute()))
    try:
        raw = sqlite3.connect(uri + "?mode=ro", uri=True, timeout=30, isolation_level=None)
        raw.execute("PRAGMA user_version").fetchone()
    except sqlite3.OperationalError:
        # A WAL ledger on a read-only filesystem cannot be opened normally (SQLite
        # wants to create its shared-memory file): nothing can write it there, so it
        # is read as immutable.
        raw = sqlite3.connect(uri + "?immutable=1", uri=True, timeout=30, isolation_level=None)
    raw.row_factory = sqlite3.Row
    return raw


class LedgerDB:
    """One open ledger file: the connection, its migrations and its transactions."""

    def __init__(self, path: Path, *, read_only: bool | None = None) -> None:
        self.path = path
        self.read_only = not writable(path) if read_only is None else read_only
        if self.read_only and not path.exists():
            raise ReadOnlyStore(f"{path.parent}: the store is read-only and has no ledger", path=path.parent)
        try:
            raw = _connect(path, self.read_only)
        except sqlite3.Error as exc:
            raise ledger_error(exc, path) from exc
        self.conn = Guarded(raw, path)
        try:
            self._migrate()
        except BaseException:
            raw.close()
            raise

    def close(self) -> None:
        self.conn.raw.close()

    def checkpoint(self) -> None:
        """Copy what the write-ahead log holds into the ledger file, without waiting for
        readers (a passive checkpoint). The last connection to close does this anyway; done
        early on a background thread, that close has almost nothing left to do."""
        self.conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    @property
    def connection(self) -> sqlite3.Connection:
        """The raw connection, for tests that inspect tables; stook's own code never uses it."""
        return self.conn.raw

    def schema_version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        current = self.schema_version()
        if current > LATEST:
            raise LedgerError(
                f"{self.path}: the ledger is at schema version {current}, newer than this "
                f"stook understands ({LATEST}); upgrade stook",
                path=self.path,
            )
        if current < LATEST and self.read_only:
            raise ReadOnlyStore(
                f"{self.path.parent}: the ledger is at schema version {current} and must be upgraded "
                f"to {LATEST}, which needs write access; run any stook command on it once with write "
                "access",
                path=self.path.parent,
            )
        for number, step in MIGRATIONS:
            if number <= current:
                continue
            with self.transaction() as conn:
                if isinstance(step, str):
                    for statement in statements(step):
                        conn.execute(statement)
                else:
                    try:
                        step(conn.raw)
                    except sqlite3.Error as exc:
                        raise ledger_error(exc, self.path) from exc
                conn.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[Guarded]:
        """An immediate (write-locking) transaction: all of it is committed, or none.

        When the body or the COMMIT fails, the error that caused it is what the caller
        sees: a ROLLBACK that fails in turn (SQLite may already have rolled back, as on
        a full disk) never hides it.
        """
        if self.read_only:
            raise ReadOnlyStore(
                f"{self.path.parent}: the store is read-only; this step needs to write to its ledger",
                path=self.path.parent,
            )
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self._rollback()
            raise
        try:
            self.conn.raw.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise ledger_error(exc, self.path) from exc

    @contextmanager
    def snapshot(self) -> Iterator[Guarded]:
        """A read transaction: every query inside sees the ledger as of one instant."""
        self.conn.execute("BEGIN")
        try:
            yield self.conn
        finally:
            with contextlib.suppress(sqlite3.Error):
                self.conn.raw.execute("COMMIT")

    def _rollback(self) -> None:
        if self.conn.raw.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self.conn.raw.execute("ROLLBACK")

    def integrity_problems(self) -> list[str]:
        """SQLite's own integrity check: empty when the file is sound."""
        rows = self.conn.execute("PRAGMA integrity_check").fetchall()
        found = [str(row[0]) for row in rows]
        return [] if found == ["ok"] else found
