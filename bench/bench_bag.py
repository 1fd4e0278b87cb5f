"""Bagging throughput: stook (durable, group commit) beside a loop of bagit.make_bag.

Both write the same payload (the example's record, text and attachment, with varied
identifiers) with the same algorithm (sha512). stook makes each batch durable with
one filesystem sync and records it in the ledger; bagit-python never syncs.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import bagit

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


def bench_stook(requests: list[BagRequest], work: Path, batch: int) -> float:
    store_path = work / f"stook-{batch}"
    start = time.perf_counter()
    with Store.open(store_path, create=True) as store:
        for i in range(0, len(requests), batch):
            store.add_many(requests[i : i + batch])
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


def run(count: int = 2000, batch: int = 100) -> dict[str, Any]:
    requests = _requests(count)
    with tempfile.TemporaryDirectory(prefix="stook-bench-") as tmp:
        work = Path(tmp)
        bagit_s = bench_bagit(requests, work)
        stook_s = bench_stook(requests, work, batch)
        single = requests[: min(200, count)]
        stook_one_s = bench_stook(single, work, 1)
    result = {
        "bags": count,
        "stook_bags_per_s": count / stook_s,
        "bagit_bags_per_s": count / bagit_s,
        "ratio": bagit_s / stook_s,
        "stook_one_per_commit_bags_per_s": len(single) / stook_one_s,
    }
    print(
        f"bag    {count} bags: stook {result['stook_bags_per_s']:.0f} bags/s (batch {batch}, durable)"
        f" | bagit-python make_bag {result['bagit_bags_per_s']:.0f} bags/s"
        f" | ratio {result['ratio']:.1f}x (target >= 3x)"
        f" | stook one bag per commit {result['stook_one_per_commit_bags_per_s']:.0f} bags/s"
    )
    return result


if __name__ == "__main__":
    run()
