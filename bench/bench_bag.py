"""Bagging throughput: stook (durable, group commit) beside a loop of bagit.make_bag.

Both write the same payload (the example's record, text and attachment, with varied
identifiers) with the same algorithm (sha512). stook validates every record, makes each
batch durable with one filesystem sync and records it in the ledger, checking and
building the next batch in worker processes meanwhile (``Store.add_batches``, as a
harvest does); bagit-python validates nothing and never syncs.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import bagit
from workdirs import workdir

from stook.manual import ManualBagOptions, manual_bag_request
from stook.record import canonical_json
from stook.store import BagRequest, Store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wilson-115179" / "record.yaml"


def _requests(count: int) -> list[BagRequest]:
    base = manual_bag_request(EXAMPLE, ManualBagOptions())
    out = []
    for n in range(count):
        record = json.loads(json.dumps(base.record))
        record["identifier"] = f"wcda:bench-{n}"
        out.append(BagRequest(record=record, payload=base.payload))
    return out


def bench_stook(requests: list[BagRequest], store: Store, batch: int) -> float:
    """Seconds for stook to store ``requests`` in batches (each batch durable, then committed)."""
    batches = [requests[i : i + batch] for i in range(0, len(requests), batch)]
    start = time.perf_counter()
    for _results in store.add_batches(batches):
        pass
    return time.perf_counter() - start


def bench_bagit(requests: list[BagRequest], work: Path) -> float:
    target = work / "bagit"
    target.mkdir()
    start = time.perf_counter()
    for n, request in enumerate(requests):
        bag_dir = target / f"bag-{n}"
        (bag_dir / "files").mkdir(parents=True)
        (bag_dir / "record.json").write_bytes(canonical_json(request.record))
        for item in request.payload:
            dest = bag_dir.joinpath(*item.path.split("/"))
            if item.data is not None:
                dest.write_bytes(item.data)
            else:
                assert item.source is not None
                shutil.copyfile(item.source, dest)
        bagit.make_bag(
            str(bag_dir),
            {"External-Identifier": request.record["identifier"]},
            checksums=["sha512"],
        )
    return time.perf_counter() - start


def run(count: int = 2000, batch: int = 100, rounds: int = 2) -> dict[str, Any]:
    """Both tools write ``count`` bags in ``rounds`` slices, taking turns (AB, BA, ...).

    File creation speed here drifts with what the filesystem did in the last minutes
    (see workdirs.py), so neither tool gets all the quiet or all the noisy moments.
    """
    requests = _requests(count)
    work = workdir("bag-")
    size = -(-count // rounds)
    slices = [requests[i : i + size] for i in range(0, count, size)]
    stook_s = bagit_s = 0.0
    start = time.perf_counter()
    store = Store.open(work / "stook", create=True)  # kept open, as a harvest keeps it
    stook_s += time.perf_counter() - start
    with store:
        for n, chunk in enumerate(slices):
            (work / f"bagit-{n}").mkdir()
            for tool in ("bagit", "stook") if n % 2 == 0 else ("stook", "bagit"):
                # Untimed: write back what the other tool left unsynced, so that stook's
                # durability sync is not charged for bagit-python's dirty pages.
                os.sync()
                if tool == "bagit":
                    bagit_s += bench_bagit(chunk, work / f"bagit-{n}")
                else:
                    stook_s += bench_stook(chunk, store, batch)
        single = _requests(min(200, count))
        for r in single:
            r.record["identifier"] += "-single"
        start = time.perf_counter()
        for request in single:
            store.add(request)
        stook_one_s = time.perf_counter() - start
    result = {
        "bags": count,
        "stook_bags_per_s": count / stook_s,
        "bagit_bags_per_s": count / bagit_s,
        "ratio": bagit_s / stook_s,
        "stook_one_per_commit_bags_per_s": len(single) / stook_one_s,
    }
    print(
        f"bag    {count} bags: stook {result['stook_bags_per_s']:.0f} bags/s (batches of {batch}, durable)"
        f" | bagit-python make_bag {result['bagit_bags_per_s']:.0f} bags/s"
        f" | ratio {result['ratio']:.1f}x (target >= 3x)"
        f" | stook one bag per commit {result['stook_one_per_commit_bags_per_s']:.0f} bags/s"
    )
    return result


if __name__ == "__main__":
    from workdirs import settle

    settle()
    run()
