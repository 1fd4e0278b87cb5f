"""The main job on the bundled example, as `make run` runs it.

1. validate the example record and bag it into the store ``bags/``;
2. serve that store over OAI-PMH on 127.0.0.1 (a free port);
3. harvest it back into a second store, ``bags-harvested/``;
4. audit both stores (full fixity checks, PREMIS events);
5. start ``stook web`` on the store for a few seconds and fetch its pages;
6. print what happened, ending with the path of the example's bag.

Run it again and nothing new is written: the bag is unchanged and the harvest is
incremental. Every step is the library call behind a ``stook`` command.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import bagit

from stook.audit import AuditOptions, run_audit
from stook.cli.render import harvest_line
from stook.errors import StookError
from stook.harvest import HarvestConfig, harvest
from stook.manual import ManualBagOptions, manual_bag_request
from stook.provider import serve_in_thread
from stook.store import Store

ROOT = Path(__file__).resolve().parent.parent
RECORD = ROOT / "examples" / "wilson-115179" / "record.yaml"
STORE_A = ROOT / "bags"
STORE_B = ROOT / "bags-harvested"
# A fixed port keeps the source's URL, so a second run harvests incrementally.
PORT = 18765


def main() -> int:
    request = manual_bag_request(RECORD, ManualBagOptions())
    with Store.open(STORE_A, create=True) as store_a:
        added = store_a.add(request)
    print(f"1. bag       {added.status}: {added.bag.identifier} version {added.bag.version}")
    bagit.Bag(str(added.path)).validate()
    print("             bagit-python: valid")

    try:
        url, stop = serve_in_thread(STORE_A, port=PORT, page_size=50)
    except OSError:  # the port is taken: any free one will do, with a full harvest
        url, stop = serve_in_thread(STORE_A, port=0, page_size=50)
    print(f"2. serve     {STORE_A.name}/ as OAI-PMH at {url}")
    try:
        with Store.open(STORE_B, create=True) as store_b:
            summary = harvest(store_b, HarvestConfig(base_url=url, metadata_prefix="stook", timeout=10))
    finally:
        stop()
    print(f"3. harvest   into {STORE_B.name}/: {harvest_line(summary)}")
    with Store.open(STORE_B) as store_b:
        copy = store_b.latest(added.bag.identifier)
    same = copy is not None and (STORE_B / copy.path / "data" / "record.json").read_bytes() == (
        added.path / "data" / "record.json"
    ).read_bytes()
    print(f"             record.json identical in both stores: {'yes' if same else 'NO'}")

    worst = max(summary.exit_code, 0 if same else 1)
    for number, path in ((4, STORE_A), (5, STORE_B)):
        with Store.open(path) as store:
            result = run_audit(store, AuditOptions(workers=1))
        counts = result.summary()
        print(
            f"{number}. audit     {path.name}/: {counts['checked']} bags checked, {counts['ok']} intact, "
            f"{counts['failed']} failed, {counts['bytes_hashed']} bytes hashed"
        )
        worst = max(worst, result.exit_code)

    worst = max(worst, browse(added.bag.name))
    print(f"\nThe example's bag: {added.path.relative_to(ROOT)}")
    print(f"Its history: .venv/bin/stook history {added.bag.identifier} --store {STORE_A.name}")
    return worst


def browse(name: str) -> int:
    """Start `stook web` (read-only) on the store, fetch its pages, stop it."""
    stook = Path(sys.executable).with_name("stook")
    command = [str(stook), "web", "--store", str(STORE_A), "--port", "0", "--read-only"]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    worst = 0
    try:
        assert server.stdout is not None
        url = server.stdout.readline().strip()
        if not url:
            print("6. web       stook web did not start", file=sys.stderr)
            return 2
        pages = ["records", f"records/{name}", f"records/{name}/history", f"records/{name}/v1/data/text.txt",
                 f"records/{name}/v1/export.zip", "audit"]
        fetched = []
        for page in pages:
            try:
                with urllib.request.urlopen(url + page, timeout=30) as response:
                    size = len(response.read())
                    fetched.append(f"/{page.rsplit('/', 1)[-1]} {response.status} ({size} bytes)")
            except OSError as exc:
                fetched.append(f"/{page} FAILED: {exc}")
                worst = 1
        print(f"6. web       stook web --read-only at {url}: " + ", ".join(fetched))
    finally:
        server.terminate()
        server.wait(timeout=20)
    return worst


if __name__ == "__main__":
    try:
        sys.exit(main())
    except StookError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(exc.exit_code)
