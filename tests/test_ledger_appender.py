"""Events committed from a background thread: in order, all of them by close, and an error
that reaches the caller (with nothing after it recorded)."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest

from stook.errors import LedgerError, ReadOnlyStore
from stook.ledger import Event, Ledger, event_row


def _event(n: int, uuid: str | None = None) -> Event:
    extra = {"uuid": uuid} if uuid else {}
    return Event("fix", "suc", f"rec:{n}", 1, f"rec-{n}/v1", detail=f"check {n}",
                 data={"mode": "full"}, **extra)


def test_groups_are_committed_in_order_and_all_by_close(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        with ledger.appender() as appender:
            for start in range(0, 300, 100):
                appender.submit([_event(n) for n in range(start, start + 100)])
        assert appender.committed == 300
        recorded = [e.identifier for e in ledger.events(types=["fix"])]
        assert recorded == [f"rec:{n}" for n in range(300)]
        # the fixity table follows the appended fix events, as for any other append
        assert len(ledger.fixity_rows()) == 300


def test_a_failed_commit_is_raised_and_nothing_after_it_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        taken = _event(0)
        ledger.record_events([taken])
        appender = ledger.appender()
        appender.submit([_event(1)])
        appender.submit([_event(2, uuid=taken.uuid)])  # the same identifier again: refused
        appender.submit([_event(3)])
        with pytest.raises(LedgerError, match=str(path)):
            appender.close()
        with pytest.raises(LedgerError):
            appender.submit([_event(4)])
        assert [e.identifier for e in ledger.events()] == ["rec:0", "rec:1"]


def test_a_read_only_ledger_has_no_appender(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    with Ledger(path, read_only=True) as ledger, pytest.raises(ReadOnlyStore):
        ledger.appender()


def test_rows_made_by_the_caller_are_committed_like_events(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        appender = ledger.appender()
        appender.submit([_event(0)])
        appender.submit_rows([event_row(_event(n)) for n in (1, 2)])
        appender.close()
        assert appender.committed == 3
        assert [e.identifier for e in ledger.events()] == ["rec:0", "rec:1", "rec:2"]
        assert ledger.fixity_rows()["rec-2/v1"].last_outcome == "suc"


def test_finish_commits_the_rest_and_leaves_the_log_checkpointed(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        appender = ledger.appender()
        appender.submit_rows([event_row(_event(n)) for n in range(500)])
        appender.finish()  # returns at once; the thread commits, then checkpoints
        with pytest.raises(RuntimeError):
            appender.submit([_event(500)])
        appender.close()
        assert appender.committed == 500
        # every event is already in the ledger file itself, not only in its write-ahead
        # log: a copy of the file alone holds them all
        copy = tmp_path / "copy.sqlite"
        shutil.copyfile(path, copy)
        with sqlite3.connect(copy) as conn:
            assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == 500
