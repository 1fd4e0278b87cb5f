"""Hostile record files through the CLI: every one refused by `validate` and `bag` alike,
with file, line and JSON path, no traceback, the store unchanged, in bounded memory."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from support.storecheck import store_state

from stook.cli import main

ADDRESS_SPACE = 1024**3  # the child's whole address space: 1 GiB

BILLION_LAUGHS = (
    "identifier: laughs\ntitle: t\n"
    'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    + "".join(
        f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
        for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "extensions: {'x:laughs': *i}\n"
)

# name -> (file name, text, line, JSON path, words the message must hold)
HOSTILE = {
    "binary": ("r.yaml", "identifier: x\ntitle: !!binary aGVsbG8=\n", 2, "$.title", "tag !!binary"),
    "set": ("r.yaml", "identifier: x\ntitle: t\nsubjects: !!set {a, b}\n", 3, "$.subjects", "tag !!set"),
    "timestamp": (
        "r.yaml",
        "identifier: x\ntitle: t\ndates:\n  - {type: created, value: !!timestamp 1961-04-26}\n",
        4,
        "$.dates[0].value",
        "tag !!timestamp",
    ),
    "python": ("r.yaml", "identifier: x\ntitle: !!python/name:os.system ''\n", 2, "$.title", "!!python/name"),
    "custom-tag": ("r.yaml", "identifier: x\ntitle: !shout t\n", 2, "$.title", "tag !shout"),
    "nan": ("r.yaml", "identifier: x\ntitle: t\nextensions: {'x:v': .nan}\n", 3, "$.extensions.x:v", ".nan"),
    "minus-inf": ("r.yaml", "identifier: x\ntitle: t\nmetadata_only:\n  -.inf\n", 4, "$.metadata_only",
                  "-.inf"),
    "number-key": ("r.yaml", "identifier: x\ntitle: t\ndc:\n  1961: [a]\n", 4, "$.dc",
                   "the key 1961 is a number"),
    "duplicate-yaml": (
        "r.yaml",
        "identifier: x\ntitle: first\ncitation: c\ntitle: second\n",
        4,
        "$.title",
        "'title' is given twice (lines 2 and 4)",
    ),
    "alias": ("r.yaml", "identifier: &i x\ntitle: *i\n", 2, "$.title", "alias *i"),
    "billion-laughs": ("r.yaml", BILLION_LAUGHS, 4, "$.b[0]", "alias *a"),
    "merge-key": ("r.yaml", "identifier: x\ntitle: t\nrecord_source:\n  <<: {method: manual}\n", 4,
                  "$.record_source", "merge keys"),
    "deep-yaml": ("r.yaml", "identifier: x\ntitle: t\nextensions:\n  x:d: " + "[" * 900 + "]" * 900 + "\n",
                  4, "$.extensions.x:d" + "[0]" * 62, "deeper than 64 levels"),
    "duplicate-json": (
        "r.json",
        '{"identifier": "x",\n "title": "first",\n "title": "second"}',
        3,
        "$.title",
        "'title' is given twice (lines 2 and 3)",
    ),
    "nan-json": ("r.json", '{"identifier": "x", "title": "t",\n "extensions": {"x:v": NaN}}', 2,
                 "$.extensions.x:v", "NaN is not a JSON number"),
    "overflow-json": ("r.json", '{"identifier": "x", "title": "t",\n "extensions": {"x:v": -1e999}}', 2,
                      "$.extensions.x:v", "-1e999 is not a JSON number"),
    "deep-json": ("r.json", '{"identifier": "x", "title": "t",\n "extensions": {"x:d":\n'
                  + "[" * 900 + "]" * 900 + "}}", 3, "$.extensions.x:d" + "[0]" * 62,
                  "deeper than 64 levels"),
}


def _no_traceback(result: Result) -> None:
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output


@pytest.fixture
def stocked_store(runner: CliRunner, example_record: Path, store_path: Path) -> Path:
    """A store that already holds the example, so a refusal has something to leave alone."""
    assert runner.invoke(main, ["bag", str(example_record), "--store", str(store_path)]).exit_code == 0
    return store_path


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_record_is_refused_alike_by_validate_and_bag(
    case: str, runner: CliRunner, tmp_path: Path, stocked_store: Path
) -> None:
    name, text, line, location, words = HOSTILE[case]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    before = store_state(stocked_store)

    checked = runner.invoke(main, ["validate", str(path)])
    _no_traceback(checked)
    assert checked.exit_code == 2
    assert f"{path}: line {line}, " in checked.output and words in checked.output

    as_json = runner.invoke(main, ["validate", "--json", str(path)])
    report = json.loads(as_json.stdout)[0]
    assert as_json.exit_code == 2 and report["valid"] is False and report["unreadable"] is True
    assert report["errors"][0]["line"] == line and report["errors"][0]["location"] == location

    bagged = runner.invoke(main, ["bag", str(path), "--store", str(stocked_store)])
    _no_traceback(bagged)
    assert bagged.exit_code == 2
    assert bagged.stderr.startswith(f"error: {path}: line {line}, ") and words in bagged.stderr
    assert bagged.stdout == ""
    assert store_state(stocked_store) == before


def test_what_validate_accepts_bag_writes_as_json(
    runner: CliRunner, tmp_path: Path, store_path: Path
) -> None:
    path = tmp_path / "r.yaml"
    path.write_text(
        "identifier: x\ntitle: t\ndates:\n  - {type: created, value: 1961-04-26}\n"
        "archival_locations:\n  - hierarchy:\n      - {level: fond, value: 0104}\n"
        "extensions:\n  x:n: [1, 1.5, 1e3, true, null, no, 10:30]\n",
        encoding="utf-8",
    )
    assert runner.invoke(main, ["validate", str(path)]).exit_code == 0
    bagged = runner.invoke(main, ["bag", str(path), "--store", str(store_path)])
    assert bagged.exit_code == 0, bagged.output
    stored = json.loads((Path(bagged.stdout.strip()) / "data" / "record.json").read_text("utf-8"))
    assert stored["dates"][0]["value"] == "1961-04-26"
    assert stored["archival_locations"][0]["hierarchy"][0]["value"] == "0104"
    assert stored["extensions"]["x:n"] == [1, 1.5, 1000.0, True, None, "no", "10:30"]


def test_oversized_record_file_is_refused_by_both(
    runner: CliRunner, tmp_path: Path, stocked_store: Path
) -> None:
    path = tmp_path / "huge.yaml"
    path.write_bytes(b"identifier: x\ntitle: t\ncitation: " + b"a" * (9 * 1024 * 1024) + b"\n")
    before = store_state(stocked_store)
    for args in (["validate", str(path)], ["bag", str(path), "--store", str(stocked_store)]):
        result = runner.invoke(main, args)
        _no_traceback(result)
        assert result.exit_code == 2
        assert f"{path}: record file is larger than 8,388,608 bytes" in result.output
    assert store_state(stocked_store) == before


def _capped(args: list[str]) -> tuple[subprocess.CompletedProcess[str], float]:
    """Run the stook CLI in a child process whose address space is capped at 1 GiB."""
    code = (
        "import resource, sys\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}))\n"
        "from stook.cli import main\n"
        "main(sys.argv[1:], prog_name='stook')\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, check=False
    )
    return done, time.monotonic() - started


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
def test_the_cap_is_real() -> None:
    done = subprocess.run(
        [sys.executable, "-c",
         f"import resource; resource.setrlimit(resource.RLIMIT_AS, ({ADDRESS_SPACE}, {ADDRESS_SPACE}));"
         " bytearray(2 * 1024**3)"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode != 0 and "MemoryError" in done.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="RLIMIT_AS is enforced on Linux")
@pytest.mark.parametrize("case", ["billion-laughs", "deep-yaml", "deep-json"])
def test_expanding_and_deep_records_are_refused_quickly_in_bounded_memory(
    case: str, tmp_path: Path, stocked_store: Path
) -> None:
    name, text, line, _location, words = HOSTILE[case]
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    before = store_state(stocked_store)
    for args in (["validate", str(path)], ["bag", str(path), "--store", str(stocked_store)]):
        done, elapsed = _capped(args)
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr + done.stdout and "MemoryError" not in done.stderr
        assert f"line {line}, " in done.stdout + done.stderr and words in done.stdout + done.stderr
        assert elapsed < 60
    assert store_state(stocked_store) == before
