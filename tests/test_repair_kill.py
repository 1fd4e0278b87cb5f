"""SIGKILL during `stook repair` at random moments: the bag is all old or all repaired.

Each round damages the bag (a flipped byte in a large attachment, a lost text), starts
a repair from the partner's copy in a subprocess and kills it after a random delay
within the time a whole repair takes. After every kill the store is opened again
(which clears ``.tmp``) and must hold the bag either exactly as damaged or exactly
as intact; a full verify and an audit must agree with that, and the ledger may only
say it was recovered if it was.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from conftest import tree_bytes
from support.transfer_helpers import simple_request

from stook.audit import AuditOptions, run_audit
from stook.bagwriter import PayloadItem
from stook.store import TMP_DIR, Store
from stook.transfer import ExportOptions, export_bags
from stook.verify import verify_bag

ROUNDS = 14
ID = "local:scan-1"
SCAN = "data/files/scan.tif"
TEXT = "data/text.txt"

DRIVER = """
import sys
from stook.repair import repair
from stook.store import Store
print("ready", flush=True)
with Store.open(sys.argv[1]) as store:
    result = repair(store, sys.argv[2], None, sys.argv[3])
print(result.status, flush=True)
"""


def _damage(bag: Path) -> None:
    scan = bag / SCAN
    data = bytearray(scan.read_bytes())
    data[len(data) // 2] ^= 0xFF
    scan.write_bytes(bytes(data))
    (bag / TEXT).unlink()


def _restore_damage(bag: Path, damaged: dict[str, bytes]) -> None:
    """Put the bag back exactly as damaged (new files: nothing shared with the repaired ones)."""
    for rel in tree_bytes(bag).keys() - damaged.keys():
        (bag / rel).unlink()
    for rel, data in damaged.items():
        if (bag / rel).read_bytes() != data:
            (bag / rel).unlink()
            (bag / rel).write_bytes(data)


def _start(store: Path, partner: Path) -> tuple[subprocess.Popen[str], float]:
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(store), ID, str(partner)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc, time.monotonic()


def _judge(store_root: Path, bag: Path, damaged: dict[str, bytes], intact: dict[str, bytes],
           recoveries_before: int) -> tuple[str, int]:
    """Check the store after a round; return which state the bag is in, and the recoveries."""
    with Store.open(store_root) as store:  # opening clears what the killed repair left in .tmp
        assert store.ledger.pending() == []
        assert not list((store_root / TMP_DIR).iterdir())
        now = tree_bytes(bag)
        assert now in (damaged, intact), "the bag is neither all old nor all repaired"
        state = "repaired" if now == intact else "old"
        assert verify_bag(bag).valid is (state == "repaired")
        [audited] = run_audit(store, AuditOptions(workers=1)).bags
        assert audited.status == ("ok" if state == "repaired" else "failed"), audited.problems
        recoveries = [e for e in store.ledger.events(types=["rec"])]
    if len(recoveries) > recoveries_before:
        assert state == "repaired", "the ledger records a recovery that did not happen"
    return state, len(recoveries)


def test_sigkill_at_random_moments_leaves_the_old_bag_or_the_repaired_one(tmp_path: Path) -> None:
    store_root = tmp_path / "store"
    request = simple_request(ID, "Record of conversation.\n" * 200)
    request.payload = [*request.payload, PayloadItem("files/scan.tif", data=os.urandom(12 * 1024 * 1024))]
    with Store.open(store_root, create=True) as store:
        bag = store.add(request).path
        [out] = export_bags([ID], ExportOptions(to=tmp_path / "partner", format="dir"), store)
    assert out.destination is not None
    partner = out.destination
    intact = tree_bytes(bag)
    _damage(bag)
    damaged = tree_bytes(bag)

    # one repair left alone, to learn how long a whole one takes here
    proc, started = _start(store_root, partner)
    out_text, err = proc.communicate(timeout=120)
    whole = time.monotonic() - started
    assert proc.returncode == 0 and out_text.strip() == "repaired", err
    state, recoveries = _judge(store_root, bag, damaged, intact, 0)
    assert state == "repaired" and recoveries == 1

    rng = random.Random(int.from_bytes(os.urandom(4), "little"))
    seen = {"old": 0, "repaired": 0, "finished": 0}
    for _ in range(ROUNDS):
        _restore_damage(bag, damaged)
        assert tree_bytes(bag) == damaged
        proc, started = _start(store_root, partner)
        time.sleep(rng.uniform(0, whole * 1.1))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        else:
            seen["finished"] += 1
        proc.communicate(timeout=60)
        state, recoveries = _judge(store_root, bag, damaged, intact, recoveries)
        seen[state] += 1
    # killed often enough to mean something, and the store never lied
    assert seen["old"] + seen["repaired"] == ROUNDS
    assert seen["finished"] < ROUNDS, seen
    shutil.rmtree(tmp_path / "partner")
