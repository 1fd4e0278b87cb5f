"""Audit throughput: ``stook audit`` beside bagit-python and beside raw hashing.

Two stores are built in a temporary directory:

* *small*: ``n_bags`` record bags (a record, a text, a small attachment): ``stook audit``
  run as a user runs it, one subprocess with text output, against a loop of bagit-python
  ``Bag(path).validate()`` over the same bags in one process (target: stook at least 4x
  faster);
* *large*: ``large_bytes`` in ``large_files`` files spread over ``large_bags`` bags:
  stook's audit against the hashing limit measured in the same run, raw ``hashlib``
  sha512 over the same files with the same number of processes (target: >= 0.9).

Each side is measured twice, in mirrored order (A B B A), and the seconds reported are the
sums: a slow spell of this shared machine then weighs on both alike.

``run()`` returns the numbers as a dict; ``python bench/bench_audit.py`` prints them.
Sizes can be lowered for a quick look: STOOK_BENCH_BAGS=200 STOOK_BENCH_LARGE_MB=64.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import bagit
from userenv import STOOK, compile_stook, user_env
from workdirs import workdir

from stook.audit import AuditOptions, run_audit
from stook.bagwriter import PayloadItem
from stook.store import BagRequest, Store

CHUNK = 1 << 20
TEXT = ("A letter about the harvest, the weather and the archive's new shelves. " * 30).encode()


def _small_requests(start: int, count: int) -> list[BagRequest]:
    out = []
    for n in range(start, start + count):
        record = {"identifier": f"urn:bench:small-{n:06d}", "title": f"Bench record {n}"}
        out.append(
            BagRequest(
                record=record,
                payload=[
                    PayloadItem("text.txt", data=TEXT + str(n).encode()),
                    PayloadItem("files/note.bin", data=os.urandom(4096)),
                ],
            )
        )
    return out


def build_small(root: Path, n_bags: int, batch: int = 250) -> list[Path]:
    with Store.open(root, create=True) as store:
        paths: list[Path] = []
        for start in range(0, n_bags, batch):
            results = store.add_many(_small_requests(start, min(batch, n_bags - start)))
            paths.extend(r.path for r in results)
    return paths


def build_large(root: Path, work: Path, total: int, files: int, bags: int) -> list[Path]:
    """``files`` files of ``total // files`` random bytes each, bagged into ``bags`` bags."""
    size = total // files
    sources = []
    block = os.urandom(CHUNK)
    for i in range(files):
        path = work / f"part-{i:03d}.bin"
        with open(path, "wb") as fh:
            left = size
            counter = 0
            while left > 0:
                piece = (counter.to_bytes(8, "big") + block)[: min(CHUNK, left)]
                fh.write(piece)
                left -= len(piece)
                counter += 1
        sources.append(path)
    per_bag = max(1, files // bags)
    requests = []
    for b in range(bags):
        chunk = sources[b * per_bag : (b + 1) * per_bag] if b < bags - 1 else sources[b * per_bag :]
        record = {"identifier": f"urn:bench:large-{b}", "title": f"Large bench bag {b}"}
        requests.append(
            BagRequest(record=record, payload=[PayloadItem(f"files/{p.name}", source=p) for p in chunk])
        )
    with Store.open(root, create=True) as store:
        results = store.add_many(requests)
    for p in sources:
        p.unlink()
    return [r.path for r in results]


def _sha512_file(path: str) -> int:
    h = hashlib.sha512()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    total = 0
    with open(path, "rb", buffering=0) as fh:
        while n := fh.readinto(buf):
            h.update(view[:n])
            total += n
    return total


def hash_limit(files: list[str], workers: int) -> tuple[float, int]:
    """Seconds and bytes to sha512 ``files`` with ``workers`` processes (largest first)."""
    ordered = sorted(files, key=lambda p: -os.path.getsize(p))
    started = time.perf_counter()
    if workers == 1:
        total = sum(_sha512_file(p) for p in ordered)
    else:
        with ProcessPoolExecutor(max_workers=workers) as pool:
            total = sum(pool.map(_sha512_file, ordered, chunksize=max(1, len(ordered) // (workers * 8))))
    return time.perf_counter() - started, total


def _files(bags: list[Path]) -> list[str]:
    return [str(p) for b in bags for p in b.rglob("*") if p.is_file()]


def _audit(root: Path, workers: int) -> tuple[float, Any]:
    with Store.open(root) as store:
        started = time.perf_counter()
        result = run_audit(store, AuditOptions(workers=workers))
        elapsed = time.perf_counter() - started
    if result.failed or result.missing or result.errors:
        raise RuntimeError(f"bench store did not audit clean: {result.summary()}")
    return elapsed, result


def _audit_command(root: Path, workers: int) -> tuple[float, int]:
    """Seconds for ``stook audit`` as a subprocess, and how many bags it says it checked."""
    started = time.perf_counter()
    done = subprocess.run([STOOK, "audit", "--store", str(root), "--workers", str(workers)],
                          capture_output=True, text=True, check=False, env=user_env())
    elapsed = time.perf_counter() - started
    checked = re.search(r"audit: (\d+) bags checked", done.stdout)
    if done.returncode != 0 or checked is None:
        raise RuntimeError(f"bench store did not audit clean: {done.stdout[-2000:]}{done.stderr}")
    return elapsed, int(checked.group(1))


def run(
    n_bags: int = 2000,
    large_bytes: int = 1 << 30,
    large_files: int = 64,
    large_bags: int = 4,
    workers: int | None = None,
) -> dict[str, Any]:
    """Build both stores, time stook audit, bagit-python and raw sha512; return the numbers."""
    workers = workers or os.cpu_count() or 1
    out: dict[str, Any] = {"workers": workers}
    with nullcontext(str(workdir("audit-"))) as tmp:
        base = Path(tmp)
        small = build_small(base / "small", n_bags)
        compile_stook()
        # ABBA: each tool measured twice, in mirrored order, so that a slow spell of
        # this shared machine weighs on both alike
        audit_s, checked = _audit_command(base / "small", workers)
        bagit_s = 0.0
        for _ in range(2):
            started = time.perf_counter()
            for bag_dir in small:
                bagit.Bag(str(bag_dir)).validate()
            bagit_s += time.perf_counter() - started
        again_s, _ = _audit_command(base / "small", workers)
        audit_s += again_s
        floor_s, small_bytes = hash_limit(_files(small), 1)
        out["small"] = {
            "bags": n_bags,
            "bytes": small_bytes,
            "stook_audit_s": round(audit_s, 3),
            "bagit_validate_loop_s": round(bagit_s, 3),
            "raw_sha512_1proc_s": round(floor_s, 3),
            "stook_bags_per_s": round(2 * n_bags / audit_s, 1),
            "bagit_bags_per_s": round(2 * n_bags / bagit_s, 1),
            "ratio_vs_bagit": round(bagit_s / audit_s, 2),
            "target_ratio_vs_bagit": 4.0,
            "events_recorded": checked,
        }
        (base / "work").mkdir()
        large = build_large(base / "large", base / "work", large_bytes, large_files, large_bags)
        files = _files(large)
        hash_limit(files, workers)  # warm the page cache so both sides read from memory
        limit1_s, _ = hash_limit(files, 1)
        # ABBA again: the hashing limit and the audit, each twice in mirrored order
        limit_s, limit_bytes = hash_limit(files, workers)
        audit_s, result = _audit(base / "large", workers)
        again_s, _ = _audit(base / "large", workers)
        audit_s += again_s
        limit2_s, _ = hash_limit(files, workers)
        limit_s += limit2_s
        audit_rate = 2 * result.bytes_hashed / audit_s
        limit_rate = 2 * limit_bytes / limit_s
        out["large"] = {
            "bags": large_bags,
            "files": large_files,
            "bytes": result.bytes_hashed,
            "stook_audit_s": round(audit_s, 3),
            "raw_sha512_s": round(limit_s, 3),
            "raw_sha512_1proc_s": round(limit1_s, 3),
            "stook_mb_per_s": round(audit_rate / 1e6, 1),
            "hash_limit_mb_per_s": round(limit_rate / 1e6, 1),
            "ratio_vs_hash_limit": round(audit_rate / limit_rate, 3),
            "target_ratio_vs_hash_limit": 0.9,
        }
    small, large = out["small"], out["large"]
    print(
        f"audit  {small['bags']} small bags, stook audit as a subprocess ({workers} workers):"
        f" {small['ratio_vs_bagit']}x a bagit-python validate loop"
        f" (target >= {small['target_ratio_vs_bagit']}x)"
    )
    print(
        f"audit  {large['bytes'] >> 20} MiB in {large['files']} files: {large['stook_mb_per_s']} MB/s,"
        f" hashing limit {large['hash_limit_mb_per_s']} MB/s, ratio {large['ratio_vs_hash_limit']}"
        f" (target >= {large['target_ratio_vs_hash_limit']})"
    )
    return out


def main() -> int:
    n_bags = int(os.environ.get("STOOK_BENCH_BAGS", "2000"))
    large_mb = int(os.environ.get("STOOK_BENCH_LARGE_MB", "1024"))
    result = run(n_bags=n_bags, large_bytes=large_mb << 20)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
