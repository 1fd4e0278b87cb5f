"""No silent drops: a new version of a hand-entered record keeps every file of the previous
one, unless `--drop FILE` or `--drop-missing` says so, and each drop is a deletion event."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner
from conftest import assert_bagit_valid
from support.storecheck import store_state

from stook.cli import main
from stook.errors import FilesDropped
from stook.manual import ManualBagOptions, bag_manual_record
from stook.names import bag_name
from stook.store import Store

NAME = bag_name("wcda:115179")


@pytest.fixture
def scan(tmp_path: Path) -> Path:
    path = tmp_path / "scan-001.tif"
    path.write_bytes(b"II*\x00 a scanned page")
    return path


def _bag(runner: CliRunner, record: Path, store: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(main, ["bag", str(record), "--store", str(store), *extra])
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.stdout, result.stderr


def _events(store: Path, kind: str) -> list[dict[str, object]]:
    with Store.open(store) as opened:
        return [e.to_dict() for e in opened.ledger.events(types=[kind])]


def test_leaving_out_an_attachment_is_refused_by_name(
    runner: CliRunner, example_record: Path, store_path: Path, scan: Path
) -> None:
    assert _bag(runner, example_record, store_path, "--file", str(scan))[0] == 0
    before = store_state(store_path)
    code, out, err = _bag(runner, example_record, store_path)
    assert code == 1 and out == ""
    assert err == (
        f"error: record 'wcda:115179': the new version lacks 1 file that version 1 ({NAME}/v1) has:"
        " data/files/scan-001.tif (add each back, or leave it out on purpose: --drop"
        " data/files/scan-001.tif, or --drop-missing for all)\n"
    )
    assert store_state(store_path) == before
    as_json = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path), "--json"])
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and report["error"] == "FilesDropped"
    assert report["missing"] == ["data/files/scan-001.tif"] and report["previous"] == f"{NAME}/v1"
    assert store_state(store_path) == before


@pytest.mark.parametrize("named", ["files/scan-001.tif", "data/files/scan-001.tif"])
def test_a_drop_named_on_purpose_makes_the_version_and_a_deletion_event(
    runner: CliRunner, example_record: Path, store_path: Path, scan: Path, named: str
) -> None:
    assert _bag(runner, example_record, store_path, "--file", str(scan))[0] == 0
    code, out, err = _bag(runner, example_record, store_path, "--drop", named)
    assert code == 0, err
    assert err == "changed: wcda:115179 version 2 (left out of it on purpose: data/files/scan-001.tif)\n"
    bag = Path(out.strip())
    assert bag == store_path / NAME / "v2"
    assert_bagit_valid(bag)
    assert not (bag / "data" / "files" / "scan-001.tif").exists()
    assert (store_path / NAME / "v1" / "data" / "files" / "scan-001.tif").read_bytes() == scan.read_bytes()
    (event,) = _events(store_path, "del")
    assert event["type_label"] == "deletion" and event["outcome"] == "suc"
    assert event["version"] == 2 and event["bag"] == f"{NAME}/v2"
    assert f"data/files/scan-001.tif of version 1 ({NAME}/v1)" in str(event["detail"])
    data = event["data"]
    assert isinstance(data, dict)
    assert data["file"] == "data/files/scan-001.tif" and data["previous_bag"] == f"{NAME}/v1"
    manifest = (store_path / NAME / "v1" / "manifest-sha512.txt").read_text("utf-8")
    assert f"{data['sha512']}  data/files/scan-001.tif" in manifest
    history = runner.invoke(main, ["history", "wcda:115179", "--store", str(store_path), "--json"])
    assert "del" in [e["type"] for e in json.loads(history.stdout)]


def test_drop_missing_drops_every_missing_file_and_says_which(
    runner: CliRunner, example_record: Path, store_path: Path, scan: Path, tmp_path: Path
) -> None:
    second = tmp_path / "scan-002.tif"
    second.write_bytes(b"II*\x00 another page")
    assert _bag(runner, example_record, store_path, "--file", str(scan), "--file", str(second))[0] == 0
    record = yaml.safe_load(example_record.read_text("utf-8"))
    record["content"] = [entry for entry in record["content"] if entry["path"] != "text.txt"]
    example_record.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    code, _out, err = _bag(runner, example_record, store_path)
    assert code == 1
    assert "lacks 3 files" in err and "data/files/scan-001.tif, data/files/scan-002.tif, data/text.txt" in err
    args = ["bag", str(example_record), "--store", str(store_path), "--drop-missing", "--json"]
    result = runner.invoke(main, args)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["status"] == "changed" and report["version"] == 2
    assert report["dropped"] == ["data/files/scan-001.tif", "data/files/scan-002.tif", "data/text.txt"]
    dropped = [e["data"]["file"] for e in _events(store_path, "del")]  # type: ignore[index]
    assert dropped == report["dropped"]


def test_an_unchanged_record_stays_unchanged(
    runner: CliRunner, example_record: Path, store_path: Path, scan: Path
) -> None:
    assert _bag(runner, example_record, store_path, "--file", str(scan))[0] == 0
    before = store_state(store_path)
    for extra in ((), ("--drop-missing",)):
        code, _out, err = _bag(runner, example_record, store_path, "--file", str(scan), *extra)
        assert code == 0 and err.startswith("unchanged: wcda:115179 is already stored as version 1")
    assert store_state(store_path) == before


def test_a_changed_record_that_keeps_its_files_needs_no_drop(
    runner: CliRunner, example_record: Path, store_path: Path
) -> None:
    assert _bag(runner, example_record, store_path)[0] == 0
    record = yaml.safe_load(example_record.read_text("utf-8"))
    record["citation"] += " Corrected."
    example_record.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    code, out, _err = _bag(runner, example_record, store_path)
    assert code == 0 and out.strip().endswith("/v2")
    assert _events(store_path, "del") == []


def test_drop_entries_that_name_nothing_to_drop_are_refused(
    runner: CliRunner, example_record: Path, store_path: Path, scan: Path
) -> None:
    code, _out, err = _bag(runner, example_record, store_path, "--drop", "files/scan-001.tif")
    assert code == 2 and "nothing to drop" in err
    assert not store_path.exists()  # the store was not even created
    assert _bag(runner, example_record, store_path, "--file", str(scan))[0] == 0
    before = store_state(store_path)
    code, _out, err = _bag(runner, example_record, store_path, "--drop", "files/typo.tif")
    assert code == 2
    assert "'files/typo.tif' is to be dropped, but version 1" in err
    assert "its files are: data/files/scan-001.tif, data/files/wilson-center-page.md, data/text.txt" in err
    code, _out, err = _bag(runner, example_record, store_path, "--file", str(scan), "--drop", "text.txt")
    assert code == 2 and "'text.txt' is to be dropped, but the new version has it" in err
    assert store_state(store_path) == before


def test_the_library_refuses_alike_and_takes_drops_as_options(
    example_record: Path, store_path: Path, scan: Path
) -> None:
    with Store.open(store_path, create=True) as store:
        first = bag_manual_record(store, example_record, ManualBagOptions(files=[scan]))
        assert first.status == "new"
        with pytest.raises(FilesDropped) as info:
            bag_manual_record(store, example_record)
        assert info.value.missing == ["data/files/scan-001.tif"] and info.value.exit_code == 1
        assert "drop_missing" in str(info.value) and "--drop" not in str(info.value)
        second = bag_manual_record(store, example_record, ManualBagOptions(drop=["files/scan-001.tif"]))
        assert (second.status, second.bag.version) == ("changed", 2)
        assert second.dropped == ("data/files/scan-001.tif",)
        assert second.to_dict()["dropped"] == ["data/files/scan-001.tif"]
