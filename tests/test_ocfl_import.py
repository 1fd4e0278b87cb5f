"""``stook import --from-ocfl``: every version rebuilt byte for byte, verified, adopted once."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from support.ocfl_helpers import (
    FOREIGN,
    ODD,
    THREE,
    bag_tree,
    build_store,
    object_inventory,
    sha,
    version_request,
)
from support.transfer_helpers import snapshot

from stook.cli import main
from stook.ocfl.inventory import sidecar_bytes
from stook.ocfl.layout import create_root
from stook.ocfl.reader import rebuild_version
from stook.ocfl.writer import OcflExportOptions, export_ocfl
from stook.store import Store


@pytest.fixture
def exported(tmp_path: Path) -> tuple[Path, Path]:
    """A store and the OCFL root exported from it."""
    store = build_store(tmp_path / "store", tmp_path)
    export_ocfl(store, OcflExportOptions(tmp_path / "ocfl", all_records=True))
    store.close()
    return tmp_path / "store", tmp_path / "ocfl"


def test_every_version_rebuilds_byte_identical(exported: tuple[Path, Path], tmp_path: Path) -> None:
    store_path, root = exported
    with Store.open(store_path) as store:
        for identifier in (THREE, ODD, FOREIGN):
            object_dir, inventory = object_inventory(root, identifier)
            bags = store.versions(identifier)
            assert len(bags) == len(inventory.versions)
            for number, bag in enumerate(bags, 1):
                target = tmp_path / f"rebuilt-{sha(identifier.encode())[:8]}-{number}"
                assert rebuild_version(object_dir, inventory, number, target) == []
                assert bag_tree(target) == bag_tree(store.bag_path(bag))  # every file, every byte


def test_import_into_a_new_store_then_again_changes_nothing(exported: tuple[Path, Path], tmp_path: Path,
                                                           runner: CliRunner) -> None:
    store_path, root = exported
    copy = tmp_path / "copy"
    result = runner.invoke(main, ["import", "--from-ocfl", str(root), "--store", str(copy)])
    assert result.exit_code == 0, result.output
    assert "5 version(s): 5 imported, 0 already stored, 0 rejected" in result.output
    with Store.open(store_path) as original, Store.open(copy) as imported:
        for identifier in (THREE, ODD, FOREIGN):
            mine, theirs = original.versions(identifier), imported.versions(identifier)
            assert [b.version for b in theirs] == [b.version for b in mine]
            for a, b in zip(mine, theirs, strict=True):
                assert a.path == b.path and a.fingerprint == b.fingerprint
                assert bag_tree(original.bag_path(a)) == bag_tree(imported.bag_path(b))
        events = list(imported.ledger.events(identifier=THREE, types=["tra"]))
        assert len(events) == 3 and all(e.data and e.data["format"] == "ocfl" for e in events)
        assert [e.data["ocfl_version"] for e in events if e.data] == ["v1", "v2", "v3"]
    before = snapshot(copy)
    result = runner.invoke(main, ["import", "--from-ocfl", str(root), "--store", str(copy), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["unchanged"] == 5
    assert snapshot(copy) == before
    audit = runner.invoke(main, ["audit", "--store", str(copy)])
    assert audit.exit_code == 0, audit.output


def test_a_corrupt_content_file_rejects_its_version_and_keeps_the_earlier(
        exported: tuple[Path, Path], tmp_path: Path, runner: CliRunner) -> None:
    _, root = exported
    object_dir, _ = object_inventory(root, THREE)
    (object_dir / "v2/content/data/files/note-2.txt").write_bytes(b"note 9\n")  # same size, other bytes
    copy = tmp_path / "copy"
    result = runner.invoke(main, ["import", "--from-ocfl", str(root), THREE, "--store", str(copy)])
    assert result.exit_code == 1
    assert "rejected: wcda:115179 v2" in result.output
    assert "v2/content/data/files/note-2.txt" in result.output and "corrupt" in result.output
    with Store.open(copy) as store:
        assert [b.version for b in store.versions(THREE)] == [1]  # v1 kept, v3 not tried
    assert list((copy / ".tmp").iterdir()) == []


def test_a_store_with_another_history_is_not_changed(exported: tuple[Path, Path], tmp_path: Path,
                                                    runner: CliRunner) -> None:
    _, root = exported
    other = tmp_path / "other"
    with Store.open(other, create=True) as store:
        store.add(version_request(THREE, 9))
    before = snapshot(other)
    result = runner.invoke(main, ["import", "--from-ocfl", str(root), THREE, "--store", str(other)])
    assert result.exit_code == 1 and "another history" in result.output
    assert snapshot(other) == before


def test_unknown_ids_and_non_roots_are_usage_errors(exported: tuple[Path, Path], tmp_path: Path,
                                                    runner: CliRunner) -> None:
    _, root = exported
    copy = tmp_path / "copy"
    result = runner.invoke(main, ["import", "--from-ocfl", str(root), "no:such", "--store", str(copy)])
    assert result.exit_code == 2 and "no OCFL object 'no:such'" in result.output
    result = runner.invoke(main, ["import", "--from-ocfl", str(tmp_path), "--store", str(copy)])
    assert result.exit_code == 2 and "not an OCFL storage root" in result.output
    assert "Traceback" not in result.output


def test_hostile_inventory_paths_are_never_followed(tmp_path: Path, runner: CliRunner) -> None:
    """An object whose inventory points outside it (consistent sidecar and all) is rejected."""
    root = create_root(tmp_path / "ocfl")
    secret = tmp_path / "secret.txt"
    secret.write_bytes(b"outside the object\n")
    object_dir = root.object_dir("evil")
    (object_dir / "v1" / "content").mkdir(parents=True)
    (object_dir / "0=ocfl_object_1.1").write_text("ocfl_object_1.1\n")
    (object_dir / "v1/content/a.txt").write_bytes(b"a\n")
    digest = sha(secret.read_bytes())
    inventory = {
        "id": "evil", "type": "https://ocfl.io/1.1/spec/#inventory", "digestAlgorithm": "sha512",
        "head": "v1",
        "manifest": {digest: ["v1/content/../../../../secret.txt"], sha(b"a\n"): ["v1/content/a.txt"]},
        "versions": {"v1": {"created": "2026-01-01T00:00:00Z", "state": {
            digest: ["data/stolen.txt"], sha(b"a\n"): ["../../escaped.txt"]}}},
    }
    data = json.dumps(inventory).encode()
    (object_dir / "inventory.json").write_bytes(data)
    (object_dir / "inventory.json.sha512").write_bytes(sidecar_bytes(data))
    copy = tmp_path / "copy"
    result = runner.invoke(main, ["import", "--from-ocfl", str(root.path), "--store", str(copy)])
    assert result.exit_code == 1
    assert "outside the object" in result.output and "not a safe relative path" in result.output
    assert not list(tmp_path.rglob("escaped.txt")) and not list(tmp_path.rglob("stolen.txt"))
    with Store.open(copy) as store:
        assert store.ledger.bags() == []


def test_objects_written_by_ocfl_py(tmp_path: Path, runner: CliRunner) -> None:
    """ocfl-py's own objects: one holding a bag is verified and imported; one holding none is refused."""
    import ocfl
    from support.ocfl_helpers import foreign_bag

    root = create_root(tmp_path / "ocfl")
    bag = foreign_bag(tmp_path / "bag")
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "notes.txt").write_text("not a bag\n")
    for identifier, source in (("ext:percent", bag), ("plain:1", plain)):
        target = root.object_dir(identifier)
        target.parent.mkdir(parents=True)
        metadata = ocfl.VersionMetadata(created="2026-01-02T03:04:05Z", message="by ocfl-py", name="someone")
        ocfl.Object(identifier=identifier).create(srcdir=str(source), metadata=metadata, objdir=str(target))
    checked = runner.invoke(main, ["verify", str(root.path)])
    assert checked.exit_code == 0, checked.output
    copy = tmp_path / "copy"
    result = runner.invoke(main, ["import", "--from-ocfl", str(root.path), "--store", str(copy)])
    assert result.exit_code == 1
    assert "imported: ext:percent v1" in result.output
    assert "rejected: plain:1 v1" in result.output and "bagit.txt" in result.output
    with Store.open(copy) as store:
        (stored,) = store.versions("ext:percent")
        assert bag_tree(store.bag_path(stored)) == bag_tree(bag)
        assert store.versions("plain:1") == []
