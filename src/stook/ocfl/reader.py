"""``stook import --from-ocfl``: every version of OCFL objects rebuilt as its bag and adopted.

Version N of an object is materialized (its logical state, each file under its own
path) in the store's ``.tmp``, every content file checked against the inventory's
digest as it is copied; the bag is then verified in full (every checksum, RFC 8493),
checked against the stook BagIt profile when it claims it, and adopted by the store
as version N of the object's identifier, with transfer, fixity, validation and
ingestion events, as ``stook receive`` does. Versions the store already holds (the
same tag files, byte for byte) are skipped, so importing twice changes nothing.
Paths in an inventory are never trusted: nothing outside the object is read and
nothing outside the new bag is written.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stook.bagspec import first_value, info_values, read_bag_info
from stook.errors import NotABag, Problem, ProvenanceConflict, UsageError
from stook.ledger import Event
from stook.names import identifier_key
from stook.ocfl.bagfiles import same_bag
from stook.ocfl.inventory import Inventory, read_inventory
from stook.ocfl.layout import OcflError, StorageRoot, new_hasher, open_root, walk_objects
from stook.profile import check_bag, declared_profile, stook_profile
from stook.store import RECORD_FILE, IncomingBag, Source, Store, bag_fingerprint, bag_sizes
from stook.transfer.receive import digest_event
from stook.verify import Finding, verify_bag

ImportStatus = Literal["new", "changed", "unchanged", "rejected"]
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class OcflImportOptions:
    root: Path
    ids: tuple[str, ...] = ()  # object ids; none means every object in the root
    workers: int = 1  # threads hashing a bag's files while it is verified


@dataclass
class VersionImport:
    """What became of one OCFL version."""

    identifier: str
    object_path: str
    version: str  # "v1", ...
    status: ImportStatus = "rejected"
    bag: str | None = None  # the store path it is (or already was) kept under
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"identifier": self.identifier, "object_path": self.object_path, "version": self.version,
                "status": self.status, "bag": self.bag, "errors": [p.to_dict() for p in self.errors],
                "warnings": [p.to_dict() for p in self.warnings]}



@dataclass
class OcflImportSummary:
    root: Path
    versions: list[VersionImport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(v.status != "rejected" for v in self.versions)

    def counts(self) -> dict[str, int]:
        counts = {status: 0 for status in ("new", "changed", "unchanged", "rejected")}
        for item in self.versions:
            counts[item.status] += 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), **self.counts(), "versions": [v.to_dict() for v in self.versions]}


def find_objects(root: StorageRoot, ids: tuple[str, ...] = ()) -> list[Path]:
    """The object directories for ``ids`` (through the layout, else by their inventories), or all."""
    if ids and root.layout is not None:
        found = {i: root.object_dir(i) for i in ids}
        unknown = [i for i, path in found.items() if not path.is_dir()]
    else:
        every = [root.path / rel for rel, files in walk_objects(root.path)
                 if any(f.startswith("0=ocfl_object_") for f in files)]
        if not ids:
            return every
        by_id: dict[str, Path] = {}
        for path in every:
            try:
                by_id[read_inventory(path)[0].id] = path
            except OcflError:
                continue
        found = {i: by_id[i] for i in ids if i in by_id}
        unknown = [i for i in ids if i not in by_id]
    if unknown:
        raise UsageError(f"no OCFL object {', '.join(repr(u) for u in unknown)} in the storage root "
                         f"{root.path}", hint="list its objects with 'stook verify ROOT --json'")
    return list(dict.fromkeys(found.values()))


def import_ocfl(store: Store, options: OcflImportOptions, *,
                progress: Callable[[int], None] | None = None) -> OcflImportSummary:
    """Import every version of the chosen objects that the store does not hold yet."""
    root = open_root(options.root)
    objects = find_objects(root, options.ids)
    summary = OcflImportSummary(root.path)
    with store.writing():
        for object_dir in objects:
            summary.versions.extend(_import_object(store, root, object_dir, options))
            if progress:
                progress(1)
    return summary


def _import_object(store: Store, root: StorageRoot, object_dir: Path,
                   options: OcflImportOptions) -> list[VersionImport]:
    rel = object_dir.relative_to(root.path).as_posix()
    try:
        inventory, _ = read_inventory(object_dir)
    except OcflError as exc:
        failed = VersionImport("?", rel, "-")
        failed.errors.append(Problem(exc.path or str(object_dir), exc.message))
        return [failed]
    stored = store.ledger.versions(identifier_key(inventory.id))
    results: list[VersionImport] = []
    for number, version in enumerate(inventory.versions, 1):
        result = VersionImport(inventory.id, rel, f"v{number}")
        results.append(result)
        if number <= len(stored):
            held = stored[number - 1]
            result.bag = held.path
            if same_bag(version, store.bag_path(held)):
                result.status = "unchanged"
                continue
            result.errors.append(Problem(str(object_dir), f"version v{number} differs from store version "
                                         f"{number} ({held.path}): the store holds another history of "
                                         f"{inventory.id!r}; later versions not imported"))
            break
        _import_version(store, root, object_dir, inventory, number, result, options)
        if result.status == "rejected":
            break
    return results


def _import_version(store: Store, root: StorageRoot, object_dir: Path, inventory: Inventory,
                    number: int, result: VersionImport, options: OcflImportOptions) -> None:
    work = store.tmp_dir() / f"ocfl-import-{uuid.uuid4().hex}"
    try:
        result.errors.extend(rebuild_version(object_dir, inventory, number, work))
        if result.errors:
            return
        verified = verify_bag(work, mode="full", workers=options.workers)
        result.errors.extend(_problem(f) for f in verified.errors)
        result.warnings.extend(_problem(f) for f in verified.warnings)
        if not verified.valid:
            if not result.errors:
                result.errors.append(Problem("bag", "not every checksum could be verified"))
            return
        profile = stook_profile()
        problems = check_bag(work, profile)
        claimed = declared_profile(work) == profile.identifier
        for problem in problems:
            (result.errors if claimed else result.warnings).append(
                Problem(problem.location, f"{problem.message} ({profile.label})"))
        if result.errors:
            return
        record = _record(work)
        info = read_bag_info(work)
        where = f"object {inventory.id} version v{number} of the OCFL storage root {root.path}"
        version = inventory.versions[number - 1]
        events = [
            Event("tra", "suc", detail=f"imported from {where}",
                  data={"format": "ocfl", "root": str(root.path), "object_path": result.object_path,
                        "ocfl_version": f"v{number}", "created": version.created,
                        "message": version.message}),
            Event("fix", "suc", detail=f"imported bag valid (BagIt {verified.version}): "
                  f"{verified.files_checked} files, {verified.bytes_hashed} bytes verified with "
                  f"{', '.join(verified.algorithms)}",
                  data={"algorithms": list(verified.algorithms), "files_checked": verified.files_checked,
                        "bytes_hashed": verified.bytes_hashed}),
            Event("val", "war" if problems else "suc",
                  detail=(f"does not conform to {profile.label}: {len(problems)} problem(s)" if problems
                          else f"conforms to {profile.label}"), data={"profile": profile.identifier}),
        ]
        oxum, size = bag_sizes(work)
        events += [digest_event(work, verified, oxum),
                   Event("ing", "suc", detail=f"bag rebuilt from OCFL version v{number} stored as imported")]
        title = (record or {}).get("title") or first_value(info, "Internal-Sender-Description")
        incoming = IncomingBag(
            identifier=inventory.id, fingerprint=bag_fingerprint(work, record), payload_oxum=oxum,
            size=size, title=title if isinstance(title, str) else None,
            groups=[g for g in info_values(info, "Bag-Group-Identifier") if g], events=events,
            source=Source.received(first_value(info, "Source-Organization")))
        added = store.adopt(work, incoming)
        placed = added.bag.version == number or added.status == "unchanged"
        result.status = added.status if placed else "rejected"
        result.bag = added.bag.path
        if result.status == "rejected":
            result.errors.append(Problem(str(object_dir), f"stored as version {added.bag.version}, not "
                                         f"{number}: the store changed during the import"))
    except (OcflError, NotABag, ProvenanceConflict) as exc:
        result.errors.append(Problem(exc.path or str(object_dir), str(exc)))
    except OSError as exc:
        result.errors.append(Problem(str(exc.filename or work), f"cannot be written or read: {exc.strerror}"))
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)


def _problem(finding: Finding) -> Problem:
    return Problem(finding.where() or "bag", f"[{finding.code}] {finding.message}")


def rebuild_version(object_dir: Path, inventory: Inventory, number: int, target: Path) -> list[Problem]:
    """Write version ``number``'s logical state under ``target`` (a new directory).

    Each content file is copied while hashed and compared with its inventory digest.
    Returns every problem found (an unsafe path, a missing or corrupt content file);
    ``target`` is then incomplete and the caller removes it.
    """
    problems: list[Problem] = []
    version = inventory.versions[number - 1]
    base = object_dir.resolve()
    target.mkdir()
    target = target.resolve()
    made: set[Path] = {target}
    for digest, logical_paths in sorted(version.state.items()):
        content = inventory.manifest.get(digest, [None])[0]
        source = _inside(base, content) if content else None
        if source is None:
            problems.append(Problem(f"{object_dir}/inventory.json", f"content path {content!r} of digest "
                                    f"{digest[:16]}... is missing or outside the object; not read"))
            continue
        for logical in logical_paths:
            dest = _inside(target, logical)
            if dest is None or dest == target:
                problems.append(Problem(f"{object_dir}/inventory.json", f"logical path {logical!r} of "
                                        f"v{number} is not a safe relative path; not written"))
                continue
            found = _copy(source, dest, made, inventory.digest_algorithm)
            if found is None:
                problems.append(Problem(str(source), "missing or unreadable content file"))
            elif found != digest.lower():
                problems.append(Problem(str(source), f"{inventory.digest_algorithm} of the content file "
                                        "differs from the inventory: the file is corrupt",
                                        found=found, expected=digest.lower()))
    return problems


def _inside(base: Path, rel: str) -> Path | None:
    parts = rel.split("/")
    if rel.startswith("/") or any(p in ("", ".", "..") for p in parts) or "\x00" in rel:
        return None
    path = base.joinpath(*parts)
    real = Path(os.path.realpath(path))
    return path if real == base or base in real.parents or not path.exists() else None


def _copy(source: Path, dest: Path, made: set[Path], algorithm: str) -> str | None:
    if dest.parent not in made:
        dest.parent.mkdir(parents=True, exist_ok=True)
        made.add(dest.parent)
    hasher = new_hasher(algorithm)
    try:
        with open(source, "rb") as src, open(dest, "xb") as out:
            while chunk := src.read(CHUNK):
                hasher.update(chunk)
                out.write(chunk)
    except OSError:
        return None
    return str(hasher.hexdigest())


def _record(bag_dir: Path) -> dict[str, Any] | None:
    try:
        record = json.loads((bag_dir / "data" / RECORD_FILE).read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("identifier"), str) else None


