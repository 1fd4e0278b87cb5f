"""``stook export --format ocfl``: roots ocfl-py accepts, one version per stook version, incremental."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import tree_bytes
from support.ocfl_helpers import (
    FOREIGN,
    FOREIGN_NAMES,
    ODD,
    ODD_NAMES,
    SCAN,
    TEXT,
    THREE,
    bag_tree,
    build_store,
    object_inventory,
    sha,
    version_request,
)
from support.ocfl_oracle import layout_path, objects_where_layout_says, validate_root

from stook import PROJECT_URL
from stook.cli import main
from stook.ocfl.layout import LayoutConfig
from stook.ocfl.writer import OcflExportOptions, export_ocfl
from stook.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    built = build_store(tmp_path / "store", tmp_path)
    yield built
    built.close()


def export_all(store: Store, root: Path):
    return export_ocfl(store, OcflExportOptions(root, all_records=True))


def test_the_root_is_valid_for_ocfl_py_with_one_object_per_record(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    summary = export_all(store, root)
    assert summary.ok and summary.counts()["new"] == 3 and summary.counts()["versions_added"] == 5
    valid, messages = validate_root(root)
    assert valid, messages
    assert (root / "0=ocfl_1.1").read_text() == "ocfl_1.1\n"
    layout = json.loads((root / "ocfl_layout.json").read_text())
    assert layout["extension"] == "0004-hashed-n-tuple-storage-layout"
    paths = objects_where_layout_says(root)  # each object where extension 0004 puts it
    assert set(paths) == {THREE, ODD, FOREIGN}


def test_layout_matches_the_extensions_examples() -> None:
    assert LayoutConfig().object_path("object-01") == (
        "3c0/ff4/240/3c0ff4240c1e116dba14c7627f2319b58aa3d77606d0d90dfc6161608ac987d4")
    assert LayoutConfig().object_path("..hor/rib:le-$id") == layout_path("..hor/rib:le-$id")
    short = LayoutConfig("md5", 2, 15, True)
    assert short.object_path("object-01") == "ff/75/53/44/92/48/5e/ab/b3/9f/86/35/67/28/88/4e"


def test_three_versions_deduplicated_with_fixity_and_provenance(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    export_all(store, root)
    object_dir, inventory = object_inventory(root, THREE)
    assert [f"v{n}" for n in range(1, 4)] == sorted(p.name for p in object_dir.iterdir() if p.is_dir())
    stored = store.versions(THREE)
    for version, bag in zip(inventory.versions, stored, strict=True):
        assert version.files() == {rel: sha(data) for rel, data in bag_tree(store.bag_path(bag)).items()}
        assert version.created == bag.created
        assert f"bag {bag.path} stored as version {bag.version}" in (version.message or "")
        assert version.user_name == "stook/0.1.0" and version.user_address == PROJECT_URL
    # the text and the scan are stored once, in v1, though every version holds them
    assert inventory.manifest[sha(TEXT)] == ["v1/content/data/text.txt"]
    assert inventory.manifest[sha(SCAN)] == ["v1/content/data/files/scan.bin"]
    assert not (object_dir / "v2/content/data/text.txt").exists()
    assert (object_dir / "v3/content/data/files/note-3.txt").read_bytes() == b"note 3\n"
    # the bag's other algorithms are in the fixity block, and right
    for algorithm in ("sha256", "md5"):
        for digest, paths in inventory.fixity[algorithm].items():
            for path in paths:
                assert sha((object_dir / path).read_bytes(), algorithm) == digest
    assert sha(TEXT, "md5") in inventory.fixity["md5"]


def test_odd_file_names_are_kept_exactly(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    export_all(store, root)
    _, inventory = object_inventory(root, ODD)
    logical = set(inventory.versions[0].files())
    assert {f"data/{name}" for name in ODD_NAMES} <= logical
    copies = sorted(inventory.versions[0].state[sha(TEXT)])
    assert copies == ["data/files/copy of the text.txt", "data/text.txt"]
    assert len(inventory.manifest[sha(TEXT)]) == 1  # stored once within the version too
    object_dir, foreign = object_inventory(root, FOREIGN)
    assert {f"data/{n}" for n in FOREIGN_NAMES} | {"manifest-md5.txt"} <= set(foreign.versions[0].files())
    assert (object_dir / "v1/content/data/100% pure.txt").read_bytes() == b"100% pure.txt\n"
    assert (object_dir / "v1/content/data/Case.txt").read_bytes() == b"Case.txt\n"
    assert (object_dir / "v1/content/data/case.txt").read_bytes() == b"case.txt\n"
    assert "md5" in foreign.fixity


def test_exporting_again_changes_nothing(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    export_all(store, root)
    before = tree_bytes(root)
    summary = export_all(store, root)
    assert summary.counts()["unchanged"] == 3 and summary.counts()["versions_added"] == 0
    assert tree_bytes(root) == before


def test_a_new_version_adds_one_ocfl_version_and_rewrites_none(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    export_all(store, root)
    object_dir, _ = object_inventory(root, THREE)
    old = {p: (p.read_bytes(), p.stat().st_ino) for p in object_dir.rglob("*")
           if p.is_file() and p.parent != object_dir}
    store.add(version_request(THREE, 4, ("sha512", "sha256", "md5")))
    summary = export_all(store, root)
    changed = [o for o in summary.objects if o.status != "unchanged"]
    assert [(o.identifier, o.added) for o in changed] == [(THREE, ["v4"])]
    # new: the note, record.json, bag-info.txt, 3 manifests, 3 tag manifests; held: text, scan, bagit.txt
    assert changed[0].files_written == 9 and changed[0].deduplicated == 3
    for path, (data, inode) in old.items():  # the very same files: never rewritten, never copied
        assert path.read_bytes() == data and path.stat().st_ino == inode
        assert path.stat().st_nlink == 1
    _, inventory = object_inventory(root, THREE)
    assert len(inventory.versions) == 4
    assert (object_dir / "v4" / "inventory.json").read_bytes() == (object_dir / "inventory.json").read_bytes()
    assert not (root / "extensions" / "stook-staging").exists()
    valid, messages = validate_root(root)
    assert valid, messages


def test_a_corrupt_bag_is_not_exported_and_the_root_is_untouched(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    export_all(store, root)
    before = tree_bytes(root)
    added = store.add(version_request(THREE, 4))
    (added.path / "data" / "files" / "note-4.txt").write_bytes(b"bit rot\n")
    summary = export_all(store, root)
    failed = [o for o in summary.objects if not o.ok]
    assert [o.identifier for o in failed] == [THREE] and failed[0].status == "refused"
    assert any("data/files/note-4.txt" in str(p) for p in failed[0].errors)
    assert tree_bytes(root) == before
    refused = list(store.ledger.events(bag=added.bag.path, types=["tra"]))
    assert [e.outcome for e in refused] == ["fai"]


def test_another_history_of_a_record_is_refused(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    export_all(store, root)
    before = tree_bytes(root)
    with Store.open(tmp_path / "other", create=True) as other:
        for n in (5, 6, 7, 8):
            other.add(version_request(THREE, n))
        summary = export_ocfl(other, OcflExportOptions(root, refs=(THREE,)))
        assert summary.objects[0].status == "refused"
        assert "another history" in summary.objects[0].errors[0].message
        shorter = Store.open(tmp_path / "shorter", create=True)
        shorter.add(version_request(THREE, 1))
        summary = export_ocfl(shorter, OcflExportOptions(root, refs=(THREE,)))
        shorter.close()
    assert "the store holds only 1" in summary.objects[0].errors[0].message
    assert tree_bytes(root) == before


def test_staging_left_by_a_killed_export_is_cleared(store: Store, tmp_path: Path) -> None:
    root = tmp_path / "ocfl"
    export_ocfl(store, OcflExportOptions(root, refs=(ODD,)))
    debris = root / "extensions" / "stook-staging" / "deadbeef" / "half"
    debris.mkdir(parents=True)
    (debris / "inventory.json").write_text("{")
    summary = export_all(store, root)
    assert summary.cleared == 1 and not (root / "extensions" / "stook-staging").exists()
    assert validate_root(root)[0]


def test_cli_export_ocfl(store: Store, tmp_path: Path, runner: CliRunner) -> None:
    root = tmp_path / "ocfl"
    args = ["export", "--format", "ocfl", "--to", str(root), "--store", str(store.root)]
    result = runner.invoke(main, [*args, THREE, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["new"] == 1 and data["objects"][0]["added"] == ["v1", "v2", "v3"]
    result = runner.invoke(main, [*args, "--all"])
    assert result.exit_code == 0, result.output
    assert "2 new, 0 updated, 1 unchanged, 0 refused; 2 version(s) added" in result.output


def test_cli_export_ocfl_refusals(store: Store, tmp_path: Path, runner: CliRunner) -> None:
    base = ["export", "--to", str(tmp_path / "ocfl"), "--store", str(store.root)]
    result = runner.invoke(main, [*base, "--format", "ocfl"])
    assert result.exit_code == 2 and "pass --all" in result.output
    result = runner.invoke(main, [*base, "--all", "--format", "tar"])
    assert result.exit_code == 2 and "--all goes with --format ocfl" in result.output
    result = runner.invoke(main, [*base, "--format", "ocfl", "no:such:record"])
    assert result.exit_code == 2 and "'no:such:record'" in result.output
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    result = runner.invoke(main, ["export", "--to", str(busy), "--store", str(store.root), "--all",
                                  "--format", "ocfl"])
    assert result.exit_code == 2 and "not an OCFL storage root and not empty" in result.output
    assert sorted(os.listdir(busy)) == ["notes.txt"]
    assert not (tmp_path / "ocfl").exists()
    assert "Traceback" not in result.output
