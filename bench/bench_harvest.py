"""Harvest throughput and memory: stook beside plain sickle and a sickle+jsonschema+bagit script.

All three read the same records from the ``oaipmh`` (pyoai) provider running in its
own process on loopback (batch 100). stook does the whole job: Identify, crosswalk,
validation, bagging, durable group commit per page, checkpoint. Peer (a) is plain
sickle iterating the records (no validation, no bags): the floor set by the
provider and XML parsing. Peer (b) is the script an archivist would write first:
sickle, a record dict from sickle's metadata (identifier, title, dc: smaller than
stook's record), ``jsonschema.validate(record, schema)`` per record as the jsonschema
README shows it, ``bagit.make_bag`` per record, nothing synced. Peer (b') is the same
script with the validator built once (what the jsonschema docs advise for many
instances), printed too so the headline ratio cannot flatter stook. Peak RSS of a
stook harvest is measured in a fresh subprocess at 10,000 records and, with
``big=True``, 100,000.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from contextlib import nullcontext
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from support.servers import pyoai_subprocess  # noqa: E402
from userenv import STOOK, compile_stook, user_env  # noqa: E402
from workdirs import workdir  # noqa: E402

BATCH = 100
SCRIPT_RECORDS = 1_000

# Run in a child so the peak RSS is the harvest's alone (ru_maxrss is in KiB on Linux): the
# harvesting process's peak plus that of its largest build worker.
_RSS_CHILD = """
import json, resource, sys, time
from stook.harvest import HarvestConfig, harvest
from stook.store import Store
url, store_path = sys.argv[1], sys.argv[2]
start = time.perf_counter()
with Store.open(store_path, create=True) as store:
    summary = harvest(store, HarvestConfig(url))
elapsed = time.perf_counter() - start
# the store is closed: its build workers have ended, so the largest one counts as a child
own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
try:  # Linux keeps the pre-exec peak (the bench process's, as forked) in ru_maxrss: VmHWM is ours
    with open("/proc/self/status") as status:
        own = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
worker = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"records": summary.records, "new": summary.new, "seconds": elapsed,
                  "peak_rss_kib": own + worker, "own_kib": own, "worker_kib": worker}))
"""


def bench_stook(url: str, work: Path) -> tuple[float, int]:
    """``stook harvest`` as a user runs it: one subprocess, end to end."""
    start = time.perf_counter()
    out = subprocess.run([STOOK, "harvest", url, "--store", str(work / "stook"), "--json"],
                         check=True, capture_output=True, text=True, env=user_env()).stdout
    elapsed = time.perf_counter() - start
    return elapsed, int(json.loads(out)["new"])


def bench_add_batches(work: Path) -> tuple[float, int]:
    """The pipeline's own floor: the records the harvest bagged (record, source XML, text),
    stored again with ``Store.add_batches`` in batches of one page, nothing fetched."""
    from stook.bagwriter import PayloadItem
    from stook.store import BagRequest, Store

    batch: list[BagRequest] = []
    batches: list[list[BagRequest]] = []
    with Store.open(work / "stook") as store:
        for bag in store.ledger.bags():
            data = store.bag_path(bag) / "data"
            payload = [PayloadItem("source/record.xml", data=(data / "source" / "record.xml").read_bytes())]
            if (data / "text.txt").exists():
                payload.append(PayloadItem("text.txt", data=(data / "text.txt").read_bytes()))
            batch.append(BagRequest(record=json.loads((data / "record.json").read_bytes()), payload=payload))
            if len(batch) == BATCH:
                batches.append(batch)
                batch = []
    if batch:
        batches.append(batch)
    start = time.perf_counter()
    with Store.open(work / "again", create=True) as store:
        count = sum(len(results) for results in store.add_batches(batches))
    return time.perf_counter() - start, count


def bench_sickle(url: str) -> tuple[float, int]:
    from sickle import Sickle

    start = time.perf_counter()
    count = 0
    for record in Sickle(url).ListRecords(metadataPrefix="oai_dc"):
        if not record.deleted:
            count += 1
    return time.perf_counter() - start, count


def bench_script(url: str, work: Path, *, tuned: bool = False, limit: int | None = None) -> tuple[float, int]:
    import bagit
    import jsonschema
    from sickle import Sickle

    from stook.schema import record_schema

    schema = record_schema()
    validate = jsonschema.Draft202012Validator(schema).validate if tuned else (
        lambda doc: jsonschema.validate(doc, schema)
    )
    target = work / ("script-tuned" if tuned else "script")
    target.mkdir()
    start = time.perf_counter()
    count = 0
    for n, record in enumerate(Sickle(url).ListRecords(metadataPrefix="oai_dc")):
        if limit is not None and count >= limit:
            break
        if record.deleted:
            continue
        metadata = record.metadata
        doc = {
            "identifier": record.header.identifier,
            "title": (metadata.get("title") or [record.header.identifier])[0],
            "dc": {k: [{"value": v or ""} for v in values] for k, values in metadata.items()
                   if k in _DC},
            "record_source": {"method": "harvest", "base_url": url,
                              "oai_identifier": record.header.identifier,
                              "datestamp": record.header.datestamp},
        }
        validate(doc)
        bag_dir = target / f"bag-{n}"
        bag_dir.mkdir()
        (bag_dir / "record.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        (bag_dir / "record.xml").write_text(record.raw, encoding="utf-8")
        bagit.make_bag(str(bag_dir), {"External-Identifier": record.header.identifier}, checksums=["sha512"])
        count += 1
    return time.perf_counter() - start, count


_DC = {"title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
       "format", "identifier", "source", "language", "relation", "coverage", "rights"}


def peak_rss(records: int, work: Path) -> dict[str, Any]:
    with pyoai_subprocess(records, batch=BATCH) as url:
        out = subprocess.run(
            [sys.executable, "-c", _RSS_CHILD, url, str(work / f"rss-{records}")],
            check=True, capture_output=True, text=True,
        ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def run(records: int = 10_000, big: bool = False) -> dict[str, Any]:
    """Throughput at ``records``; peak RSS at 10,000 (and 100,000 when ``big``)."""
    with nullcontext(str(workdir("harvest-"))) as tmp:
        work = Path(tmp)
        with pyoai_subprocess(records, batch=BATCH) as url:
            sickle_s, sickle_n = bench_sickle(url)
            # jsonschema.validate checks the schema itself on every call (~70 ms): its rate
            # is the same on any stretch of records, so 1,000 keep `make bench` short
            script_s, script_n = bench_script(url, work, limit=min(records, SCRIPT_RECORDS))
            tuned_s, tuned_n = bench_script(url, work, tuned=True)
            compile_stook()
            stook_s, stook_n = bench_stook(url, work)
        floor_s, floor_n = bench_add_batches(work)
        rss = {"10000": peak_rss(10_000, work)}
        if big:
            rss["100000"] = peak_rss(100_000, work)
    result: dict[str, Any] = {
        "records": records,
        "script_records": script_n,
        "stook_records_per_s": stook_n / stook_s,
        "sickle_records_per_s": sickle_n / sickle_s,
        "script_records_per_s": script_n / script_s,
        "script_tuned_records_per_s": tuned_n / tuned_s,
        "ratio_vs_script": (stook_n / stook_s) / (script_n / script_s),
        "ratio_vs_script_tuned": (stook_n / stook_s) / (tuned_n / tuned_s),
        "ratio_vs_sickle": (stook_n / stook_s) / (sickle_n / sickle_s),
        "add_batches_records_per_s": floor_n / floor_s,
        "ratio_vs_add_batches": (stook_n / stook_s) / (floor_n / floor_s),
        "peak_rss_mib": {k: v["peak_rss_kib"] / 1024 for k, v in rss.items()},
    }
    if big:
        result["rss_ratio_100k_vs_10k"] = rss["100000"]["peak_rss_kib"] / rss["10000"]["peak_rss_kib"]
    rss_text = ", ".join(f"{k} records {v:.0f} MiB" for k, v in result["peak_rss_mib"].items())
    print(
        f"harvest {records} records (batch {BATCH}): stook harvest (subprocess) "
        f"{result['stook_records_per_s']:.0f} rec/s (validated, bagged, durable) "
        f"| plain sickle {result['sickle_records_per_s']:.0f} rec/s "
        f"| sickle+jsonschema.validate+make_bag {result['script_records_per_s']:.0f} rec/s "
        f"| same, validator built once {result['script_tuned_records_per_s']:.0f} rec/s "
        f"| Store.add_batches of the same records {result['add_batches_records_per_s']:.0f} rec/s "
        f"| ratio vs script {result['ratio_vs_script']:.2f}x, "
        f"vs tuned script {result['ratio_vs_script_tuned']:.2f}x (target >= 2x), "
        f"vs add_batches {result['ratio_vs_add_batches']:.2f} (target >= 0.85), "
        f"vs plain sickle {result['ratio_vs_sickle']:.2f}x"
    )
    line = f"harvest peak RSS: {rss_text}"
    if big:
        line += f" | 100k/10k {result['rss_ratio_100k_vs_10k']:.2f}x (target <= 1.2x)"
    print(line)
    return result


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--big", action="store_true", help="also measure peak RSS at 100,000 records")
    opts = parser.parse_args()
    run(opts.records, big=opts.big)
