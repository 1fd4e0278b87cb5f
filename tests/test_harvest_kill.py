"""SIGKILL `stook harvest` at random points, resume each time: nothing lost, nothing twice."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from conftest import assert_bagit_valid
from support.servers import pyoai_server
from support.synthetic import record_identifier

from stook.ledger import LEDGER_FILE
from stook.names import parse_version_dir
from stook.store import QUARANTINE_DIR, TMP_DIR, Store

RECORDS = 600
BATCH = 20
DELETED_EVERY = 30
RUN = "import sys; from stook.cli import main; main(sys.argv[1:], prog_name='stook')"


def _pages_done(store_path: Path) -> int:
    """Checkpointed pages, read the way any other reader would (WAL allows it mid-write)."""
    ledger = store_path / LEDGER_FILE
    if not ledger.exists():
        return 0
    try:
        conn = sqlite3.connect(str(ledger), timeout=5)
        try:
            row = conn.execute("SELECT pages_done, resumption_token FROM harvest_state").fetchone()
        finally:
            conn.close()
    except sqlite3.OperationalError:  # the harvester has not created the tables yet
        return 0
    return int(row[0]) if row and row[1] else 0


def _start(url: str, store_path: Path) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-c", RUN, "harvest", url, "--store", str(store_path), "--json",
           "--max-wait", "1"]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    rng = random.Random(20261127)
    store_path = tmp_path / "store"
    deleted = {record_identifier(i) for i in range(DELETED_EVERY - 1, RECORDS, DELETED_EVERY)}
    expected = {record_identifier(i) for i in range(RECORDS)} - deleted
    killed_mid_harvest = 0
    with pyoai_server(RECORDS, batch_size=BATCH, deleted_every=DELETED_EVERY) as (url, _provider):
        for attempt in range(12):  # at least 5; more while a busy machine lets attempts finish
            if attempt >= 5 and killed_mid_harvest >= 2:
                break
            before = _pages_done(store_path)
            proc = _start(url, store_path)
            if attempt % 2 == 0:
                # kill once K more pages are checkpointed, after a random few milliseconds
                target = before + rng.randint(1, 3)
                deadline = time.monotonic() + 30
                while _pages_done(store_path) < target and proc.poll() is None:
                    assert time.monotonic() < deadline, "the harvest made no progress"
                    time.sleep(0.01)
                time.sleep(rng.uniform(0, 0.15))
            else:
                # anywhere: start-up, a page, a commit; but before the last pages, which a
                # harvest that starts fast can reach in that time
                wake = time.monotonic() + rng.uniform(0.2, 1.2)
                while (time.monotonic() < wake and proc.poll() is None
                       and _pages_done(store_path) < RECORDS // BATCH - 3):
                    time.sleep(0.01)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
            proc.communicate(timeout=30)
            if proc.returncode == -signal.SIGKILL and 0 < _pages_done(store_path) < RECORDS // BATCH:
                killed_mid_harvest += 1

        # an attempt may outrun its kill and finish: then there is nothing left to resume
        resumable = _pages_done(store_path) > 0
        final = _start(url, store_path)
        out, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    summary = json.loads(out)
    assert summary["complete"] is True
    assert summary["resumed"] is resumable
    assert killed_mid_harvest >= 2

    with Store.open(store_path) as store:
        assert store.ledger.pending() == []
        bags = store.ledger.bags()
        assert Counter(b.identifier for b in bags) == Counter(expected)  # each exactly once
        assert {b.version for b in bags} == {1}
        for bag in bags:
            assert_bagit_valid(store.bag_path(bag))
        captures = Counter(e.identifier for e in store.ledger.events(types=["cap"]))
        assert captures == Counter(expected)
        deaccessions = Counter(e.identifier for e in store.ledger.events(types=["dea"]))
        assert deaccessions == Counter(deleted)
        assert {t["identifier"] for t in store.ledger.tombstones()} == deleted
        state = store.ledger.connection.execute("SELECT * FROM harvest_state").fetchone()
        assert state["resumption_token"] is None and state["last_response_date"]
    assert list((store_path / TMP_DIR).iterdir()) == []
    assert not (store_path / QUARANTINE_DIR).exists()
    on_disk = {f"{d.parent.name}/{d.name}" for d in store_path.glob("*/v*") if parse_version_dir(d.name)}
    assert on_disk == {b.path for b in bags}
