"""A full disk is called a full disk, at every point of bagging and auditing, and the
store stays consistent: the ledger agrees with the disk once there is space again.

The store lives on a small tmpfs filled up to a few KiB of free space, the way a
store's disk fills in practice (needs root to mount, as on CI; skipped otherwise).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from support import faulty_provider as fp
from support.synthetic import make_records

from stook.cli import main
from stook.store import Store
from stook.store.rebuild import check_ledger


def _cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    assert "Traceback" not in result.output, result.output
    return result.exit_code, result.output


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], capture_output=True)


def _fill(disk: Path, leave_kib: int) -> Path:
    filler = disk / "filler"
    filler.unlink(missing_ok=True)
    free = int(subprocess.run(["df", "-k", "--output=avail", str(disk)], capture_output=True, text=True,
                              check=True).stdout.split()[-1])
    with open(filler, "wb") as handle:
        handle.write(b"\0" * max(0, (free - leave_kib) * 1024))
    return filler


@pytest.mark.parametrize("leave_kib", [0, 8, 16, 32, 64, 96, 128, 192])
def test_bagging_on_a_full_disk_says_so_and_keeps_the_store_consistent(
    small_disk: Path, example_dir: Path, leave_kib: int
) -> None:
    store = small_disk / "store"
    record = example_dir / "record.yaml"
    assert _cli("bag", str(record), "--store", str(store))[0] == 0
    changed = example_dir / "changed.yaml"
    changed.write_text(record.read_text("utf-8").replace("title: ", "title: Changed ", 1), encoding="utf-8")
    filler = _fill(small_disk, leave_kib)
    code, out = _cli("bag", str(changed), "--store", str(store))
    if code != 0:  # with a little room the bag may fit
        assert code == 2, out
        assert "no space left" in out, out
        for misleading in ("damaged", "restore", "cannot rollback", "cannot be opened"):
            assert misleading not in out, out
    filler.unlink()
    report = check_ledger(store)
    assert report.ok and not report.unknown, report.to_dict()
    code, out = _cli("audit", "--store", str(store))
    assert code == 0, out
    code, out = _cli("bag", str(changed), "--store", str(store))  # with space again, it is stored
    assert code == 0 and "v2" in out, out


def test_an_audit_that_cannot_record_its_events_says_the_disk_is_full(
    small_disk: Path, example_dir: Path
) -> None:
    store = small_disk / "store"
    assert _cli("bag", str(example_dir / "record.yaml"), "--store", str(store))[0] == 0
    filler = _fill(small_disk, 0)
    code, out = _cli("audit", "--store", str(store))
    assert code == 2 and "no space left" in out and "damaged" not in out, out
    filler.unlink()
    assert _cli("audit", "--store", str(store))[0] == 0


@pytest.mark.parametrize("leave_kib", [0, 32, 128])
def test_a_harvest_on_a_full_disk_says_so_and_resumes_once_there_is_space(
    small_disk: Path, leave_kib: int
) -> None:
    store = small_disk / "store"
    provider = fp.FaultyProvider(make_records(30), batch_size=10)
    with provider.serve() as url:
        assert _cli("harvest", url, "--store", str(store), "--limit", "10")[0] == 0
        filler = _fill(small_disk, leave_kib)
        code, out = _cli("harvest", url, "--store", str(store), "--max-retries", "0")
        assert code in (0, 2), out
        assert code == 2 or leave_kib > 0, "a harvest into a full disk cannot succeed"
        if code == 2:
            assert "no space left" in out and "damaged" not in out, out
        filler.unlink()
        assert check_ledger(store).ok
        code, out = _cli("harvest", url, "--store", str(store), "--json")
        assert code == 0, out
    assert _cli("audit", "--store", str(store))[0] == 0
    with Store.open(store) as opened:
        assert len(opened.ledger.bags()) == 30
