"""Foreign bags in the store, and odd bags that must never break publishing.

A bag made by bagit-python (no data/record.json) is received through the CLI; it keeps
its bytes, gets a minimal record in the ledger, and is then listed, exported and served
like any other: stook harvest (both prefixes) and sickle take every record back over
HTTP from waitress on 127.0.0.1, every response XSD-validated. A stored bag that cannot
be read (record.json missing, unreadable, not JSON, not a record; bag gone) is left out
of lists with one log line naming it, and GetRecord of it is an OAI error, never a 500.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bagit
import pytest
from click.testing import CliRunner
from conftest import tree_bytes
from sickle import Sickle
from support.provider_helpers import NS, OAIClient, add_records, assert_valid, identifiers, record_dict

from stook.cli import main
from stook.ledger import LEDGER_FILE, Ledger
from stook.provider import make_app, record_from_native, serve_in_thread
from stook.record import canonical_json
from stook.schema import validate_record
from stook.store import Store
from stook.transfer.foreign import BAG_INFO_EXTENSION

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wilson-115179"
FOREIGN_ID = "https://archive.example.org/ark:/99999/letters-1890"


def _bagit_python_bag(root: Path, info: dict[str, str], checksums: list[str]) -> Path:
    root.mkdir(parents=True)
    (root / "letter.txt").write_text("Dear colleague,\n\nthe letters arrived.\n", encoding="utf-8")
    (root / "scans").mkdir()
    (root / "scans" / "page-1.tif").write_bytes(bytes(range(256)) * 4)
    bagit.make_bag(str(root), info, checksums=checksums)
    bagit.Bag(str(root)).validate()
    return root


@pytest.fixture
def foreign(tmp_path: Path) -> Path:
    """A bagit-python bag with a rich bag-info and no data/record.json."""
    return _bagit_python_bag(tmp_path / "incoming" / "letters", {
        "External-Identifier": FOREIGN_ID,
        "Title": "Letters of 1890",
        "Internal-Sender-Description": "Box 4 of the Hall papers",
        "External-Description": "Correspondence of the Hall family, 1890",
        "Source-Organization": "Example County Archive",
        "Contact-Name": "Ada Hall",
        "Contact-Email": "ada@archive.example.org",
        "Bag-Group-Identifier": "hall-papers",
    }, ["sha256", "sha512"])


def _receive(store: Path, *sources: Path) -> list[dict[str, Any]]:
    result = CliRunner().invoke(main, ["receive", *map(str, sources), "--store", str(store), "--json"])
    assert result.exit_code == 0, result.output
    reports: list[dict[str, Any]] = json.loads(result.stdout)
    return reports


def _kept(store: Path, bag: str) -> bytes | None:
    with Store.open(store) as s:
        return s.ledger.foreign_record(bag)


def test_received_foreign_bag_keeps_its_bytes_and_gets_a_valid_minimal_record(
    foreign: Path, tmp_path: Path
) -> None:
    store = tmp_path / "store"
    before = tree_bytes(foreign)
    [report] = _receive(store, foreign)
    assert report["status"] == "new" and report["identifier"] == FOREIGN_ID
    assert any("minimal record built from bag-info.txt" in w["message"] for w in report["warnings"])
    stored = Path(report["path"])
    assert tree_bytes(stored) == before, "the bag is stored byte for byte as it arrived"
    assert not (stored / "data" / "record.json").exists()
    bagit.Bag(str(stored)).validate()

    kept = _kept(store, report["bag"])
    assert kept is not None
    record = json.loads(kept)
    assert canonical_json(record) == kept and validate_record(record) == []
    assert record["identifier"] == FOREIGN_ID and record["title"] == "Letters of 1890"
    assert {"scheme": "url", "value": FOREIGN_ID} in record["identifiers"]
    assert {"type": "note", "value": "Box 4 of the Hall papers"} in record["descriptions"]
    assert {"type": "summary", "value": "Correspondence of the Hall family, 1890"} in record["descriptions"]
    assert record["record_source"] == {"method": "received", "set_specs": ["hall-papers"]}
    org, contact = record["agents"]
    assert org == {"name": "Example County Archive", "name_type": "organizational", "roles": ["publisher"]}
    assert contact["name"] == "Ada Hall" and contact["affiliations"] == ["Example County Archive"]
    assert record["dates"][0]["value"] == bagit.Bag(str(stored)).info["Bagging-Date"]
    paths = {c["path"]: c for c in record["content"]}
    assert set(paths) == {"letter.txt", "scans/page-1.tif"}
    assert paths["scans/page-1.tif"]["size"] == 1024 and paths["letter.txt"]["media_type"] == "text/plain"
    manifest = (stored / "manifest-sha512.txt").read_text().split()
    assert paths["letter.txt"]["sha512"] == manifest[manifest.index("data/letter.txt") - 1]
    fields = {f["label"]: f["value"] for f in record["extensions"][BAG_INFO_EXTENSION]}
    assert fields["Contact-Email"] == "ada@archive.example.org"

    # Receiving it again changes nothing, the kept record included.
    [again] = _receive(store, foreign)
    assert again["status"] == "unchanged" and _kept(store, report["bag"]) == kept
    with sqlite3.connect(store / LEDGER_FILE) as conn:
        assert conn.execute("SELECT COUNT(*) FROM foreign_records").fetchone()[0] == 1


def test_a_bag_with_little_bag_info_still_gets_a_valid_record(tmp_path: Path) -> None:
    bag = _bagit_python_bag(tmp_path / "bare", {}, ["md5"])
    (bag / "data" / "odd%name.txt").write_text("x")  # a name a record cannot carry, kept in the bag
    bagit.Bag(str(bag)).save(manifests=True)
    store = tmp_path / "store"
    [report] = _receive(store, bag)
    record = json.loads(_kept(store, report["bag"]) or b"")
    assert validate_record(record) == [] and record["title"] == record["identifier"] == "bare"
    assert "odd%name.txt" not in {c["path"] for c in record["content"]}
    assert any("odd%name.txt" in w["message"] for w in report["warnings"])


@pytest.fixture
def mixed_store(foreign: Path, tmp_path: Path) -> tuple[Path, dict[str, bytes]]:
    """The bundled example bagged by stook, three records, and two foreign bags."""
    store = tmp_path / "a"
    result = CliRunner().invoke(main, ["bag", str(EXAMPLE / "record.yaml"), "--store", str(store)])
    assert result.exit_code == 0, result.output
    add_records(store, [record_dict(i, groups=("hall-papers",) if i == 1 else ()) for i in range(3)])
    other = _bagit_python_bag(tmp_path / "incoming" / "minutes", {
        "External-Identifier": "local:minutes-1902", "Internal-Sender-Description": "Minutes, 1902",
    }, ["md5"])
    reports = _receive(store, foreign, other)
    kept = {r["identifier"]: _kept(store, r["bag"]) for r in reports}
    assert all(kept.values())
    return store, {k: v for k, v in kept.items() if v is not None}


def _record_json(store: Path) -> dict[str, bytes]:
    with Store.open(store) as s:
        return {b.identifier: (s.bag_path(b) / "data" / "record.json").read_bytes()
                for b in s.ledger.bags(latest_only=True) if (s.bag_path(b) / "data" / "record.json").exists()}


def test_foreign_bags_are_served_and_harvested_back_by_stook_and_sickle(
    mixed_store: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    store, kept = mixed_store
    expected = {"wcda:115179", "test:rec-0000", "test:rec-0001", "test:rec-0002", *kept}
    url, stop = serve_in_thread(store, page_size=2)
    try:
        client = OAIClient(url)
        for prefix in ("oai_dc", "stook"):  # every page XSD-validated by the client
            records, _tokens = client.list_all("ListRecords", metadataPrefix=prefix)
            assert set(identifiers(records)) == expected
        doc = client.get({"verb": "GetRecord", "identifier": FOREIGN_ID, "metadataPrefix": "stook"})
        native = doc.find(".//stook:record", NS)
        assert record_from_native(native) == json.loads(kept[FOREIGN_ID])
        doc = client.get({"verb": "GetRecord", "identifier": FOREIGN_ID, "metadataPrefix": "oai_dc"})
        assert doc.findtext(".//dc:title", namespaces=NS) == "Letters of 1890"
        assert doc.findtext(".//oai:header/oai:setSpec", namespaces=NS) == "hall-papers"
        in_set, _ = client.list_all("ListIdentifiers", metadataPrefix="oai_dc", set="hall-papers")
        assert set(identifiers(in_set)) == {FOREIGN_ID, "test:rec-0001"}

        harvested = Sickle(url).ListRecords(metadataPrefix="oai_dc")
        by_sickle = {r.header.identifier: r.metadata for r in harvested}
        assert set(by_sickle) == expected
        assert by_sickle["local:minutes-1902"]["title"] == ["Minutes, 1902"]

        runner = CliRunner()
        dc_copy, native_copy = tmp_path / "dc-copy", tmp_path / "native-copy"
        result = runner.invoke(main, ["harvest", url, "--store", str(dc_copy), "--json"])
        assert result.exit_code == 0, result.output
        result = runner.invoke(main, ["harvest", url, "--prefix", "stook", "--store", str(native_copy)])
        assert result.exit_code == 0, result.output
    finally:
        stop()
    assert set(_record_json(dc_copy)) == expected
    copied = _record_json(native_copy)
    assert set(copied) == expected
    for identifier, record_json in kept.items():
        assert copied[identifier] == record_json, "the minimal record arrives byte for byte"
    assert copied["wcda:115179"] == _record_json(store)["wcda:115179"]


def test_ls_history_and_export_treat_a_foreign_bag_like_any_other(
    mixed_store: tuple[Path, dict[str, bytes]], tmp_path: Path
) -> None:
    store, kept = mixed_store
    runner = CliRunner()
    listed = json.loads(runner.invoke(main, ["ls", "--store", str(store), "--json"]).stdout)
    row = next(b for b in listed if b["identifier"] == FOREIGN_ID)
    assert row["version"] == 1 and row["groups"] == ["hall-papers"]
    text = runner.invoke(main, ["ls", "--store", str(store)])
    assert text.exit_code == 0 and FOREIGN_ID in text.output

    history = runner.invoke(main, ["history", FOREIGN_ID, "--store", str(store), "--json"])
    assert history.exit_code == 0, history.output
    assert [e["type"] for e in json.loads(history.stdout)] == ["tra", "fix", "val", "mes", "ing"]

    outbox = tmp_path / "outbox"
    result = runner.invoke(main, ["export", FOREIGN_ID, "--store", str(store), "--to", str(outbox),
                                  "--format", "tar.gz", "--json"])
    assert result.exit_code == 0, result.output
    [exported] = json.loads(result.stdout)
    [received] = _receive(tmp_path / "b", Path(exported["destination"]))
    assert received["identifier"] == FOREIGN_ID
    assert tree_bytes(Path(received["path"])) == tree_bytes(store / row["path"])
    assert _kept(tmp_path / "b", received["bag"]) == kept[FOREIGN_ID], "the same record at the partner's"


def test_a_foreign_bag_without_a_kept_record_is_served_from_its_bag_info(
    mixed_store: tuple[Path, dict[str, bytes]],
) -> None:
    """Bags received before records were kept (or whose record could not be kept)."""
    store, kept = mixed_store
    with sqlite3.connect(store / LEDGER_FILE) as conn:
        conn.execute("DELETE FROM foreign_records")
    conn.close()
    request = {"verb": "GetRecord", "identifier": FOREIGN_ID, "metadataPrefix": "stook"}
    doc = OAIClient(make_app(store)).get(request)
    assert canonical_json(record_from_native(doc.find(".//stook:record", NS))) == kept[FOREIGN_ID]


# -- odd bags --------------------------------------------------------------------------------------


def _remove_record_json(bag: Path) -> None:
    (bag / "data" / "record.json").unlink()


def _record_json_unreadable(bag: Path) -> None:
    target = bag / "data" / "record.json"
    target.unlink()
    target.mkdir()  # reading it fails with an OSError (even for root, unlike chmod 000)


def _record_json_not_json(bag: Path) -> None:
    (bag / "data" / "record.json").write_bytes(b'{"identifier": "test:rec-0002", "title": ')


def _record_json_not_a_record(bag: Path) -> None:
    (bag / "data" / "record.json").write_bytes(b'["not", "a", "record"]\n')


def _record_json_not_utf8(bag: Path) -> None:
    (bag / "data" / "record.json").write_bytes(b'{"identifier": "x", "title": "\xff\xfe"}\n')


def _bag_vanished(bag: Path) -> None:
    shutil.rmtree(bag)


ODDITIES: dict[str, Callable[[Path], None]] = {
    "record.json missing": _remove_record_json,
    "record.json unreadable": _record_json_unreadable,
    "record.json not JSON": _record_json_not_json,
    "record.json not a record": _record_json_not_a_record,
    "record.json not UTF-8": _record_json_not_utf8,
    "bag directory gone": _bag_vanished,
}


@pytest.mark.parametrize("odd_index", [0, 2, 5])
@pytest.mark.parametrize("oddity", sorted(ODDITIES))
def test_one_odd_bag_is_skipped_with_a_logged_reason(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, oddity: str, odd_index: int
) -> None:
    store = tmp_path / "s"
    results = add_records(store, [record_dict(i) for i in range(6)])
    odd = results[odd_index]
    ODDITIES[oddity](odd.path)
    good = [f"test:rec-{i:04d}" for i in range(6) if i != odd_index]
    app = make_app(store, page_size=2)
    client = OAIClient(app)
    with caplog.at_level(logging.WARNING, logger="stook.provider"):
        for prefix in ("oai_dc", "stook"):
            caplog.clear()
            records, tokens = client.list_all("ListRecords", metadataPrefix=prefix)
            assert identifiers(records) == good, "every other record, in order, none twice"
            assert [t.get("cursor") for t in tokens] == ["0", "2", "4"][: len(tokens)]
            skipped = [r for r in caplog.records if r.name == "stook.provider"]
            assert len(skipped) == 1, [r.getMessage() for r in skipped]
            line = skipped[0].getMessage()
            assert odd.bag.path in line and "\n" not in line and "test:rec-" in line
    headers, _ = client.list_all("ListIdentifiers", metadataPrefix="oai_dc")
    assert len(headers) == 6, "headers need no bag"
    odd_id = f"test:rec-{odd_index:04d}"
    for prefix in ("oai_dc", "stook"):
        codes = client.error_codes({"verb": "GetRecord", "identifier": odd_id, "metadataPrefix": prefix})
        assert codes == ["cannotDisseminateFormat"]


def test_a_store_whose_every_bag_is_odd_answers_no_records_match(tmp_path: Path) -> None:
    store = tmp_path / "s"
    for result in add_records(store, [record_dict(i) for i in range(3)]):
        _remove_record_json(result.path)
    client = OAIClient(make_app(store, page_size=2))
    assert client.error_codes({"verb": "ListRecords", "metadataPrefix": "oai_dc"}) == ["noRecordsMatch"]
    headers, _ = client.list_all("ListIdentifiers", metadataPrefix="oai_dc")
    assert len(headers) == 3


def test_the_server_log_names_a_skipped_bag_in_one_line(tmp_path: Path) -> None:
    """`stook serve` as a process: a list with an odd bag answers 200, stderr names the bag."""
    store = tmp_path / "s"
    results = add_records(store, [record_dict(i) for i in range(4)])
    _record_json_not_json(results[1].path)
    def bags() -> dict[str, bytes]:
        return {k: v for k, v in tree_bytes(store).items() if not k.startswith("stook-ledger")}

    before = bags()
    proc = subprocess.Popen(
        [sys.executable, "-c", "from stook.cli import main; main()", "serve", "--store", str(store),
         "--port", "0", "--admin-email", "oai@archive.example.org", "--max-connections", "64",
         "--request-timeout", "10", "--idle-timeout", "10"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        code, _headers, body = OAIClient(url).raw({"verb": "ListRecords", "metadataPrefix": "oai_dc"})
        assert code == 200
        assert identifiers(assert_valid(body).findall(".//oai:record", NS)) == [
            "test:rec-0000", "test:rec-0002", "test:rec-0003"]
    finally:
        proc.terminate()
        _out, err = proc.communicate(timeout=10)
    lines = [line for line in err.splitlines() if "skipped bag" in line]
    assert len(lines) == 1 and results[1].bag.path in lines[0] and "not a JSON record" in lines[0], err
    assert "Traceback" not in err
    assert bags() == before, "serving never changes the store"


def test_ledger_keeps_foreign_records_once_per_bag(tmp_path: Path) -> None:
    with Ledger(tmp_path / LEDGER_FILE) as ledger:
        assert ledger.foreign_record("x/v1") is None
        assert ledger.keep_foreign_record("x/v1", b'{"identifier": "x"}\n') is True
        assert ledger.keep_foreign_record("x/v1", b'{"identifier": "y"}\n') is False
        assert ledger.foreign_record("x/v1") == b'{"identifier": "x"}\n'
    conn = sqlite3.connect(f"file:{tmp_path / LEDGER_FILE}?mode=ro", uri=True)
    try:
        assert Ledger.foreign_records_of(conn, ["x/v1", "z/v1"]) == {"x/v1": b'{"identifier": "x"}\n'}
    finally:
        conn.close()
    old = sqlite3.connect(tmp_path / "old.sqlite")  # a ledger from before migration 7
    try:
        assert Ledger.foreign_records_of(old, ["x/v1"]) == {}
    finally:
        old.close()
