"""Declared sizes and digests, listed files, and every schema error: `validate` and `bag` agree."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner
from conftest import assert_bagit_valid
from support.storecheck import store_state

from stook.cli import main
from stook.errors import ContentMismatch, RecordParseError, UsageError
from stook.manual import ManualBagOptions, bag_manual_record


def _declare(record_path: Path, index: int, **fields: Any) -> None:
    """Add declarations to one content entry of the record file."""
    record = yaml.safe_load(record_path.read_text("utf-8"))
    record["content"][index].update(fields)
    record_path.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")


def _digests(path: Path) -> dict[str, Any]:
    data = path.read_bytes()
    return {
        "size": len(data),
        "sha512": hashlib.sha512(data).hexdigest(),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def test_declarations_that_match_are_bagged_and_kept(
    runner: CliRunner, example_record: Path, store_path: Path
) -> None:
    text = example_record.parent / "text.txt"
    page = example_record.parent / "files" / "wilson-center-page.md"
    _declare(example_record, 0, **_digests(text))
    _declare(example_record, 1, **_digests(page))
    checked = runner.invoke(main, ["validate", str(example_record)])
    assert checked.exit_code == 0 and "valid (record and 2 listed files)" in checked.output
    result = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    bag = Path(result.stdout.strip())
    assert_bagit_valid(bag)
    stored = json.loads((bag / "data" / "record.json").read_text("utf-8"))
    assert stored["content"][1]["sha256"] == _digests(page)["sha256"]
    manifest = (bag / "manifest-sha512.txt").read_text("utf-8")
    assert f"{_digests(text)['sha512']}  data/text.txt" in manifest


def test_bag_refuses_every_declaration_that_differs_and_writes_nothing(
    runner: CliRunner, example_record: Path, store_path: Path
) -> None:
    text = example_record.parent / "text.txt"
    page = example_record.parent / "files" / "wilson-center-page.md"
    wrong_sha512 = hashlib.sha512(b"another file").hexdigest()
    right = _digests(page)
    _declare(example_record, 0, size=0)  # the old template's placeholder
    _declare(example_record, 1, sha512=wrong_sha512, sha256=right["sha256"], size=right["size"])
    result = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: {example_record}: 2 declared sizes or digests")
    lines = result.stderr.splitlines()[1:]
    assert len(lines) == 2
    assert lines[0] == (
        f"  $.content[0].size: {text}: the file has {text.stat().st_size} bytes, not the size the record"
        " declares (expected 0)"
    )
    assert lines[1].startswith(f"  $.content[1].sha512: {page}: the file's sha512 is {right['sha512']}")
    assert lines[1].endswith(f"(expected {wrong_sha512})")
    assert store_state(store_path) == ({}, [], [])

    as_json = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path), "--json"])
    assert as_json.exit_code == 1
    report = json.loads(as_json.stdout)
    assert report["error"] == "ContentMismatch" and report["record_id"] == "wcda:115179"
    assert [(p["location"], p["found"], p["expected"]) for p in report["problems"]] == [
        ("$.content[0].size", text.stat().st_size, "0"),
        ("$.content[1].sha512", right["sha512"], wrong_sha512),
    ]


def test_a_mismatch_leaves_an_existing_store_unchanged(
    runner: CliRunner, example_record: Path, store_path: Path
) -> None:
    assert runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)]).exit_code == 0
    before = store_state(store_path)
    _declare(example_record, 1, size=1)
    result = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)])
    assert result.exit_code == 1 and "$.content[1].size" in result.stderr
    assert store_state(store_path) == before


def test_validate_checks_the_listed_files_unless_told_to_check_only_the_record(
    runner: CliRunner, example_record: Path
) -> None:
    folder = example_record.parent
    (folder / "files" / "wilson-center-page.md").unlink()
    (folder / "text.txt").write_bytes(b"Fond 0104, opis 17 \x97 caf\xe9")
    result = runner.invoke(main, ["validate", str(example_record)])
    assert result.exit_code == 2
    assert f"{example_record}: invalid, 2 errors" in result.output
    assert (
        f"  $.content[0].path: {folder / 'text.txt'}: text is not valid UTF-8 (byte 0x97 at offset 19);"
        in result.output
    )
    assert f"  $.content[1].path: {folder / 'files' / 'wilson-center-page.md'}: attachment not found" in (
        result.output
    )
    only = runner.invoke(main, ["validate", "--record-only", str(example_record)])
    assert only.exit_code == 0
    assert "valid (record only; the files it lists were not checked)" in only.output
    args = ["validate", "--json", "--record-only", str(example_record)]
    as_json = json.loads(runner.invoke(main, args).stdout)
    assert as_json[0]["valid"] is True and as_json[0]["checked"] == "record only"
    full = json.loads(runner.invoke(main, ["validate", "--json", str(example_record)]).stdout)
    assert full[0]["checked"] == "record and files" and full[0]["files_checked"] == 2
    assert [e["location"] for e in full[0]["errors"]] == ["$.content[0].path", "$.content[1].path"]


def test_validate_reports_declared_mismatches_as_invalid(runner: CliRunner, example_record: Path) -> None:
    _declare(example_record, 1, sha256="0" * 64)
    result = runner.invoke(main, ["validate", "--json", str(example_record)])
    assert result.exit_code == 1
    (error,) = json.loads(result.stdout)[0]["errors"]
    assert error["location"] == "$.content[1].sha256" and error["expected"] == "0" * 64


def _scenario(folder: Path, name: str) -> None:
    """Spoil the copy of the example in ``folder`` in one way."""
    record = folder / "record.yaml"
    if name == "missing-text":
        (folder / "text.txt").unlink()
    elif name == "latin1-text":
        (folder / "text.txt").write_bytes("café".encode("latin-1"))
    elif name == "missing-attachment":
        (folder / "files" / "wilson-center-page.md").unlink()
    elif name == "wrong-size":
        _declare(record, 0, size=3)
    elif name == "wrong-sha256":
        _declare(record, 1, sha256="a" * 64)
    elif name == "schema-error":
        _declare(record, 1, sha512="not hex")
    elif name == "mismatch-and-missing":
        _declare(record, 0, size=3)
        (folder / "files" / "wilson-center-page.md").unlink()


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("fine", 0),
        ("missing-text", 2),
        ("latin1-text", 2),
        ("missing-attachment", 2),
        ("wrong-size", 1),
        ("wrong-sha256", 1),
        ("schema-error", 1),
        ("mismatch-and-missing", 2),
    ],
)
def test_validate_and_bag_agree(
    runner: CliRunner, example_record: Path, store_path: Path, name: str, code: int
) -> None:
    _scenario(example_record.parent, name)
    checked = runner.invoke(main, ["validate", str(example_record)])
    bagged = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)])
    assert (checked.exit_code, bagged.exit_code) == (code, code), (checked.output, bagged.output)
    for result in (checked, bagged):
        assert "Traceback" not in result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
    if code:
        assert store_state(store_path) == ({}, [], [])


def test_bag_lists_every_schema_error_as_validate_does(
    runner: CliRunner, tmp_path: Path, store_path: Path
) -> None:
    record = tmp_path / "r.yaml"
    record.write_text(
        "identifier: x\ndates:\n  - {type: created, value: April 1961}\nlanguages:\n  - {code: Russian}\n",
        encoding="utf-8",
    )
    checked = runner.invoke(main, ["validate", str(record)])
    result = runner.invoke(main, ["bag", str(record), "--store", str(store_path)])
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == f"error: {record}: record is invalid (3 errors)"
    listed = result.stderr.splitlines()[1:]
    assert listed == checked.output.splitlines()[1:]  # the same lines validate prints
    assert any(line.startswith("  $.dates[0].value: 'April 1961' is not an EDTF date") for line in listed)
    assert any(line.startswith("  $.languages[0].code") for line in listed)
    assert any("'title' is a required property" in line for line in listed)
    as_json = runner.invoke(main, ["bag", str(record), "--store", str(store_path), "--json"])
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == 1 and report["error"] == "RecordInvalid"
    locations = sorted(p["location"] for p in report["problems"])
    assert locations == ["$", "$.dates[0].value", "$.languages[0].code"]
    assert store_state(store_path) == ({}, [], [])


def test_the_library_function_takes_a_record_dict_and_leaves_it_alone(
    tmp_path: Path, example_dir: Path
) -> None:
    record = yaml.safe_load((example_dir / "record.yaml").read_text("utf-8"))
    record["content"][0]["size"] = (example_dir / "text.txt").stat().st_size
    snapshot = json.dumps(record, sort_keys=True)
    store = tmp_path / "store"
    with pytest.raises(UsageError, match="no base directory"):
        bag_manual_record(store, record)
    result = bag_manual_record(store, record, ManualBagOptions(), base=example_dir)
    assert result.status == "new" and result.dropped == ()
    assert json.dumps(record, sort_keys=True) == snapshot  # the caller's dict is untouched
    assert_bagit_valid(result.path)
    assert bag_manual_record(store, record, base=example_dir).status == "unchanged"
    record["content"][0]["size"] = 1
    with pytest.raises(ContentMismatch) as info:
        bag_manual_record(store, record, base=example_dir)
    assert [p.location for p in info.value.problems] == ["$.content[0].size"]
    with pytest.raises(RecordParseError, match=r"\$\.extensions\.x:v"):
        bag_manual_record(store, {"identifier": "y", "title": "t", "extensions": {"x:v": float("inf")}})
