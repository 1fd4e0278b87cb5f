"""``stook export --format ocfl``: the store's records as OCFL objects, incrementally.

Each record identifier is one OCFL object (its id is the identifier), each stook
version one OCFL version, in order. Version N's logical state is bag N under its own
relative paths, so the bag is rebuilt byte for byte from any version. Content is
addressed by sha512 and stored once per object: a text or attachment unchanged
between versions is not copied again. Every other algorithm the bag's manifests
carry (sha256, md5, ...) goes into the inventory's ``fixity`` block. ``created`` is
the time the version entered the store; ``message`` and ``user`` come from its
capture, transfer and ingestion events.

Exporting again adds only the versions the root lacks, and never rewrites an
existing version. Every bag is verified in full before its version is written. A
batch of objects is staged, made durable with one sync, then swapped in object by
object (:mod:`stook.ocfl.swap`), so a kill at any instant leaves a valid root.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stook import PROJECT_URL
from stook.durable import fsync_dirs, make_durable
from stook.errors import Problem, UsageError
from stook.ledger import BagVersion, Event
from stook.ocfl.bagfiles import BagFiles, read_bag_files, same_bag
from stook.ocfl.inventory import (
    INVENTORY_FILE,
    Inventory,
    Version,
    read_inventory,
    sidecar_name,
    write_inventory,
)
from stook.ocfl.layout import INVENTORY_TYPE, OBJECT_DECLARATION, OcflError, StorageRoot, create_root
from stook.ocfl.swap import clear_staging, exchange, link_tree, place_new, remove_tree, root_lock
from stook.store import Store
from stook.verify import verify_bag

ObjectStatus = Literal["new", "updated", "unchanged", "refused"]
BATCH = 64  # objects staged, then made durable with one sync and swapped in
_MESSAGE_EVENTS = ("cap", "tra", "ing")


@dataclass(frozen=True)
class OcflExportOptions:
    """What to export where: ``refs`` (identifiers, bag names or store paths) or every record."""

    root: Path
    refs: tuple[str, ...] = ()
    all_records: bool = False
    batch: int = BATCH
    workers: int = 1  # threads hashing a bag's files while it is verified


@dataclass
class ObjectExport:
    """What became of one record's OCFL object."""

    identifier: str
    object_path: str  # relative to the storage root
    status: ObjectStatus = "unchanged"
    versions: int = 0  # OCFL versions the object holds afterwards
    added: list[str] = field(default_factory=list)
    files_written: int = 0
    bytes_written: int = 0
    deduplicated: int = 0  # files of new versions whose content the object already held
    errors: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier, "object_path": self.object_path, "status": self.status,
            "versions": self.versions, "added": list(self.added), "files_written": self.files_written,
            "bytes_written": self.bytes_written, "deduplicated": self.deduplicated,
            "errors": [p.to_dict() for p in self.errors],
        }



@dataclass
class OcflExportSummary:
    root: Path
    objects: list[ObjectExport] = field(default_factory=list)
    cleared: int = 0  # leftovers of an interrupted export removed first

    @property
    def ok(self) -> bool:
        return all(o.ok for o in self.objects)

    def counts(self) -> dict[str, int]:
        counts = {status: 0 for status in ("new", "updated", "unchanged", "refused")}
        for item in self.objects:
            counts[item.status] += 1
        counts["versions_added"] = sum(len(o.added) for o in self.objects)
        counts["failed"] = sum(1 for o in self.objects if not o.ok)
        return counts

    def to_dict(self) -> dict[str, Any]:
        return {"root": str(self.root), **self.counts(), "cleared": self.cleared,
                "objects": [o.to_dict() for o in self.objects]}


@dataclass
class _Staged:
    result: ObjectExport
    built: Path  # the object as built, in staging; after an exchange, the old object
    target: Path  # its place in the root
    replaces: bool  # an object is there already (exchange) or not (rename)
    root: Path
    events: list[Event] = field(default_factory=list)
    inventory_bytes: bytes | None = None  # the head version's inventory, which the root one repeats


def export_ocfl(
    store: Store, options: OcflExportOptions, *, progress: Callable[[int], None] | None = None
) -> OcflExportSummary:
    """Write (or bring up to date) the OCFL objects of the chosen records under ``options.root``."""
    records = select_records(store, options)
    root = create_root(options.root)
    root.object_dir("")  # refuses a root whose layout stook cannot write
    summary = OcflExportSummary(root.path)
    with root_lock(root.path):
        staging = root.staging()
        summary.cleared = clear_staging(staging)
        try:
            staging.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OcflError(f"{staging}: cannot create the staging area: {exc.strerror}",
                            path=staging) from exc
        try:
            for batch in _chunks(records, max(1, options.batch)):
                staged: list[_Staged] = []
                for versions in batch:
                    item = _stage(store, root, versions, options.workers)
                    if isinstance(item, _Staged):
                        staged.append(item)
                        summary.objects.append(item.result)
                    else:
                        summary.objects.append(item)
                _commit(store, root, staged)
                if progress:
                    progress(len(batch))
        except OSError as exc:
            raise OcflError(f"{root.path}: cannot write the OCFL storage root: {exc.strerror or exc} "
                            f"({exc.filename or 'staging'}); objects already swapped in are complete, "
                            "the root is valid", path=root.path) from exc
        finally:
            clear_staging(staging)
    return summary


def select_records(store: Store, options: OcflExportOptions) -> list[list[BagVersion]]:
    """Every stored version of each chosen record, grouped by record, in order."""
    if options.all_records:
        grouped: dict[str, list[BagVersion]] = {}
        for bag in store.ledger.bags():
            grouped.setdefault(bag.id_key, []).append(bag)
        return list(grouped.values())
    if not options.refs:
        raise UsageError("nothing to export: name record identifiers, or ask for all records")
    keys: dict[str, None] = {}
    unknown = []
    for ref in options.refs:
        found = [b for b in store.resolve(ref) if b.state == "stored"]
        if not found:
            unknown.append(ref)
        for bag in found:
            keys[bag.id_key] = None
    if unknown:
        raise UsageError(
            f"nothing to export for {', '.join(repr(u) for u in unknown)}: not a record identifier, "
            f"bag name or store path in store {store.root}", hint="list the store with 'stook ls'")
    return [store.ledger.versions(key) for key in keys]


def _chunks(items: list[list[BagVersion]], size: int) -> Iterator[list[list[BagVersion]]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _stage(store: Store, root: StorageRoot, versions: list[BagVersion],
           workers: int) -> _Staged | ObjectExport:
    """Build the updated object in staging, or say why nothing needs (or may) be written."""
    identifier = versions[-1].id_key
    target = root.object_dir(identifier)
    result = ObjectExport(identifier, target.relative_to(root.path).as_posix())
    previous: Inventory | None = None
    if target.exists():
        try:
            previous, _ = read_inventory(target)
            _check_updatable(previous, identifier, target)
        except OcflError as exc:
            return _refuse(result, str(target), exc.message)
        result.versions = len(previous.versions)
        problem = _history_problem(store, previous, versions)
        if problem:
            return _refuse(result, str(target), problem)
        if len(previous.versions) == len(versions):
            return result
    built = root.staging() / uuid.uuid4().hex  # after an exchange, the old object is here
    if previous is not None:
        link_tree(target, built, skip=frozenset({INVENTORY_FILE, sidecar_name(previous.digest_algorithm)}))
        inventory = previous.copy()
    else:
        built.mkdir()
        (built / OBJECT_DECLARATION).write_bytes(f"{OBJECT_DECLARATION[2:]}\n".encode())
        inventory = Inventory(identifier)
    staged = _Staged(result, built, target, previous is not None, root.path.resolve())
    for bag in versions[len(inventory.versions):]:
        if not _add_version(store, inventory, bag, staged, workers):
            break
    if not result.added:
        result.status = "refused"
        return staged  # nothing to swap in; its events (the refusal) are still recorded
    write_inventory(built, inventory, staged.inventory_bytes)  # the root inventory last
    result.status = "updated" if previous is not None else "new"
    result.versions = len(inventory.versions)
    return staged


def _refuse(result: ObjectExport, where: str, message: str) -> ObjectExport:
    result.status = "refused"
    result.errors.append(Problem(where, message))
    return result


def _check_updatable(inventory: Inventory, identifier: str, target: Path) -> None:
    if inventory.id != identifier:
        raise OcflError(f"holds object {inventory.id!r}, not {identifier!r}; the root was not written "
                        "with this layout's mapping")
    if inventory.digest_algorithm != "sha512" or inventory.type != INVENTORY_TYPE:
        raise OcflError(f"is an OCFL object with {inventory.digest_algorithm} digests and type "
                        f"{inventory.type}; stook adds versions only to OCFL 1.1 objects addressed by sha512")
    if not (target / OBJECT_DECLARATION).is_file():
        raise OcflError(f"has no {OBJECT_DECLARATION} declaration")


def _history_problem(store: Store, inventory: Inventory, versions: list[BagVersion]) -> str | None:
    """Why the object's versions are not the record's first versions, or None when they are."""
    held = len(inventory.versions)
    if held > len(versions):
        return (f"the OCFL object has {held} versions but the store holds only {len(versions)} of "
                f"{versions[0].identifier!r}; it was exported from another store: nothing added")
    head = versions[held - 1]
    if not same_bag(inventory.versions[-1], store.bag_path(head)):
        return (f"OCFL version v{held} differs from store version {held} ({head.path}): the root holds "
                "another history of this record; nothing added")
    return None


def _add_version(store: Store, inventory: Inventory, bag: BagVersion, staged: _Staged, workers: int) -> bool:
    """Verify ``bag`` and add it as the next version of ``inventory``, its new content in ``staged``."""
    number = len(inventory.versions) + 1
    bag_dir = store.bag_path(bag)
    result = staged.result
    verified = verify_bag(bag_dir, mode="full", workers=workers)
    if not verified.valid:
        where = str(bag_dir)
        result.errors.extend(Problem(f.where() or where, f"[{f.code}] {f.message}") for f in verified.errors)
        if not verified.errors:
            result.errors.append(Problem(where, "not every checksum could be verified"))
        staged.events.append(_event(bag, "fai", f"export to OCFL refused: the bag is not valid "
                                    f"({len(result.errors)} error(s)); v{number} not written", {}))
        return False
    try:
        files = read_bag_files(bag_dir, verified.payload_digests)
        state = _write_content(inventory, files, staged.built, number, result)
    except OcflError as exc:
        result.errors.append(Problem(exc.path or str(bag_dir), exc.message))
        return False
    message, user = _provenance(store, bag)
    inventory.versions.append(Version(bag.created, state, message, user, PROJECT_URL))
    version_dir = staged.built / f"v{number}"
    version_dir.mkdir(exist_ok=True)
    staged.inventory_bytes = write_inventory(version_dir, inventory)
    result.added.append(f"v{number}")
    staged.events.append(_event(bag, "suc", f"exported to the OCFL storage root {staged.root} "
                                f"as version v{number} of object {inventory.id}",
                                {"format": "ocfl", "ocfl_version": f"v{number}"}))
    return True


def _write_content(inventory: Inventory, files: BagFiles, built: Path, number: int,
                   result: ObjectExport) -> dict[str, list[str]]:
    """Store the bag's files the object does not hold yet; return the version's state."""
    state: dict[str, list[str]] = {}
    made: set[Path] = {built}
    prefix = f"v{number}/{inventory.content_directory}/"
    for rel in files.paths:
        digest = files.known_digest(rel, inventory.manifest, state)
        if digest is not None:  # the object (or this version) holds these bytes already
            state.setdefault(digest, []).append(rel)
            result.deduplicated += 1
            continue
        content = prefix + rel
        digest, size, fixity = files.copy(rel, built / content, made)
        if digest in inventory.manifest or digest in state:
            os.unlink(built / content)
            result.deduplicated += 1
        else:
            inventory.manifest[digest] = [content]
            for algorithm, other in fixity.items():
                inventory.fixity.setdefault(algorithm, {}).setdefault(other, []).append(content)
            result.files_written += 1
            result.bytes_written += size
        state.setdefault(digest, []).append(rel)
    top = built / prefix.rstrip("/")
    for dirpath, _dirs, _files in os.walk(top, topdown=False):
        if not os.listdir(dirpath):  # every file in it turned out to be held already
            os.rmdir(dirpath)
    return state


def _provenance(store: Store, bag: BagVersion) -> tuple[str, str]:
    """The version's message (capture, transfer and ingestion details) and its agent."""
    details: list[str] = []
    agent = None
    for event in store.ledger.events(bag=bag.path, types=_MESSAGE_EVENTS):
        if event.detail:
            details.append(event.detail)
        if event.type == "ing":
            agent = event.agent
            break
    message = "; ".join(details) or f"version {bag.version} of {bag.identifier}"
    return message, agent or "stook"


def _event(bag: BagVersion, outcome: str, detail: str, data: dict[str, Any]) -> Event:
    return Event("tra", outcome, bag.identifier, bag.version, bag.path, detail=detail, data=data or None)


def _commit(store: Store, root: StorageRoot, staged: Iterable[_Staged]) -> None:
    """Make the staged objects durable, swap each into place, sync, record the events."""
    items = list(staged)
    events = [e for item in items for e in item.events]
    ready = [item for item in items if item.result.added]
    if ready:
        make_durable(root.path, [item.built for item in ready])
        parents = []
        for item in ready:
            if item.replaces:
                exchange(item.built, item.target)
                parents.append(item.target.parent)
            else:
                parents.append(place_new(item.built, item.target, root.path))
        fsync_dirs(root.path, parents)
    if events:
        store.ledger.record_events(events)
    for item in items:
        remove_tree(item.built)  # the old object, an unused build, or nothing (moved into place)
