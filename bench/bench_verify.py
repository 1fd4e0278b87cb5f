"""Validation throughput: stook verify beside bagit-python's validate and the hashing limit.

(a) 2,000 small record bags: per-bag overhead dominates; ``stook verify`` over all of
    them (bags spread over one process per core, as the command does) beside a loop of
    bagit-python ``Bag.validate()`` (target >= 4x); stook in one process is printed too.
(b) one bag of 1 GiB in 64 files: hashing dominates; stook with 2 workers beside
    bagit-python with ``processes=2`` and beside the hashing limit, i.e. raw hashlib
    sha512 throughput measured in this run times the cores used (target >= 0.9); the
    limit and stook are each measured twice, in mirrored order.
"""

from __future__ import annotations

import hashlib
import os
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import bagit
from bench_bag import _requests
from workdirs import workdir

from stook.bagwriter import PayloadItem
from stook.store import BagRequest, Store
from stook.verify import verify_bag
from stook.verify.many import verify_bags

CHUNK = 1024 * 1024


def _hashlib_rate(paths: list[Path]) -> float:
    """Bytes per second of one core hashing these files with sha512."""
    total = 0
    start = time.perf_counter()
    for path in paths:
        digest = hashlib.sha512()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
                total += len(chunk)
    return total / (time.perf_counter() - start)


def small_bags(count: int, work: Path, cores: int) -> dict[str, float]:
    with Store.open(work / "small", create=True) as store:
        bags = [r.path for r in store.add_many(_requests(count))]
    # warm the page cache for both tools alike
    for bag in bags:
        bagit.Bag(str(bag))
    def stook() -> float:
        start = time.perf_counter()
        verdicts = list(verify_bags(bags, workers=cores))
        assert all(v.result is not None and v.result.valid for v in verdicts)
        return time.perf_counter() - start

    def peer() -> float:
        start = time.perf_counter()
        for bag in bags:
            bagit.Bag(str(bag)).validate()
        return time.perf_counter() - start

    # ABBA: each tool twice, in mirrored order, so a slow spell weighs on both alike
    stook_s = stook()
    bagit_s = peer() + peer()
    stook_s = (stook_s + stook()) / 2
    bagit_s /= 2
    start = time.perf_counter()
    for bag in bags:
        assert verify_bag(bag).valid
    stook_one_s = time.perf_counter() - start
    return {
        "bags": count,
        "stook_s": stook_s,
        "stook_one_process_s": stook_one_s,
        "bagit_s": bagit_s,
        "ratio": bagit_s / stook_s,
        "ratio_one_process": bagit_s / stook_one_s,
    }


def large_bag(total_mb: int, files: int, work: Path, cores: int) -> dict[str, float]:
    size = total_mb * CHUNK // files
    sources = []
    for n in range(files):
        path = work / f"part-{n:02d}.bin"
        path.write_bytes(os.urandom(size))
        sources.append(path)
    request = BagRequest(
        {"identifier": "bench:large", "title": "large"},
        payload=[PayloadItem(f"files/{p.name}", source=p) for p in sources],
    )
    with Store.open(work / "large", create=True) as store:
        bag = store.add(request).path
    payload = sorted((bag / "data" / "files").iterdir())
    # ABBA: the limit and stook each measured twice, in mirrored order, so that a slow
    # spell of this shared machine weighs on both alike
    first_rate = _hashlib_rate(payload)
    stook_s = 0.0
    for _ in range(2):
        start = time.perf_counter()
        result = verify_bag(bag, workers=cores)
        stook_s += time.perf_counter() - start
        assert result.valid
    stook_s /= 2
    limit = (first_rate + _hashlib_rate(payload)) / 2 * cores
    start = time.perf_counter()
    bagit.Bag(str(bag)).validate(processes=cores)
    bagit_s = time.perf_counter() - start
    nbytes = size * files
    return {
        "bytes": nbytes,
        "stook_mb_s": nbytes / stook_s / CHUNK,
        "bagit_mb_s": nbytes / bagit_s / CHUNK,
        "limit_mb_s": limit / CHUNK,
        "of_limit": (nbytes / stook_s) / limit,
        "vs_bagit": bagit_s / stook_s,
    }


def run(count: int = 2000, total_mb: int = 1024, files: int = 64) -> dict[str, Any]:
    cores = min(2, os.cpu_count() or 1)
    with nullcontext(str(workdir("verify-"))) as tmp:
        small = small_bags(count, Path(tmp), cores)
        large = large_bag(total_mb, files, Path(tmp), cores)
    print(
        f"verify {count} small bags: stook verify ({cores} workers) {count / small['stook_s']:.0f} bags/s"
        f" | bagit-python validate loop {count / small['bagit_s']:.0f} bags/s"
        f" | ratio {small['ratio']:.1f}x (target >= 4x)"
        f" | stook in one process {small['ratio_one_process']:.1f}x"
    )
    print(
        f"verify 1 bag, {total_mb} MiB in {files} files, {cores} cores: stook {large['stook_mb_s']:.0f} MB/s"
        f" | bagit-python processes={cores} {large['bagit_mb_s']:.0f} MB/s ({large['vs_bagit']:.1f}x)"
        f" | hashing limit {large['limit_mb_s']:.0f} MB/s | stook at {large['of_limit']:.2f} of the limit"
        " (target >= 0.9)"
    )
    return {"small": small, "large": large}


if __name__ == "__main__":
    run()
