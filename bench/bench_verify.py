"""Validation throughput: stook verify beside bagit-python's validate and raw hashlib.

Two shapes of store matter: many small bags (per-bag overhead dominates) and a bag of a
few large files (hashing dominates, where raw hashlib sha512 is the floor).
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


def _hash_all(paths: list[Path]) -> None:
    for path in paths:
        digest = hashlib.sha512()
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)


def _payload_files(bags: list[Path]) -> list[Path]:
    return [p for bag in bags for p in (bag / "data").rglob("*") if p.is_file()]


def _measure(bags: list[Path]) -> dict[str, float]:
    files = _payload_files(bags)
    t = time.perf_counter()
    _hash_all(files)
    raw = time.perf_counter() - t
    t = time.perf_counter()
    for bag in bags:
        assert verify_bag(bag).valid
    stook = time.perf_counter() - t
    t = time.perf_counter()
    for bag in bags:
        bagit.Bag(str(bag)).validate()
    ref = time.perf_counter() - t
    return {"stook_s": stook, "bagit_s": ref, "hashlib_s": raw}


def run(small_bags: int = 1000, large_mb: int = 256) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stook-bench-verify-") as tmp:
        work = Path(tmp)
        with Store.open(work / "small", create=True) as store:
            results = store.add_many(_requests(small_bags))
        small = [r.path for r in results]
        big_file = work / "big.bin"
        with open(big_file, "wb") as handle:
            for _ in range(large_mb):
                handle.write(os.urandom(CHUNK))
        request = BagRequest(
            {"identifier": "bench:large", "title": "large"},
            payload=[
                PayloadItem("files/a.bin", source=big_file),
                PayloadItem("files/b.bin", source=big_file),
            ],
        )
        with Store.open(work / "large", create=True) as store:
            large = [store.add(request).path]
        small_t = _measure(small)
        large_t = _measure(large)
    out = {"small": small_t, "large": large_t}
    print(
        f"verify {small_bags} small bags: stook {small_bags / small_t['stook_s']:.0f} bags/s"
        f" | bagit-python {small_bags / small_t['bagit_s']:.0f} bags/s"
        f" | ratio {small_t['bagit_s'] / small_t['stook_s']:.1f}x"
    )
    mb = 2 * large_mb
    print(
        f"verify 1 bag of 2x{large_mb} MB: stook {mb / large_t['stook_s']:.0f} MB/s"
        f" | bagit-python {mb / large_t['bagit_s']:.0f} MB/s"
        f" | raw hashlib sha512 {mb / large_t['hashlib_s']:.0f} MB/s"
        f" | stook/bagit {large_t['bagit_s'] / large_t['stook_s']:.1f}x"
        f" | stook/hashlib {large_t['hashlib_s'] / large_t['stook_s']:.2f}x"
    )
    return out


if __name__ == "__main__":
    run()
