"""Validation throughput: stook verify beside bagit-python's validate and the hashing limit.

(a) 2,000 small record bags made by bagit-python (BagIt 0.97, sha512): per-bag overhead
    and start-up dominate; ``stook verify BAG...`` run as a user runs it, one subprocess
    over all of them (one worker process per core, text output), beside a loop of
    bagit-python ``Bag(path).validate()`` in one process (target >= 4x).
(b) one bag of 1 GiB in 64 files: hashing dominates; stook with 2 workers beside
    bagit-python with ``processes=2`` and beside the hashing limit, i.e. raw hashlib
    sha512 throughput measured in this run times the cores used (target >= 0.9); the
    limit and stook are each measured twice, in mirrored order.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import bagit
from userenv import STOOK, compile_stook, user_env
from workdirs import workdir

from stook.bagwriter import PayloadItem
from stook.record import canonical_json, read_record_file
from stook.store import BagRequest, Store
from stook.verify import verify_bag

CHUNK = 1024 * 1024
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "wilson-115179" / "record.yaml"


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


def _bagit_bags(count: int, root: Path) -> list[str]:
    """``count`` small bags made by bagit-python (BagIt 0.97, sha512): the example's record,
    text and captured page, with a different identifier in each."""
    record = json.loads(canonical_json(read_record_file(EXAMPLE)))
    text = (EXAMPLE.parent / "text.txt").read_bytes()
    page = (EXAMPLE.parent / "files" / "wilson-center-page.md").read_bytes()
    root.mkdir()
    bags = []
    for n in range(count):
        bag = root / f"bag-{n:05d}"
        (bag / "files").mkdir(parents=True)
        record["identifier"] = f"wcda:bench-{n}"
        (bag / "record.json").write_bytes(canonical_json(record))
        (bag / "text.txt").write_bytes(text)
        (bag / "files" / "wilson-center-page.md").write_bytes(page)
        bagit.make_bag(str(bag), {"Source-Organization": "stook bench"}, checksums=["sha512"])
        bags.append(str(bag))
    return bags


def small_bags(count: int, work: Path, cores: int) -> dict[str, float]:
    """``stook verify BAG...`` as a user runs it (one subprocess, text output) beside a loop of
    bagit-python ``Bag(path).validate()`` in one process."""
    bags = _bagit_bags(count, work / "small")
    # warm the page cache for both tools alike
    for bag in bags:
        bagit.Bag(bag)
    compile_stook()

    def stook() -> float:
        start = time.perf_counter()
        done = subprocess.run([STOOK, "verify", "--workers", str(cores), *bags],
                              capture_output=True, text=True, check=False, env=user_env())
        elapsed = time.perf_counter() - start
        lines = done.stdout.splitlines()
        assert done.returncode == 0 and len(lines) == count, done.stderr
        assert all(line.startswith("VALID ") for line in lines)
        return elapsed

    def peer() -> float:
        start = time.perf_counter()
        for bag in bags:
            bagit.Bag(bag).validate()
        return time.perf_counter() - start

    # ABBA: each tool twice, in mirrored order, so a slow spell weighs on both alike
    stook_s = stook()
    bagit_s = peer() + peer()
    stook_s = (stook_s + stook()) / 2
    bagit_s /= 2
    return {
        "bags": count,
        "stook_verify_subprocess_s": stook_s,
        "bagit_s": bagit_s,
        "ratio": bagit_s / stook_s,
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
        f"verify {count} small bagit-python bags: stook verify as a subprocess ({cores} workers)"
        f" {count / small['stook_verify_subprocess_s']:.0f} bags/s"
        f" | bagit-python validate loop {count / small['bagit_s']:.0f} bags/s"
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
