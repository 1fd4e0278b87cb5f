"""``stook receive`` against archives that expand too far, fill the disk, or lie about names.

The expansion-ratio cap (``max_ratio`` / ``--max-ratio``) is counted on bytes written per
compressed byte; the free-space margin is proven on a real, small tmpfs; zips with
wrongly encoded names are built byte by byte. Every refusal leaves the store and its
ledger exactly as they were, and nothing in ``.tmp``.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
import struct
import subprocess
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from support.transfer_helpers import (
    bag_members,
    example_store,
    simple_request,
    snapshot,
    tar_bytes,
    zip_bytes,
)

from stook.bagwriter import PayloadItem
from stook.cli import main
from stook.cli.base import with_flag
from stook.store import Store
from stook.transfer import ExportOptions, Limits, ReceiveOptions, export_bags, receive_bags

LABEL = "wcda-115179-00e6896c9b37d041.v1"
MiB = 1024 * 1024


def _receive(runner: CliRunner, store: Path, archive: Path, *extra: str) -> tuple[int, str, dict]:
    """Receive through the CLI; on refusal, prove the store, ledger and .tmp did not change."""
    before = snapshot(store)
    result = runner.invoke(main, ["receive", str(archive), "--store", str(store), "--json", *extra])
    assert "Traceback" not in result.output + result.stderr
    report = json.loads(result.stdout)[0] if result.stdout.strip().startswith("[") else {}
    if result.exit_code == 1:
        after = snapshot(store)
        assert after == before, "a rejected bag changed the store"
        assert after.tmp == ()
        assert report["status"] == "rejected" and report["path"] is None
    return result.exit_code, result.stderr, report


def _errors(report: dict) -> str:
    """The errors as the command line shows them, each with the flag that would change it."""
    return "\n".join(with_flag(f"{p['location']}: {p['message']}", p.get("option"))
                     for p in report.get("errors", []))


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """The example bag in store A, and store B holding one other bag."""
    store_a, bag = example_store(tmp_path / "A")
    store_a.close()
    store_b = Store.open(tmp_path / "B", create=True)
    store_b.add(simple_request("local:other"))
    store_b.close()
    return {"root": tmp_path, "bag": bag, "B": tmp_path / "B"}


# -- expansion ratio ---------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_a_1000_to_1_archive_under_the_byte_cap_is_refused(world: dict[str, Path], runner: CliRunner,
                                                            fmt: str) -> None:
    zeros = bytes(20 * MiB)
    members = bag_members(world["bag"], LABEL)
    if fmt == "zip":
        bomb = zipfile.ZipInfo(f"{LABEL}/data/zeros.bin")
        bomb.compress_type = zipfile.ZIP_DEFLATED
        data = zip_bytes(members, [(bomb, zeros)])
    else:
        data = tar_bytes([*members, (f"{LABEL}/data/zeros.bin", zeros)], mode="w:gz")
    assert len(zeros) / len(data) > 600  # the whole archive expands far beyond 200:1
    archive = world["root"] / f"bomb.{fmt}"
    archive.write_bytes(data)
    code, _stderr, report = _receive(runner, world["B"], archive)  # default caps: 10 GiB, 200:1
    assert code == 1
    text = _errors(report)
    assert "expands more than 200:1" in text and "max_ratio" in text and "--max-ratio" in text
    assert "zeros.bin" in text
    # stopped well before the 20 MiB were written (the tar.gz is judged as it is written)
    assert report["bytes"] < 8 * MiB


def test_the_ratio_is_judged_per_entry_as_it_is_written(tmp_path: Path) -> None:
    """A tar.gz whose archive-wide ratio is fine but one entry is a bomb: stopped at that entry."""
    store_a = Store.open(tmp_path / "A", create=True)
    noise = os.urandom(3 * MiB)  # incompressible: keeps the whole archive's ratio low
    added = store_a.add(simple_request("local:mixed", "text\n"))
    store_a.close()
    members = bag_members(added.path, "mixed.v1")
    data = tar_bytes([*members, ("mixed.v1/data/noise.bin", noise), ("mixed.v1/data/zeros.bin",
                                                                    bytes(64 * MiB))], mode="w:gz")
    assert (3 + 64) * MiB / len(data) < 200  # the archive as a whole stays under 200:1
    archive = tmp_path / "mixed.tar.gz"
    archive.write_bytes(data)
    store_b = Store.open(tmp_path / "B", create=True)
    result = receive_bags(store_b, [archive])[0]
    store_b.close()
    assert result.status == "rejected"
    text = "\n".join(str(p) for p in result.errors)
    assert "data/zeros.bin: entry expands more than 200:1" in text, text
    assert result.bytes < 3 * MiB + 40 * MiB


def test_a_genuine_compressible_bag_passes_once_the_ratio_is_raised(tmp_path: Path,
                                                                    runner: CliRunner) -> None:
    store_a = Store.open(tmp_path / "A", create=True)
    request = simple_request("local:blank-scan")
    request.payload = [*request.payload, PayloadItem("files/blank-page.tif", data=bytes(8 * MiB))]
    store_a.add(request)
    exported = export_bags(["local:blank-scan"], ExportOptions(to=tmp_path / "out", format="zip"), store_a)
    store_a.close()
    archive = exported[0].destination
    assert archive is not None
    Store.open(tmp_path / "B", create=True).close()
    code, _stderr, report = _receive(runner, tmp_path / "B", archive)
    assert code == 1 and "raise it if the bag is genuine) [--max-ratio]" in _errors(report)
    code, stderr, report = _receive(runner, tmp_path / "B", archive, "--max-ratio", "5000")
    assert code == 0, stderr
    assert report["status"] == "new" and report["errors"] == []
    bagit.Bag(report["path"]).validate()


def test_small_very_compressible_files_are_never_judged_by_ratio(tmp_path: Path) -> None:
    """Below 1 MiB written, an entry or archive may expand any amount (a blank text, a sparse log)."""
    store_a = Store.open(tmp_path / "A", create=True)
    request = simple_request("local:zeros", "x" * 500_000 + "\n")
    store_a.add(request)
    exported = export_bags(["local:zeros"], ExportOptions(to=tmp_path / "out", format="tar.gz"), store_a)
    store_a.close()
    archive = exported[0].destination
    assert archive is not None and 500_000 / archive.stat().st_size > 200
    with Store.open(tmp_path / "B", create=True) as store_b:
        assert receive_bags(store_b, [archive])[0].status == "new"


# -- free space ----------------------------------------------------------------------------


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A real 8 MiB tmpfs, mounted for the test (root only; skipped where mount is refused)."""
    mount_point = tmp_path / "small-fs"
    mount_point.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command: the free-space checks need a small filesystem of their own")
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount_point)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({done.stderr.strip() or done.returncode}): the "
                    "free-space checks need a small filesystem of their own")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def _store_on(fs: Path) -> Path:
    with Store.open(fs / "store", create=True) as store:
        store.add(simple_request("local:already-here"))
    return fs / "store"


def test_free_space_is_checked_before_extracting(world: dict[str, Path], small_fs: Path,
                                                 runner: CliRunner) -> None:
    store = _store_on(small_fs)
    members = bag_members(world["bag"], LABEL)
    data = zip_bytes([*members, (f"{LABEL}/data/noise.bin", os.urandom(7 * MiB + 700 * 1024))])
    archive = world["root"] / "too-big.zip"
    archive.write_bytes(data)
    free_before = shutil.disk_usage(small_fs).free
    code, _stderr, report = _receive(runner, store, archive)
    assert code == 1
    text = _errors(report)
    assert "not enough free space" in text and "nothing was written" in text, text
    assert str(store / ".tmp") in text and "5% of its size" in text
    assert report["bytes"] == 0 and report["files"] == 0  # refused before anything was written
    assert shutil.disk_usage(small_fs).free >= free_before - 64 * 1024


def test_free_space_is_watched_while_extracting(world: dict[str, Path], small_fs: Path,
                                               runner: CliRunner) -> None:
    """A tar.gz whose recorded length (gzip ISIZE) lies: the declared size fits, the data does not."""
    store = _store_on(small_fs)
    members = bag_members(world["bag"], LABEL)
    data = bytearray(tar_bytes([*members, (f"{LABEL}/data/zeros.bin", bytes(12 * MiB))], mode="w:gz"))
    data[-4:] = (1000).to_bytes(4, "little")  # ISIZE: "expands to 1000 bytes"
    archive = world["root"] / "liar.tar.gz"
    archive.write_bytes(bytes(data))
    # the ratio cap would stop it first: raise it so the free-space guard is what acts
    code, _stderr, report = _receive(runner, store, archive, "--max-ratio", "100000")
    assert code == 1
    text = _errors(report)
    assert "extraction stopped" in text and "bytes free on the store's filesystem" in text, text
    assert "zeros.bin" in text
    margin = int(8 * MiB * 0.05)
    assert 0 < report["bytes"] < 8 * MiB - margin
    # the margin held while writing, and everything written was removed again
    assert shutil.disk_usage(small_fs).free > 7 * MiB


def test_limits_api_names_its_parameters(world: dict[str, Path]) -> None:
    members = bag_members(world["bag"], LABEL)
    archive = world["root"] / "b.tar.gz"
    archive.write_bytes(tar_bytes([*members, (f"{LABEL}/data/z.bin", bytes(4 * MiB))], mode="w:gz"))
    with Store.open(world["B"]) as store:
        result = receive_bags(store, [archive], ReceiveOptions(limits=Limits(max_ratio=10)))[0]
    assert result.status == "rejected"
    assert "10:1" in str(result.errors[0]) and "max_ratio" in str(result.errors[0])
    with gzip.open(archive) as fh:  # sanity: the archive itself is fine
        assert len(fh.read()) > 4 * MiB


# -- zip name encodings --------------------------------------------------------------------


UTF8 = 0x800  # zip general purpose bit 11


def raw_zip(entries: list[tuple[bytes, bytes | None, int]]) -> bytes:
    """A stored (uncompressed) zip made byte by byte: (raw name, data or None for a directory,
    flag bits) per entry, so the name bytes and the UTF-8 flag are exactly what the test says."""
    out = bytearray()
    central = bytearray()
    for name, data, flags in entries:
        body = data or b""
        if data is None and not name.endswith(b"/"):
            name += b"/"
        crc = zlib.crc32(body)
        offset = len(out)
        out += struct.pack("<4sHHHHHLLLHH", b"PK\x03\x04", 20, flags, 0, 0, 0x21, crc, len(body),
                           len(body), len(name), 0) + name + body
        central += struct.pack("<4sHHHHHHLLLHHHHHLL", b"PK\x01\x02", 20, 20, flags, 0, 0, 0x21, crc,
                               len(body), len(body), len(name), 0, 0, 0, 0, 0, offset) + name
    start = len(out)
    out += central
    out += struct.pack("<4sHHHHLLH", b"PK\x05\x06", 0, 0, len(entries), len(entries), len(central), start, 0)
    return bytes(out)


def _bag_entries(bag: Path, label: str) -> list[tuple[bytes, bytes | None, int]]:
    return [(name.encode(), data, UTF8) for name, data in bag_members(bag, label)]


def _foreign_bag(root: Path, name: str) -> Path:
    """A bagit-python bag holding one file with a non-ASCII name (NFC)."""
    source = root / "foreign" / "their-bag"
    (source / "x").mkdir(parents=True)
    (source / "x" / name).write_text("Dear colleague,\n")
    (source / "x" / "plain.txt").write_text("plain\n")
    bagit.make_bag(str(source), {"External-Identifier": "their:7"}, checksums=["sha512"])
    return source


def test_raw_zip_builder_is_what_zipfile_reads(world: dict[str, Path]) -> None:
    data = raw_zip(_bag_entries(world["bag"], LABEL))
    path = world["root"] / "plain.zip"
    path.write_bytes(data)
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        assert f"{LABEL}/data/text.txt" in archive.namelist()


def test_correctly_flagged_utf8_names_are_received(world: dict[str, Path], runner: CliRunner) -> None:
    name = unicodedata.normalize("NFC", "lettre-café.txt")
    bag = _foreign_bag(world["root"], name)
    archive = world["root"] / "good-names.zip"
    archive.write_bytes(raw_zip(_bag_entries(bag, "their-bag")))
    code, stderr, report = _receive(runner, world["B"], archive)
    assert code == 0, stderr
    assert (Path(report["path"]) / "data" / "x" / name).read_text() == "Dear colleague,\n"


def test_a_name_flagged_utf8_that_is_not_is_a_name_encoding_problem(world: dict[str, Path],
                                                                    runner: CliRunner) -> None:
    bag = _foreign_bag(world["root"], "lettre-café.txt")
    entries = _bag_entries(bag, "their-bag")
    index = next(i for i, (n, _d, _f) in enumerate(entries) if b"caf" in n)
    name, data, flags = entries[index]
    entries[index] = (name.decode().encode("latin-1"), data, flags)  # é as 0xe9, still flagged UTF-8
    archive = world["root"] / "flag-lies.zip"
    archive.write_bytes(raw_zip(entries))
    code, _stderr, report = _receive(runner, world["B"], archive)
    assert code == 1
    assert len(report["errors"]) == 1
    problem = report["errors"][0]
    assert problem["location"] == f"flag-lies.zip entry #{index}"
    assert "name-encoding problem" in problem["message"]
    assert "lettre-caf\\xe9.txt" in problem["message"]  # the raw bytes, escaped
    assert "flagged as UTF-8" in problem["message"] and "byte 0xe9" in problem["message"]
    assert "re-create" in problem["message"]
    assert "missing" not in _errors(report)  # no garbled missing-file list


def test_utf8_names_without_the_flag_are_a_name_encoding_problem(world: dict[str, Path],
                                                                 runner: CliRunner) -> None:
    bag = _foreign_bag(world["root"], "Запись.txt")
    entries = [(n, d, 0) for n, d, _f in _bag_entries(bag, "their-bag")]  # no entry flagged UTF-8
    archive = world["root"] / "unflagged.zip"
    archive.write_bytes(raw_zip(entries))
    with zipfile.ZipFile(archive) as z:  # what zipfile alone would make of it: cp437 mojibake
        assert not any("Запись" in n for n in z.namelist())
    code, _stderr, report = _receive(runner, world["B"], archive)
    assert code == 1
    text = _errors(report)
    assert "name-encoding problem" in text and "Запись.txt" in text
    assert "does not flag them as UTF-8" in text and "\\xd0\\x97" in text
    assert "[missing-file]" not in text and "[unexpected-file]" not in text


def test_legacy_cp437_names_are_read_as_cp437_with_a_warning(world: dict[str, Path]) -> None:
    assert "résumé".encode("cp437").decode("cp437") == "résumé"
    bag = _foreign_bag(world["root"], "résumé.txt")
    entries = [(n.replace("résumé".encode(), "résumé".encode("cp437")), d, 0)
               for n, d, _f in _bag_entries(bag, "their-bag")]
    archive = world["root"] / "dos.zip"
    archive.write_bytes(raw_zip(entries))
    with Store.open(world["B"]) as store:
        result = receive_bags(store, [archive])[0]
    assert result.status == "new", result.errors
    assert any("read as cp437" in w.message for w in result.warnings)
