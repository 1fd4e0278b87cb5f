"""The foundation commands as an archivist uses them: template, validate, bag, ls, events."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner
from conftest import assert_bagit_valid

from stook.cli import main
from stook.names import bag_name
from stook.store import Store


def _store_is_empty(store_path: Path) -> bool:
    if not store_path.exists():
        return True
    with Store.open(store_path) as store:
        return store.ledger.bags() == [] and list(store.ledger.events()) == []


def test_every_command_has_help(runner: CliRunner) -> None:
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0
    commands = main.list_commands(click.Context(main))
    assert len(commands) >= 12
    for command in commands:
        sub = runner.invoke(main, [command, "--help"])
        assert sub.exit_code == 0, command
        assert "Usage:" in sub.output and len(sub.output) > 80


def test_template_then_validate_round_trip(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(main, ["template"])
    assert result.exit_code == 0
    path = tmp_path / "new.yaml"
    path.write_text(result.output, encoding="utf-8")
    checked = runner.invoke(main, ["validate", str(path)])
    assert checked.exit_code == 0 and "valid" in checked.output


def test_validate_lists_every_error_of_every_file(
    runner: CliRunner, tmp_path: Path, example_record: Path
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "identifier: x\ndates:\n  - {type: created, value: April 1961}\nlanguages:\n  - {code: Russian}\n",
        encoding="utf-8",
    )
    result = runner.invoke(main, ["validate", str(example_record), str(bad)])
    assert result.exit_code == 1
    assert f"{example_record}: valid" in result.output
    assert f"{bad}: invalid, 3 errors" in result.output
    assert "$.dates[0].value: 'April 1961' is not an EDTF date" in result.output
    assert "$.languages[0].code" in result.output
    assert "'title' is a required property" in result.output


def test_validate_json_output_and_unreadable_file(runner: CliRunner, tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    result = runner.invoke(main, ["validate", "--json", str(broken), str(tmp_path / "missing.yaml")])
    assert result.exit_code == 2
    reports = json.loads(result.output)
    assert [r["valid"] for r in reports] == [False, False]
    assert "not valid JSON at line 1" in reports[0]["errors"][0]["message"]
    assert "not found" in reports[1]["errors"][0]["message"]


def test_bag_the_example_prints_its_path_and_bagit_python_agrees(
    runner: CliRunner, example_record: Path, store_path: Path
) -> None:
    result = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    path = Path(result.stdout.strip())
    assert path == store_path / bag_name("wcda:115179") / "v1"
    assert_bagit_valid(path)
    again = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)])
    assert again.exit_code == 0
    assert "unchanged" in again.stderr and "nothing written" in again.stderr
    listing = runner.invoke(main, ["ls", "--store", str(store_path)])
    assert listing.exit_code == 0
    assert listing.output.startswith("wcda:115179\tv1\t")
    events = runner.invoke(main, ["events", "--store", str(store_path), "--json"])
    assert [e["type"] for e in json.loads(events.output)] == ["val", "mes", "ing"]


def test_store_from_environment_and_extra_text(
    runner: CliRunner, example_record: Path, store_path: Path, tmp_path: Path
) -> None:
    extra = tmp_path / "original.txt"
    extra.write_text("Запись беседы с министром промышленности Республики Куба", encoding="utf-8")
    result = runner.invoke(
        main,
        ["bag", str(example_record), "--text", str(extra), "--algorithm", "sha256", "--json"],
        env={"STOOK_STORE": str(store_path)},
    )
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    bag = assert_bagit_valid(Path(info["path"]))
    assert "data/text-2.txt" in bag.payload_entries()
    assert set(bag.algorithms) == {"sha512", "sha256"}


def test_changed_record_makes_a_new_version(
    runner: CliRunner, example_record: Path, store_path: Path
) -> None:
    assert runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)]).exit_code == 0
    record = yaml.safe_load(example_record.read_text("utf-8"))
    record["citation"] += " Corrected."
    example_record.write_text(yaml.safe_dump(record, allow_unicode=True), encoding="utf-8")
    result = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)])
    assert result.exit_code == 0
    assert result.stdout.strip().endswith("/v2")
    listing = runner.invoke(main, ["ls", "--store", str(store_path), "--json"])
    assert [b["version"] for b in json.loads(listing.output)] == [1, 2]


def test_invalid_record_exits_1_and_writes_nothing(
    runner: CliRunner, tmp_path: Path, store_path: Path
) -> None:
    record = tmp_path / "r.yaml"
    record.write_text("identifier: x\ntitle: t\ndates:\n  - {type: created, value: 1961-13-01}\n", "utf-8")
    result = runner.invoke(main, ["bag", str(record), "--store", str(store_path)])
    assert result.exit_code == 1
    assert "record is invalid (1 error)" in result.stderr
    assert "  $.dates[0].value: '1961-13-01' is not an EDTF date" in result.stderr
    assert _store_is_empty(store_path)


def test_missing_text_exits_2_naming_the_file(
    runner: CliRunner, example_record: Path, store_path: Path
) -> None:
    (example_record.parent / "text.txt").unlink()
    result = runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)])
    assert result.exit_code == 2
    assert "text.txt: text file not found" in result.stderr
    assert _store_is_empty(store_path)


def test_missing_attachment_exits_2(
    runner: CliRunner, example_record: Path, store_path: Path, tmp_path: Path
) -> None:
    result = runner.invoke(
        main, ["bag", str(example_record), "--file", str(tmp_path / "scan.pdf"), "--store", str(store_path)]
    )
    assert result.exit_code == 2
    assert "scan.pdf: attachment not found" in result.stderr
    assert _store_is_empty(store_path)


def test_text_that_is_not_utf8_names_the_offset_and_suggests_file(
    runner: CliRunner, example_record: Path, store_path: Path, tmp_path: Path
) -> None:
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Fond 0104, opis\u0301 17 — caf\u00e9".encode("cp1252", errors="replace"))
    offset = latin1.read_bytes().index(b"\x97")
    result = runner.invoke(
        main, ["bag", str(example_record), "--text", str(latin1), "--store", str(store_path)]
    )
    assert result.exit_code == 2
    assert f"not valid UTF-8 (byte 0x97 at offset {offset})" in result.stderr
    assert "--file" in result.stderr
    assert _store_is_empty(store_path)
    kept = runner.invoke(
        main, ["bag", str(example_record), "--file", str(latin1), "--store", str(store_path)]
    )
    assert kept.exit_code == 0
    stored = Path(kept.stdout.strip()) / "data" / "files" / "latin1.txt"
    assert stored.read_bytes() == latin1.read_bytes()


HOSTILE_IDS = [
    "../../etc/passwd",
    "CON",
    "a/b",
    "A",
    "a",
    "x" * 300,
    "\u202eevil",
    "caf\u00e9",
    "cafe\u0301",
    "/abs/path",
]


def test_hostile_identifiers_are_bagged_safely_inside_the_store(
    runner: CliRunner, tmp_path: Path, store_path: Path
) -> None:
    for n, identifier in enumerate(HOSTILE_IDS):
        record = tmp_path / f"r{n}.json"
        record.write_text(json.dumps({"identifier": identifier, "title": f"t{n}"}), encoding="utf-8")
        result = runner.invoke(main, ["bag", str(record), "--store", str(store_path)])
        assert result.exit_code == 0, (identifier, result.output)
        path = Path(result.stdout.strip()).resolve()
        assert path.parent.parent == store_path.resolve()
        assert_bagit_valid(path)
    with Store.open(store_path) as store:
        bags = store.ledger.bags()
        # caf\u00e9 and cafe\u0301 are one identifier in two normalization forms
        assert len({b.id_key for b in bags}) == len(HOSTILE_IDS) - 1
        assert len({b.name.casefold() for b in bags}) == len(HOSTILE_IDS) - 1
        assert [b.version for b in store.versions("caf\u00e9")] == [1, 2]  # titles differ
        assert store.resolve("A")[0].identifier == "A" and store.resolve("a")[0].identifier == "a"
    assert not (tmp_path / "etc").exists() and not Path("/abs").exists()


@pytest.mark.parametrize("identifier", ["nul\u0000byte", "new\nline"])
def test_identifiers_with_control_characters_are_refused(
    runner: CliRunner, tmp_path: Path, store_path: Path, identifier: str
) -> None:
    record = tmp_path / "r.json"
    record.write_text(json.dumps({"identifier": identifier, "title": "t"}), encoding="utf-8")
    result = runner.invoke(main, ["bag", str(record), "--store", str(store_path)])
    assert result.exit_code == 1
    assert "$.identifier" in result.stderr or "record is invalid" in result.stderr
    assert _store_is_empty(store_path)


def test_ls_on_a_directory_that_is_not_a_store(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    result = runner.invoke(main, ["ls", "--store", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a stook store" in result.stderr
