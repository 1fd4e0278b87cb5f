"""Hostile and broken input to ``stook receive``: each is rejected, nothing escapes, nothing is kept.

Every archive here is built by hand with tarfile/zipfile around a real, valid
bag exported from a real store, so the only thing wrong is the attack itself.
"""

from __future__ import annotations

import json
import tarfile
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner
from support.transfer_helpers import (
    bag_members,
    example_store,
    snapshot,
    tar_bytes,
    zip_bytes,
)

from stook.cli import main
from stook.cli.base import with_flag
from stook.store import Store
from stook.transfer import ExportOptions, export_bags

LABEL = "wcda-115179-00e6896c9b37d041.v1"


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """Store A with the example bag, its exported tar, and store B holding one other bag."""
    store_a, bag = example_store(tmp_path / "A")
    tar = export_bags(["wcda:115179"], ExportOptions(to=tmp_path / "outbox"), store_a)[0].destination
    store_a.close()
    assert tar is not None
    store_b, _ = example_store(tmp_path / "B", organization="Archive B")
    store_b.close()
    return {"root": tmp_path, "bag": bag, "tar": tar, "B": tmp_path / "B"}


def _receive(runner: CliRunner, world: dict[str, Path], archive: Path, *extra: str) -> tuple[int, str, dict]:
    before = snapshot(world["B"])
    result = runner.invoke(main, ["receive", str(archive), "--store", str(world["B"]), "--json", *extra])
    report = json.loads(result.stdout)[0] if result.stdout.strip().startswith("[") else {}
    if result.exit_code == 1:
        after = snapshot(world["B"])
        assert after == before, "a rejected bag changed the store"
        assert after.tmp == ()
        assert report["status"] == "rejected" and report["path"] is None
    return result.exit_code, result.stderr, report


def _messages(report: dict) -> str:
    """The errors as the command line shows them, each with the flag that would change it."""
    return "\n".join(with_flag(f"{p['location']}: {p['message']}", p.get("option"))
                     for p in report.get("errors", []))


def _write(world: dict[str, Path], name: str, data: bytes) -> Path:
    path = world["root"] / "inbox" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(data)
    return path


def _members(world: dict[str, Path]) -> list[tuple[str, bytes | None]]:
    return bag_members(world["bag"], LABEL)


def _info(name: str, kind: bytes, linkname: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o644
    return info


def _outside_untouched(world: dict[str, Path]) -> None:
    for candidate in (world["root"] / "evil.txt", world["B"] / "evil.txt", world["B"] / ".tmp" / "evil.txt",
                      Path("/tmp/stook-evil.txt")):
        assert not candidate.exists(), candidate


TAR_ATTACKS: dict[str, tuple[Callable[[], tarfile.TarInfo], bytes | None, str]] = {
    "traversal": (lambda: _info(f"{LABEL}/data/../../../evil.txt", tarfile.REGTYPE), b"pwned", "'..'"),
    "traversal-top": (lambda: _info("../evil.txt", tarfile.REGTYPE), b"pwned", "'..'"),
    "absolute": (lambda: _info("/tmp/stook-evil.txt", tarfile.REGTYPE), b"pwned", "absolute path"),
    "symlink": (lambda: _info(f"{LABEL}/data/link", tarfile.SYMTYPE, "/etc/passwd"), None, "symbolic link"),
    "symlink-relative": (lambda: _info(f"{LABEL}/data/up", tarfile.SYMTYPE, "../../../.."), None,
                         "symbolic link"),
    "hardlink": (lambda: _info(f"{LABEL}/data/hard", tarfile.LNKTYPE, "/etc/passwd"), None, "hard link"),
    "chardev": (lambda: _info(f"{LABEL}/data/null", tarfile.CHRTYPE), None, "device"),
    "blockdev": (lambda: _info(f"{LABEL}/data/sda", tarfile.BLKTYPE), None, "device"),
    "fifo": (lambda: _info(f"{LABEL}/data/pipe", tarfile.FIFOTYPE), None, "FIFO"),
    "duplicate": (lambda: _info(f"{LABEL}/data/text.txt", tarfile.REGTYPE), b"other words\n", "duplicate"),
    "second-top": (lambda: _info("another-bag/bagit.txt", tarfile.REGTYPE), b"x", "top-level"),
    "top-level-file": (lambda: _info("README", tarfile.REGTYPE), b"x", "top-level"),
    "backslash": (lambda: _info(f"{LABEL}\\..\\evil.txt", tarfile.REGTYPE), b"x", "backslash"),
}


@pytest.mark.parametrize("attack", sorted(TAR_ATTACKS))
def test_hostile_tar_entries_are_refused(world: dict[str, Path], runner: CliRunner, attack: str) -> None:
    make, data, expected = TAR_ATTACKS[attack]
    info = make()
    archive = _write(world, f"{attack}.tar", tar_bytes(_members(world), [info],
                                                       {info.name: data} if data is not None else None))
    code, stderr, report = _receive(runner, world, archive)
    assert code == 1, stderr
    assert expected in _messages(report), _messages(report)
    _outside_untouched(world)


def test_case_and_unicode_duplicates(world: dict[str, Path], runner: CliRunner) -> None:
    nfd = _info(f"{LABEL}/data/cafe\u0301.txt", tarfile.REGTYPE)
    nfc = _info(f"{LABEL}/data/caf\u00e9.txt", tarfile.REGTYPE)
    archive = _write(world, "nfc.tar", tar_bytes(_members(world), [nfd, nfc],
                                                 {nfd.name: b"a", nfc.name: b"b"}))
    code, _stderr, report = _receive(runner, world, archive)
    assert code == 1 and "Unicode normalization" in _messages(report)
    folded = _info(f"{LABEL}/data/TEXT.txt", tarfile.REGTYPE)
    archive = _write(world, "case.tar", tar_bytes(_members(world), [folded], {folded.name: b"x"}))
    code, _stderr, report = _receive(runner, world, archive)
    # the case-fold clash is a warning; the extra file is not in the manifest, so the bag is invalid
    assert code == 1
    assert any("only in case" in w["message"] for w in report["warnings"])
    assert "data/TEXT.txt" in _messages(report)


def test_zip_bomb_is_stopped_by_the_byte_cap(world: dict[str, Path], runner: CliRunner) -> None:
    bomb = zipfile.ZipInfo(f"{LABEL}/data/zeros.bin")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    data = zip_bytes(_members(world), [(bomb, bytes(50 * 1024 * 1024))])
    assert len(data) < 200_000
    archive = _write(world, "bomb.zip", data)
    code, _stderr, report = _receive(runner, world, archive, "--max-bytes", "1MB")
    assert code == 1 and "--max-bytes" in _messages(report)


def test_zip_bomb_lying_about_its_size_is_stopped_while_writing(world: dict[str, Path],
                                                                runner: CliRunner) -> None:
    bomb = zipfile.ZipInfo(f"{LABEL}/data/zeros.bin")
    bomb.compress_type = zipfile.ZIP_DEFLATED
    data = bytearray(zip_bytes(_members(world), [(bomb, bytes(50 * 1024 * 1024))]))
    # patch the declared size of the bomb (central directory) down to 10 bytes
    name = bomb.filename.encode()
    central = data.rfind(b"PK\x01\x02" + bytes(0), 0, data.rfind(name))
    central = data.rfind(b"PK\x01\x02", 0, data.rfind(name) + 1)
    data[central + 24:central + 28] = (10).to_bytes(4, "little")
    local = data.find(b"PK\x03\x04" + data[central + 6:central + 10])
    assert local >= 0
    archive = _write(world, "liar.zip", bytes(data))
    code, _stderr, report = _receive(runner, world, archive, "--max-bytes", "1MB")
    assert code == 1
    assert _messages(report)  # stopped: either the cap or the size/CRC check names the entry
    assert "zeros.bin" in _messages(report)
    total = sum(p.stat().st_size for p in world["B"].rglob("*") if p.is_file())
    assert total < 20 * 1024 * 1024


def test_tar_gz_bomb_is_stopped(world: dict[str, Path], runner: CliRunner) -> None:
    big = _info(f"{LABEL}/data/zeros.bin", tarfile.REGTYPE)
    data = tar_bytes(_members(world), [big], {big.name: bytes(50 * 1024 * 1024)}, mode="w:gz")
    assert len(data) < 500_000
    archive = _write(world, "bomb.tar.gz", data)
    code, _stderr, report = _receive(runner, world, archive, "--max-bytes", "1MB")
    assert code == 1 and "--max-bytes" in _messages(report)


def test_too_many_files(world: dict[str, Path], runner: CliRunner) -> None:
    code, _stderr, report = _receive(runner, world, world["tar"], "--max-files", "3")
    assert code == 1 and "--max-files" in _messages(report)


@pytest.mark.parametrize("fmt", ["tar", "tar.gz", "zip"])
@pytest.mark.parametrize("keep", [0.5, 0.9])
def test_truncated_archives(world: dict[str, Path], runner: CliRunner, fmt: str, keep: float) -> None:
    members = _members(world)
    data = zip_bytes(members) if fmt == "zip" else tar_bytes(members, mode="w:gz" if fmt == "tar.gz" else "w")
    archive = _write(world, f"cut.{fmt}", data[: int(len(data) * keep)])
    code, _stderr, report = _receive(runner, world, archive)
    assert code == 1
    assert "truncated" in _messages(report), _messages(report)


def test_tar_cut_at_a_block_boundary_is_truncated(world: dict[str, Path], runner: CliRunner) -> None:
    data = tar_bytes(_members(world))
    end = len(data.rstrip(b"\0"))
    boundary = (end + 511) // 512 * 512
    archive = _write(world, "boundary.tar", data[:boundary])
    code, _stderr, report = _receive(runner, world, archive)
    assert code == 1 and "truncated" in _messages(report)


def test_corrupted_payload_byte(world: dict[str, Path], runner: CliRunner) -> None:
    data = bytearray(world["tar"].read_bytes())
    text = (world["bag"] / "data" / "text.txt").read_bytes()
    at = data.find(text[:64], data.find(f"{LABEL}/data/text.txt".encode()))
    assert at > 0
    data[at + 10] ^= 0x01
    archive = _write(world, "flipped.tar", bytes(data))  # no sidecar: the bag's manifest must catch it
    code, _stderr, report = _receive(runner, world, archive)
    assert code == 1 and "data/text.txt" in _messages(report)
    # with the sender's sidecar beside it, the damage is also named at the archive level
    sidecar = world["tar"].with_name(world["tar"].name + ".sha512").read_text().split()[0]
    archive.with_name(archive.name + ".sha512").write_text(f"{sidecar}  {archive.name}\n")
    code, _stderr, report = _receive(runner, world, archive)
    assert code == 1 and "differs from flipped.tar.sha512" in _messages(report)
    assert "data/text.txt" in _messages(report)


def test_zip_specific_attacks(world: dict[str, Path], runner: CliRunner) -> None:
    link = zipfile.ZipInfo(f"{LABEL}/data/link")
    link.create_system = 3
    link.external_attr = (0o120777 << 16)
    fifo = zipfile.ZipInfo(f"{LABEL}/data/pipe")
    fifo.create_system = 3
    fifo.external_attr = (0o010644 << 16)
    cases = {
        "symlink": ([(link, b"/etc/passwd")], "symbolic link"),
        "fifo": ([(fifo, b"")], "FIFO"),
        "traversal": ([(zipfile.ZipInfo(f"{LABEL}/../evil.txt"), b"x")], "'..'"),
        "absolute": ([(zipfile.ZipInfo("/tmp/stook-evil.txt"), b"x")], "absolute"),
        "duplicate": ([(zipfile.ZipInfo(f"{LABEL}/data/text.txt"), b"y")], "duplicate"),
    }
    for name, (extra, expected) in cases.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            archive = _write(world, f"{name}.zip", zip_bytes(_members(world), extra))
        code, _stderr, report = _receive(runner, world, archive)
        assert code == 1, name
        assert expected in _messages(report), (name, _messages(report))
    _outside_untouched(world)


def test_valid_bag_breaking_a_named_profile(world: dict[str, Path], runner: CliRunner) -> None:
    profile = {
        "BagIt-Profile-Info": {
            "BagIt-Profile-Identifier": "https://partner.example/profiles/deposit.json",
            "Source-Organization": "Partner Archive",
            "Version": "2.1",
            "BagIt-Profile-Version": "1.3.0",
        },
        "Bag-Info": {"Contact-Email": {"required": True}},
        "Manifests-Required": ["sha256"],
        "Accept-BagIt-Version": ["1.0"],
        "Accept-Serialization": ["application/zip"],
    }
    profile_file = world["root"] / "partner.json"
    profile_file.write_text(json.dumps(profile))
    code, _stderr, report = _receive(runner, world, world["tar"], "--profile", str(profile_file))
    assert code == 1
    text = _messages(report)
    assert "Contact-Email" in text and "sha256" in text
    assert "partner.example/profiles/deposit.json" in text  # the bag names another profile
    # the same bag is fine against the stook profile (B holds the same record and files already)
    code, _stderr, report = _receive(runner, world, world["tar"])
    assert code == 0 and report["status"] == "unchanged" and report["profile_conforms"] is True


def test_stook_bag_breaking_its_own_profile_is_rejected(world: dict[str, Path], runner: CliRunner) -> None:
    members = [m for m in _members(world) if not m[0].endswith(("tagmanifest-sha512.txt",))]
    archive = _write(world, "no-tagmanifest.tar", tar_bytes(members))
    code, _stderr, report = _receive(runner, world, archive)
    assert code == 1 and "tag manifest" in _messages(report).lower()


@pytest.mark.parametrize("serialize", [False, True])
def test_foreign_bagit_python_bag_is_received_with_profile_warnings(
    world: dict[str, Path], runner: CliRunner, serialize: bool
) -> None:
    source = world["root"] / "foreign" / "their-bag"
    (source).mkdir(parents=True)
    (source / "letter.txt").write_text("Dear colleague,\n")
    (source / "scan.bin").write_bytes(bytes(range(256)))
    bag = bagit.make_bag(str(source), {"External-Identifier": "their:42", "Source-Organization": "Them"},
                         checksums=["md5", "sha256"])
    bag.info["BagIt-Version"] = "0.97"
    (source / "bagit.txt").write_text("BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n")
    bag = bagit.Bag(str(source))
    bag.save(manifests=True)
    bagit.Bag(str(source)).validate()
    path = source
    if serialize:
        path = _write(world, "their-bag.tar.gz", tar_bytes(bag_members(source, "their-bag"), mode="w:gz"))
    code, stderr, report = _receive(runner, world, path)
    assert code == 0, stderr
    assert report["status"] == "new" and report["identifier"] == "their:42"
    assert report["bagit_version"] == "0.97" and report["profile_conforms"] is False
    warned = "\n".join(w["message"] for w in report["warnings"])
    assert "sha512" in warned and "BagIt-Profile-Identifier" in warned and "0.97" in warned
    with Store.open(world["B"]) as store:
        row = store.latest("their:42")
        assert row is not None
        events = [(e.type, e.outcome) for e in store.ledger.events(identifier="their:42")]
    assert events == [("tra", "suc"), ("fix", "suc"), ("val", "war"), ("mes", "suc"), ("ing", "suc")]
    bagit.Bag(report["path"]).validate()
    # --strict-profile turns those warnings into a rejection (and the bag is already there anyway)
    code, _stderr, report = _receive(runner, world, path, "--strict-profile")
    assert code == 1 and "sha512" in _messages(report)


def test_not_a_bag_and_missing_inputs(world: dict[str, Path], runner: CliRunner) -> None:
    plain = world["root"] / "plain"
    (plain / "data").mkdir(parents=True)
    (plain / "data" / "x.txt").write_text("x")
    code, _stderr, report = _receive(runner, world, plain)
    assert code == 1 and "not a bag" in _messages(report)
    code, _stderr, report = _receive(runner, world, world["root"] / "missing.tar")
    assert code == 1 and "not found" in _messages(report)
    junk = _write(world, "junk.bin", b"\x00\x01 nothing useful" * 10)
    code, _stderr, report = _receive(runner, world, junk)
    assert code == 1 and "not a bag directory, tar" in _messages(report)


def test_bag_directory_with_a_symlink_is_refused(world: dict[str, Path], runner: CliRunner) -> None:
    import shutil

    copy = world["root"] / "linked" / LABEL
    shutil.copytree(world["bag"], copy)
    (copy / "data" / "escape").symlink_to("/etc")
    code, _stderr, report = _receive(runner, world, copy)
    assert code == 1 and "symbolic link" in _messages(report)
