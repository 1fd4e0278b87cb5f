"""ListRecords throughput: `stook serve` beside the `oaipmh` package's own server.

Both serve the same synthetic records (tests/support/synthetic.py, seed 0) as oai_dc,
100 per page, each in its own subprocess on 127.0.0.1; one client (requests + lxml,
the same code for both) walks the whole list. stook's figure is given cold (first
harvest: every bag's record.json read and rendered) and warm (rendered fragments
cached; bag versions never change).
"""

from __future__ import annotations

import sys
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import requests
from lxml import etree
from support.servers import pyoai_subprocess, url_subprocess
from support.synthetic import SyntheticRecord, make_records
from workdirs import workdir

from stook.store import BagRequest, Store

OAI = "{http://www.openarchives.org/OAI/2.0/}"
PAGE = 100


def _record(r: SyntheticRecord) -> dict[str, Any]:
    """The synthetic record as a stook record whose `dc` block reproduces its oai_dc."""
    dc: dict[str, list[dict[str, str]]] = {}
    for element, value, lang in r.dc:
        dc.setdefault(element, []).append({"value": value, **({"lang": lang} if lang else {})})
    titles = r.values("title")
    return {
        "identifier": r.identifier,
        "title": titles[0] if titles and titles[0].strip() else r.identifier,
        "record_source": {"method": "manual", "set_specs": list(r.sets)},
        "dc": dc,
        "dc_order": [element for element, _v, _l in r.dc],
    }


def _build_store(path: Path, n: int) -> None:
    records = make_records(n, seed=0)
    with Store.open(path, create=True) as store:
        for start in range(0, n, 500):
            store.add_many([BagRequest(_record(r)) for r in records[start : start + 500]])


def _stook_subprocess(store: Path) -> AbstractContextManager[str]:
    cmd = [sys.executable, "-c", "from stook.cli import main; main()", "serve", "--store", str(store)]
    cmd += ["--port", "0", "--page-size", str(PAGE), "--threads", "4"]
    return url_subprocess(cmd, what="stook serve")


def _harvest(url: str) -> tuple[int, float]:
    """Records harvested and seconds taken for one full ListRecords oai_dc walk."""
    session = requests.Session()
    params: dict[str, str] = {"verb": "ListRecords", "metadataPrefix": "oai_dc"}
    count = 0
    start = time.perf_counter()
    while True:
        response = session.get(url, params=params, timeout=120)
        response.raise_for_status()
        root = etree.fromstring(response.content)
        listing = root.find(f"{OAI}ListRecords")
        if listing is None:
            raise RuntimeError(f"{url}: no ListRecords in the response: {response.content[:300]!r}")
        count += len(listing.findall(f"{OAI}record"))
        token = listing.findtext(f"{OAI}resumptionToken")
        if not token:
            break
        params = {"verb": "ListRecords", "resumptionToken": token}
    return count, time.perf_counter() - start


def run(records: int = 3000) -> dict[str, Any]:
    with nullcontext(str(workdir("provider-"))) as tmp:
        store = Path(tmp) / "store"
        t = time.perf_counter()
        _build_store(store, records)
        build_s = time.perf_counter() - t
        with _stook_subprocess(store) as url:
            n_cold, cold_s = _harvest(url)
            n_warm, warm_s = _harvest(url)
        with pyoai_subprocess(records, batch=PAGE) as url:
            _harvest(url)  # let it build its cached selection once, as stook's cache is warmed
            n_peer, peer_s = min(_harvest(url), _harvest(url), key=lambda x: x[1])
    if not n_cold == n_warm == n_peer == records:
        raise RuntimeError(f"harvests disagree: stook {n_cold}/{n_warm}, oaipmh {n_peer}, expected {records}")
    out = {
        "records": records,
        "page_size": PAGE,
        "store_build_s": build_s,
        "stook_cold_rps": records / cold_s,
        "stook_warm_rps": records / warm_s,
        "oaipmh_rps": records / peer_s,
        "ratio_cold": peer_s / cold_s,
        "ratio_warm": peer_s / warm_s,
    }
    print(
        f"ListRecords oai_dc, {records} records, {PAGE}/page over loopback: "
        f"stook serve {out['stook_cold_rps']:.0f} rec/s cold, {out['stook_warm_rps']:.0f} rec/s warm"
        f" | oaipmh server {out['oaipmh_rps']:.0f} rec/s"
        f" | ratio {out['ratio_cold']:.1f}x cold, {out['ratio_warm']:.1f}x warm"
    )
    return out
