"""A file listed twice in one manifest: a warning when both lines agree, an error when not.

The same path twice with the same checksum, or one file listed in two Unicode
normalizations (NFC and NFD) that resolve to it, is redundant: the bag stays valid
and the engine warns (``repeated-entry``). Two lines with different checksums make
the manifest contradict itself: ``duplicate-entry``, an error. The fast path never
vouches for either (it hands them to the engine), and audit and receive follow the
engine's verdict.

What bagit-python 1.9 says about the same bags (checked in each test below):
* the same path twice with the same value: in a BagIt 0.97 bag it logs "lists ...
  multiple times with the same value" and validates the bag, as stook does; in a
  BagIt 1.0 bag it refuses to open it with that same sentence (BagError), where
  stook, as issue 13.11 asks, warns and calls the bag valid;
* the same path twice with conflicting values: it refuses to open the bag
  (BagError "... multiple times with conflicting values"), an error here too;
* one file listed as NFC and as NFD: it reads the line whose bytes are not on disk
  as a missing file ("Could not read ...") and calls the bag invalid; stook matches
  that line to the one file by NFC and only warns, as issue 13.11 asks.
"""

from __future__ import annotations

import shutil
import unicodedata
from pathlib import Path

import bagit
import pytest
from bagcorpus import (
    bagit_python_valid,
    digest,
    errors_with,
    retag,
    warnings_with,
    write_bag,
)
from support.transfer_helpers import example_store, snapshot

from stook.audit import AuditOptions, run_audit
from stook.store import Store
from stook.transfer import receive_bags
from stook.verify import verify_bag
from stook.verify.quick import plainly_intact

NFC = unicodedata.normalize("NFC", "data/café.txt")
NFD = unicodedata.normalize("NFD", "data/café.txt")
FILES = {"data/hello.txt": b"hello, world\n", NFC: b"une lettre\n"}


def _append(bag: Path, manifest: str, line: str) -> None:
    with open(bag / manifest, "a", encoding="utf-8", newline="") as fh:
        fh.write(line + "\n")
    retag(bag)  # the repeated line is then the only odd thing in the bag


def _bagit_python_error(bag: Path) -> str:
    try:
        bagit.Bag(str(bag)).validate()
    except (bagit.BagError, bagit.BagValidationError) as exc:
        return str(exc)
    return ""


@pytest.fixture
def bag(tmp_path: Path) -> Path:
    return write_bag(tmp_path / "bag", FILES, algorithms=("sha256", "sha512"))


def test_the_same_line_twice_is_a_warning(bag: Path) -> None:
    _append(bag, "manifest-sha256.txt", f"{digest('sha256', FILES['data/hello.txt'])}  data/hello.txt")
    result = verify_bag(bag)
    assert result.valid and result.errors == []
    assert warnings_with(result, "repeated-entry") == [("manifest-sha256.txt", 3)]
    assert "again with the same checksum (first on line 2)" in result.warnings[0].message
    assert plainly_intact(str(bag)) is None  # the fast path leaves it to the engine
    # bagit-python refuses a 1.0 bag for it, and only warns about a 0.97 bag
    assert "multiple times with the same value" in _bagit_python_error(bag)
    (bag / "bagit.txt").write_text("BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n")
    retag(bag)
    assert bagit_python_valid(bag)
    result = verify_bag(bag)
    assert result.valid and warnings_with(result, "repeated-entry") == [("manifest-sha256.txt", 3)]


def test_the_same_path_with_another_checksum_is_an_error(bag: Path) -> None:
    _append(bag, "manifest-sha256.txt", f"{digest('sha256', b'other')}  data/hello.txt")
    result = verify_bag(bag)
    assert not result.valid
    assert errors_with(result, "duplicate-entry") == [("manifest-sha256.txt", 3)]
    finding = result.errors[0]
    assert finding.expected == digest("sha256", FILES["data/hello.txt"])
    assert finding.found == digest("sha256", b"other")
    assert plainly_intact(str(bag)) is None
    assert "conflicting values" in _bagit_python_error(bag)


def test_the_conflicting_line_first_is_still_an_error(bag: Path) -> None:
    path = bag / "manifest-sha256.txt"
    path.write_text(f"{digest('sha256', b'other')}  data/hello.txt\n" + path.read_text())
    retag(bag)
    result = verify_bag(bag)
    assert not result.valid
    assert {f.code for f in result.errors} == {"duplicate-entry", "checksum-mismatch"}


def test_nfc_and_nfd_lines_for_one_file_are_a_warning(bag: Path) -> None:
    _append(bag, "manifest-sha512.txt", f"{digest('sha512', FILES[NFC])}  {NFD}")
    result = verify_bag(bag)
    assert result.valid, [f.message for f in result.errors]
    assert warnings_with(result, "repeated-entry") == [("manifest-sha512.txt", 3)]
    assert "normalization-mismatch" in {f.code for f in result.warnings}
    assert plainly_intact(str(bag)) is None
    # bagit-python reads the NFD line as a second file, which is not on disk
    assert not bagit_python_valid(bag) and "Could not read" in _bagit_python_error(bag)


def test_nfc_and_nfd_lines_with_different_checksums_are_an_error(bag: Path) -> None:
    _append(bag, "manifest-sha512.txt", f"{digest('sha512', b'forged')}  {NFD}")
    result = verify_bag(bag)
    assert not result.valid
    assert errors_with(result, "duplicate-entry") == [("manifest-sha512.txt", 3)]
    assert plainly_intact(str(bag)) is None


def test_tag_manifests_follow_the_same_rule(bag: Path) -> None:
    line = f"{digest('sha256', (bag / 'bag-info.txt').read_bytes())}  bag-info.txt"
    (bag / "tagmanifest-sha256.txt").write_text((bag / "tagmanifest-sha256.txt").read_text() + line + "\n")
    result = verify_bag(bag)
    assert result.valid and warnings_with(result, "repeated-entry") == [("tagmanifest-sha256.txt", 5)]
    assert plainly_intact(str(bag)) is None
    retag(bag)
    forged = f"{digest('sha256', b'x')}  bag-info.txt"
    (bag / "tagmanifest-sha256.txt").write_text((bag / "tagmanifest-sha256.txt").read_text() + forged + "\n")
    result = verify_bag(bag)
    assert errors_with(result, "duplicate-entry") == [("tagmanifest-sha256.txt", 5)]


def test_a_plain_bag_still_takes_the_fast_path(bag: Path) -> None:
    quick = plainly_intact(str(bag))
    assert quick is not None and verify_bag(bag).warnings == []


# -- audit and receive follow the engine -----------------------------------------------------


def _stored(tmp_path: Path) -> tuple[Store, Path]:
    return example_store(tmp_path / "store")


def test_audit_passes_a_repeated_line_with_a_warning_and_fails_a_conflict(tmp_path: Path) -> None:
    store, bag = _stored(tmp_path)
    manifest = bag / "manifest-sha512.txt"
    original = manifest.read_text()
    first = original.splitlines()[0]
    _append(bag, "manifest-sha512.txt", first)
    result = run_audit(store, AuditOptions(workers=1))
    [audited] = result.bags
    assert audited.status == "ok", audited.problems
    assert [w.code for w in audited.warnings] == ["repeated-entry"]
    digest_, path = first.split("  ", 1)
    manifest.write_text(original + f"{'0' * 128}  {path}\n")
    retag(bag)
    result = run_audit(store, AuditOptions(workers=1))
    [audited] = result.bags
    assert audited.status == "failed"
    assert [p.code for p in audited.problems] == ["duplicate-entry"]
    assert audited.problems[0].expected == digest_
    store.close()


def test_receive_takes_a_repeated_line_and_refuses_a_conflict(tmp_path: Path) -> None:
    source = write_bag(tmp_path / "their-bag", FILES, algorithms=("sha512",),
                       info=[("External-Identifier", "their:1")])
    _append(source, "manifest-sha512.txt", f"{digest('sha512', FILES[NFC])}  {NFD}")
    conflicting = tmp_path / "their-other-bag"
    shutil.copytree(source, conflicting)
    (conflicting / "bag-info.txt").write_text("External-Identifier: their:2\n")
    _append(conflicting, "manifest-sha512.txt", f"{digest('sha512', b'forged')}  data/hello.txt")
    store = Store.open(tmp_path / "B", create=True)
    [taken] = receive_bags(store, [source])
    assert taken.status == "new", taken.errors
    assert any("lists data/café.txt again" in w.message and "same checksum" in w.message
               for w in taken.warnings)
    store.close()
    before = snapshot(tmp_path / "B")
    with Store.open(tmp_path / "B") as store:
        [refused] = receive_bags(store, [conflicting])
    assert refused.status == "rejected"
    assert any("[duplicate-entry]" in p.message and "another checksum" in p.message for p in refused.errors)
    assert snapshot(tmp_path / "B") == before
