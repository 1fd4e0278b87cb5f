"""OCFL export: stook's ``export --format ocfl`` beside ocfl-py writing the same versions.

The store holds 2,000 records bagged from the bundled example (record, text and
attachment), a quarter of them in a second version whose text and attachment are
unchanged. stook verifies every bag in full, writes each object in staging, makes
each batch durable with one filesystem sync and swaps the objects in; ocfl-py
(``Object.create`` for v1, ``Object.add_version_with_content`` for v2, sha512 with
the same fixity algorithm) copies the same bags into objects at the same 0004 paths,
verifying nothing and syncing nothing. Each tool writes half of the records first in
one half and last in the other (AB, BA), into roots of its own.
"""

from __future__ import annotations

import json
import logging
import os
import time
from pathlib import Path
from typing import Any

import ocfl
from workdirs import workdir

from stook.ledger import BagVersion
from stook.manual import ManualBagOptions, manual_bag_request
from stook.ocfl.layout import LayoutConfig, create_root
from stook.ocfl.writer import OcflExportOptions, export_ocfl
from stook.store import BagRequest, Store

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wilson-115179" / "record.yaml"


def _store(path: Path, count: int) -> Store:
    base = manual_bag_request(EXAMPLE, ManualBagOptions(algorithms=("sha512", "md5")))
    requests = []
    for n in range(count):
        record = json.loads(json.dumps(base.record))
        record["identifier"] = f"wcda:ocfl-bench-{n}"
        requests.append(BagRequest(record=record, payload=base.payload, algorithms=base.algorithms))
    store = Store.open(path, create=True)
    for start in range(0, count, 200):
        store.add_many(requests[start:start + 200])
    second = []
    for request in requests[::4]:  # a corrected title: a new version, the same text and attachment
        record = json.loads(json.dumps(request.record))
        record["title"] += " (corrected)"
        second.append(BagRequest(record=record, payload=request.payload, algorithms=request.algorithms))
    store.add_many(second)
    return store


def bench_stook(store: Store, root: Path, identifiers: list[str]) -> float:
    start = time.perf_counter()
    summary = export_ocfl(store, OcflExportOptions(root, refs=tuple(identifiers)))
    elapsed = time.perf_counter() - start
    assert summary.ok and summary.counts()["new"] == len(identifiers), summary.counts()
    return elapsed


def bench_ocfl_py(store: Store, root: Path, versions: list[list[BagVersion]]) -> float:
    layout = LayoutConfig()
    # ocfl-py logs every object it writes at INFO on the root logger; keep the bench output to figures
    root_logger = logging.getLogger()
    level = root_logger.level
    root_logger.setLevel(logging.WARNING)
    try:
        return _write_with_ocfl_py(store, root, versions, layout)
    finally:
        root_logger.setLevel(level)


def _write_with_ocfl_py(
    store: Store, root: Path, versions: list[list[BagVersion]], layout: LayoutConfig
) -> float:
    start = time.perf_counter()
    for bags in versions:
        objdir = root / layout.object_path(bags[0].identifier)
        objdir.parent.mkdir(parents=True, exist_ok=True)
        obj = ocfl.Object(identifier=bags[0].identifier, fixity=["md5"])
        for bag in bags:
            metadata = ocfl.VersionMetadata(created=bag.created, message=f"stook version {bag.version}",
                                            name="stook", address="https://stook.dev")
            if bag.version == 1:
                obj.create(srcdir=str(store.bag_path(bag)), metadata=metadata, objdir=str(objdir))
            else:
                obj.add_version_with_content(objdir=str(objdir), srcdir=str(store.bag_path(bag)),
                                             metadata=metadata)
    return time.perf_counter() - start


def run(count: int = 2000) -> dict[str, Any]:
    work = workdir("ocfl-")
    store = _store(work / "store", count)
    with store:
        grouped: dict[str, list[BagVersion]] = {}
        for bag in store.ledger.bags():
            grouped.setdefault(bag.identifier, []).append(bag)
        ids = sorted(grouped)
        halves = [ids[: len(ids) // 2], ids[len(ids) // 2:]]
        stook_s = ocfl_py_s = 0.0
        versions = sum(len(v) for v in grouped.values())
        create_root(work / "stook-root")
        (work / "ocfl-py-root").mkdir()
        for n, half in enumerate(halves):
            for tool in ("stook", "ocfl-py") if n == 0 else ("ocfl-py", "stook"):
                os.sync()  # untimed: neither tool pays for the other's dirty pages
                if tool == "stook":
                    stook_s += bench_stook(store, work / "stook-root", half)
                else:
                    ocfl_py_s += bench_ocfl_py(store, work / "ocfl-py-root", [grouped[i] for i in half])
    result = {
        "records": count,
        "versions": versions,
        "stook_versions_per_s": versions / stook_s,
        "ocfl_py_versions_per_s": versions / ocfl_py_s,
        "ratio": ocfl_py_s / stook_s,
    }
    print(
        f"ocfl   {count} records, {versions} versions: stook export {result['stook_versions_per_s']:.0f}"
        f" versions/s (every bag verified, durable) | ocfl-py Object API"
        f" {result['ocfl_py_versions_per_s']:.0f} versions/s | ratio {result['ratio']:.1f}x"
    )
    return result


if __name__ == "__main__":
    from workdirs import settle

    settle()
    run()
