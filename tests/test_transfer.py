"""Export and receive between two real stores: round trips, determinism, events, idempotence."""

from __future__ import annotations

import gzip
import json
import tarfile
import zipfile
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from support.transfer_helpers import example_store, simple_request, snapshot

from stook.bagspec import read_manifest
from stook.cli import main
from stook.ledger import Event
from stook.store import Store
from stook.transfer import ExportOptions, export_bags, receive_bags

FORMAT_SUFFIX = {"dir": "", "tar": ".tar", "tar.gz": ".tar.gz", "zip": ".zip"}


def _events(store: Store) -> list[Event]:
    return list(store.ledger.events())


@pytest.mark.parametrize("fmt", ["dir", "tar", "tar.gz", "zip"])
def test_round_trip_store_a_to_store_b(tmp_path: Path, fmt: str) -> None:
    store_a, bag_a = example_store(tmp_path / "A", algorithms=("sha512", "md5"))
    out = tmp_path / "out"
    results = export_bags(["wcda:115179"], ExportOptions(to=out, format=fmt), store_a)  # type: ignore[arg-type]
    assert [r.status for r in results] == ["exported"]
    label = "wcda-115179-00e6896c9b37d041.v1"
    exported = out / f"{label}{FORMAT_SUFFIX[fmt]}"
    assert results[0].destination == exported and exported.exists()
    if fmt != "dir":
        sidecar = exported.with_name(exported.name + ".sha512")
        assert sidecar.read_text() == f"{results[0].sha512}  {exported.name}\n"
    tra_a = [e for e in _events(store_a) if e.type == "tra"]
    assert len(tra_a) == 1 and tra_a[0].outcome == "suc" and tra_a[0].bag == "wcda-115179-00e6896c9b37d041/v1"
    assert tra_a[0].data is not None and tra_a[0].data["format"] == fmt
    assert tra_a[0].data["sha512"] == results[0].sha512

    store_b = Store.open(tmp_path / "B", create=True)
    received = receive_bags(store_b, [exported])
    assert [r.status for r in received] == ["new"], received[0].errors
    bag_b = received[0].path
    assert bag_b is not None and bag_b == store_b.root / "wcda-115179-00e6896c9b37d041" / "v1"
    assert received[0].profile_conforms is True and not received[0].errors
    # identical payload digests and records, every file byte for byte
    for alg in ("sha512", "md5"):
        assert read_manifest(bag_a, alg) == read_manifest(bag_b, alg)
    assert (bag_a / "data" / "record.json").read_bytes() == (bag_b / "data" / "record.json").read_bytes()
    files_a = {p.relative_to(bag_a): p.read_bytes() for p in bag_a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(bag_b): p.read_bytes() for p in bag_b.rglob("*") if p.is_file()}
    assert files_a == files_b
    bagit.Bag(str(bag_b)).validate()
    # the ledgers agree on what the bag is
    row_a = store_a.latest("wcda:115179")
    row_b = store_b.latest("wcda:115179")
    assert row_a is not None and row_b is not None
    assert (row_b.fingerprint, row_b.payload_oxum, row_b.size, row_b.title) == (
        row_a.fingerprint, row_a.payload_oxum, row_a.size, row_a.title)
    types_b = [(e.type, e.outcome, e.bag) for e in _events(store_b)]
    received = ("tra", "fix", "val", "mes", "ing")
    assert types_b == [(t, "suc", "wcda-115179-00e6896c9b37d041/v1") for t in received]
    tra_b = _events(store_b)[0]
    assert tra_b.data is not None and tra_b.data["format"] == fmt
    if fmt != "dir":
        assert tra_b.data["sidecar"] == "matched" and tra_b.data["sha512"] == results[0].sha512
    # receiving the same bag again changes nothing
    again = receive_bags(store_b, [exported])
    assert again[0].status == "unchanged" and again[0].version == 1
    assert len(_events(store_b)) == 5
    assert not list((store_b.root / ".tmp").iterdir())
    store_a.close()
    store_b.close()


def test_export_is_deterministic_and_normalized(tmp_path: Path) -> None:
    store, bag = example_store(tmp_path / "A")
    for fmt in ("tar", "tar.gz", "zip"):
        first = export_bags(["wcda:115179"], ExportOptions(to=tmp_path / "one", format=fmt), store)[0]  # type: ignore[arg-type]
        second = export_bags(["wcda:115179"], ExportOptions(to=tmp_path / "two", format=fmt), store)[0]  # type: ignore[arg-type]
        assert first.destination is not None and second.destination is not None
        assert first.destination.read_bytes() == second.destination.read_bytes(), fmt
        assert first.sha512 == second.sha512
    # a second store holding the same bag bytes exports the same bytes
    copy_store, _ = example_store(tmp_path / "C")
    third = export_bags([str(bag)], ExportOptions(to=tmp_path / "three", format="tar"), None)[0]
    assert third.destination is not None
    first_tar = tmp_path / "one" / "wcda-115179-00e6896c9b37d041.v1.tar"
    assert third.destination.read_bytes() == first_tar.read_bytes()
    copy_store.close()

    bagging_date = next(line.split(": ", 1)[1] for line in (bag / "bag-info.txt").read_text().splitlines()
                        if line.startswith("Bagging-Date"))
    with tarfile.open(tmp_path / "one" / "wcda-115179-00e6896c9b37d041.v1.tar") as tar:
        members = tar.getmembers()
    names = [m.name for m in members]
    assert names[0] == "wcda-115179-00e6896c9b37d041.v1"
    assert all(n.startswith("wcda-115179-00e6896c9b37d041.v1") for n in names)
    assert {(m.uid, m.gid, m.uname, m.gname) for m in members} == {(0, 0, "", "")}
    assert {m.mode for m in members if m.isdir()} == {0o755}
    assert {m.mode for m in members if m.isfile()} == {0o644}
    assert len({m.mtime for m in members}) == 1
    from datetime import datetime, timezone
    assert datetime.fromtimestamp(members[0].mtime, timezone.utc).strftime("%Y-%m-%d") == bagging_date
    raw = (tmp_path / "one" / "wcda-115179-00e6896c9b37d041.v1.tar.gz").read_bytes()
    assert raw[4:8] == b"\0\0\0\0" and raw[3] & 0x08 == 0  # gzip: mtime 0, no file name
    assert gzip.decompress(raw) == (tmp_path / "one" / "wcda-115179-00e6896c9b37d041.v1.tar").read_bytes()
    with zipfile.ZipFile(tmp_path / "one" / "wcda-115179-00e6896c9b37d041.v1.zip") as archive:
        infos = archive.infolist()
    assert [i.filename.rstrip("/") for i in infos] == names
    assert {i.create_system for i in infos} == {3}
    assert len({i.date_time for i in infos}) == 1
    store.close()


def test_export_refuses_an_invalid_bag_and_records_the_failure(tmp_path: Path, runner: CliRunner) -> None:
    store, bag = example_store(tmp_path / "A")
    store.close()
    text = bag / "data" / "text.txt"
    text.chmod(0o644)
    text.write_bytes(text.read_bytes().replace(b"a", b"e", 1))
    out = tmp_path / "out"
    result = runner.invoke(main, ["export", "wcda:115179", "--to", str(out), "--store", str(tmp_path / "A")])
    assert result.exit_code == 1, result.output
    assert "not a valid bag" in result.stderr and "data/text.txt" in result.stderr
    assert not list(out.iterdir())
    with Store.open(tmp_path / "A") as reopened:
        tra = [e for e in reopened.ledger.events() if e.type == "tra"]
    assert [(e.outcome, e.version) for e in tra] == [("fai", 1)]


def test_export_cli_file_target_overwrite_and_bag_directories(tmp_path: Path, runner: CliRunner) -> None:
    store, bag = example_store(tmp_path / "A")
    store.close()
    target = tmp_path / "outbox" / "wilson.zip"
    store_a = str(tmp_path / "A")
    result = runner.invoke(main, ["export", "wcda:115179", "--to", str(target), "--store", store_a])
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == str(target)
    assert zipfile.ZipFile(target).namelist()[0] == "wcda-115179-00e6896c9b37d041.v1/"
    assert (tmp_path / "outbox" / "wilson.zip.sha512").exists()
    again = runner.invoke(main, ["export", "wcda:115179", "--to", str(target), "--store", store_a])
    assert again.exit_code == 2 and "already exists" in again.stderr
    clash = runner.invoke(main, ["export", "wcda:115179", "--to", str(tmp_path / "x.tar"), "--format", "zip",
                                 "--store", str(tmp_path / "A")])
    assert clash.exit_code == 2 and "--format" in clash.stderr
    unknown = runner.invoke(main, ["export", "no:such", "--to", str(tmp_path / "o"), "--store", store_a])
    assert unknown.exit_code == 2 and "no:such" in unknown.stderr
    # a bag directory, without any store: the label comes from <name>/v<N>
    plain = runner.invoke(main, ["export", str(bag), "--to", str(tmp_path / "plain"), "--format", "tar.gz",
                                 "--store", str(tmp_path / "nowhere"), "--json"])
    assert plain.exit_code == 0, plain.output
    report = json.loads(plain.stdout)
    assert report[0]["label"] == "wcda-115179-00e6896c9b37d041.v1" and report[0]["status"] == "exported"


def test_all_versions_and_round_trip_back_is_unchanged(tmp_path: Path) -> None:
    store_a = Store.open(tmp_path / "A", create=True)
    store_a.add(simple_request("rec:1", "first\n"))
    store_a.add(simple_request("rec:1", "second\n"))
    latest = export_bags(["rec:1"], ExportOptions(to=tmp_path / "latest"), store_a)
    assert [r.source.label.rsplit(".", 1)[1] for r in latest] == ["v2"]
    every = export_bags(["rec:1"], ExportOptions(to=tmp_path / "all", all_versions=True), store_a)
    assert sorted(p.name for p in (tmp_path / "all").iterdir() if p.suffix == ".tar") == [
        f"{every[0].source.label}.tar", f"{every[1].source.label}.tar"]
    store_b = Store.open(tmp_path / "B", create=True)
    got = receive_bags(store_b, sorted((tmp_path / "all").glob("*.tar")))
    assert [(r.status, r.version) for r in got] == [("new", 1), ("changed", 2)]
    # B exports v2; A receives it back and recognises its own latest version
    back = export_bags(["rec:1"], ExportOptions(to=tmp_path / "back", format="zip"), store_b)[0]
    assert back.destination is not None
    home = receive_bags(store_a, [back.destination])[0]
    assert home.status == "unchanged" and home.version == 2, home.errors
    store_a.close()
    store_b.close()


def test_receive_cli_prints_path_summary_and_json(tmp_path: Path, runner: CliRunner) -> None:
    store, _bag = example_store(tmp_path / "A")
    exported = export_bags(["wcda:115179"], ExportOptions(to=tmp_path / "out"), store)[0].destination
    store.close()
    result = runner.invoke(main, ["receive", str(exported), "--store", str(tmp_path / "B")])
    assert result.exit_code == 0, result.output
    stored = tmp_path / "B" / "wcda-115179-00e6896c9b37d041" / "v1"
    assert result.stdout.strip() == str(stored)
    assert "received: wcda:115179 version 1 (new)" in result.stderr
    assert "conforms to the stook profile" in result.stderr
    again = runner.invoke(main, ["receive", str(exported), "--store", str(tmp_path / "B"), "--json"])
    assert again.exit_code == 0
    report = json.loads(again.stdout)
    assert report[0]["status"] == "unchanged" and report[0]["path"] == str(stored)
    assert snapshot(tmp_path / "B").bags == ("wcda-115179-00e6896c9b37d041/v1",)


def test_received_bag_passes_verify_cli(tmp_path: Path, runner: CliRunner) -> None:
    store, _bag = example_store(tmp_path / "A")
    exported = export_bags(["wcda:115179"], ExportOptions(to=tmp_path / "out", format="zip"), store)[0]
    store.close()
    assert exported.destination is not None
    result = runner.invoke(main, ["receive", str(exported.destination), "--store", str(tmp_path / "B")])
    assert result.exit_code == 0, result.output
    checked = runner.invoke(main, ["verify", result.stdout.strip()])
    assert checked.exit_code == 0, checked.output


@pytest.mark.parametrize("fmt", ["dir", "tar", "tar.gz", "zip"])
def test_a_bag_changed_after_verification_is_not_exported(tmp_path: Path, fmt: str) -> None:
    """write_export compares what it archives with the bag's sha512 manifests."""
    from stook.errors import TransferError
    from stook.transfer import write_export

    store, bag = example_store(tmp_path / "A")
    store.close()
    text = bag / "data" / "text.txt"
    text.chmod(0o644)
    text.write_bytes(text.read_bytes() + b"appended later\n")
    target = tmp_path / f"out{FORMAT_SUFFIX[fmt]}"
    with pytest.raises(TransferError) as caught:
        write_export(bag, "label.v1", fmt, target)  # type: ignore[arg-type]
    assert "text.txt" in str(caught.value) and "changed after the bag was verified" in str(caught.value)
    assert not target.exists() and not list(tmp_path.glob(".out*"))
