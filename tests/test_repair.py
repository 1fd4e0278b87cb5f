"""``stook repair``: damaged bags put right from a partner's copy, and every copy that cannot.

Real stores, real exports and receives, real damage on disk; after each refusal the
bag, the ledger and ``.tmp`` are exactly as before.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tarfile
from pathlib import Path

import bagit
import pytest
from bagcorpus import retag
from click.testing import CliRunner
from conftest import tree_bytes
from support.transfer_helpers import bag_members, example_store, snapshot, tar_bytes

from stook.audit import AuditOptions, run_audit
from stook.cli import main
from stook.cli.render import audit_lines
from stook.ledger import Event
from stook.repair import RepairOptions, repair
from stook.store import Store
from stook.transfer import ExportOptions, export_bags, receive_bags
from stook.verify import verify_bag

ID = "wcda:115179"
LABEL = "wcda-115179-00e6896c9b37d041.v1"
TEXT = "data/text.txt"
PAGE = "data/files/wilson-center-page.md"
SUFFIX = {"tar": ".tar", "tar.gz": ".tar.gz", "zip": ".zip"}


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Path]:
    """Our store (the example bag), the partner's export of it, and a pristine copy of the bag."""
    store, bag = example_store(tmp_path / "ours")
    out = export_bags([ID], ExportOptions(to=tmp_path / "partner", format="dir"), store)
    store.close()
    pristine = tmp_path / "pristine"
    shutil.copytree(bag, pristine)
    partner = out[0].destination
    assert partner is not None
    return {"root": tmp_path, "store": tmp_path / "ours", "bag": bag, "partner": partner,
            "pristine": pristine}


def _damage(bag: Path) -> None:
    """A flipped byte in the text and a lost attachment: what an audit finds after a bad disk."""
    text = bag / TEXT
    data = bytearray(text.read_bytes())
    data[100] ^= 0x20
    text.write_bytes(bytes(data))
    (bag / PAGE).unlink()


def _archive(world: dict[str, Path], fmt: str) -> Path:
    with Store.open(world["store"]) as store:
        [out] = export_bags([ID], ExportOptions(to=world["root"] / f"export-{fmt}", format=fmt), store)  # type: ignore[arg-type]
    assert out.destination is not None
    return out.destination


def _events(store_root: Path) -> list[Event]:
    with Store.open(store_root) as store:
        return list(store.ledger.events())


def _refused_and_unchanged(runner: CliRunner, world: dict[str, Path], source: Path,
                           *extra: str) -> dict:
    before_tree = tree_bytes(world["bag"]) if world["bag"].exists() else None
    before = snapshot(world["store"])
    result = runner.invoke(main, ["repair", ID, "--from", str(source), "--store", str(world["store"]),
                                  "--json", *extra])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output + result.stderr
    report = json.loads(result.stdout)
    assert report["status"] == "refused" and report["events"] == []
    assert snapshot(world["store"]) == before  # no event, no bag, nothing left in .tmp
    assert (tree_bytes(world["bag"]) if world["bag"].exists() else None) == before_tree
    return report


# -- the whole job through the CLI --------------------------------------------------------


@pytest.mark.parametrize("fmt", ["dir", "tar", "tar.gz", "zip"])
def test_audit_names_the_damage_and_the_next_step_and_repair_puts_it_right(
    world: dict[str, Path], runner: CliRunner, fmt: str
) -> None:
    source = world["partner"] if fmt == "dir" else _archive(world, fmt)
    intact = world["bag"] / "data" / "record.json"
    inode = intact.stat().st_ino
    _damage(world["bag"])
    audit = runner.invoke(main, ["audit", "--store", str(world["store"]), "--workers", "1"])
    assert audit.exit_code == 1
    lines = audit.stdout.splitlines()
    totals = next(n for n, line in enumerate(lines) if line.startswith("audit: "))
    assert lines[totals - 1] == (  # the failure report ends with the next step
        f"  next step:     restore with: stook repair {ID} --version 1 --from <partner copy> "
        f"--store {world['store']}")

    done = runner.invoke(main, ["repair", ID, "--from", str(source), "--store", str(world["store"])])
    assert done.exit_code == 0, done.output
    assert "repaired: wcda:115179 version 1" in done.stderr and "2 file(s) replaced" in done.stderr
    assert f"replaced: {PAGE} (was missing; now sha512" in done.stderr
    assert f"replaced: {TEXT} (was corrupted, sha512" in done.stderr
    assert done.stdout.strip() == str(world["bag"])
    assert tree_bytes(world["bag"]) == tree_bytes(world["pristine"])
    assert intact.stat().st_ino == inode  # an intact file is never rewritten
    bagit.Bag(str(world["bag"])).validate()

    events = _events(world["store"])[-3:]
    assert [(e.type, e.outcome) for e in events] == [("fix", "fai"), ("rec", "suc"), ("fix", "suc")]
    before, rec, after = events
    assert PAGE in before.detail and "missing" in before.detail and f"{TEXT} corrupted" in before.detail
    assert before.data is not None and {p["path"] for p in before.data["problems"]} == {PAGE, TEXT}
    assert str(source.resolve()) in rec.detail and PAGE in rec.detail and TEXT in rec.detail
    assert rec.data is not None and rec.data["format"] == fmt and rec.data["method"] == "exchange"
    replaced = {r["path"]: r for r in rec.data["replaced"]}
    with Store.open(world["store"]) as store:
        ingest = store.ledger.ingest_digests("wcda-115179-00e6896c9b37d041/v1")
    assert ingest is not None
    assert {p: r["digest"] for p, r in replaced.items()} == {p: ingest[p] for p in (PAGE, TEXT)}
    assert replaced[PAGE]["found"] is None and replaced[TEXT]["found"] not in (None, ingest[TEXT])
    assert after.data is not None and after.data["status"] == "ok" and after.data["mode"] == "full"

    audit = runner.invoke(main, ["audit", "--store", str(world["store"]), "--workers", "1", "--json"])
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.stdout)["summary"]["ok"] == 1
    assert not list((world["store"] / ".tmp").iterdir())


def test_repair_of_an_intact_bag_records_one_check_and_changes_nothing(
    world: dict[str, Path], runner: CliRunner
) -> None:
    before = tree_bytes(world["bag"])
    count = len(_events(world["store"]))
    done = runner.invoke(main, ["repair", ID, "--from", str(world["partner"]), "--store",
                                str(world["store"]), "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert report["status"] == "intact" and report["replaced"] == []
    assert tree_bytes(world["bag"]) == before
    events = _events(world["store"])
    assert len(events) == count + 1 and (events[-1].type, events[-1].outcome) == ("fix", "suc")
    assert "nothing replaced" in events[-1].detail


# -- copies that cannot be used -------------------------------------------------------------


def test_a_partner_copy_damaged_the_same_way_is_refused_file_by_file(
    world: dict[str, Path], runner: CliRunner
) -> None:
    _damage(world["bag"])
    bad_copy = world["root"] / "bad-copy"
    shutil.copytree(world["partner"], bad_copy)
    (bad_copy / TEXT).write_bytes(b"another text\n")
    report = _refused_and_unchanged(runner, world, bad_copy)
    [problem] = report["problems"]
    assert problem["location"] == TEXT
    with Store.open(world["store"]) as store:
        expected = store.ledger.ingest_digests("wcda-115179-00e6896c9b37d041/v1")
    assert expected is not None
    assert problem["expected"] == expected[TEXT]
    assert problem["found"] == hashlib.sha512(b"another text\n").hexdigest()
    assert "does not match the recorded sha512" in problem["message"]
    # the text form names the file, the expected and the found digest, and what was left alone
    text = runner.invoke(main, ["repair", ID, "--from", str(bad_copy), "--store", str(world["store"])])
    assert text.exit_code == 1
    assert "refused:" in text.stderr and "nothing was changed" in text.stderr
    assert f"error: {TEXT}: corrupted in the stored bag" in text.stderr and expected[TEXT] in text.stderr


def test_a_hostile_archive_is_refused_before_anything_is_read(world: dict[str, Path],
                                                              runner: CliRunner) -> None:
    _damage(world["bag"])
    link = tarfile.TarInfo(f"{LABEL}/data/escape")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    archive = world["root"] / "hostile.tar"
    archive.write_bytes(tar_bytes(bag_members(world["partner"], LABEL), [link]))
    report = _refused_and_unchanged(runner, world, archive)
    assert any("the partner's copy cannot be used" in p["message"] and "symbolic link" in p["message"]
               for p in report["problems"])


def test_an_unexpected_file_in_the_payload_is_refused_not_deleted(world: dict[str, Path],
                                                                 runner: CliRunner) -> None:
    _damage(world["bag"])
    (world["bag"] / "data" / "notes.txt").write_text("someone's notes\n")
    report = _refused_and_unchanged(runner, world, world["partner"])
    assert [p["location"] for p in report["problems"]] == ["data/notes.txt"]
    assert "move it out of the bag" in report["problems"][0]["message"]


def test_usage_errors_name_what_is_wrong(world: dict[str, Path], runner: CliRunner) -> None:
    cases = [
        (["repair", "no:such", "--from", str(world["partner"])], "names no record or bag"),
        (["repair", ID, "--version", "7", "--from", str(world["partner"])], "has no version 7"),
        (["repair", ID, "--from", str(world["root"] / "nowhere.tar")], "was not found"),
    ]
    for args, message in cases:
        result = runner.invoke(main, [*args, "--store", str(world["store"])])
        assert result.exit_code == 2, result.output
        assert message in result.stderr and "Traceback" not in result.output
    result = runner.invoke(main, ["repair", ID, "--from", str(world["partner"]), "--store",
                                  str(world["root"] / "no-store")])
    assert result.exit_code == 2 and "store not found" in result.stderr


# -- tag files ----------------------------------------------------------------------------


def test_a_damaged_bag_info_is_replaced_only_by_the_copy_the_tag_manifest_lists(
    world: dict[str, Path], runner: CliRunner
) -> None:
    info = world["bag"] / "bag-info.txt"
    info.write_text(info.read_text().replace("Soviet", "S0viet"))
    # a partner that edited its bag-info and resealed its tag manifest is not a copy of ours
    edited = world["root"] / "edited"
    shutil.copytree(world["partner"], edited)
    (edited / "bag-info.txt").write_text((edited / "bag-info.txt").read_text() + "Contact-Name: them\n")
    retag(edited)
    report = _refused_and_unchanged(runner, world, edited)
    assert report["problems"][0]["location"] == "bag-info.txt"
    assert "does not match the stored tag manifest" in report["problems"][0]["message"]
    with Store.open(world["store"]) as store:
        result = repair(store, ID, 1, world["partner"])
    assert result.status == "repaired" and [r.path for r in result.replaced] == ["bag-info.txt"]
    assert tree_bytes(world["bag"]) == tree_bytes(world["pristine"])


def test_a_damaged_tag_manifest_line_is_told_from_a_damaged_tag_file(world: dict[str, Path]) -> None:
    tagmanifest = world["bag"] / "tagmanifest-sha512.txt"
    lines = tagmanifest.read_text().splitlines(keepends=True)
    flipped = ["0" + ln[1:] if ln.rstrip().endswith("bag-info.txt") else ln for ln in lines]
    tagmanifest.write_text("".join(flipped))
    inode = (world["bag"] / "bag-info.txt").stat().st_ino
    with Store.open(world["store"]) as store:
        result = repair(store, ID, None, world["partner"])
    assert result.status == "repaired", result.problems
    assert [r.path for r in result.replaced] == ["tagmanifest-sha512.txt"]
    assert any("the tag manifest line is what was damaged" in w.message for w in result.warnings)
    assert (world["bag"] / "bag-info.txt").stat().st_ino == inode
    assert tree_bytes(world["bag"]) == tree_bytes(world["pristine"])


def test_a_damaged_payload_manifest_is_put_right(world: dict[str, Path]) -> None:
    manifest = world["bag"] / "manifest-sha512.txt"
    manifest.write_text(manifest.read_text().replace("data/text.txt", "data/text.txT"))
    with Store.open(world["store"]) as store:
        result = repair(store, ID, None, world["partner"])
    assert result.status == "repaired" and [r.path for r in result.replaced] == ["manifest-sha512.txt"]
    assert verify_bag(world["bag"]).valid


def test_a_bag_directory_gone_altogether_is_restored(world: dict[str, Path]) -> None:
    shutil.rmtree(world["bag"].parent)
    with Store.open(world["store"]) as store:
        audited = run_audit(store, AuditOptions(workers=1))
        assert audited.bags[0].status == "missing"
        assert (f"  next step:     restore with: stook repair {ID} --version 1 --from <partner copy> "
                f"--store {world['store']}") in list(audit_lines(audited))
        result = repair(store, ID, None, _archive_from(world))
        assert result.status == "repaired" and result.method == "rename", result.problems
        # bagit.txt and bag-info.txt have no record in the store: taken on the partner's tag manifest
        assert {w.location for w in result.warnings} == {"bagit.txt", "bag-info.txt"}
        assert run_audit(store, AuditOptions(workers=1)).bags[0].status == "ok"
    assert tree_bytes(world["bag"]) == tree_bytes(world["pristine"])


def _archive_from(world: dict[str, Path]) -> Path:
    """The partner's copy as a tar, made from its directory (our store can no longer export it)."""
    archive = world["root"] / "partner.tar"
    archive.write_bytes(tar_bytes(bag_members(world["partner"], LABEL)))
    return archive


def test_per_file_replacement_where_directories_cannot_be_exchanged(world: dict[str, Path]) -> None:
    _damage(world["bag"])
    with Store.open(world["store"]) as store:
        result = repair(store, ID, None, world["partner"], RepairOptions(exchange=False))
        assert result.status == "repaired" and result.method == "per-file"
        assert run_audit(store, AuditOptions(workers=1)).bags[0].status == "ok"
    assert tree_bytes(world["bag"]) == tree_bytes(world["pristine"])
    assert not list((world["store"] / ".tmp").iterdir())


# -- bags that were received (their digests recorded on receipt) ------------------------------


def test_a_received_bag_is_checked_against_the_digests_recorded_on_receipt(
    world: dict[str, Path], runner: CliRunner
) -> None:
    archive = _archive(world, "tar")
    theirs = world["root"] / "theirs"
    with Store.open(theirs, create=True) as store:
        [received] = receive_bags(store, [archive])
    assert received.path is not None
    assert any(e.type == "mes" for e in _events(theirs))  # receive records the digests it verified
    _damage(received.path)
    (received.path / "data" / "record.json").write_text("{}\n")  # the record too
    done = runner.invoke(main, ["repair", ID, "--from", str(world["partner"]), "--store", str(theirs),
                                "--json"])
    assert done.exit_code == 0, done.output
    report = json.loads(done.stdout)
    assert {r["path"] for r in report["replaced"]} == {PAGE, TEXT, "data/record.json"}
    assert "recorded in the ledger at ingest" in report["reference"]
    assert tree_bytes(received.path) == tree_bytes(world["pristine"])
    # a copy whose files differ from the recorded digests is refused
    _damage(received.path)
    other = world["root"] / "other"
    shutil.copytree(world["partner"], other)
    (other / TEXT).write_text("forged\n")
    (other / "manifest-sha512.txt").write_text(
        (other / "manifest-sha512.txt").read_text().replace(
            hashlib.sha512((world["pristine"] / TEXT).read_bytes()).hexdigest(),
            hashlib.sha512(b"forged\n").hexdigest()))
    retag(other)
    before = snapshot(theirs)
    with Store.open(theirs) as store:
        result = repair(store, ID, None, other)
    assert result.status == "refused"
    assert [p.location for p in result.problems] == [TEXT]
    assert snapshot(theirs) == before


def test_a_foreign_bag_without_a_record_is_repaired(tmp_path: Path) -> None:
    source = tmp_path / "their-bag"
    source.mkdir()
    (source / "letter.txt").write_text("Dear colleague,\n")
    (source / "scan.bin").write_bytes(os.urandom(4096))
    bagit.make_bag(str(source), {"External-Identifier": "their:42"}, checksums=["sha256"])
    original = tree_bytes(source)
    with Store.open(tmp_path / "store", create=True) as store:
        [received] = receive_bags(store, [source])
        assert received.path is not None
        (received.path / "data" / "scan.bin").write_bytes(b"\0" * 4096)
        result = repair(store, "their:42", None, source)
        assert result.status == "repaired", result.problems
        assert [(r.path, r.algorithm) for r in result.replaced] == [("data/scan.bin", "sha256")]
    assert tree_bytes(received.path) == original


def test_links_in_the_partners_directory_are_never_followed(world: dict[str, Path],
                                                           runner: CliRunner) -> None:
    """A copy whose text is a symbolic link, even to the right bytes elsewhere, is no copy."""
    _damage(world["bag"])
    linked = world["root"] / "linked"
    shutil.copytree(world["partner"], linked)
    outside = world["root"] / "outside-text.txt"
    outside.write_bytes((world["pristine"] / TEXT).read_bytes())
    (linked / TEXT).unlink()
    (linked / TEXT).symlink_to(outside)
    report = _refused_and_unchanged(runner, world, linked)
    assert [p["location"] for p in report["problems"]] == [TEXT]
    assert "the partner's copy has no such file" in report["problems"][0]["message"]
