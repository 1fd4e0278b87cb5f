"""``stook verify`` of OCFL roots and objects: every problem named, and ocfl-py agrees."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.ocfl_helpers import ODD, THREE, build_store, object_inventory, rewrite_inventory, sha
from support.ocfl_oracle import validate_object, validate_root

from stook.cli import main
from stook.ocfl.validate import verify_ocfl
from stook.ocfl.writer import OcflExportOptions, export_ocfl


@pytest.fixture
def root(tmp_path: Path) -> Path:
    store = build_store(tmp_path / "store", tmp_path)
    export_ocfl(store, OcflExportOptions(tmp_path / "ocfl", all_records=True))
    store.close()
    return tmp_path / "ocfl"


def codes(result) -> set[tuple[str, str | None]]:
    found = {(f.code, f.path) for f in result.errors}
    for child in result.objects:
        found |= {(f.code, f"{child.path}/{f.path}" if f.path else child.path) for f in child.errors}
    return found


def test_a_valid_root_and_object(root: Path, runner: CliRunner) -> None:
    result = runner.invoke(main, ["verify", str(root)])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"VALID      {root} (OCFL 1.1 storage root, "
                                    "0004-hashed-n-tuple-storage-layout; 3 object(s), 5 version(s); ")
    assert "hashed with sha512, md5, sha256)" in result.output
    object_dir, _ = object_inventory(root, THREE)
    result = runner.invoke(main, ["verify", str(object_dir), "--json"])
    assert result.exit_code == 0, result.output
    (report,) = json.loads(result.output)
    assert report["kind"] == "ocfl-object" and report["id"] == THREE and report["versions"] == 3
    assert report["checksums_verified"] and report["files_checked"] > 20


def test_a_corrupt_content_file_is_named(root: Path, runner: CliRunner) -> None:
    object_dir, inventory = object_inventory(root, THREE)
    target = object_dir / "v1/content/data/text.txt"
    target.write_bytes(target.read_bytes().replace(b"kept", b"kEpt", 1))
    result = runner.invoke(main, ["verify", str(root)])
    assert result.exit_code == 1
    assert "[corrupt-file] v1/content/data/text.txt: sha512 differs from the manifest" in result.output
    assert "[fixity-mismatch] v1/content/data/text.txt: sha256" in result.output
    assert f"INVALID  object '{THREE}'" in result.output
    assert not validate_root(root)[0] and not validate_object(object_dir)[0]  # ocfl-py agrees
    fast = runner.invoke(main, ["verify", "--fast", str(root)])
    assert fast.exit_code == 0 and "checksums not verified" in fast.output


def test_an_edited_inventory_is_named(root: Path, runner: CliRunner) -> None:
    object_dir, _ = object_inventory(root, THREE)
    path = object_dir / "inventory.json"
    edited = path.read_bytes().replace(b"stored as version 3", b"stored as version 9")
    assert edited != path.read_bytes()
    path.write_bytes(edited)
    result = verify_ocfl(object_dir)
    assert ("inventory-digest-mismatch", "inventory.json") in codes(result)
    assert ("version-inventory", "v3/inventory.json") in codes(result)  # no longer the head's copy
    assert not validate_object(object_dir)[0]
    cli = runner.invoke(main, ["verify", str(object_dir)])
    assert cli.exit_code == 1 and "E060" in cli.output


def test_a_consistent_forgery_is_still_caught(root: Path) -> None:
    """Changing the inventory and its sidecar together leaves the version inventories as witnesses."""
    object_dir, inventory = object_inventory(root, THREE)
    raw = json.loads((object_dir / "inventory.json").read_text())
    state = raw["versions"]["v1"]["state"]
    state["0" * 128] = state.pop(sha(b"note 1\n"))
    raw["manifest"]["0" * 128] = raw["manifest"].pop(sha(b"note 1\n"))
    rewrite_inventory(object_dir, raw)
    found = codes(verify_ocfl(object_dir))
    assert ("corrupt-file", "v1/content/data/files/note-1.txt") in found
    assert ("version-inventory", "v1/inventory.json") in found
    assert not validate_object(object_dir)[0]


def test_structural_damage_is_named_everywhere(root: Path) -> None:
    object_dir, _ = object_inventory(root, THREE)
    odd_dir, _ = object_inventory(root, ODD)
    rel, odd_rel = object_dir.relative_to(root).as_posix(), odd_dir.relative_to(root).as_posix()
    (object_dir / "v2/content/data/extra.txt").write_bytes(b"not in the manifest\n")
    (object_dir / "v3/content/data/files/note-3.txt").unlink()
    shutil.rmtree(odd_dir / "v1" / "content" / "data" / "files")
    (odd_dir / "v2").mkdir()
    (odd_dir / "v2" / "stray").write_bytes(b"")
    (root / "abc").mkdir()
    (root / "abc" / "stray.txt").write_bytes(b"")
    (root / "def" / "ghi").mkdir(parents=True)
    found = codes(verify_ocfl(root))
    assert ("unexpected-file", f"{rel}/v2/content/data/extra.txt") in found
    assert ("missing-file", f"{rel}/v3/content/data/files/note-3.txt") in found
    assert any(code == "missing-file" and path.startswith(f"{odd_rel}/v1/content/data/files/")
               for code, path in found)
    assert ("unexpected-version", f"{odd_rel}/v2") in found
    assert ("stray-files", "abc") in found
    assert ("empty-directory", "def/ghi") in found
    assert not validate_root(root)[0]


def test_a_moved_object_and_a_bag_in_one_call(root: Path, tmp_path: Path, runner: CliRunner) -> None:
    object_dir, _ = object_inventory(root, THREE)
    wrong = root / "000" / "000" / "000" / object_dir.name
    wrong.parent.mkdir(parents=True)
    object_dir.rename(wrong)
    bag = next((tmp_path / "store").glob("wcda-*/v1"))
    result = runner.invoke(main, ["verify", str(root), str(bag), "--json"])
    assert result.exit_code == 1
    reports = json.loads(result.output)
    assert [r.get("kind", "bag") for r in reports] == ["ocfl-root", "bag"]
    assert reports[1]["valid"] and not reports[0]["valid"]
    # the object is not where 0004 puts it, and its old n-tuple directories are left empty
    assert sorted(e["code"] for e in reports[0]["errors"]) == ["empty-directory", "object-path"]
