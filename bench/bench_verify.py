"""Validation throughput: stook verify beside bagit-python's validate and the hashing limit.

(a) 2,000 small record bags: per-bag overhead dominates; stook beside a loop of
    bagit-python ``Bag.validate()`` (target >= 4x).
(b) one bag of 1 GiB in 64 files: hashing dominates; stook with 2 workers beside
    bagit-python with ``processes=2`` and beside the hashing limit, i.e. raw hashlib
    sha512 throughput measured in this run times the cores used (target >= 0.9).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import bagit
from bench_bag import _requests

from stook.bagwriter import PayloadItem
from stook.store import BagRequest, Store
from stook.verify import verify_bag

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


def small_bags(count: int, work: Path) -> dict[str, float]:
    with Store.open(work / "small", create=True) as store:
        bags = [r.path for r in store.add_many(_requests(count))]
    start = time.perf_counter()
    for bag in bags:
        assert verify_bag(bag).valid
    stook_s = time.perf_counter() - start
    start = time.perf_counter()
    for bag in bags:
        bagit.Bag(str(bag)).validate()
    bagit_s = time.perf_counter() - start
    return {"bags": count, "stook_s": stook_s, "bagit_s": bagit_s, "ratio": bagit_s / stook_s}


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
    limit = _hashlib_rate(payload) * cores
    start = time.perf_counter()
    result = verify_bag(bag, workers=cores)
    stook_s = time.perf_counter() - start
    assert result.valid
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
    with tempfile.TemporaryDirectory(prefix="stook-bench-verify-") as tmp:
        small = small_bags(count, Path(tmp))
        large = large_bag(total_mb, files, Path(tmp), cores)
    print(
        f"verify {count} small bags: stook {count / small['stook_s']:.0f} bags/s"
        f" | bagit-python validate {count / small['bagit_s']:.0f} bags/s"
        f" | ratio {small['ratio']:.1f}x (target >= 4x)"
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
