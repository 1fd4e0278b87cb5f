"""Appending events from a thread of its own, on a connection of its own.

An audit receives verdicts from its workers while it records them. Committing a group
of events (SQLite writes its WAL and syncs it) takes milliseconds in which the caller
would otherwise neither read verdicts nor hand out work. :class:`EventAppender` does the
commits on a background thread (SQLite lets go of the GIL while it writes and syncs),
so the two overlap. Durability is unchanged: a group is committed as soon as the
thread gets to it, and :meth:`EventAppender.close` returns only once every group
handed over is committed.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Sequence
from pathlib import Path

from stook.errors import StookError
from stook.ledger.db import LedgerDB
from stook.ledger.events import insert_event_rows
from stook.ledger.model import Event, EventRow, event_row


class EventAppender:
    """Commits groups of events, in the order handed over, each in one transaction.

    An error met while committing (a full disk, a lock held too long) is raised by the
    next :meth:`submit` and by :meth:`close`; the group that met it and every later one
    are not recorded. Always :meth:`close` it (or use it as a context manager): the
    thread is a daemon, so a caller that dies without closing never hangs the process,
    but the groups not yet committed are then lost, as an unflushed buffer would be.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.committed = 0  # events committed so far
        # each group: events to turn into rows on this thread, or rows the caller made
        self._groups: queue.SimpleQueue[tuple[list[Event], list[EventRow]] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._finished = False
        self._thread = threading.Thread(target=self._run, name="stook-event-appender", daemon=True)
        self._thread.start()

    def submit(self, events: Sequence[Event]) -> None:
        """Hand over a group of events to be committed together."""
        self._put(list(events), [])

    def submit_rows(self, rows: Sequence[EventRow]) -> None:
        """Hand over a group of events already turned into rows (:func:`stook.ledger.event_row`)."""
        self._put([], list(rows))

    def _put(self, events: list[Event], rows: list[EventRow]) -> None:
        if self._error is not None:
            raise self._error
        if self._finished:
            raise RuntimeError("events handed over after finish()")
        if events or rows:
            self._groups.put((events, rows))

    def finish(self) -> None:
        """No more groups: the thread commits what it holds, then tidies the WAL (a checkpoint
        that the last connection to close would otherwise do, in the caller's time)."""
        if not self._finished:
            self._finished = True
            self._groups.put(None)

    def close(self) -> None:
        """Wait until every group handed over is committed; raise what went wrong, if anything."""
        self.finish()
        self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        db: LedgerDB | None = None
        try:
            while (item := self._groups.get()) is not None:
                if self._error is not None:
                    continue  # nothing after a failed group is recorded
                events, rows = item
                try:
                    if db is None:
                        db = LedgerDB(self.path, read_only=False)
                    rows = rows or [event_row(e) for e in events]
                    with db.transaction() as conn:
                        insert_event_rows(conn, rows)
                    self.committed += len(rows)
                except BaseException as exc:  # raised again in the caller's thread
                    self._error = exc
            if db is not None and self._error is None:
                with contextlib.suppress(StookError):  # only tidying: SQLite checkpoints later anyway
                    db.checkpoint()
        finally:
            if db is not None:
                db.close()

    def __enter__(self) -> EventAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
