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

import queue
import threading
from collections.abc import Sequence
from pathlib import Path

from stook.ledger.db import LedgerDB
from stook.ledger.events import insert_event_rows
from stook.ledger.model import Event, event_row


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
        self._groups: queue.SimpleQueue[list[Event] | None] = queue.SimpleQueue()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stook-event-appender", daemon=True)
        self._thread.start()

    def submit(self, events: Sequence[Event]) -> None:
        """Hand over a group of events to be committed together."""
        if self._error is not None:
            raise self._error
        if events:
            self._groups.put(list(events))

    def close(self) -> None:
        """Wait until every group handed over is committed; raise what went wrong, if anything."""
        if self._thread.is_alive():
            self._groups.put(None)
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        db: LedgerDB | None = None
        try:
            while (group := self._groups.get()) is not None:
                if self._error is not None:
                    continue  # nothing after a failed group is recorded
                try:
                    if db is None:
                        db = LedgerDB(self.path, read_only=False)
                    with db.transaction() as conn:
                        insert_event_rows(conn, [event_row(e) for e in group])
                    self.committed += len(group)
                except BaseException as exc:  # raised again in the caller's thread
                    self._error = exc
        finally:
            if db is not None:
                db.close()

    def __enter__(self) -> EventAppender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
