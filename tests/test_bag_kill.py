"""SIGKILL during `stook bag` at many points: the store and ledger stay consistent."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import assert_bagit_valid

from stook.names import parse_version_dir
from stook.store import TMP_DIR, Store

RECORDS = 40

# Bags every record file given on the command line, one `stook bag` invocation each,
# printing a line after each so the test knows how far it got.
DRIVER = """
import sys
from stook.cli import main
store, files = sys.argv[1], sys.argv[2:]
for path in files:
    try:
        main(["bag", path, "--store", store, "--algorithm", "md5"], standalone_mode=False)
    except SystemExit:
        pass
    print("done", path, flush=True)
"""


def _make_records(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "records"
    folder.mkdir()
    text = ("Record of conversation. " * 400).encode()
    paths = []
    for n in range(RECORDS):
        (folder / f"text-{n}.txt").write_bytes(text + str(n).encode())
        record = {
            "identifier": f"wcda:kill-{n}",
            "title": f"Record {n}",
            "content": [{"path": f"text-{n}.txt", "kind": "text"}],
        }
        path = folder / f"r{n}.json"
        path.write_text(json.dumps(record), encoding="utf-8")
        paths.append(path)
    return paths


def _check_consistent(store_path: Path) -> set[str]:
    """Reopen (which recovers), then check every invariant a crash must not break."""
    with Store.open(store_path) as store:
        assert store.ledger.pending() == []
        bags = store.ledger.bags()
        known = {b.path for b in bags}
        for bag in bags:
            assert_bagit_valid(store_path / bag.path)
            kinds = [e.type for e in store.ledger.events(bag=bag.path)]
            assert sorted(kinds) == ["ing", "mes", "val"], (bag.path, kinds)
        ids = [b.identifier for b in bags]
        assert len(ids) == len(set(ids)), "a record was stored twice"
    assert not any((store_path / TMP_DIR).iterdir())
    on_disk = {
        f"{d.parent.name}/{d.name}"
        for d in store_path.glob("*/v*")
        if d.is_dir() and parse_version_dir(d.name)
    }
    assert on_disk == known, "bags on disk and in the ledger differ"
    return set(ids)


def test_kill_during_bag_at_many_points_leaves_store_consistent(tmp_path: Path) -> None:
    records = _make_records(tmp_path)
    store_path = tmp_path / "store"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    rng = random.Random(20261127)
    done: set[str] = set()
    for round_ in range(6):
        remaining = [p for p in records if f"wcda:kill-{p.stem[1:]}" not in done]
        proc = subprocess.Popen(
            [sys.executable, "-c", DRIVER, str(store_path), *map(str, remaining)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        assert proc.stdout is not None
        target = rng.randint(1, 4)
        for _ in range(target):
            if not proc.stdout.readline():
                break
        time.sleep(rng.uniform(0, 0.015))  # land somewhere inside the next bag
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        done = _check_consistent(store_path)
        assert len(done) >= round_ + 1
    finish = subprocess.run(
        [sys.executable, "-c", DRIVER, str(store_path), *map(str, records)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert finish.returncode == 0, finish.stderr
    final = _check_consistent(store_path)
    assert final == {f"wcda:kill-{n}" for n in range(RECORDS)}
    with Store.open(store_path) as store:
        assert all(b.version == 1 for b in store.ledger.bags())
