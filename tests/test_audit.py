"""Store fixity audit: real stores, real damage, the real verify engine, the real ledger."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import bagit
import pytest
from click.testing import CliRunner

from stook.audit import (
    AuditOptions,
    AuditResult,
    BagAudit,
    BagTask,
    FixHistory,
    PlainCheck,
    check_bag,
    judge,
    make_jobs,
    make_tasks,
    parse_duration,
    plan_audit,
    run_audit,
)
from stook.bagwriter import PayloadItem
from stook.cli import main
from stook.errors import UsageError
from stook.executor import InlineExecutor, ProcessExecutor, open_executor
from stook.ledger import LEDGER_FILE, MIGRATIONS, Event, Ledger
from stook.names import bag_name
from stook.store import BagRequest, Store

TEXT = "The text of the record, kept as written.\n" * 20
ATTACHMENT = bytes(range(256)) * 64  # 16 KiB


def _request(n: int, *, size: int = 0) -> BagRequest:
    ident = f"urn:test:audit-{n:04d}"
    payload = [PayloadItem("text.txt", data=f"{TEXT}#{n}\n".encode())]
    payload.append(PayloadItem("files/scan.bin", data=ATTACHMENT + n.to_bytes(4, "big")))
    if size:
        payload.append(PayloadItem("files/big.bin", data=os.urandom(size)))
    return BagRequest(record={"identifier": ident, "title": f"Record {n}"}, payload=payload)


def _build(path: Path, count: int, *, size: int = 0) -> dict[str, Path]:
    """A store of ``count`` bags; returns identifier -> bag directory."""
    with Store.open(path, create=True) as store:
        results = store.add_many([_request(n, size=size) for n in range(count)])
    return {r.bag.identifier: r.path for r in results}


def _ident(n: int) -> str:
    return f"urn:test:audit-{n:04d}"


def _fix_events(store_path: Path) -> list[Event]:
    with Store.open(store_path) as store:
        return list(store.ledger.events(types=["fix"]))


def _audit(store_path: Path, **options: Any) -> AuditResult:
    workers = options.pop("workers", 1)
    with Store.open(store_path) as store:
        return run_audit(store, AuditOptions(workers=workers, **options))


def _by_bag(result: AuditResult) -> dict[str, BagAudit]:
    return {b.bag: b for b in result.bags}


def _tree_state(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every entry under the bag directories: mode, mtime_ns, content digest (or link target)."""
    state: dict[str, tuple[int, int, str]] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            if rel.startswith(LEDGER_FILE) or rel.startswith("."):
                continue
            st = p.lstat()
            if p.is_symlink():
                content = "link:" + os.readlink(p)
            elif p.is_file():
                content = hashlib.sha256(p.read_bytes()).hexdigest()
            else:
                content = "dir"
            state[rel] = (st.st_mode, st.st_mtime_ns, content)
    return state


def _retag(bag_dir: Path) -> None:
    """Rewrite tagmanifest-sha512.txt after a deliberate manifest edit, so only that edit shows."""
    lines = []
    for line in (bag_dir / "tagmanifest-sha512.txt").read_text().splitlines():
        _, name = line.split(maxsplit=1)
        digest = hashlib.sha512((bag_dir / name).read_bytes()).hexdigest()
        lines.append(f"{digest}  {name}\n")
    (bag_dir / "tagmanifest-sha512.txt").write_text("".join(lines))


# -- a clean store -------------------------------------------------------------------------


def test_clean_store_every_bag_gets_a_success_event_and_nothing_changes(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bags = _build(store_path, 3)
    before = _tree_state(store_path)
    result = _audit(store_path, workers=2)
    assert _tree_state(store_path) == before, "the audit changed something in the store"
    assert (result.checked, result.ok, result.failed, result.missing, result.unknown) == (3, 3, 0, 0, 0)
    assert result.exit_code == 0
    assert result.executor.startswith("local process pool")
    expected_bytes = sum(
        p.stat().st_size for d in bags.values() for p in d.rglob("*")
        if p.is_file() and p.name != "tagmanifest-sha512.txt"
    )
    assert result.bytes_hashed == expected_bytes
    events = _fix_events(store_path)
    assert len(events) == 3 and {e.outcome for e in events} == {"suc"}
    assert {e.uuid for e in events} == {b.event for b in result.bags}
    for e in events:
        assert e.data is not None and e.data["mode"] == "full" and e.data["problems"] == []
        assert "sha512 checksums of 6 files" in e.detail, e.detail
        assert e.bag == f"{bag_name(e.identifier or '')}/v1"
    for d in bags.values():
        bagit.Bag(str(d)).validate()  # the reference implementation agrees


# -- damage of every kind -------------------------------------------------------------------


def test_each_kind_of_damage_is_detected_named_and_recorded(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bags = _build(store_path, 8)
    with Store.open(store_path) as store:
        mes = {e.identifier: e.data for e in store.ledger.events(types=["mes"])}
    d = {n: bags[_ident(n)] for n in range(8)}
    rel = {n: f"{d[n].parent.name}/v1" for n in range(8)}
    # 0 intact; 1 one flipped byte; 2 truncated; 3 deleted file; 4 added file;
    # 5 edited bag-info.txt; 6 whole bag removed; 7 bagit.txt removed (no longer a bag)
    scan = d[1] / "data/files/scan.bin"
    raw = bytearray(scan.read_bytes())
    raw[100] ^= 0x01
    scan.write_bytes(bytes(raw))
    text2 = d[2] / "data/text.txt"
    text2.write_bytes(text2.read_bytes()[:50])
    (d[3] / "data/files/scan.bin").unlink()
    (d[4] / "data/files/extra.txt").write_text("slipped in\n")
    info = d[5] / "bag-info.txt"
    info.write_text(info.read_text().replace("Record 5", "Record five"))
    import shutil

    shutil.rmtree(d[6])
    (d[7] / "bagit.txt").unlink()
    unknown_dir = store_path / "stranger-0000000000000000" / "v1"
    unknown_dir.mkdir(parents=True)
    (unknown_dir / "bagit.txt").write_text("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")

    before = _tree_state(store_path)
    result = _audit(store_path, workers=2)
    assert _tree_state(store_path) == before
    assert result.exit_code == 1
    assert (result.ok, result.failed, result.missing, result.unknown) == (1, 6, 1, 1)
    found = _by_bag(result)
    assert found[rel[0]].status == "ok"

    corrupted = found[rel[1]].problems
    assert [(p.kind, p.path, p.algorithm) for p in corrupted] == [
        ("corrupted", "data/files/scan.bin", "sha512")
    ]
    ingest_digest = mes[_ident(1)]["sha512"]["data/files/scan.bin"]
    assert corrupted[0].expected == ingest_digest
    assert corrupted[0].found == hashlib.sha512(bytes(raw)).hexdigest()

    truncated = [p for p in found[rel[2]].problems if p.path == "data/text.txt"]
    assert [p.kind for p in truncated] == ["truncated"]
    assert "now 50 bytes" in truncated[0].message

    assert ("missing", "data/files/scan.bin") in [(p.kind, p.path) for p in found[rel[3]].problems]
    assert ("unexpected", "data/files/extra.txt") in [(p.kind, p.path) for p in found[rel[4]].problems]
    edited = [(p.kind, p.path) for p in found[rel[5]].problems]
    assert edited == [("tag-edited", "bag-info.txt")], edited
    assert found[rel[6]].status == "missing" and found[rel[6]].problems[0].kind == "bag-missing"
    assert found[rel[7]].problems[0].kind == "not-a-bag"
    assert found["stranger-0000000000000000/v1"].status == "unknown"

    # The ledger says what the report says: one fix event per bag, failures named in detail.
    events = {e.bag: e for e in _fix_events(store_path)}
    assert set(events) == set(found)
    for path, audit in found.items():
        event = events[path]
        assert event.uuid == audit.event
        assert event.outcome == ("suc" if audit.status == "ok" else "fai")
        assert event.data is not None
        assert event.data["problems"] == [p.to_dict() for p in audit.problems]
        for p in audit.problems:
            assert (p.path or "bag") in event.detail
    assert f"sha512 expected {ingest_digest}, found {corrupted[0].found}" in events[rel[1]].detail
    assert events["stranger-0000000000000000/v1"].identifier is None
    assert events[rel[6]].identifier == _ident(6) and events[rel[6]].version == 1

    # bagit-python agrees on every bag stook calls damaged (bag 6 is gone; 7 is no bag).
    for n in (1, 2, 3, 4, 5):
        with pytest.raises(bagit.BagError):
            bagit.Bag(str(d[n])).validate()


def test_bag_rebuilt_with_new_manifests_is_caught_by_the_ledger(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bags = _build(store_path, 2)
    added, flipped = bags[_ident(0)], bags[_ident(1)]
    (added / "data/files/added.txt").write_text("added later\n")
    scan = flipped / "data/files/scan.bin"
    raw = bytearray(scan.read_bytes())
    raw[0] ^= 0xFF  # same size, so Payload-Oxum cannot tell
    scan.write_bytes(bytes(raw))
    for bag_dir in (added, flipped):
        bag = bagit.Bag(str(bag_dir))
        bag.save(manifests=True)  # self-consistent again, but not what was ingested
        bag.validate()
    with Store.open(store_path) as store:
        mes = {e.identifier: e.data for e in store.ledger.events(types=["mes"])}
    found = _by_bag(_audit(store_path))
    problems = found[f"{added.parent.name}/v1"].problems
    assert [(p.kind, p.path, p.expected) for p in problems] == [
        ("ledger-mismatch", "data/files/added.txt", None)
    ]
    (problem,) = found[f"{flipped.parent.name}/v1"].problems
    assert (problem.kind, problem.path, problem.algorithm) == (
        "ledger-mismatch", "data/files/scan.bin", "sha512"
    )
    assert problem.expected == mes[_ident(1)]["sha512"]["data/files/scan.bin"]
    assert problem.found == hashlib.sha512(bytes(raw)).hexdigest()


def test_without_ingest_digests_the_ledger_payload_oxum_is_compared(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bag_dir = _build(store_path, 1)[_ident(0)]
    (bag_dir / "data/files/added.txt").write_text("added later\n")
    bagit.Bag(str(bag_dir)).save(manifests=True)
    with Store.open(store_path) as store:
        (bag,) = store.ledger.bags()
        check = check_bag(BagTask(bag.path, str(bag_dir), "full", bag.size))
        assert isinstance(check, PlainCheck)  # self-consistent: the fast path vouches for it
        audit = judge(bag, check, "full", FixHistory(), ingest=None)  # e.g. a bag received whole
    (problem,) = audit.problems
    assert (problem.kind, problem.code, problem.expected) == (
        "ledger-mismatch", "ledger-oxum-mismatch", bag.payload_oxum
    )


def test_unreadable_files_are_reported_and_the_audit_goes_on(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bags = _build(store_path, 3)
    fifo_bag, link_bag = bags[_ident(0)], bags[_ident(1)]
    (fifo_bag / "data/text.txt").unlink()
    os.mkfifo(fifo_bag / "data/text.txt")  # reading it would block forever
    (link_bag / "data/text.txt").unlink()
    (link_bag / "data/text.txt").symlink_to(link_bag / "data/nowhere.txt")
    result = _audit(store_path, workers=2)
    found = _by_bag(result)
    assert result.ok == 1 and result.failed == 2
    for bag_dir in (fifo_bag, link_bag):
        problems = found[f"{bag_dir.parent.name}/v1"].problems
        assert ("unreadable", "data/text.txt") in [(p.kind, p.path) for p in problems], problems


def test_hostile_manifest_fails_the_bag_and_nothing_outside_is_read(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bags = _build(store_path, 2)
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside the store\n")
    digest = hashlib.sha512(secret.read_bytes()).hexdigest()
    bag_dir = bags[_ident(0)]
    depth = len(bag_dir.relative_to(tmp_path).parts)
    with open(bag_dir / "manifest-sha512.txt", "a") as fh:
        fh.write(f"{digest}  data/{'../' * (depth + 1)}secret.txt\n")
        fh.write(f"{digest}  {secret}\n")
    (bag_dir / "data/peek.txt").symlink_to(secret)
    _retag(bag_dir)
    result = _audit(store_path)
    found = _by_bag(result)
    hostile = found[f"{bag_dir.parent.name}/v1"]
    assert hostile.status == "failed"
    assert found[f"{bags[_ident(1)].parent.name}/v1"].status == "ok"
    kinds = [p.kind for p in hostile.problems]
    assert kinds.count("unsafe") >= 3, hostile.problems
    # Had the secret been hashed it would have matched; no problem reports it as read.
    assert all(p.found != digest for p in hostile.problems)
    assert digest not in json.dumps(result.to_dict()).replace(f"expected {digest}", "")


# -- history across runs ---------------------------------------------------------------------


def test_failed_then_fixed_is_reported_recovered(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bags = _build(store_path, 2)
    text = bags[_ident(0)] / "data/text.txt"
    original = text.read_bytes()
    text.write_bytes(original.upper())
    gone = bags[_ident(1)]
    gone.rename(tmp_path / "elsewhere")
    first = _audit(store_path)
    assert (first.failed, first.missing, first.recovered) == (1, 1, 0)
    text.write_bytes(original)
    (tmp_path / "elsewhere").rename(gone)
    second = _audit(store_path)
    assert (second.ok, second.recovered, second.exit_code) == (2, 2, 0)
    first_events = {b.bag: b.event for b in first.bags}
    for audit in second.bags:
        assert audit.recovered and audit.previous_outcome == "fai"
    events = {e.uuid: e for e in _fix_events(store_path)}
    for audit in second.bags:
        event = events[audit.event or ""]
        assert "recovered" in event.detail and event.data and event.data["recovered"] is True
        assert first_events[audit.bag] != audit.event
    runner = CliRunner()
    out = runner.invoke(main, ["audit", "--store", str(store_path), "--workers", "1"])
    assert out.exit_code == 0 and "RECOVERED" not in out.output  # only once: passed last time too


def test_order_never_checked_first_then_oldest_with_max_age_and_limit(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bags = _build(store_path, 5)
    path = {n: f"{bags[_ident(n)].parent.name}/v1" for n in range(5)}
    # Bag 3 checked in 2020, bag 1 in 2022, bag 0 a minute ago; 2 and 4 never.
    with Store.open(store_path) as store:
        store.ledger.record_events([
            Event("fix", "suc", _ident(3), 1, path[3], datetime="2020-01-01T00:00:00.000000Z"),
            Event("fix", "suc", _ident(1), 1, path[1], datetime="2022-06-01T00:00:00.000000Z"),
            Event("fix", "fai", _ident(0), 1, path[0]),
        ])
        plan = plan_audit(store, AuditOptions())
        assert [b.path for b in plan.due] == [path[2], path[4], path[3], path[1], path[0]]
        plan = plan_audit(store, AuditOptions(max_age=timedelta(days=30), limit=2))
        assert [b.path for b in plan.due] == [path[2], path[4]]
        assert [(s.bag, s.reason) for s in plan.skipped] == [(path[0], "not-due")]
        assert [(s.bag, s.reason) for s in plan.deferred] == [
            (path[3], "over-limit"), (path[1], "over-limit")
        ]

    runner = CliRunner()
    args = ["audit", "--store", str(store_path), "--workers", "1", "--max-age", "30d", "--json"]
    first = runner.invoke(main, [*args, "--limit", "2"])
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)["summary"]
    assert (summary["checked"], summary["skipped"], summary["deferred"]) == (2, 1, 2)
    assert {b["bag"] for b in json.loads(first.output)["bags"]} == {path[2], path[4]}
    second = json.loads(runner.invoke(main, [*args, "--limit", "2"]).output)
    assert {b["bag"] for b in second["bags"]} == {path[3], path[1]}
    third = json.loads(runner.invoke(main, args).output)
    # Bag 0 was recorded as failed a minute ago but passes now.
    assert third["summary"]["checked"] == 0 and third["summary"]["skipped"] == 5
    text = runner.invoke(main, ["audit", "--store", str(store_path), "--max-age", "30d"]).output
    assert "5 skipped (not due)" in text


def test_fast_mode_says_checksums_were_not_verified(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    bags = _build(store_path, 2)
    flipped = bags[_ident(0)] / "data/text.txt"
    flipped.write_bytes(flipped.read_bytes().upper())  # same size: only a checksum sees it
    cut = bags[_ident(1)] / "data/text.txt"
    cut.write_bytes(b"short")
    result = _audit(store_path, fast=True)
    found = _by_bag(result)
    assert found[f"{bags[_ident(0)].parent.name}/v1"].status == "ok"
    assert found[f"{bags[_ident(1)].parent.name}/v1"].status == "failed"
    assert result.bytes_hashed == 0 and not result.checksums_verified
    for e in _fix_events(store_path):
        assert "checksums NOT verified" in e.detail and e.data and e.data["mode"] == "fast"
    # A fast check does not count as a fixity check for full audits: both are still due.
    with Store.open(store_path) as store:
        assert len(plan_audit(store, AuditOptions(max_age=timedelta(days=1))).due) == 2
        assert len(plan_audit(store, AuditOptions(max_age=timedelta(days=1), fast=True)).due) == 0
    full = _audit(store_path)
    assert full.failed == 2
    out = CliRunner().invoke(main, ["audit", "--store", str(store_path), "--fast", "--workers", "1"])
    assert out.exit_code == 1 and "checksums were NOT verified" in out.output


# -- interruption ----------------------------------------------------------------------------


def _fix_count(store_path: Path) -> int:
    conn = sqlite3.connect(store_path / LEDGER_FILE, timeout=5)
    try:
        return int(conn.execute("SELECT COUNT(*) FROM events WHERE type='fix'").fetchone()[0])
    finally:
        conn.close()


def _start_audit(store_path: Path, *args: str) -> subprocess.Popen[str]:
    code = "import sys; from stook.cli import main; sys.exit(main())"
    return subprocess.Popen(
        [sys.executable, "-c", code, "audit", "--store", str(store_path), *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _wait_for_events(store_path: Path, proc: subprocess.Popen[str], total: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        if os.path.exists(store_path / LEDGER_FILE) and _fix_count(store_path) > 0:
            return _fix_count(store_path)
        time.sleep(0.01)
    raise AssertionError(f"audit finished or stalled before it could be interrupted: {proc.poll()}")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT], ids=["SIGKILL", "SIGINT"])
def test_interrupted_audit_keeps_events_and_the_next_run_carries_on(tmp_path: Path, sig: int) -> None:
    store_path = tmp_path / "store"
    total = 600
    _build(store_path, total, size=64 * 1024)
    # SIGKILL an inline audit; Ctrl-C (SIGINT) one running on the local process pool.
    proc = _start_audit(store_path, "--workers", "1" if sig == signal.SIGKILL else "2")
    _wait_for_events(store_path, proc, total)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=30)
    if sig == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "interrupted" in err
    else:
        assert proc.returncode == -signal.SIGKILL
    kept = _fix_count(store_path)
    assert 0 < kept < total, f"{kept} of {total}: the audit was not interrupted mid-way"
    with Store.open(store_path) as store:
        checked = {e.bag for e in store.ledger.events(types=["fix"])}
    result = _audit(store_path, max_age=timedelta(days=1), workers=2)
    assert len(result.skipped) == kept and {s.bag for s in result.skipped} == checked
    assert result.checked == total - kept and result.ok == total - kept
    assert checked.isdisjoint(b.bag for b in result.bags)
    assert _fix_count(store_path) == total  # every bag checked exactly once over the two runs


# -- Dask ----------------------------------------------------------------------------------------


def _comparable(result: AuditResult) -> dict[str, tuple[str, list[dict[str, Any]], int]]:
    return {b.bag: (b.status, [p.to_dict() for p in b.problems], b.bytes_hashed) for b in result.bags}


def test_dask_cluster_results_equal_local_results(tmp_path: Path) -> None:
    distributed = pytest.importorskip("distributed")
    store_path = tmp_path / "store"
    bags = _build(store_path, 6)
    (bags[_ident(2)] / "data/text.txt").write_text("changed")
    (bags[_ident(4)] / "data/files/scan.bin").unlink()
    local = _audit(store_path, workers=2)
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, protocol="tcp://", host="127.0.0.1",
        dashboard_address=None,
    ) as cluster:
        address = cluster.scheduler_address
        assert address.startswith("tcp://127.0.0.1:")
        remote = _audit(store_path, scheduler=address)
        out = CliRunner().invoke(main, ["audit", "--store", str(store_path), "--scheduler", address,
                                        "--json"])
    assert remote.executor.startswith(f"Dask scheduler {address}")
    assert _comparable(remote) == _comparable(local)
    assert (remote.ok, remote.failed) == (4, 2)
    assert out.exit_code == 1
    assert {b["bag"]: b["status"] for b in json.loads(out.output)["bags"]} == {
        b.bag: b.status for b in local.bags
    }
    assert len(_fix_events(store_path)) == 18  # three runs of six bags, all recorded here


def test_unreachable_scheduler_is_a_usage_error(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    _build(store_path, 1)
    out = CliRunner().invoke(main, ["audit", "--store", str(store_path), "--scheduler", "10.0.0.1:8786"])
    assert out.exit_code == 2 and "tcp://HOST:PORT" in out.output


def test_missing_dask_is_a_clear_usage_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store_path = tmp_path / "store"
    _build(store_path, 1)
    monkeypatch.setitem(sys.modules, "distributed", None)  # as if stook[dask] were not installed
    out = CliRunner().invoke(main, ["audit", "--store", str(store_path), "--scheduler", "tcp://127.0.0.1:1"])
    assert out.exit_code == 2
    assert "needs the Dask distributed package" in out.output and "stook[dask]" in out.output
    assert _fix_events(store_path) == []


# -- executor --------------------------------------------------------------------------------------


def _square(n: int) -> int:
    if n == 3:
        raise ValueError("three is refused")
    return n * n


def test_executors_return_every_result_and_carry_job_errors() -> None:
    assert isinstance(open_executor(workers=1), InlineExecutor)
    for executor in (InlineExecutor(), ProcessExecutor(2)):
        with executor:
            got = dict(executor.map_unordered(_square, range(6), window=2))
        assert {k: v for k, v in got.items() if k != 3} == {0: 0, 1: 1, 2: 4, 4: 16, 5: 25}
        assert "three is refused" in str(got[3].error)  # type: ignore[union-attr]
    with pytest.raises(UsageError, match="not a Dask scheduler address"):
        open_executor(scheduler="localhost:8786")


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_exit_codes_quiet_and_report(tmp_path: Path) -> None:
    runner = CliRunner()
    store_path = tmp_path / "store"
    bags = _build(store_path, 2)
    base = ["audit", "--store", str(store_path), "--workers", "1"]
    ok = runner.invoke(main, base)
    assert ok.exit_code == 0, ok.output
    assert "2 bags checked" in ok.output and "2 ok, 0 failed" in ok.output
    quiet = runner.invoke(main, [*base, "--quiet"])
    assert quiet.exit_code == 0 and quiet.output == ""
    tampered = bags[_ident(1)] / "data/text.txt"
    tampered.write_bytes(tampered.read_bytes().swapcase())
    report = tmp_path / "audit.json"
    bad = runner.invoke(main, [*base, "--quiet", "--report", str(report)])
    assert bad.exit_code == 1
    lines = bad.output.splitlines()
    assert lines[0].startswith("FAILED") and bag_name(_ident(1)) in lines[0]
    assert any("corrupted" in line and "data/text.txt" in line for line in lines)
    assert "bags checked" not in bad.output  # quiet: failures only
    data = json.loads(report.read_text())
    assert data["summary"]["failed"] == 1 and data["summary"]["exit_code"] == 1
    assert data["bags"][0]["status"] == "failed"  # failures first
    full = runner.invoke(main, base)
    assert full.output.index("FAILED") < full.output.index("bags checked")


def test_cli_usage_and_environment_errors_exit_2(tmp_path: Path) -> None:
    runner = CliRunner()
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "something.txt").write_text("x")
    out = runner.invoke(main, ["audit", "--store", str(plain)])
    assert out.exit_code == 2 and "not a stook store" in out.output
    out = runner.invoke(main, ["audit", "--store", str(tmp_path / "nope")])
    assert out.exit_code == 2 and "store not found" in out.output
    store_path = tmp_path / "store"
    _build(store_path, 1)
    out = runner.invoke(main, ["audit", "--store", str(store_path), "--max-age", "soon"])
    assert out.exit_code == 2 and "'soon' is not a duration" in out.output
    out = runner.invoke(main, ["audit", "--store", str(store_path), "--limit", "0"])
    assert out.exit_code == 2


def test_balancing_big_bags_first_with_threads_small_bags_batched(tmp_path: Path) -> None:
    store_path = tmp_path / "store"
    _build(store_path, 40)
    with Store.open(store_path, create=True) as store:
        store.add(_request(99, size=2 << 20))
        bags = store.ledger.bags()
        tasks = make_tasks(store, bags, "full", slots=4)
        jobs = make_jobs(tasks, slots=4)
    assert tasks[0].bag.startswith(bag_name(_ident(99))) and tasks[0].threads == 4
    assert all(t.threads == 1 for t in tasks[1:])
    assert jobs[0] == (tasks[0],)  # the big bag travels alone, first
    rest = [t for job in jobs[1:] for t in job]
    assert rest == tasks[1:] and max(len(j) for j in jobs) == 2  # 40 small bags / (4 slots * 4)


def test_parse_duration() -> None:
    assert parse_duration("30d") == timedelta(days=30)
    assert parse_duration("12h") == timedelta(hours=12)
    assert parse_duration("90m") == timedelta(minutes=90)
    assert parse_duration("1d12h") == timedelta(hours=36)
    assert parse_duration("2w") == timedelta(weeks=2)
    for bad in ("", "30", "d", "30x", "-1d", "1d junk"):
        with pytest.raises(UsageError):
            parse_duration(bad)


def test_history_and_events_formats(tmp_path: Path) -> None:
    runner = CliRunner()
    store_path = tmp_path / "store"
    _build(store_path, 2)
    with Store.open(store_path, create=True) as store:
        changed = store.add(BagRequest(record={"identifier": _ident(0), "title": "Record 0, revised"},
                                       payload=[PayloadItem("text.txt", data=b"revised")]))
    assert changed.bag.version == 2
    _audit(store_path)
    out = runner.invoke(main, ["history", _ident(0), "--store", str(store_path), "--json"])
    assert out.exit_code == 0, out.output
    events = json.loads(out.output)
    assert [(e["type"], e["version"]) for e in events] == [
        ("val", 1), ("mes", 1), ("ing", 1), ("val", 2), ("mes", 2), ("ing", 2), ("fix", 1), ("fix", 2),
    ]  # the larger bag (v1) is checked first
    assert {e["identifier"] for e in events} == {_ident(0)}
    assert sorted(e["version"] for e in events if e["type"] == "fix") == [1, 2]
    by_path = runner.invoke(main, ["history", f"{bag_name(_ident(0))}/v1", "--store", str(store_path),
                                   "--format", "json"])
    assert json.loads(by_path.output) == events  # a version names its whole record
    text = runner.invoke(main, ["history", _ident(0), "--store", str(store_path)])
    assert text.output.count("\tfix\tsuc\t") == 2
    missing = runner.invoke(main, ["history", "urn:nobody", "--store", str(store_path)])
    assert missing.exit_code == 2 and "'urn:nobody' names no record or bag" in missing.output

    as_json = runner.invoke(main, ["events", "--store", str(store_path), "--type", "fix", "--json"])
    as_format = runner.invoke(main, ["events", "--store", str(store_path), "--type", "fix",
                                     "--format", "json"])
    assert as_json.output == as_format.output and len(json.loads(as_json.output)) == 3
    jsonl = runner.invoke(main, ["events", "--store", str(store_path), "--format", "jsonl"])
    rows = [json.loads(line) for line in jsonl.output.splitlines()]
    assert len(rows) == 3 * 3 + 3 and {r["type"] for r in rows} == {"val", "mes", "ing", "fix"}
    premis = runner.invoke(main, ["events", "--store", str(store_path), "--format", "premis"])
    assert premis.exit_code == 0 and premis.output.startswith("<?xml")
    assert premis.output.count("<premis:event>") == len(rows)
    clash = runner.invoke(main, ["events", "--store", str(store_path), "--json", "--format", "jsonl"])
    assert clash.exit_code == 2


def _oracle(conn: sqlite3.Connection) -> dict[str, tuple[object, ...]]:
    """Each bag's latest checks computed from the whole event log, the slow way."""
    full = "COALESCE(json_extract(data, '$.mode'), 'full') = 'full'"

    def latest(extra: str) -> dict[str, tuple[str, str]]:
        rows = conn.execute(
            "SELECT e.bag, e.datetime, e.outcome FROM events e JOIN (SELECT MAX(seq) AS seq FROM events"
            f" WHERE type = 'fix' AND bag IS NOT NULL{extra} GROUP BY bag) l ON e.seq = l.seq"
        ).fetchall()
        return {r[0]: (r[1], r[2]) for r in rows}

    anymode, fullmode = latest(""), latest(f" AND {full}")
    intact = latest(f" AND outcome = 'suc' AND {full}")
    return {
        bag: (
            anymode[bag][0], anymode[bag][1],
            fullmode.get(bag, (None,))[0], intact.get(bag, (None,))[0],
        )
        for bag in anymode
    }


def _sample_fix_events() -> list[Event]:
    events = []
    for n, (bag, mode, outcome) in enumerate(
        [("a/v1", "full", "suc"), ("a/v1", "fast", "fai"), ("b/v1", "fast", "suc"),
         ("a/v1", "full", "fai"), ("c/v2", "full", "suc"), ("c/v2", "fast", "suc"),
         ("b/v1", "full", "fai"), ("b/v1", "full", "suc"), ("a/v1", "fast", "suc")]
    ):
        events.append(Event("fix", outcome, "x", 1, bag, detail=f"check {n}",
                            data={"mode": mode}, datetime=f"2026-01-{n + 1:02d}T00:00:00.000000Z"))
    events.append(Event("val", "suc", "x", 1, "a/v1", detail="not a fixity check"))
    # a check recorded without data counts as a full one; one without a bag names none
    events.append(Event("fix", "suc", "y", 1, "d/v1", detail="no data",
                        datetime="2026-01-10T00:00:00.000000Z"))
    events.append(Event("fix", "fai", "z", None, None, detail="no bag"))
    return events


def _old_ledger(path: Path, version: int, events: list[Event]) -> sqlite3.Connection:
    """A ledger as a stook at schema ``version`` left it, holding ``events`` (inserted the
    way that stook did, so its triggers ran); returned open."""
    conn = sqlite3.connect(path)
    for _number, script in MIGRATIONS[:version]:
        if isinstance(script, str):  # the Python steps only backfill what is empty here
            conn.executescript(script)
    conn.execute(f"PRAGMA user_version = {version}")
    for e in events:
        conn.execute(
            "INSERT INTO events (uuid, type, datetime, identifier, version, bag, agent, outcome,"
            " detail, data) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (e.uuid, e.type, e.datetime, e.identifier, e.version, e.bag, e.agent, e.outcome,
             e.detail, json.dumps(e.data) if e.data is not None else None),
        )
    conn.commit()
    return conn


def test_the_fixity_table_follows_the_event_log(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as ledger:
        events = _sample_fix_events()
        for start in range(0, len(events), 3):
            ledger.record_events(events[start : start + 3])
        conn = ledger.connection
        table = {r[0]: tuple(r[1:]) for r in conn.execute("SELECT * FROM fixity")}
        assert table == _oracle(conn)
        assert table["a/v1"] == ("2026-01-09T00:00:00.000000Z", "suc",
                                 "2026-01-04T00:00:00.000000Z", "2026-01-01T00:00:00.000000Z")
        assert table["d/v1"] == ("2026-01-10T00:00:00.000000Z", "suc",
                                 "2026-01-10T00:00:00.000000Z", "2026-01-10T00:00:00.000000Z")
        assert None not in table


def test_a_fixity_table_kept_by_the_old_trigger_carries_on_after_migration_8(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite"
    events = _sample_fix_events()
    _old_ledger(path, 7, events[:5]).close()  # recorded by a stook whose trigger kept the table
    with Ledger(path) as ledger:
        assert ledger.schema_version() == MIGRATIONS[-1][0]
        triggers = ledger.connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name = 'events_keep_fixity'"
        ).fetchall()
        assert triggers == []
        ledger.record_events(events[5:])
        conn = ledger.connection
        assert {r[0]: tuple(r[1:]) for r in conn.execute("SELECT * FROM fixity")} == _oracle(conn)


def test_migration_5_fills_the_fixity_table_from_earlier_audits(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    conn = _old_ledger(path, 4, _sample_fix_events())
    expected = _oracle(conn)
    conn.close()
    with Ledger(path) as ledger:
        assert ledger.schema_version() == MIGRATIONS[-1][0]
        table = {r[0]: tuple(r[1:]) for r in ledger.connection.execute("SELECT * FROM fixity")}
    assert table == expected and set(table) == {"a/v1", "b/v1", "c/v2", "d/v1"}
