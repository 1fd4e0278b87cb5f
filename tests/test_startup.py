"""Start-up: each command imports only what it uses, and the fast paths that make that
possible agree with the libraries they stand in front of (jsonschema, edtf)."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import edtf
import pytest
from click.testing import CliRunner

from stook.cli import main
from stook.cli.base import COMMAND_MODULES, COMMANDS, load_all_commands
from stook.record import read_record_file
from stook.schema import fast_edtf, is_edtf, record_check, record_validator

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wilson-115179" / "record.yaml"

# Libraries that cost tens of milliseconds each to import.
HEAVY_LIBRARIES = {
    "lxml", "requests", "sickle", "jsonschema", "referencing", "edtf", "pyparsing", "waitress",
    "tqdm", "distributed", "dask", "bagit", "bagit_profile", "yaml", "urllib3",
}
# stook's own modules that pull in those libraries, or a lot of stook.
HEAVY_STOOK = {
    "stook.store", "stook.record", "stook.crosswalk", "stook.provider.app", "stook.harvest.client",
    "stook.harvest.run", "stook.audit.run", "stook.transfer.export", "stook.transfer.receive",
    "stook.verify.engine", "stook.executor", "stook.profile", "stook.premis", "stook.manual",
}

_PROBE = """
import json, sys
from stook.cli import main
try:
    main(sys.argv[2:], prog_name="stook")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
with open(sys.argv[1], "w") as out:
    json.dump({"code": code, "modules": sorted(sys.modules)}, out)
"""


def _imported_by(args: list[str], tmp_path: Path) -> tuple[int, set[str], str]:
    """Run ``stook ARGS`` in a fresh interpreter; its exit code, every module it imported
    and its output."""
    report = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, str(report), *args], capture_output=True, text=True, timeout=120,
        check=False, cwd=tmp_path,
    )
    assert report.exists(), done.stderr
    found = json.loads(report.read_text())
    return found["code"], set(found["modules"]), done.stdout


def _top(modules: set[str]) -> set[str]:
    return {m.split(".")[0] for m in modules}


def test_stook_help_lists_every_command_without_importing_any(tmp_path: Path) -> None:
    code, modules, out = _imported_by(["--help"], tmp_path)
    assert code == 0
    for name in COMMANDS:
        assert f"\n  {name} " in out, name
    command_modules = {f"stook.cli.{name}" for name in COMMAND_MODULES}
    assert not modules & command_modules
    assert not _top(modules) & HEAVY_LIBRARIES
    assert not modules & HEAVY_STOOK
    assert "concurrent.futures" not in modules


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_command_help_imports_only_its_own_module(command: str, tmp_path: Path) -> None:
    code, modules, out = _imported_by([command, "--help"], tmp_path)
    assert code == 0 and "Usage: stook" in out
    assert f"stook.cli.{COMMANDS[command][0]}" in modules
    others = {f"stook.cli.{name}" for name in COMMAND_MODULES} - {f"stook.cli.{COMMANDS[command][0]}"}
    assert not modules & others
    assert not _top(modules) & HEAVY_LIBRARIES, sorted(_top(modules) & HEAVY_LIBRARIES)
    assert not modules & HEAVY_STOOK, sorted(modules & HEAVY_STOOK)


def test_validate_of_the_example_needs_neither_jsonschema_nor_edtf(tmp_path: Path) -> None:
    code, modules, out = _imported_by(["validate", str(EXAMPLE)], tmp_path)
    assert code == 0 and out.strip().startswith(f"{EXAMPLE}: valid (record and ")
    assert not _top(modules) & {"jsonschema", "referencing", "edtf", "pyparsing", "lxml", "requests",
                                "sickle", "waitress", "bagit", "bagit_profile"}


def test_an_invalid_record_still_gets_jsonschema_s_full_report(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("identifier: x\ntitle: t\ndates:\n  - {type: created, value: 196Y}\n", encoding="utf-8")
    code, modules, out = _imported_by(["validate", str(bad)], tmp_path)
    assert code == 1
    assert "$.dates[0].value: '196Y' is not an EDTF date" in out
    assert {"jsonschema", "edtf"} <= _top(modules)


def test_ls_reads_the_ledger_without_the_heavy_libraries(tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert CliRunner().invoke(main, ["bag", str(EXAMPLE), "--store", str(store)]).exit_code == 0
    code, modules, out = _imported_by(["ls", "--store", str(store)], tmp_path)
    assert code == 0 and out.startswith("wcda:115179\tv1\t")
    assert not _top(modules) & {"jsonschema", "referencing", "edtf", "lxml", "requests", "sickle",
                                "waitress", "tqdm", "bagit", "bagit_profile", "yaml"}
    assert "concurrent.futures" not in modules


def test_verify_needs_no_record_or_network_libraries(tmp_path: Path) -> None:
    store = tmp_path / "store"
    made = CliRunner().invoke(main, ["bag", str(EXAMPLE), "--store", str(store)])
    code, modules, out = _imported_by(["verify", made.stdout.strip()], tmp_path)
    assert code == 0 and out.startswith("VALID")
    assert not _top(modules) & {"jsonschema", "edtf", "yaml", "lxml", "requests", "sickle", "waitress"}


# -- the command table ------------------------------------------------------------------------------


def test_the_command_table_matches_the_commands() -> None:
    """COMMANDS lets ``stook --help`` list the commands unimported: it must say what they say."""
    load_all_commands()
    assert set(main.commands) == set(COMMANDS)
    for name, command in main.commands.items():
        module, first_paragraph = COMMANDS[name]
        assert command.callback is not None
        assert command.callback.__module__ == f"stook.cli.{module}", name
        assert command.help is not None
        assert command.help.split("\n\n")[0].strip() == first_paragraph, name
        stand_in = click.Command(name, help=first_paragraph)
        for limit in (30, 45, 60, 120):
            assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_every_command_help_has_an_example() -> None:
    load_all_commands()
    for name, command in main.commands.items():
        assert command.help is not None and f"stook {name}" in command.help, name


def test_an_unknown_command_is_a_usage_error() -> None:
    result = CliRunner().invoke(main, ["verfy", "x"])
    assert result.exit_code == 2
    assert "No such command 'verfy'" in result.output


# -- the fast paths against their authorities ----------------------------------------------------------


def _edtf_accepts(value: str) -> bool:
    try:
        edtf.parse_edtf(value)
    except Exception:  # the edtf parser raises several unrelated types
        return False
    return True


def _plain_date(rng: random.Random) -> str:
    """A date of the plain forms (YYYY, YYYY-MM, YYYY-MM-DD), valid or nearly so."""
    year = f"{rng.choice([0, 1, 999, 1000, 1582, 1900, 1961, 2000, 2024, 9999, rng.randint(0, 9999)]):04d}"
    month = f"{rng.choice([0, 1, 2, 4, 9, 10, 12, 13, rng.randint(0, 99)]):02d}"
    day = f"{rng.choice([0, 1, 28, 29, 30, 31, 32, rng.randint(0, 99)]):02d}"
    return rng.choice([year, f"{year}-{month}", f"{year}-{month}-{day}"])


def test_the_plain_date_path_never_accepts_what_edtf_refuses() -> None:
    """Plain dates are checked with the calendar instead of the edtf grammar: sound against
    edtf, and stricter only for days the calendar does not have (edtf takes 1961-02-29)."""
    rng = random.Random(20261206)
    seen = {True: 0, False: 0}
    for _ in range(400):
        value = _plain_date(rng)
        fast = is_edtf(value)
        authority = _edtf_accepts(value)
        if fast:
            assert authority, value
        elif authority:  # refused here, accepted by edtf: only a day that does not exist
            parts = [int(part) for part in value.split("-")]
            assert len(parts) == 3 and 1 <= parts[1] <= 12 and parts[2] >= 29, value
        seen[fast] += 1
    assert seen[True] > 50 and seen[False] > 50


def test_qualified_dates_and_intervals_fast_path_never_accepts_what_edtf_refuses() -> None:
    """``1961~``, ``1961-04?``, ``1961/1962-04%``: decided with the calendar when certain,
    else by edtf; over random values, never accepted where edtf refuses, and the same
    answer as edtf wherever edtf is asked."""
    rng = random.Random(20261207)
    decided = 0
    for _ in range(400):
        one = _plain_date(rng) + rng.choice(["", "", "?", "~", "%"])
        value = one if rng.random() < 0.5 else f"{one}/{_plain_date(rng)}{rng.choice(['', '~', '?'])}"
        fast = fast_edtf(value)
        if fast is True:
            decided += 1
            assert _edtf_accepts(value), value
        elif fast is None:
            assert is_edtf(value) == _edtf_accepts(value), value
    assert decided > 60  # the fast path is used, not a no-op


def test_dates_beyond_the_plain_forms_are_edtf_s_decision() -> None:
    """Seasons (1961-21 is spring 1961), uncertainty, intervals and the rest: edtf decides."""
    for value in ["196X", "1961?", "1961~", "1961-04-14/1961-04-26", "19XX", "-0500", "1961-04-26T10:00:00Z",
                  "April 1961", "1961/", "1961-21", "1961-41", "1961-13", "Y170000002", "1961-04-26 ",
                  ""]:
        assert is_edtf(value) == (value.strip() == value and value != "" and _edtf_accepts(value)), value


def _with_uris(rng: random.Random) -> dict[str, Any]:
    odd = ["http://example.org/x", "https://doi.org/10.1000/1", "urn:isbn:123", "not a uri", "", " ",
           "http://[::1", "mailto:a@b.c", "relative/path", 5, None]
    record: dict[str, Any] = {"identifier": "oai:x:1", "title": "A"}
    record["subjects"] = [{"value": "Cuba", "uri": rng.choice(odd)}]
    record["rights"] = [{"statement": "open", "uri": rng.choice(odd)}]
    record["record_source"] = {"method": "harvest", "base_url": rng.choice(odd),
                               "retrieved_at": rng.choice(["2024-01-01T00:00:00Z", "2024-01-01", "x"])}
    return record


def test_the_compiled_check_leaves_uri_formats_to_jsonschema() -> None:
    """stook's own formats (edtf, date-time) are decided without jsonschema; any other
    format is what jsonschema's checker says, whatever optional packages it has."""
    check = record_check()
    assert check is not None
    rng = random.Random(7)
    for _ in range(200):
        record = _with_uris(rng)
        assert check(record) == record_validator().is_valid(record), record


def test_the_example_passes_the_compiled_check() -> None:
    check = record_check()
    assert check is not None and check(read_record_file(EXAMPLE))
