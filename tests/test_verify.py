"""stook verify: a strict RFC 8493 validator, checked against a corpus of real bags.

Where stook and bagit-python (the reference) disagree, the test asserts both verdicts
and its docstring names the RFC 8493 section that makes stook right.
"""

from __future__ import annotations

import builtins
import hashlib
import json
import os
import pickle
import stat
import unicodedata
from pathlib import Path

import bagit
import pytest
from bagcorpus import (
    DEFAULT_FILES,
    bagit_python_bag,
    bagit_python_valid,
    codes,
    errors_with,
    manifest_text,
    retag,
    warning_codes,
    warnings_with,
    write_bag,
)
from click.testing import CliRunner

from stook.errors import NotABag
from stook.verify import Finding, VerifyResult, verify_bag
from stook.verify.fs import BagFS

HELLO = DEFAULT_FILES["data/hello.txt"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def set_line(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8", newline="")


# -- valid bags ------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.0", "0.97"])
def test_bagit_python_bag_is_valid_with_every_algorithm_verified(
    tmp_path: Path, version: str
) -> None:
    bag = bagit_python_bag(tmp_path / "bag", version=version)
    result = verify_bag(bag)
    assert result.errors == [] and result.warnings == []
    assert result.valid and result.complete and result.checksums_verified
    assert result.status == "valid"
    assert result.version == version
    assert result.algorithms == ["sha256", "sha512"]
    # 2 payload files + bagit.txt, bag-info.txt and the two payload manifests
    assert result.files_checked == 6
    outcomes = {f.path: f for f in result.files}
    assert outcomes["data/hello.txt"].status == "ok"
    assert outcomes["data/hello.txt"].algorithms == ("sha256", "sha512")
    assert bagit_python_valid(bag)


@pytest.mark.parametrize("version", ["0.93", "0.96", "0.97", "1.0"])
def test_hand_written_bags_of_each_version_are_valid(tmp_path: Path, version: str) -> None:
    bag = write_bag(tmp_path / "bag", version=version, algorithms=("md5", "sha1"))
    result = verify_bag(bag)
    assert (result.valid, result.errors, result.warnings) == (True, [], [])
    assert result.version == version


def test_crlf_and_cr_line_endings_are_accepted(tmp_path: Path) -> None:
    """RFC 8493 §2.3: lines end with LF, CR or CRLF."""
    bag = write_bag(tmp_path / "bag", tag_algorithms=None)
    for name, ending in (("manifest-sha256.txt", "\r\n"), ("bag-info.txt", "\r")):
        path = bag / name
        path.write_bytes(path.read_bytes().replace(b"\n", ending.encode()))
    (bag / "bagit.txt").write_bytes(b"BagIt-Version: 1.0\r\nTag-File-Character-Encoding: UTF-8\r\n")
    result = verify_bag(bag)
    assert (result.valid, result.errors, result.warnings) == (True, [], [])


def test_percent_encoded_names_are_decoded_and_bagit_python_disagrees(tmp_path: Path) -> None:
    """RFC 8493 §2.1.3: CR, LF and % in a filepath MUST be percent-encoded, so a
    manifest line ``data/100%25.txt`` names ``data/100%.txt``. bagit-python only
    decodes %0A/%0D and reports the file missing and an unexpected file."""
    files = {"data/100%.txt": b"all", "data/line\nbreak.txt": b"two\n"}
    bag = write_bag(tmp_path / "bag", files)
    assert "data/100%25.txt" in (bag / "manifest-sha256.txt").read_text()
    result = verify_bag(bag)
    assert (result.valid, result.errors) == (True, [])
    assert not bagit_python_valid(bag)


def test_continuation_lines_in_bag_info_are_accepted(tmp_path: Path) -> None:
    info = [("External-Description", "first part\n  continued here\n\tand here")]
    bag = write_bag(tmp_path / "bag", info=info)
    result = verify_bag(bag)
    assert (result.valid, result.errors, result.warnings) == (True, [], [])


def test_result_is_picklable_and_serialisable(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    (bag / "data/hello.txt").write_bytes(b"HELLO, world\n")
    result = verify_bag(bag)
    clone = pickle.loads(pickle.dumps(result))
    assert clone == result and isinstance(clone, VerifyResult)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "invalid"
    assert data["errors"][0]["code"] == "checksum-mismatch"
    assert set(data) >= {"bag", "mode", "valid", "complete", "checksums_verified", "version",
                         "errors", "warnings", "files_checked", "bytes_hashed", "algorithms"}


# -- not a bag -------------------------------------------------------------------------


def test_not_a_bag_raises_with_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    (tmp_path / "file.txt").write_text("x")
    for target in (tmp_path / "plain", tmp_path / "file.txt", tmp_path / "absent"):
        with pytest.raises(NotABag) as info:
            verify_bag(target)
        assert info.value.exit_code == 2
        assert str(target) in str(info.value)


def test_bagit_txt_pointing_outside_is_not_a_bag(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    (tmp_path / "elsewhere.txt").write_bytes((bag / "bagit.txt").read_bytes())
    (bag / "bagit.txt").unlink()
    (bag / "bagit.txt").symlink_to(tmp_path / "elsewhere.txt")
    with pytest.raises(NotABag, match="not opened"):
        verify_bag(bag)


# -- bagit.txt -------------------------------------------------------------------------


def test_bagit_txt_with_a_third_line_is_invalid_and_bagit_python_disagrees(
    tmp_path: Path,
) -> None:
    """RFC 8493 §2.1.1: bagit.txt MUST consist of exactly two lines."""
    bag = write_bag(tmp_path / "bag")
    with (bag / "bagit.txt").open("a") as fh:
        fh.write("Contact-Name: someone\n")
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, "bad-bagit-txt") == [("bagit.txt", 3)]
    assert not result.valid
    assert bagit_python_valid(bag)


@pytest.mark.parametrize(
    ("content", "code", "line"),
    [
        (b"\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n", "bom", 1),
        (b"BagIt-Version: 2.0\nTag-File-Character-Encoding: UTF-8\n", "unknown-version", 1),
        (b"BagIt-Version: one\nTag-File-Character-Encoding: UTF-8\n", "bad-bagit-txt", 1),
        (b"Tag-File-Character-Encoding: UTF-8\nBagIt-Version: 1.0\n", "bad-bagit-txt", 1),
        (b"BagIt-Version:  1.0\nTag-File-Character-Encoding: UTF-8\n", "bad-bagit-txt", 1),
        (b"BagIt-Version: 1.0\n", "bad-bagit-txt", None),
        (b"BagIt-Version: 1.0\nTag-File-Character-Encoding: klingon\n", "unknown-encoding", 2),
    ],
)
def test_bad_bagit_txt_is_named_with_its_line(
    tmp_path: Path, content: bytes, code: str, line: int | None
) -> None:
    bag = write_bag(tmp_path / "bag")
    (bag / "bagit.txt").write_bytes(content)
    retag(bag)
    result = verify_bag(bag)
    assert ("bagit.txt", line) in errors_with(result, code)
    assert not result.valid


def test_whitespace_in_bagit_txt_labels_is_invalid_in_1_0_and_bagit_python_disagrees(
    tmp_path: Path,
) -> None:
    """RFC 8493 §2.1.1: the two lines are exactly ``BagIt-Version: M.N`` and
    ``Tag-File-Character-Encoding: ENCODING``; bagit-python strips any whitespace."""
    bag = write_bag(tmp_path / "bag")
    (bag / "bagit.txt").write_bytes(
        b"BagIt-Version : 1.0\nTag-File-Character-Encoding:\tUTF-8\n"
    )
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, "bad-bagit-txt") == [("bagit.txt", 1), ("bagit.txt", 2)]
    assert bagit_python_valid(bag)


def test_whitespace_in_bagit_txt_is_only_a_warning_before_1_0(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", version="0.97")
    (bag / "bagit.txt").write_bytes(b"BagIt-Version:  0.97\nTag-File-Character-Encoding: UTF-8\n")
    retag(bag)
    result = verify_bag(bag)
    assert result.valid
    assert warnings_with(result, "pre-1.0-rule") == [("bagit.txt", 1)]


def test_non_utf8_encoding_is_a_warning_and_tag_files_are_decoded_with_it(
    tmp_path: Path,
) -> None:
    bag = write_bag(
        tmp_path / "bag", encoding="ISO-8859-1", info=[("Contact-Name", "Zoë Müller")]
    )
    assert "Zoë".encode("latin-1") in (bag / "bag-info.txt").read_bytes()
    result = verify_bag(bag)
    assert result.valid and result.errors == []
    assert warnings_with(result, "non-utf8-encoding") == [("bagit.txt", 2)]


def test_undecodable_tag_file_gives_a_clear_error_with_its_line(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", tag_algorithms=None)
    with (bag / "bag-info.txt").open("ab") as fh:
        fh.write("Contact-Name: Zoë\n".encode("latin-1"))
    result = verify_bag(bag)
    assert errors_with(result, "undecodable-tag-file") == [("bag-info.txt", 3)]
    assert "not valid utf-8" in result.errors[0].message


@pytest.mark.parametrize(("version", "is_error"), [("1.0", True), ("0.97", False)])
def test_bom_in_a_utf8_tag_file(tmp_path: Path, version: str, is_error: bool) -> None:
    """RFC 8493 §2.3: UTF-8 tag files MUST NOT begin with a BOM (a warning before 1.0)."""
    bag = write_bag(tmp_path / "bag", version=version)
    path = bag / "manifest-sha256.txt"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    retag(bag)
    result = verify_bag(bag)
    findings = result.errors if is_error else result.warnings
    assert [(f.code, f.path, f.line) for f in findings] == [("bom", "manifest-sha256.txt", 1)]
    assert result.valid is not is_error


# -- bag-info.txt ----------------------------------------------------------------------


def test_whitespace_around_a_label_is_invalid_in_1_0_and_bagit_python_disagrees(
    tmp_path: Path,
) -> None:
    """RFC 8493 §2.2.2: a label MUST NOT start or end with whitespace in BagIt 1.0."""
    bag = write_bag(tmp_path / "bag", info=[("Source-Organization ", "x")])
    result = verify_bag(bag)
    assert errors_with(result, "bag-info-syntax") == [("bag-info.txt", 1)]
    assert bagit_python_valid(bag)


def test_whitespace_around_a_label_is_tolerated_in_0_97_with_a_warning(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", version="0.97", info=[("Source-Organization\t", " x")])
    result = verify_bag(bag)
    assert result.valid and result.errors == []
    assert warnings_with(result, "pre-1.0-rule") == [("bag-info.txt", 1), ("bag-info.txt", 1)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("Source-Organization: x\nno colon on this line\n", 2),
        ("  leading continuation\nSource-Organization: x\n", 1),
        ("Source-Organization:x\n", 1),
        ("Source-Organization:  two spaces\n", 1),
        (": empty label\n", 1),
    ],
)
def test_bag_info_syntax_errors_are_located(tmp_path: Path, text: str, line: int) -> None:
    bag = write_bag(tmp_path / "bag", oxum=False, info=[])
    (bag / "bag-info.txt").write_text(text, newline="")
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, "bag-info-syntax") == [("bag-info.txt", line)]


def test_repeated_and_malformed_payload_oxum(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", oxum=False, info=[("Payload-Oxum", "25.2"),
                                                        ("payload-oxum", "25.2")])
    result = verify_bag(bag)
    assert errors_with(result, "repeated-oxum") == [("bag-info.txt", 2)]
    bag2 = write_bag(tmp_path / "bag2", oxum=False, info=[("Payload-Oxum", "25 bytes")])
    assert errors_with(verify_bag(bag2), "bad-oxum") == [("bag-info.txt", 1)]


def test_repeated_bagging_date_is_a_warning(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", info=[("Bagging-Date", "2024-01-01"),
                                            ("Bagging-Date", "2024-01-02")])
    result = verify_bag(bag)
    assert result.valid
    assert warnings_with(result, "repeated-element") == [("bag-info.txt", 2)]


def test_oxum_mismatch_does_not_hide_which_file_is_wrong(tmp_path: Path) -> None:
    """bagit-python stops at the Payload-Oxum and never names the file (its #137/#177);
    RFC 8493 §2.2.2 makes the Oxum an optimisation, not the verdict."""
    bag = write_bag(tmp_path / "bag")
    (bag / "data/hello.txt").write_bytes(b"goodbye\n")
    result = verify_bag(bag)
    assert codes(result) == {"oxum-mismatch", "checksum-mismatch"}
    oxum = next(f for f in result.errors if f.code == "oxum-mismatch")
    assert (oxum.expected, oxum.found) == ("25.2", "20.2")
    bad = next(f for f in result.errors if f.code == "checksum-mismatch")
    assert (bad.path, bad.algorithm) == ("data/hello.txt", "sha256")
    assert (bad.expected, bad.found) == (sha256(HELLO), sha256(b"goodbye\n"))
    with pytest.raises(bagit.BagValidationError) as info:
        bagit.Bag(str(bag)).validate()
    assert "Oxum" in str(info.value) and info.value.details == []


# -- payload manifests -----------------------------------------------------------------


def test_every_corrupt_file_in_every_algorithm_is_named(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", algorithms=("sha256", "sha512"))
    (bag / "data/hello.txt").write_bytes(b"HELLO, WORLD\n")
    (bag / "data/sub/numbers.csv").write_bytes(b"1,2,3\n4,5,7\n")
    result = verify_bag(bag)
    mismatches = sorted((f.path, f.algorithm) for f in result.errors)
    assert mismatches == [(p, a) for p in ("data/hello.txt", "data/sub/numbers.csv")
                          for a in ("sha256", "sha512")]
    assert result.status == "invalid" and result.complete
    assert {f.path: f.status for f in result.files}["data/hello.txt"] == "corrupt"


def test_file_missing_from_one_of_two_manifests(tmp_path: Path) -> None:
    """RFC 8493 §3 (and §2.1.3): in BagIt 1.0 every payload file MUST be listed in
    every payload manifest; bagit-python accepts a file missing from one of them."""
    bag = write_bag(tmp_path / "bag", algorithms=("sha256", "md5"))
    set_line(bag / "manifest-md5.txt", manifest_text({"data/hello.txt": HELLO}, "md5"), "")
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, "missing-from-manifest") == [("data/hello.txt", None)]
    assert result.errors[0].algorithm == "md5"
    assert not result.complete and not result.valid
    assert bagit_python_valid(bag)


def test_file_missing_from_one_manifest_is_a_pre_1_0_warning_in_0_97(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", version="0.97", algorithms=("sha256", "md5"))
    set_line(bag / "manifest-md5.txt", manifest_text({"data/hello.txt": HELLO}, "md5"), "")
    retag(bag)
    result = verify_bag(bag)
    assert result.valid
    assert warnings_with(result, "pre-1.0-rule") == [("data/hello.txt", None)]


def test_missing_and_unexpected_files(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", oxum=False)
    (bag / "data/hello.txt").unlink()
    (bag / "data/stray.bin").write_bytes(b"?")
    result = verify_bag(bag)
    assert errors_with(result, "missing-file") == [("data/hello.txt", None)]
    assert errors_with(result, "unexpected-file") == [("data/stray.bin", None)]
    assert not result.complete and result.status == "invalid"
    outcomes = {f.path: f.status for f in result.files}
    assert outcomes["data/hello.txt"] == "missing"
    assert outcomes["data/stray.bin"] == "unexpected"


def test_only_missing_files_make_a_bag_incomplete(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    (bag / "data/hello.txt").unlink()
    result = verify_bag(bag)
    assert codes(result) == {"missing-file", "oxum-mismatch"}
    assert result.status == "incomplete"


def test_unencoded_percent_is_invalid_in_1_0_and_bagit_python_disagrees(tmp_path: Path) -> None:
    """RFC 8493 §2.1.3: a % in a filepath MUST be percent-encoded, and only CR, LF and %
    may be; bagit-python accepts the raw % and never checks."""
    files = {"data/100%.txt": b"all"}
    bag = write_bag(tmp_path / "bag", files)
    (bag / "manifest-sha256.txt").write_text(manifest_text(files, "sha256", encode=False))
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, "bad-percent-encoding") == [("manifest-sha256.txt", 1)]
    assert not result.valid
    assert bagit_python_valid(bag)


def test_percent_encoding_of_other_characters_is_invalid_in_1_0(tmp_path: Path) -> None:
    files = {"data/a b.txt": b"x"}
    bag = write_bag(tmp_path / "bag", files)
    set_line(bag / "manifest-sha256.txt", "data/a b.txt", "data/a%20b.txt")
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, "bad-percent-encoding") == [("manifest-sha256.txt", 1)]


def test_raw_percent_is_read_literally_before_1_0_with_a_warning(tmp_path: Path) -> None:
    """Before 1.0 only CR and LF were encoded: a raw % is legal, %25 is ambiguous."""
    files = {"data/100%.txt": b"all", "data/50%.txt": b"half"}
    bag = write_bag(tmp_path / "bag", files, version="0.97")
    set_line(bag / "manifest-sha256.txt", "data/50%25.txt", "data/50%25.txt")  # encoded
    set_line(bag / "manifest-sha256.txt", "data/100%25.txt", "data/100%.txt")  # raw
    retag(bag)
    result = verify_bag(bag)
    assert (result.valid, result.errors) == (True, [])
    assert warnings_with(result, "pre-1.0-rule") == [
        ("manifest-sha256.txt", 1), ("manifest-sha256.txt", 2)]


def test_md5sum_style_lines_are_accepted_with_a_warning(tmp_path: Path) -> None:
    """RFC 8493 legacy checksum tools: implementations that accept md5sum output MUST
    warn; bagit-python accepts it silently."""
    bag = write_bag(tmp_path / "bag", algorithms=("md5",))
    text = (bag / "manifest-md5.txt").read_text()
    text = text.replace("  data/hello.txt", " *data/hello.txt").replace(
        "  data/sub", "  ./data/sub"
    )
    (bag / "manifest-md5.txt").write_text(text)
    retag(bag)
    result = verify_bag(bag)
    assert result.valid
    assert warnings_with(result, "md5sum-style-line") == [
        ("manifest-md5.txt", 1), ("manifest-md5.txt", 2)]
    assert bagit_python_valid(bag)


@pytest.mark.parametrize(
    ("line", "code"),
    [
        ("not-a-line", "bad-manifest-line"),
        ("xyz123  data/hello.txt", "bad-checksum"),
        ("abcd  data/hello.txt", "bad-checksum"),
        (f"{sha256(b'other')}  data/hello.txt", "duplicate-entry"),
        (f"{sha256(b'')}  bag-info.txt", "outside-payload"),
    ],
)
def test_malformed_manifest_lines_are_located(tmp_path: Path, line: str, code: str) -> None:
    bag = write_bag(tmp_path / "bag")
    with (bag / "manifest-sha256.txt").open("a") as fh:
        fh.write(line + "\n")
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, code) == [("manifest-sha256.txt", 3)]


def test_algorithm_names_follow_section_2_4(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", tag_algorithms=None)
    (bag / "manifest-sha256.txt").rename(bag / "manifest-SHA-256.txt")
    (bag / "manifest-whirlpool.txt").write_text(f"{'0' * 128}  data/hello.txt\n")
    result = verify_bag(bag)
    assert errors_with(result, "bad-algorithm-name") == [("manifest-SHA-256.txt", None)]
    assert errors_with(result, "unsupported-algorithm") == [("manifest-whirlpool.txt", None)]
    assert "checksum-mismatch" not in codes(result)  # SHA-256 checksums still verified
    fast = verify_bag(bag, mode="fast")
    assert warnings_with(fast, "unsupported-algorithm") == [("manifest-whirlpool.txt", None)]


def test_a_bag_without_payload_manifest_or_data_dir(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", tag_algorithms=None, oxum=False)
    (bag / "manifest-sha256.txt").unlink()
    for p in sorted((bag / "data").rglob("*"), reverse=True):
        p.rmdir() if p.is_dir() else p.unlink()
    (bag / "data").rmdir()
    result = verify_bag(bag)
    assert codes(result) == {"missing-payload-manifest", "missing-payload-dir"}


def test_a_listed_directory_is_refused(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    with (bag / "manifest-sha256.txt").open("a") as fh:
        fh.write(f"{sha256(b'')}  data/sub\n")
    retag(bag)
    assert errors_with(verify_bag(bag), "not-a-file") == [("data/sub", None)]


# -- tag manifests ---------------------------------------------------------------------


def test_tag_manifest_must_list_payload_manifests_and_bagit_python_disagrees(
    tmp_path: Path,
) -> None:
    """RFC 8493 §2.2.1: each tag manifest MUST list every payload manifest."""
    bag = write_bag(tmp_path / "bag")
    retag(bag, skip={"manifest-sha256.txt"})
    result = verify_bag(bag)
    assert [(f.code, f.path, f.found) for f in result.errors] == [
        ("payload-manifest-not-in-tagmanifest", "tagmanifest-sha256.txt", "manifest-sha256.txt")
    ]
    assert bagit_python_valid(bag)


def test_tag_manifest_without_payload_manifest_is_a_warning_in_0_97(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", version="0.97")
    retag(bag, skip={"manifest-sha256.txt"})
    result = verify_bag(bag)
    assert result.valid
    assert ("tagmanifest-sha256.txt", None) in warnings_with(result, "pre-1.0-rule")


def test_tag_manifest_rules(tmp_path: Path) -> None:
    """RFC 8493 §2.2.1: no payload files, no tag manifests, every listed file present."""
    bag = write_bag(tmp_path / "bag", tag_algorithms=("sha256", "md5"))
    with (bag / "tagmanifest-sha256.txt").open("a") as fh:
        fh.write(f"{sha256(HELLO)}  data/hello.txt\n")
        fh.write(f"{sha256(b'')}  tagmanifest-md5.txt\n")
        fh.write(f"{sha256(b'')}  extra/notes.txt\n")
    result = verify_bag(bag)
    assert errors_with(result, "payload-in-tag-manifest") == [("tagmanifest-sha256.txt", 4)]
    assert errors_with(result, "tag-manifest-listed") == [("tagmanifest-sha256.txt", 5)]
    assert errors_with(result, "missing-tag-file") == [("extra/notes.txt", None)]
    assert not result.complete


def test_tag_files_missing_from_tag_manifest_and_corrupt_tag_files(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    (bag / "extra").mkdir()
    (bag / "extra/notes.txt").write_text("unlisted\n")
    with (bag / "bag-info.txt").open("a") as fh:
        fh.write("Contact-Name: edited after bagging\n")
    result = verify_bag(bag)
    assert warnings_with(result, "tag-file-not-in-tagmanifest") == [("extra/notes.txt", None)]
    bad = [f for f in result.errors if f.code == "checksum-mismatch"]
    assert [(f.path, f.algorithm) for f in bad] == [("bag-info.txt", "sha256")]


# -- fetch.txt -------------------------------------------------------------------------


def test_unfetched_holes_make_a_bag_incomplete_not_valid(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", oxum=False)
    (bag / "data/hello.txt").unlink()
    (bag / "fetch.txt").write_text(f"https://example.org/hello.txt {len(HELLO)} data/hello.txt\n")
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, "not-fetched") == [("data/hello.txt", None)]
    assert (result.valid, result.complete, result.status) == (False, False, "incomplete")
    assert {f.path: f.status for f in result.files}["data/hello.txt"] == "not-fetched"
    assert not bagit_python_valid(bag)


def test_fetch_txt_rules(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    (bag / "fetch.txt").write_text(
        "relative/url 3 data/a.txt\n"
        "https://example.org/b lots data/b.txt\n"
        "https://example.org/c - bagit.txt\n"
        "https://example.org/d 1 ../d.txt\n"
        "https://example.org/e 3\n"
        f"https://example.org/h {len(HELLO) + 1000} data/hello.txt\n"
    )
    retag(bag)
    result = verify_bag(bag)
    assert errors_with(result, "bad-fetch-url") == [("fetch.txt", 1)]
    assert ("fetch.txt", 2) in errors_with(result, "bad-fetch-line")
    assert errors_with(result, "fetch-outside-payload") == [("fetch.txt", 3)]
    assert errors_with(result, "unsafe-path") == [("fetch.txt", 4)]
    assert ("fetch.txt", 5) in errors_with(result, "bad-fetch-line")
    assert errors_with(result, "fetch-not-in-manifest") == [("fetch.txt", 1), ("fetch.txt", 2)]
    assert errors_with(result, "fetch-size-mismatch") == [("data/hello.txt", 6)]


# -- warnings on names -----------------------------------------------------------------


def test_normalization_and_case_collisions_are_warnings(tmp_path: Path) -> None:
    """Two names that differ only in Unicode normalization: bagit-python cannot tell
    them apart; stook checks both and warns (RFC 8493 filename normalization notes)."""
    nfc_name = unicodedata.normalize("NFC", "data/café.txt")
    nfd_name = unicodedata.normalize("NFD", "data/café.txt")
    files = {nfc_name: b"composed", nfd_name: b"decomposed", "data/A.txt": b"A",
             "data/a.txt": b"a"}
    bag = write_bag(tmp_path / "bag", files)
    result = verify_bag(bag)
    assert result.valid and result.errors == []
    kinds = sorted(f.message.split("differ only in ")[1].split(";")[0]
                   for f in result.warnings if f.code == "name-collision")
    assert kinds == ["Unicode normalization", "letter case"]


def test_manifest_in_another_normalization_form_is_matched_with_a_warning(
    tmp_path: Path,
) -> None:
    nfc_name = unicodedata.normalize("NFC", "data/café.txt")
    bag = write_bag(tmp_path / "bag", {nfc_name: b"x"})
    (bag / nfc_name).rename(bag / unicodedata.normalize("NFD", nfc_name))
    result = verify_bag(bag)
    assert result.valid
    assert warning_codes(result) == {"normalization-mismatch"}


def test_windows_reserved_names_and_characters_are_warnings(tmp_path: Path) -> None:
    files = {"data/CON.txt": b"1", "data/what?.txt": b"2", "data/ok.txt": b"3"}
    result = verify_bag(write_bag(tmp_path / "bag", files))
    assert result.valid
    assert sorted(p for p, _ in warnings_with(result, "windows-unsafe-name")) == [
        "data/CON.txt", "data/what?.txt"]


# -- hostile bags ----------------------------------------------------------------------


@pytest.fixture
def hostile_bag(tmp_path: Path) -> tuple[Path, Path]:
    """A bag whose manifests and symlinks all aim at a FIFO outside it.

    Opening the FIFO for reading without O_NONBLOCK would block the test forever.
    """
    outside = tmp_path / "secret.txt"
    os.mkfifo(outside)
    bag = write_bag(tmp_path / "bag", oxum=False)
    (bag / "data/link.txt").symlink_to(outside)
    (bag / "tag-link.txt").symlink_to(outside)
    os.mkfifo(bag / "data/pipe")
    with (bag / "manifest-sha256.txt").open("a") as fh:
        for target in ("data/../../secret.txt", str(outside), "data/link.txt",
                       "C:/secret.txt", "\\\\server\\share\\secret.txt", "data/pipe"):
            fh.write(f"{sha256(b'')}  {target}\n")
    with (bag / "tagmanifest-sha256.txt").open("a") as fh:
        fh.write(f"{sha256(b'')}  ../secret.txt\n{sha256(b'')}  tag-link.txt\n")
    return bag, outside


def test_hostile_paths_are_reported_and_nothing_outside_is_opened(
    hostile_bag: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """RFC 8493 §5.1: files outside the bag MUST NOT be accessed."""
    bag, outside = hostile_bag
    opened: list[str] = []
    real_os_open, real_open = os.open, builtins.open

    def track_os_open(path: str, *args: object, **kwargs: object) -> int:
        opened.append(os.path.realpath(path))
        return real_os_open(path, *args, **kwargs)  # type: ignore[arg-type]

    def track_open(file: object, *args: object, **kwargs: object) -> object:
        if isinstance(file, (str, os.PathLike)):
            opened.append(os.path.realpath(file))
        return real_open(file, *args, **kwargs)  # type: ignore[call-overload]

    monkeypatch.setattr(os, "open", track_os_open)
    monkeypatch.setattr(builtins, "open", track_open)
    result = verify_bag(bag)
    monkeypatch.undo()

    root = os.path.realpath(bag)
    assert opened and all(p.startswith(root + os.sep) for p in opened), opened
    assert str(outside) not in opened
    assert not any(p.endswith("data/pipe") for p in opened)
    assert errors_with(result, "unsafe-path") == [
        ("manifest-sha256.txt", n) for n in (3, 4, 6, 7)] + [("tagmanifest-sha256.txt", 4)]
    assert sorted(errors_with(result, "symlink-outside")) == [
        ("data/link.txt", None), ("tag-link.txt", None)]
    assert errors_with(result, "special-file") == [("data/pipe", None)]
    statuses = {f.path: f.status for f in result.files}
    assert statuses["data/link.txt"] == statuses["data/pipe"] == "unsafe"
    assert not result.valid
    # the good files were still verified in the same run
    assert statuses["data/hello.txt"] == "ok"


def test_device_files_are_reported_without_being_opened(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag", oxum=False)
    try:
        os.mknod(bag / "data/null", stat.S_IFCHR | 0o600, os.makedev(1, 3))
    except (PermissionError, OSError) as exc:  # not allowed in this container
        pytest.skip(f"cannot create a device file here: {exc}")
    result = verify_bag(bag)
    assert errors_with(result, "special-file") == [("data/null", None)]
    assert "character device" in result.errors[0].message


def test_bagit_python_stops_at_the_first_unsafe_path(hostile_bag: tuple[Path, Path]) -> None:
    bag, _ = hostile_bag
    with pytest.raises(bagit.BagError, match="unsafe"):
        bagit.Bag(str(bag))


def test_a_file_far_larger_than_the_oxum_is_hashed_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = b"\0" * (3 * 1024 * 1024 + 17)
    bag = write_bag(tmp_path / "bag", {"data/big.bin": big}, oxum=False,
                    info=[("Payload-Oxum", "1.1")], algorithms=("sha256", "md5"))
    calls: list[str] = []
    real_hash = BagFS.hash

    def spy(self: BagFS, rel: str, *args: object, **kwargs: object) -> object:
        calls.append(rel)
        return real_hash(self, rel, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(BagFS, "hash", spy)
    result = verify_bag(bag)
    assert codes(result) == {"oxum-mismatch"}
    assert calls.count("data/big.bin") == 1
    assert {f.path: f.algorithms for f in result.files}["data/big.bin"] == ("md5", "sha256")
    assert result.bytes_hashed >= len(big)


# -- modes and workers -----------------------------------------------------------------


@pytest.mark.parametrize("mode", ["fast", "completeness"])
def test_fast_modes_do_not_hash_and_say_so(tmp_path: Path, mode: str) -> None:
    bag = write_bag(tmp_path / "bag")
    (bag / "data/hello.txt").write_bytes(b"HELLO, WORLD\n")  # same size: only hashing sees it
    result = verify_bag(bag, mode=mode)  # type: ignore[arg-type]
    assert (result.valid, result.checksums_verified, result.files_checked) == (True, False, 0)
    assert {f.status for f in result.files} == {"unverified"}
    assert not verify_bag(bag).valid


def test_fast_mode_still_checks_oxum_and_completeness(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    (bag / "data/stray.bin").write_bytes(b"?")
    result = verify_bag(bag, mode="fast")
    assert codes(result) == {"oxum-mismatch", "unexpected-file"}
    bag2 = write_bag(tmp_path / "bag2", oxum=False)
    assert warning_codes(verify_bag(bag2, mode="fast")) == {"no-oxum"}


def test_workers_give_the_same_findings(tmp_path: Path) -> None:
    files = {f"data/f{i}.bin": bytes([i]) * (i * 1000) for i in range(8)}
    bag = write_bag(tmp_path / "bag", files, algorithms=("sha256", "sha1"))
    (bag / "data/f3.bin").write_bytes(b"x" * 3000)
    serial, parallel = verify_bag(bag), verify_bag(bag, workers=4)
    assert serial.errors == parallel.errors
    assert [(f.path, f.algorithm) for f in parallel.errors] == [
        ("data/f3.bin", "sha1"), ("data/f3.bin", "sha256")]
    assert serial.bytes_hashed == parallel.bytes_hashed


def test_progress_is_fed_the_bytes_hashed(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    seen: list[int] = []
    result = verify_bag(bag, progress=seen.append)
    assert sum(seen) == result.bytes_hashed > 0


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mode"):
        verify_bag(write_bag(tmp_path / "bag"), mode="quick")  # type: ignore[arg-type]


# -- the command -----------------------------------------------------------------------


def run_cli(*args: str) -> tuple[int, str]:
    from stook.cli import main

    result = CliRunner().invoke(main, ["verify", *args])
    return result.exit_code, result.output


def test_cli_valid_bag_exits_0(tmp_path: Path) -> None:
    code, out = run_cli(str(write_bag(tmp_path / "bag")))
    assert code == 0
    assert out.startswith("VALID ")
    assert "BagIt 1.0" in out


def test_cli_lists_every_error_and_exits_1(tmp_path: Path) -> None:
    bag = write_bag(tmp_path / "bag")
    (bag / "data/hello.txt").write_bytes(b"HELLO, WORLD\n")
    (bag / "data/stray.bin").write_bytes(b"")
    with (bag / "manifest-sha256.txt").open("a") as fh:
        fh.write(f"{sha256(b'')} *data/ghost.txt\n")
    code, out = run_cli(str(bag))
    assert code == 1
    assert out.startswith("INVALID ")
    assert "[checksum-mismatch] data/hello.txt:" in out
    assert "[unexpected-file] data/stray.bin:" in out
    assert "[missing-file] data/ghost.txt:" in out
    assert "warning [md5sum-style-line] manifest-sha256.txt:3:" in out


def test_cli_fast_says_checksums_not_verified(tmp_path: Path) -> None:
    bag = str(write_bag(tmp_path / "bag"))
    for flag in ("--fast", "--completeness-only"):
        code, out = run_cli(flag, bag)
        assert code == 0 and "checksums not verified" in out


def test_cli_not_a_bag_wins_with_exit_2(tmp_path: Path) -> None:
    bad = write_bag(tmp_path / "bad")
    (bad / "data/hello.txt").unlink()
    code, out = run_cli(str(write_bag(tmp_path / "good")), str(bad), str(tmp_path / "nowhere"))
    assert code == 2
    assert "INCOMPLETE" in out and "NOT A BAG" in out and "VALID" in out


def test_cli_json_is_a_list_of_results(tmp_path: Path) -> None:
    good, bad = write_bag(tmp_path / "good"), write_bag(tmp_path / "bad")
    (bad / "data/hello.txt").write_bytes(b"HELLO, WORLD\n")
    code, out = run_cli("--json", "--workers", "2", str(good), str(bad))
    assert code == 1
    data = json.loads(out)
    assert [d["status"] for d in data] == ["valid", "invalid"]
    assert data[1]["errors"][0]["code"] == "checksum-mismatch"
    assert data[1]["errors"][0]["path"] == "data/hello.txt"


def test_cli_json_reports_not_a_bag(tmp_path: Path) -> None:
    code, out = run_cli("--json", str(tmp_path))
    assert code == 2
    assert json.loads(out)[0]["status"] == "not-a-bag"


def test_cli_refuses_both_fast_modes_and_documents_exit_codes(tmp_path: Path) -> None:
    code, out = run_cli("--fast", "--completeness-only", str(write_bag(tmp_path / "bag")))
    assert code == 2 and "exclude each other" in out
    code, out = run_cli("--help")
    assert code == 0
    assert "Exit status: 2 if any PATH is not a bag" in out
    for option in ("--fast", "--completeness-only", "--json", "--workers"):
        assert option in out


def test_finding_where_is_path_and_line() -> None:
    assert Finding("x", "m", path="a.txt", line=3).where() == "a.txt:3"
    assert Finding("x", "m").where() == ""


# -- one listing, one open per file ------------------------------------------------------


def test_symlinks_to_files_and_directories_inside_the_bag_are_followed_with_a_warning(
    tmp_path: Path,
) -> None:
    """A symlink that stays inside the bag is resolved in full (not from the listing)
    and its target is hashed; the symlinked directory itself is not descended into."""
    files = {"data/hello.txt": HELLO, "data/alias.txt": HELLO, "data/sub/x.txt": b"x",
             "data/linked/x.txt": b"x"}
    bag = write_bag(tmp_path / "bag", files, algorithms=("sha256", "md5"))
    (bag / "data/alias.txt").unlink()
    (bag / "data/alias.txt").symlink_to("hello.txt")
    (bag / "data/linked/x.txt").unlink()
    (bag / "data/linked").rmdir()
    (bag / "data/linked").symlink_to("sub", target_is_directory=True)
    result = verify_bag(bag)
    assert (result.valid, result.errors) == (True, [])
    assert sorted(warnings_with(result, "symlink")) == [
        ("data/alias.txt", None), ("data/linked", None)]
    statuses = {f.path: (f.status, f.size, f.algorithms) for f in result.files}
    assert statuses["data/alias.txt"] == ("ok", len(HELLO), ("md5", "sha256"))
    assert statuses["data/linked/x.txt"] == ("ok", 1, ("md5", "sha256"))
    (bag / "data/sub/x.txt").write_bytes(b"y")  # seen through both names
    assert sorted(p for p, _ in errors_with(verify_bag(bag), "checksum-mismatch")) == [
        "data/linked/x.txt", "data/linked/x.txt", "data/sub/x.txt", "data/sub/x.txt"]


@pytest.mark.parametrize("size", [0, 1, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 5])
def test_small_and_chunked_files_hash_alike(tmp_path: Path, size: int) -> None:
    """Files under 1 MiB are read whole, larger ones in chunks: both give hashlib's digest."""
    data = bytes(range(256)) * (size // 256) + b"z" * (size % 256)
    bag = write_bag(tmp_path / "bag", {"data/f.bin": data}, algorithms=("sha512", "md5"))
    result = verify_bag(bag)
    assert (result.valid, result.errors) == (True, [])
    assert {f.path: f.size for f in result.files}["data/f.bin"] == size
    payload = bytearray(data)
    if size:
        payload[-1] ^= 1
        (bag / "data/f.bin").write_bytes(bytes(payload))
        assert sorted(f.algorithm or "" for f in verify_bag(bag).errors) == ["md5", "sha512"]


def test_each_file_is_opened_once_and_tag_files_are_hashed_from_what_was_parsed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bag = write_bag(tmp_path / "bag", algorithms=("sha256", "sha1"), tag_algorithms=("sha256",))
    opened: list[str] = []
    real_os_open = os.open

    def track(path: str, *args: object, **kwargs: object) -> int:
        opened.append(os.path.relpath(path, os.path.realpath(bag)))
        return real_os_open(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", track)
    result = verify_bag(bag)
    monkeypatch.undo()
    assert (result.valid, result.errors) == (True, [])
    expected = sorted(f.path for f in result.files)
    assert "manifest-sha256.txt" in expected and "data/hello.txt" in expected
    assert sorted(opened) == expected
    # a tag file changed on disk is still caught through the tag manifest
    (bag / "bag-info.txt").write_bytes((bag / "bag-info.txt").read_bytes() + b"Extra: 1\n")
    assert errors_with(verify_bag(bag), "checksum-mismatch") == [("bag-info.txt", None)]


@pytest.mark.parametrize("swap", ["directory", "file"])
def test_a_path_swapped_for_a_symlink_after_listing_is_not_followed_outside(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, swap: str
) -> None:
    """The listing vouches for a file only until it is opened: each directory on its
    way is checked again, and the file itself is opened with O_NOFOLLOW."""
    if not os.path.isdir("/proc/self/fd"):
        pytest.skip("needs /proc/self/fd to see which file a descriptor really is")
    files = {"data/sub/x.txt": b"x", "data/hello.txt": HELLO}
    bag = write_bag(tmp_path / "bag", files)
    outside = tmp_path / "outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub/x.txt").write_bytes(b"x")
    (outside / "hello.txt").write_bytes(HELLO)
    real_walk = BagFS.walk

    def walk_then_swap(self: BagFS, top: str) -> object:
        yield from real_walk(self, top)
        if swap == "directory":
            (bag / "data/sub/x.txt").unlink()
            (bag / "data/sub").rmdir()
            (bag / "data/sub").symlink_to(outside / "sub", target_is_directory=True)
        else:
            (bag / "data/hello.txt").unlink()
            (bag / "data/hello.txt").symlink_to(outside / "hello.txt")

    opened: list[str] = []
    real_os_open = os.open

    def track(path: str, *args: object, **kwargs: object) -> int:
        fd = real_os_open(path, *args, **kwargs)  # type: ignore[arg-type]
        opened.append(os.path.realpath(f"/proc/self/fd/{fd}"))
        return fd

    monkeypatch.setattr(BagFS, "walk", walk_then_swap)
    monkeypatch.setattr(os, "open", track)
    result = verify_bag(bag)
    monkeypatch.undo()
    swapped = "data/sub/x.txt" if swap == "directory" else "data/hello.txt"
    assert errors_with(result, "unreadable-file") == [(swapped, None)]
    assert {f.path: f.status for f in result.files}[swapped] == "unreadable"
    root = os.path.realpath(bag)
    assert opened and all(p.startswith(root + os.sep) for p in opened), opened
