"""SIGKILL during an OCFL export at random moments: the root is valid for ocfl-py every time."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.ocfl_helpers import version_request
from support.ocfl_oracle import validate_root

from stook.ocfl.inventory import read_inventory
from stook.ocfl.layout import open_root
from stook.ocfl.validate import verify_ocfl
from stook.store import Store

ROUNDS = 6  # kills per phase: while objects are created, then while they get new versions
PER_ROUND = 4  # records added before each kill of the first phase

# Exports every record, one object per batch (a sync and a swap each), printing a line
# after each object so the test can kill it inside the work on a later one.
DRIVER = """
import sys
from pathlib import Path
from stook.ocfl.writer import OcflExportOptions, export_ocfl
from stook.store import Store
with Store.open(sys.argv[1]) as store:
    options = OcflExportOptions(Path(sys.argv[2]), all_records=True, batch=1)
    export_ocfl(store, options, progress=lambda n: print("object", flush=True))
print("finished", flush=True)
"""


def _export(store_path: Path, root: Path, rng: random.Random | None, objects: int = 0) -> None:
    """Run the export to its end (``rng`` None) or SIGKILL it at a random moment of its work."""
    proc = subprocess.Popen([sys.executable, "-c", DRIVER, str(store_path), str(root)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    assert proc.stdout is not None
    if rng is None:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0 and "finished" in out, err
        return
    done = rng.randint(0, max(0, objects - 2))
    for _ in range(done):
        if not proc.stdout.readline():
            break
    # An object takes a few milliseconds (verify, stage, sync, swap); before the first one
    # the interpreter starts and the root is created.
    time.sleep(rng.uniform(0, 0.006) if done else rng.uniform(0.05, 0.3))
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def _check(root: Path, store_path: Path, objects_at_least: int) -> int:
    """The root is absent or valid, for ocfl-py and for stook; each object's head is a store version."""
    if not (root / "0=ocfl_1.1").exists():
        assert objects_at_least == 0 and not root.exists(), "a root without its declaration"
        return 0
    valid, messages = validate_root(root)
    assert valid, messages
    ours = verify_ocfl(root)
    assert ours.valid, [f.to_dict() for o in [ours, *ours.objects] for f in o.errors]
    assert {f.code for f in ours.warnings} <= {"unfinished-export"}
    assert len(ours.objects) >= objects_at_least, "an object went missing"
    with Store.open(store_path) as store:
        for child in ours.objects:
            inventory, _ = read_inventory(open_root(root).object_dir(child.id or ""))
            assert 1 <= len(inventory.versions) <= len(store.versions(inventory.id))
    return len(ours.objects)


def test_kill_during_export_always_leaves_a_valid_root(tmp_path: Path) -> None:
    store_path, root = tmp_path / "store", tmp_path / "ocfl"
    rng = random.Random(20261206)
    identifiers: list[str] = []
    seen = 0
    store = Store.open(store_path, create=True)
    try:
        for round_ in range(ROUNDS):  # objects being created
            for n in range(PER_ROUND):
                identifiers.append(f"wcda:kill-{round_}-{n}")
                store.add(version_request(identifiers[-1], 1, ("sha512", "md5")))
            _export(store_path, root, rng, len(identifiers) - seen)
            seen = _check(root, store_path, seen)
        _export(store_path, root, None)
        assert _check(root, store_path, len(identifiers)) == len(identifiers)
        for round_ in range(ROUNDS):  # objects being swapped for their updated copies
            for identifier in identifiers:
                store.add(version_request(identifier, round_ + 2, ("sha512", "md5")))
            _export(store_path, root, rng, len(identifiers))
            _check(root, store_path, len(identifiers))
        _export(store_path, root, None)
        _check(root, store_path, len(identifiers))
        for identifier in identifiers:
            inventory, _ = read_inventory(open_root(root).object_dir(identifier))
            assert len(inventory.versions) == len(store.versions(identifier)) == ROUNDS + 1
    finally:
        store.close()
    assert not (root / "extensions" / "stook-staging").exists()
