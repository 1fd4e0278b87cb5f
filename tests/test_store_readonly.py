"""A store on read-only media: every command that only reads works, and one that must
write says the store is read-only (never that something is damaged).

The store is made read-only the way it happens: a read-only mount (a bind mount
remounted read-only; needs root, as on CI, and is skipped otherwise).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.transfer_helpers import simple_request

from stook.cli import main
from stook.store import Store


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture
def read_only_store(tmp_path: Path) -> Iterator[Path]:
    source = tmp_path / "store"
    with Store.open(source, create=True) as store:
        for i in range(3):
            store.add(simple_request(f"rec:{i}"))
    mounted = tmp_path / "mounted"
    mounted.mkdir()
    done = subprocess.run(f"mount --bind {source} {mounted} && mount -o remount,ro,bind {mounted}",
                          shell=True, capture_output=True, text=True)
    if done.returncode != 0:
        subprocess.run(["umount", "-l", str(mounted)], capture_output=True)
        pytest.skip(f"cannot make a read-only mount here: {done.stderr.strip()}")
    try:
        yield mounted
    finally:
        subprocess.run(["umount", "-l", str(mounted)], capture_output=True)


def test_reading_commands_work_on_a_read_only_store(read_only_store: Path) -> None:
    store = str(read_only_store)
    code, out = _cli("ls", "--store", store)
    assert code == 0 and out.count("rec:") == 3
    assert _cli("events", "--store", store, "--format", "jsonl")[0] == 0
    code, out = _cli("history", "rec:1", "--store", store)
    assert code == 0 and "ing" in out
    bag = next(read_only_store.glob("rec-1-*/v1"))
    assert _cli("verify", str(bag))[0] == 0


def test_writing_commands_say_the_store_is_read_only(read_only_store: Path, example_dir: Path) -> None:
    store = str(read_only_store)
    code, out = _cli("audit", "--store", store)
    assert code == 2
    assert "is read-only" in out and "--read-only" in out and "damaged" not in out
    code, out = _cli("bag", str(example_dir / "record.yaml"), "--store", store)
    assert code == 2 and "read-only" in out and "damaged" not in out and "restore" not in out


def test_audit_read_only_reports_without_recording(read_only_store: Path) -> None:
    with Store.open(read_only_store) as store:
        before = len(list(store.ledger.events()))
    code, out = _cli("audit", "--store", str(read_only_store), "--read-only")
    assert code == 0, out
    assert "3 bags checked" in out and "3 ok" in out
    with Store.open(read_only_store) as store:
        assert len(list(store.ledger.events())) == before
