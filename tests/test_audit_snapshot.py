"""An audit sees one consistent picture of the store, even while a harvest writes to it.

A version is reserved in the ledger before its directory is renamed into place, so an
audit that lists the disk first and then reads the ledger in one snapshot knows every
directory it saw. Read the other way round, a bag committed in between looks like a
directory the ledger never ingested, and a false ``unknown-bag`` failure would enter the
append-only log for good.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from support.servers import pyoai_server
from support.transfer_helpers import simple_request

from stook.audit import AuditOptions, plan_audit, run_audit, scan_store
from stook.store import Store

RUN = "import sys; from stook.cli import main; main(sys.argv[1:], prog_name='stook')"


def test_a_bag_committed_while_the_disk_is_listed_is_not_unknown(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Store.open(root, create=True) as store:
        store.add(simple_request("rec:0"))

        def listing_while_a_writer_commits() -> set[str]:
            with Store.open(root) as writer:  # another process would do the same
                writer.add(simple_request("rec:1"))
            return scan_store(root)

        plan = plan_audit(store, AuditOptions(), listing=listing_while_a_writer_commits)
    assert plan.unknown == []
    assert sorted(b.identifier for b in plan.due) == ["rec:0", "rec:1"]


def test_sixty_audits_during_a_harvest_report_no_false_failure(tmp_path: Path) -> None:
    root = tmp_path / "store"
    with Store.open(root, create=True) as store:
        store.add(simple_request("rec:seed"))
    audits = overlapped = 0
    failures: list[str] = []
    with pyoai_server(3000, batch_size=10) as (url, _provider):
        harvest = subprocess.Popen(
            [sys.executable, "-c", RUN, "harvest", url, "--store", str(root), "--json"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        try:
            deadline = time.monotonic() + 120
            while audits < 60 and time.monotonic() < deadline:
                running = harvest.poll() is None
                with Store.open(root) as store:
                    result = run_audit(store, AuditOptions(fast=True, workers=1, limit=50))
                audits += 1
                overlapped += running and harvest.poll() is None
                failures += [f"{b.bag}: {b.status} {[p.code for p in b.problems]}"
                             for b in result.bags if b.status != "ok"]
        finally:
            harvest.kill()
            harvest.communicate()
    assert audits == 60
    assert overlapped >= 20, f"only {overlapped} audits ran while the harvest wrote"
    assert failures == []
