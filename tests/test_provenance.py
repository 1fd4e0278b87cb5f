"""Provenance owns identity: a record is changed or deleted only by the source that
supplied it, unless the user says otherwise on purpose.

A hand-entered record, a harvested one and a received one each have a source; a
provider that sends the same identifier (as a record or a deletion), a bag that names
two identifiers, or a bag of a record another source supplied are set apart and
reported, and the store and ledger are checked afterwards.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import tree_bytes
from support import faulty_provider as fp
from support.servers import serve_faulty
from support.synthetic import make_records, record_identifier
from support.transfer_helpers import simple_request

from stook.cli import main
from stook.errors import ProvenanceConflict
from stook.ledger import LEDGER_FILE, MIGRATIONS, Ledger, Source
from stook.ledger.migrations import statements
from stook.store import Store


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


def _hand_entered(store_path: Path, *identifiers: str) -> dict[str, dict[str, bytes]]:
    with Store.open(store_path, create=True) as store:
        for identifier in identifiers:
            store.add(simple_request(identifier, f"typed by an archivist: {identifier}\n"))
        return {i: tree_bytes(store.bag_path(store.latest(i))) for i in identifiers}  # type: ignore[arg-type]


def _events(store_path: Path, identifier: str) -> list[tuple[str, str]]:
    with Store.open(store_path) as store:
        return [(e.type, e.outcome) for e in store.ledger.events(identifier=identifier)]


def test_a_provider_cannot_delete_or_overwrite_a_hand_entered_record(store_path: Path) -> None:
    live, gone = record_identifier(3), record_identifier(5)
    before = _hand_entered(store_path, live, gone)
    provider = fp.FaultyProvider(make_records(8), batch_size=4)
    provider.delete(gone)
    with serve_faulty(provider) as url:
        code, out = _cli("harvest", url, "--store", str(store_path), "--json")
    assert code == 1, out
    summary = json.loads(out[out.index("{"):])
    assert summary["collisions"] == 2 and summary["new"] == 6 and summary["deleted"] == 0
    with Store.open(store_path) as store:
        for identifier in (live, gone):
            assert [b.version for b in store.versions(identifier)] == [1]
            assert tree_bytes(store.bag_path(store.latest(identifier))) == before[identifier]  # type: ignore[arg-type]
            assert store.owner(identifier) == Source.manual()
        assert store.ledger.tombstones() == []
        assert not list(store.ledger.events(types=["dea"]))
        quarantined = [e for e in store.ledger.events(types=["qua"])]
        assert sorted(e.identifier for e in quarantined) == sorted([live, gone])  # type: ignore[type-var]
        for event in quarantined:
            assert event.outcome == "war" and "hand entry" in event.detail
            report = json.loads((store.root / event.data["quarantine"] / "errors.json").read_text())  # type: ignore[index]
            assert report["owner"]["kind"] == "manual" and report["source"]["base_url"] == url
            assert (store.root / event.data["quarantine"] / "record.xml").stat().st_size > 0  # type: ignore[index]
        # the harvest's own records are its own: the next harvest may change them
        assert store.owner(record_identifier(0)) == Source.harvest(url, "oai_dc")


def test_adopt_existing_moves_the_records_to_the_harvest_with_an_event(store_path: Path) -> None:
    live, gone = record_identifier(1), record_identifier(2)
    _hand_entered(store_path, live, gone)
    provider = fp.FaultyProvider(make_records(4), batch_size=10)
    provider.delete(gone)
    with serve_faulty(provider) as url:
        code, out = _cli("harvest", url, "--store", str(store_path), "--adopt-existing")
    assert code == 0, out
    assert "2 records of other sources adopted" in out
    with Store.open(store_path) as store:
        assert [b.version for b in store.versions(live)] == [1, 2]
        assert store.owner(live) == store.owner(gone) == Source.harvest(url, "oai_dc")
        assert [t["identifier"] for t in store.ledger.tombstones()] == [gone]
    for identifier in (live, gone):
        assert ("mod", "suc") in _events(store_path, identifier)


def test_another_repository_with_the_same_identifiers_collides_but_another_set_does_not(
    store_path: Path,
) -> None:
    records = make_records(6)
    first, second = fp.FaultyProvider(records, batch_size=10), fp.FaultyProvider(records, batch_size=10)
    with serve_faulty(first) as url_a, serve_faulty(second) as url_b:
        assert _cli("harvest", url_a, "--store", str(store_path))[0] == 0
        first.update(record_identifier(0), title="Changed at the source")
        code, out = _cli("harvest", url_a, "--store", str(store_path), "--set", records[0].sets[0])
        assert code == 0, out  # a set is a view of the same repository: its records are its own
        code, out = _cli("harvest", url_b, "--store", str(store_path))
    assert code == 1 and "6 records of other sources quarantined" in out
    with Store.open(store_path) as store:
        assert all(store.owner(r.identifier) == Source.harvest(url_a, "oai_dc") for r in records)
        assert [b.version for b in store.versions(record_identifier(0))] == [1, 2]


def test_hand_entry_of_a_harvested_record_needs_as_new_version(store_path: Path, example_dir: Path) -> None:
    provider = fp.FaultyProvider(make_records(2), batch_size=10)
    with serve_faulty(provider) as url:
        assert _cli("harvest", url, "--store", str(store_path))[0] == 0
    record = example_dir / "record.yaml"
    text = record.read_text("utf-8").replace('identifier: "wcda:115179"',
                                             f'identifier: "{record_identifier(0)}"')
    record.write_text(text, encoding="utf-8")
    code, out = _cli("bag", str(record), "--store", str(store_path))
    assert code == 1
    assert f"record {record_identifier(0)!r} (latest version 1) was supplied by the harvest of {url}" in out
    assert "nothing was stored" in out
    code, out = _cli("bag", str(record), "--store", str(store_path), "--as-new-version", "--drop-missing")
    assert code == 0, out
    with Store.open(store_path) as store:
        assert [b.version for b in store.versions(record_identifier(0))] == [1, 2]
        assert store.owner(record_identifier(0)) == Source.harvest(url, "oai_dc")  # the owner stays


def test_a_received_bag_naming_two_identifiers_is_refused(store_path: Path, tmp_path: Path) -> None:
    _hand_entered(store_path, "local:seed")
    other = tmp_path / "other"
    with Store.open(other, create=True) as store:
        bag = store.add(simple_request("local:other", "another record\n")).path
    info = bag / "bag-info.txt"
    info.write_text(info.read_text("utf-8").replace("External-Identifier: local:other",
                                                    "External-Identifier: local:seed"), encoding="utf-8")
    _reseal_tag_manifest(bag)
    before = tree_bytes(store_path)
    code, out = _cli("receive", str(bag), "--store", str(store_path))
    assert code == 1
    assert ("External-Identifier 'local:seed' differs from the identifier in data/record.json "
            "('local:other')") in out
    assert tree_bytes(store_path) == before


def test_a_partners_bag_of_a_hand_entered_record_needs_as_new_version(
    store_path: Path, tmp_path: Path
) -> None:
    _hand_entered(store_path, "local:seed")
    partner = tmp_path / "partner"
    with Store.open(partner, create=True) as store:
        bag = store.add(replace_org(simple_request("local:seed", "the partner's version\n"), "Partner")).path
    before = tree_bytes(store_path)
    code, out = _cli("receive", str(bag), "--store", str(store_path))
    assert code == 1 and "was supplied by hand entry, not by bags received from Partner" in out
    assert tree_bytes(store_path) == before
    code, out = _cli("receive", str(bag), "--store", str(store_path), "--as-new-version")
    assert code == 0, out
    with Store.open(store_path) as store:
        assert [b.version for b in store.versions("local:seed")] == [1, 2]
        assert store.owner("local:seed") == Source.manual()


def test_an_unchanged_copy_from_another_source_changes_nothing(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        store.add(simple_request("rec:same"))
        again = store.add(replace(simple_request("rec:same"), source=Source.received("X")))
        assert again.status == "unchanged"
        with pytest.raises(ProvenanceConflict):
            store.add(replace(simple_request("rec:same", "changed\n"), source=Source.received("X")))
        assert [b.version for b in store.versions("rec:same")] == [1]


def test_migration_6_gives_stored_records_the_source_their_events_show(tmp_path: Path) -> None:
    path = tmp_path / LEDGER_FILE
    conn = sqlite3.connect(path, isolation_level=None)
    for number, script in MIGRATIONS[:5]:
        assert isinstance(script, str)
        for statement in statements(script):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
    for n, name in enumerate(("harvested", "received", "typed")):
        conn.execute("INSERT INTO bags (identifier, id_key, version, name, path, fingerprint, payload_oxum,"
                     " size, created, state) VALUES (?,?,1,?,?,'f','1.1',1,'t','stored')",
                     (name, name, f"{name}-x", f"{name}-x/v1"))
        kind = ("cap", "tra", "ing")[n]
        data: dict[str, Any] = {"url": "http://repo.example/oai?verb=ListRecords&metadataPrefix=mods",
                                "metadata_prefix": "mods"} if kind == "cap" else {}
        conn.execute("INSERT INTO events (uuid, type, datetime, identifier, agent, outcome, data)"
                     " VALUES (?,?,?,?,?,?,?)", (f"u{n}", kind, "t", name, "stook", "suc", json.dumps(data)))
    conn.close()
    with Ledger(path) as ledger:
        owners = ledger.owners_of(["harvested", "received", "typed"])
    assert owners["harvested"] == Source.harvest("http://repo.example/oai", "mods")
    assert owners["received"].kind == "received" and owners["typed"] == Source.manual()


def replace_org(request: Any, organization: str) -> Any:
    return replace(request, source_organization=organization)


def _reseal_tag_manifest(bag: Path) -> None:
    import hashlib

    lines = []
    for name in sorted(p.name for p in bag.iterdir() if p.is_file() and not p.name.startswith("tagmanifest")):
        lines.append(f"{hashlib.sha512((bag / name).read_bytes()).hexdigest()}  {name}\n")
    (bag / "tagmanifest-sha512.txt").write_text("".join(lines), encoding="utf-8")

