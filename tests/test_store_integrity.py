"""The store never loses a version or passes one directory off as another, and it never
trusts a ledger that is missing, empty, damaged or older than its bags.

Each case is made the way it happens: a ledger restored from an older copy, truncated,
deleted or with a damaged page, a directory put where a version would go, a crash
between reserving a version and renaming it. Every check is through the CLI or the
store, and the store and ledger are compared before and after.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import assert_bagit_valid, tree_bytes
from support.transfer_helpers import simple_request

from stook.cli import main
from stook.errors import LedgerOutOfStep, VersionCollision
from stook.ledger import LEDGER_FILE
from stook.names import bag_name
from stook.store import Source, Store
from stook.store.layout import MARK_FILE
from stook.store.rebuild import check_ledger, rebuild_ledger


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def _rows(root: Path) -> list[tuple[object, ...]]:
    """The bag index as it matters: identity, version, place, content."""
    with Store.open(root) as store:
        return sorted(
            (b.identifier, b.version, b.path, b.fingerprint, b.payload_oxum, b.size, b.title, b.groups,
             b.state)
            for b in store.ledger.bags()
        )


def _bag_text(example_dir: Path, title: str) -> Path:
    record = example_dir / "record.yaml"
    text = record.read_text("utf-8")
    changed = example_dir / f"{title.replace(' ', '-')}.yaml"
    changed.write_text(text.replace("title: ", f"title: {title} ", 1), encoding="utf-8")
    return changed


def _drop_ledger(root: Path) -> None:
    for name in (LEDGER_FILE, f"{LEDGER_FILE}-wal", f"{LEDGER_FILE}-shm"):
        (root / name).unlink(missing_ok=True)


def _close_wal(root: Path) -> None:
    """Checkpoint the ledger so its file alone holds everything (as a copy would)."""
    conn = sqlite3.connect(root / LEDGER_FILE)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


# -- a ledger older than the bags ------------------------------------------------------


def test_an_older_ledger_copy_is_refused_and_nothing_is_written(example_dir: Path, store_path: Path) -> None:
    record = example_dir / "record.yaml"
    assert _cli("bag", str(record), "--store", str(store_path))[0] == 0
    _close_wal(store_path)
    shutil.copy(store_path / LEDGER_FILE, example_dir / "old-ledger.sqlite")
    assert _cli("bag", str(_bag_text(example_dir, "Second")), "--store", str(store_path))[0] == 0
    _close_wal(store_path)
    before = tree_bytes(store_path / "wcda-115179-00e6896c9b37d041")
    _drop_ledger(store_path)
    shutil.copy(example_dir / "old-ledger.sqlite", store_path / LEDGER_FILE)  # "restore it from a copy"

    third = str(_bag_text(example_dir, "Third"))
    for args in (["ls"], ["bag", third], ["audit"], ["history", "wcda:115179"]):
        code, out = _cli(*args, "--store", str(store_path))
        assert code == 2, (args, out)
        assert "the ledger is older than the bags" in out and "stook ledger rebuild" in out, out
    assert tree_bytes(store_path / "wcda-115179-00e6896c9b37d041") == before
    assert sorted(p.name for p in (store_path / "wcda-115179-00e6896c9b37d041").iterdir()) == ["v1", "v2"]


def test_without_the_stores_note_a_taken_version_number_still_stops_the_write(
    example_dir: Path, store_path: Path
) -> None:
    record = example_dir / "record.yaml"
    assert _cli("bag", str(record), "--store", str(store_path))[0] == 0
    _close_wal(store_path)
    shutil.copy(store_path / LEDGER_FILE, example_dir / "old-ledger.sqlite")
    assert _cli("bag", str(_bag_text(example_dir, "Second")), "--store", str(store_path))[0] == 0
    v2 = store_path / "wcda-115179-00e6896c9b37d041" / "v2"
    before = tree_bytes(v2)
    _drop_ledger(store_path)
    shutil.copy(example_dir / "old-ledger.sqlite", store_path / LEDGER_FILE)
    (store_path / MARK_FILE).unlink()  # the older copy came with its own older note, or none

    code, out = _cli("bag", str(_bag_text(example_dir, "Third")), "--store", str(store_path))
    assert code == 2
    assert f"{v2}: already on disk, but the ledger does not know it" in out
    assert "nothing was written" in out and "stook ledger rebuild" in out
    assert tree_bytes(v2) == before  # never overwritten, never adopted
    with Store.open(store_path) as store:
        assert [b.version for b in store.versions("wcda:115179")] == [1]
        assert store.ledger.pending() == []
        assert [e.type for e in store.ledger.events(identifier="wcda:115179")] == ["val", "mes", "ing"]
    assert not any((store_path / ".tmp").iterdir())
    # rebuilt from the bags, the next change becomes version 3
    assert _cli("ledger", "rebuild", "--store", str(store_path))[0] == 0
    code, out = _cli("bag", str(_bag_text(example_dir, "Third")), "--store", str(store_path))
    assert code == 0 and out.rstrip().endswith("/v3"), out
    assert tree_bytes(v2) == before


def test_a_directory_in_the_way_of_a_first_version_is_never_taken(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        store.add(simple_request("rec:keep"))
        name = bag_name("rec:new")
        (store_path / name / "v1" / "data").mkdir(parents=True)
        (store_path / name / "v1" / "data" / "theirs.txt").write_text("not stook's")
        with pytest.raises(VersionCollision, match="already on disk"):
            store.add(simple_request("rec:new"))
        assert store.latest("rec:new") is None
    assert (store_path / name / "v1" / "data" / "theirs.txt").read_text() == "not stook's"


# -- missing, empty, damaged ledgers -----------------------------------------------------


@pytest.mark.parametrize("how", ["truncated", "deleted"])
def test_a_lost_ledger_never_shows_an_empty_store(store_path: Path, how: str) -> None:
    with Store.open(store_path, create=True) as store:
        store.add(simple_request("rec:1"))
    if how == "truncated":
        _close_wal(store_path)
        (store_path / LEDGER_FILE).write_bytes(b"")
        (store_path / MARK_FILE).unlink()  # the store's own note gone too: the disk still tells
    else:
        _drop_ledger(store_path)
    code, out = _cli("ls", "--store", str(store_path))
    assert code == 2
    assert "holds no bags" not in out
    assert ("is empty (0 bytes)" if how == "truncated" else "is missing") in out
    assert "stook ledger rebuild" in out
    with pytest.raises(LedgerOutOfStep):
        Store.open(store_path, create=True)  # bagging into it is refused the same way


def _damage_page(path: Path, page: int) -> None:
    data = bytearray(path.read_bytes())
    start = 4096 * (page - 1)
    data[start + 8:start + 4000] = b"\xa5" * (4000 - 8)
    path.write_bytes(bytes(data))


def test_a_damaged_ledger_page_is_named_everywhere_and_check_and_rebuild_recover(
    example_dir: Path, store_path: Path
) -> None:
    with Store.open(store_path, create=True) as store:
        for i in range(3):
            store.add(simple_request(f"rec:{i}"))
        with store.ledger.snapshot() as conn:
            root_page = conn.execute("SELECT rootpage FROM sqlite_master WHERE name='bags'").fetchone()[0]
    _close_wal(store_path)
    _damage_page(store_path / LEDGER_FILE, root_page)
    for args in (["ls"], ["history", "rec:1"], ["audit"], ["bag", str(example_dir / "record.yaml")]):
        code, out = _cli(*args, "--store", str(store_path))
        assert code == 2, (args, out)
        assert "the ledger is damaged" in out and "stook ledger rebuild" in out, (args, out)
    code, out = _cli("ledger", "check", "--store", str(store_path))
    assert code == 1 and "damaged" in out
    code, out = _cli("ledger", "rebuild", "--store", str(store_path), "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["rebuilt"] == 3 and report["old_ledger"].startswith(f"{LEDGER_FILE}.replaced-")
    assert "bags" in report["old_unreadable"]
    assert (store_path / report["old_ledger"]).exists()  # kept for whoever wants to look
    assert _cli("ledger", "check", "--store", str(store_path))[0] == 0
    assert _cli("audit", "--store", str(store_path))[0] == 0


# -- rebuild ------------------------------------------------------------------------------


def test_a_rebuild_reproduces_the_ledgers_bags_and_versions_exactly(
    example_dir: Path, store_path: Path, tmp_path: Path
) -> None:
    import bagit

    assert _cli("bag", str(example_dir / "record.yaml"), "--store", str(store_path))[0] == 0
    assert _cli("bag", str(_bag_text(example_dir, "Second")), "--store", str(store_path))[0] == 0
    with Store.open(store_path) as store:
        for i in range(4):
            request = simple_request(f"oai:many:{i}", f"text {i}\n",
                                     record_source={"method": "harvest", "base_url": "http://x/oai",
                                                    "metadata_prefix": "oai_dc", "set_specs": ["s1", "s2"]})
            store.add(replace(request, source=Source.harvest("http://x/oai", "oai_dc", "s1")))
    foreign = tmp_path / "foreign"
    (foreign / "sub").mkdir(parents=True)
    (foreign / "sub" / "scan.txt").write_text("a scan\n")
    bagit.make_bag(str(foreign), {"External-Identifier": "partner:7", "Source-Organization": "Partner"},
                   checksums=["sha256"])
    assert _cli("receive", str(foreign), "--store", str(store_path))[0] == 0
    expected = _rows(store_path)
    with Store.open(store_path) as store:
        owners = {b.identifier: store.owner(b.identifier).owner for b in store.ledger.bags()}  # type: ignore[union-attr]
    assert sorted(set(owners.values())) == ["harvest http://x/oai oai_dc", "manual", "received Partner"]
    _drop_ledger(store_path)

    result = rebuild_ledger(store_path)
    assert (result.bags, result.rebuilt, result.kept, result.skipped) == (len(expected), len(expected), 0, [])
    assert _rows(store_path) == expected
    with Store.open(store_path) as store:
        assert {b.identifier: store.owner(b.identifier).owner  # type: ignore[union-attr]
                for b in store.ledger.bags()} == owners
        rebuilt = [e for e in store.ledger.events() if (e.data or {}).get("rebuilt")]
        assert {e.type for e in rebuilt} == {"ing", "mes", "fix", "rec"}
        assert store.ledger.ingest_digests(expected[0][2]) is not None  # audit compares with them
    assert _cli("audit", "--store", str(store_path))[0] == 0
    assert check_ledger(store_path).ok


def test_a_rebuild_from_an_older_copy_keeps_its_history_and_adds_the_rest(
    example_dir: Path, store_path: Path
) -> None:
    assert _cli("bag", str(example_dir / "record.yaml"), "--store", str(store_path))[0] == 0
    _close_wal(store_path)
    with Store.open(store_path) as store:
        old_uuids = [e.uuid for e in store.ledger.events()]
    shutil.copy(store_path / LEDGER_FILE, example_dir / "old.sqlite")
    assert _cli("bag", str(_bag_text(example_dir, "Second")), "--store", str(store_path))[0] == 0
    expected = _rows(store_path)
    _drop_ledger(store_path)
    shutil.copy(example_dir / "old.sqlite", store_path / LEDGER_FILE)
    assert not check_ledger(store_path).ok

    code, out = _cli("ledger", "rebuild", "--store", str(store_path))
    assert code == 0, out
    assert "1 as the old ledger recorded them, 1 from the disk alone" in out
    rows = _rows(store_path)
    # v1 exactly as recorded (its time of ingest too); v2 rebuilt from the disk
    assert [r[:8] for r in rows] == [r[:8] for r in expected]
    with Store.open(store_path) as store:
        uuids = [e.uuid for e in store.ledger.events()]
        assert uuids[: len(old_uuids)] == old_uuids
        assert store.latest("wcda:115179").version == 2  # type: ignore[union-attr]
        assert_bagit_valid(store.bag_path(store.latest("wcda:115179")))  # type: ignore[arg-type]


# -- recovery after a crash ---------------------------------------------------------------


def test_recovery_never_registers_another_directory_as_the_pending_version(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        first = store.add(simple_request("rec:a", "version one\n"))
        other = store.add(simple_request("rec:b", "something else\n"))
        # a crash after reserving v2 of rec:a; in its place, a copy of another bag
        target = store_path / first.bag.name / "v2"
        shutil.copytree(other.path, target)
        with store.ledger.transaction() as conn:
            conn.execute(
                "INSERT INTO bags (identifier, id_key, version, name, path, fingerprint, payload_oxum, size,"
                " created, state) VALUES ('rec:a','rec:a',2,?,?,?,'1.1',1,'t','pending')",
                (first.bag.name, f"{first.bag.name}/v2", "f" * 64),
            )
    before = tree_bytes(target)
    with Store.open(store_path) as store:
        assert [b.version for b in store.versions("rec:a")] == [1]
        assert store.ledger.pending() == []
        assert not [e for e in store.ledger.events(identifier="rec:a") if e.version == 2]
    assert tree_bytes(target) == before  # left as it is ...
    report = check_ledger(store_path)
    assert report.unknown == [f"{first.bag.name}/v2"] and not report.ok  # ... and reported
