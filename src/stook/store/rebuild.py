"""Checking the ledger against the disk, and rebuilding it from the bags.

Every bag carries its record (or, from another tool, its bag-info), its manifests and
its sizes, so the ledger's bag index can be rebuilt from the store's directories.
What a bag cannot tell (its capture and ingest events, harvest checkpoints) is taken
from the old ledger as far as it can still be read; the rebuild says in PREMIS
events which history was rebuilt, and keeps the old ledger file beside the new one.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from stook.errors import StookError
from stook.ledger import (
    LEDGER_FILE,
    BagVersion,
    Event,
    Ledger,
    Salvage,
    Source,
    salvage,
    utc_now,
)
from stook.names import bag_name, identifier_key, parse_version_dir
from stook.store.layout import bag_dirs, read_mark, write_mark
from stook.store.locking import WriterLock
from stook.store.ondisk import BagFacts, bag_facts


@dataclass
class LedgerCheck:
    """What ``stook ledger check`` found; ``ok`` when the ledger and the disk agree."""

    store: str
    integrity: list[str] = field(default_factory=list)  # SQLite's own complaints
    unreadable: str | None = None  # the ledger cannot be read at all
    missing: list[str] = field(default_factory=list)  # in the ledger, not on disk
    unknown: list[str] = field(default_factory=list)  # on disk, not in the ledger
    pending: list[str] = field(default_factory=list)
    versions_in_ledger: int = 0
    bag_dirs_on_disk: int = 0
    noted_versions: int | None = None

    @property
    def behind(self) -> bool:
        return self.noted_versions is not None and self.versions_in_ledger < self.noted_versions

    @property
    def ok(self) -> bool:
        return not (self.integrity or self.unreadable or self.unknown or self.behind)

    def to_dict(self) -> dict[str, Any]:
        return {
            "store": self.store, "ok": self.ok, "integrity": self.integrity, "unreadable": self.unreadable,
            "missing": self.missing, "unknown": self.unknown, "pending": self.pending,
            "versions_in_ledger": self.versions_in_ledger, "bag_dirs_on_disk": self.bag_dirs_on_disk,
            "noted_versions": self.noted_versions, "behind": self.behind,
        }


def check_ledger(root: Path) -> LedgerCheck:
    """SQLite's integrity check of the ledger, and the ledger compared with the disk.

    Missing bags are reported but do not make the ledger wrong (audit reports them as
    missing bags); bag directories the ledger does not know, a ledger older than the
    store, and a damaged file do.
    """
    report = LedgerCheck(str(root), noted_versions=read_mark(root))
    on_disk = bag_dirs(root)
    report.bag_dirs_on_disk = len(on_disk)
    path = root / LEDGER_FILE
    if not path.exists() or path.stat().st_size == 0:
        report.unreadable = f"{path} is missing" if not path.exists() else f"{path} is empty (0 bytes)"
        report.unknown = sorted(on_disk)
        return report
    try:
        with Ledger(path, read_only=True) as ledger:
            report.integrity = ledger.integrity_problems()
            rows = ledger.bags(include_pending=True)
    except StookError as exc:
        report.unreadable = str(exc)
        report.unknown = sorted(on_disk)
        return report
    known = {b.path for b in rows}
    report.versions_in_ledger = sum(1 for b in rows if b.state == "stored")
    report.pending = sorted(b.path for b in rows if b.state == "pending")
    report.missing = sorted(b.path for b in rows if b.state == "stored" and b.path not in on_disk)
    report.unknown = sorted(on_disk - known)
    return report


@dataclass
class RebuildResult:
    """What ``stook ledger rebuild`` did."""

    store: str
    bags: int = 0  # versions in the new ledger
    kept: int = 0  # taken over from the old ledger with their history
    rebuilt: int = 0  # known only from the disk: history rebuilt
    failed_fixity: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # directories that are not usable bags, with why
    missing: list[str] = field(default_factory=list)  # kept from the old ledger, gone from disk
    old_events: int = 0
    old_ledger: str | None = None  # where the replaced ledger file was kept
    old_unreadable: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _source_of(facts: BagFacts) -> Source:
    """Who supplied a bag, as far as the bag says: its record's source, or a transfer."""
    source = (facts.record or {}).get("record_source") or {}
    method = source.get("method") if isinstance(source, dict) else None
    if method == "harvest" and source.get("base_url"):
        return Source.harvest(str(source["base_url"]), str(source.get("metadata_prefix") or "oai_dc"))
    if facts.record is None or method == "received":
        return Source.received(facts.organization)
    return Source.manual()


def _created(bag_dir: Path) -> str:
    """When a bag whose ledger row is lost was stored, as near as the disk tells: the
    time its directory was last written."""
    stamp = datetime.fromtimestamp(bag_dir.stat().st_mtime, timezone.utc)
    return stamp.isoformat(timespec="microseconds")[:-6] + "Z"


def rebuild_ledger(root: Path, *, workers: int = 1, progress: Callable[[int], None] | None = None
                   ) -> RebuildResult:
    """Rebuild ``<root>/stook-ledger.sqlite`` from the bags on disk and what the old ledger
    still holds; the old file is kept as ``stook-ledger.sqlite.replaced-<time>``."""
    from stook.verify.many import verify_bags  # noqa: PLC0415 (only the rebuild verifies here)

    lock = WriterLock(root)
    with lock.hold():
        result = RebuildResult(str(root))
        path = root / LEDGER_FILE
        old = salvage(path)
        result.old_unreadable = old.error
        result.old_events = len(old.events)
        candidates = sorted(rel for rel in bag_dirs(root) if parse_version_dir(rel.rpartition("/")[2]))
        verdicts = {v.path: v for v in verify_bags([os.fspath(root / rel) for rel in candidates],
                                                   mode="full", workers=workers)}
        rows: list[BagVersion] = []
        rebuilt_events: list[Event] = []
        kept_paths: set[str] = set()
        for rel in candidates:
            if progress:
                progress(1)
            row, events, why = _index_bag(root, rel, old, verdicts[os.fspath(root / rel)])
            if row is None:
                result.skipped.append(f"{rel}: {why}")
                continue
            rows.append(row)
            if events:
                rebuilt_events.extend(events)
                result.rebuilt += 1
            else:
                kept_paths.add(rel)
                result.kept += 1
            if why:
                result.failed_fixity.append(f"{rel}: {why}")
        for rel, bag in sorted(old.bags.items()):  # gone from disk: audit will say so
            if bag.state == "stored" and rel not in {r.path for r in rows}:
                rows.append(bag)
                result.missing.append(rel)
        result.bags = len(rows)
        new_path = root / f"{LEDGER_FILE}.rebuilding"
        for leftover in (new_path, Path(f"{new_path}-wal"), Path(f"{new_path}-shm")):
            leftover.unlink(missing_ok=True)
        _write_new_ledger(new_path, rows, old, rebuilt_events, result)
        result.old_ledger = _swap(root, path, new_path)
        write_mark(root, sum(1 for r in rows if r.state == "stored"))
    return result


def _index_bag(
    root: Path, rel: str, old: Salvage, verdict: Any
) -> tuple[BagVersion | None, list[Event], str]:
    """The ledger row of one bag directory: the old one when it still describes it, else one
    rebuilt from the bag with events saying so. Returns (row, rebuilt events, note)."""
    bag_dir = root / rel
    if verdict.result is None:
        return None, [], f"not a bag ({verdict.not_a_bag})"
    facts = bag_facts(bag_dir)
    if not facts.identifier:
        return None, [], "the bag names no identifier (no data/record.json, no External-Identifier)"
    name, _, vdir = rel.rpartition("/")
    version = parse_version_dir(vdir)
    assert version is not None
    try:
        expected_name = bag_name(facts.identifier)
    except StookError as exc:
        return None, [], f"unusable identifier {facts.identifier!r}: {exc}"
    if expected_name != name:
        return None, [], (f"holds record {facts.identifier!r}, whose versions belong in {expected_name}/, "
                          f"not {name}/")
    valid = verdict.result.valid
    note = "" if valid else f"fails its fixity check ({len(verdict.result.errors)} problems)"
    previous = old.bags.get(rel)
    if (previous is not None and previous.identifier == facts.identifier
            and (previous.state == "stored" or previous.fingerprint == facts.fingerprint)):
        return _stored(previous), [], note
    created = _created(bag_dir)
    row = BagVersion(
        identifier=facts.identifier, id_key=identifier_key(facts.identifier), version=version, name=name,
        path=rel, fingerprint=facts.fingerprint, payload_oxum=facts.payload_oxum, size=facts.size,
        title=facts.title, groups=facts.groups, created=created, state="stored",
    )
    digests = verdict.result.payload_digests
    now = utc_now()
    rebuilt = {"rebuilt": True}
    events = [
        Event("ing", "suc", row.identifier, version, rel, datetime=now,
              detail=f"bag {rel} entered in a rebuilt ledger from the bag on disk; the events of its "
              "original ingest were not in the old ledger",
              data={**rebuilt, "created_from": "directory mtime"}),
        Event("mes", "suc", row.identifier, version, rel, datetime=now,
              detail=f"digests taken from the bag's manifests ({', '.join(sorted(digests))}) when the ledger "
              "was rebuilt, not at ingest",
              data={**rebuilt, "algorithms": sorted(digests), "payload_oxum": facts.payload_oxum,
                    **({"sha512": digests["sha512"]} if "sha512" in digests else {})}),
        Event("fix", "suc" if valid else "fai", row.identifier, version, rel, datetime=now,
              detail=("verified in full when the ledger was rebuilt" if valid else
                      f"verified in full when the ledger was rebuilt: {note}"),
              data={**rebuilt, "mode": "full", "errors": [f.to_dict() for f in verdict.result.errors[:20]]}),
    ]
    return row, events, note


def _stored(bag: BagVersion) -> BagVersion:
    return bag if bag.state == "stored" else BagVersion(**{**bag.__dict__, "state": "stored"})


def _write_new_ledger(new_path: Path, rows: list[BagVersion], old: Salvage, rebuilt_events: list[Event],
                      result: RebuildResult) -> None:
    with Ledger(new_path) as ledger, ledger.transaction() as conn:
        ledger.insert_bags(conn, [(row, ()) for row in rows])
        ledger.append_rows(conn, old.events)
        ledger.append_events(conn, rebuilt_events)
        ledger.restore(conn, old, {row.id_key for row in rows})
        first: dict[str, BagVersion] = {}
        for row in sorted(rows, key=lambda r: r.version):
            first.setdefault(row.id_key, row)
        claims = []
        for key, row in first.items():
            facts_source = _row_source(new_path.parent, row)
            claims.append((key, facts_source))
        ledger.claim(conn, claims)
        summary = (f"ledger rebuilt from {result.kept + result.rebuilt} bag directories: "
                   f"{result.kept} as the old ledger recorded them, {result.rebuilt} known only from "
                   "the disk (history rebuilt); "
                   f"{len(old.events)} events of the old ledger kept")
        if old.error:
            summary += f"; parts of the old ledger could not be read ({old.error})"
        ledger.append_events(conn, [Event("rec", "war" if (old.error or result.rebuilt) else "suc",
                                          detail=summary, data={"rebuilt": True, **result.to_dict()})])


def _row_source(root: Path, row: BagVersion) -> Source:
    try:
        return _source_of(bag_facts(root / row.path))
    except OSError:
        return Source.manual()


def _swap(root: Path, path: Path, new_path: Path) -> str | None:
    """Put the new ledger in place of the old one, which is kept under another name."""
    kept: str | None = None
    if path.exists():
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
        backup = root / f"{LEDGER_FILE}.replaced-{stamp}"
        try:
            os.link(path, backup)
        except OSError:
            shutil.copy2(path, backup)
        for suffix in ("-wal", "-shm"):
            side = Path(f"{path}{suffix}")
            if side.exists():
                os.replace(side, Path(f"{backup}{suffix}"))
        kept = backup.name
    for suffix in ("-wal", "-shm"):
        Path(f"{new_path}{suffix}").unlink(missing_ok=True)
    os.replace(new_path, path)
    return kept


__all__ = ["LedgerCheck", "RebuildResult", "check_ledger", "rebuild_ledger"]
