"""The bag store: a directory of bags, one per record version, plus the ledger.

Layout::

    <store>/stook-ledger.sqlite      the ledger (bag index, harvest state, PREMIS events)
    <store>/<name>/v<N>/             version N of the record whose bag name is <name>
    <store>/.tmp/                    bags being built (cleared when the store is opened)
    <store>/.lock                    held by the one process writing to the store

A bag appears whole or not at all: it is built in ``.tmp``, the batch is made durable
with one filesystem sync, the versions are reserved in the ledger as *pending*, the
bags are renamed into place, and one transaction marks them stored and appends their
events. Opening a store finishes or forgets pending versions left by a crash.
"""

from __future__ import annotations

import copy
import errno
import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from stook.bagwriter import (
    DEFAULT_ALGORITHMS,
    BuiltBag,
    PayloadItem,
    check_algorithms,
    remove_tree,
    write_bag,
)
from stook.durable import fsync_dirs, make_durable
from stook.errors import StoreError, UsageError
from stook.ledger import LEDGER_FILE, BagVersion, Event, Ledger, utc_now
from stook.names import bag_label, bag_name, identifier_key, version_dir
from stook.record import canonical_json, ensure_valid
from stook.schema import schema_id

TMP_DIR = ".tmp"
LOCK_FILE = ".lock"
QUARANTINE_DIR = "quarantine"
RECORD_FILE = "record.json"
IGNORED_IN_NEW_STORE = {".gitkeep", ".DS_Store"}

AddStatus = Literal["new", "changed", "unchanged"]


@dataclass
class BagRequest:
    """Everything needed to store one version of a record.

    ``payload`` excludes ``record.json``, which the store writes from ``record``.
    ``events`` are extra events (such as a harvest's capture) recorded with the bag.
    """

    record: dict[str, Any]
    payload: Sequence[PayloadItem] = ()
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS
    source_organization: str | None = None
    events: Sequence[Event] = ()


@dataclass
class IncomingBag:
    """A bag that arrived whole from elsewhere, described for the ledger.

    ``events`` are recorded with it (the receiver's transfer, fixity and ingestion
    events); their identifier/version/bag fields are filled in by the store when
    left empty.
    """

    identifier: str
    fingerprint: str
    payload_oxum: str
    size: int
    title: str | None = None
    groups: Sequence[str] = ()
    events: Sequence[Event] = ()


@dataclass
class AddResult:
    status: AddStatus
    bag: BagVersion
    path: Path

    def to_dict(self) -> dict[str, Any]:
        data = self.bag.to_dict()
        data["store_path"] = data.pop("path")  # relative to the store root
        return {"status": self.status, "path": str(self.path), **data}


@dataclass
class _Staged:
    request: BagRequest
    bag: BagVersion
    tmp: Path
    built: BuiltBag
    ingest_events: bool = True


def fingerprint(record: dict[str, Any], payload_sha512: dict[str, str]) -> str:
    """What makes two versions the same: the record without its retrieval time, and the files."""
    stable = copy.deepcopy(record)
    source = stable.get("record_source")
    if isinstance(source, dict):
        source.pop("retrieved_at", None)
    digest = hashlib.sha256(canonical_json(stable))
    for path, value in sorted(payload_sha512.items()):
        if path != "data/" + RECORD_FILE:
            digest.update(f"\n{path}\0{value}".encode())
    return digest.hexdigest()


def bag_info_fields(
    record: dict[str, Any], label: str, source_organization: str | None
) -> list[tuple[str, str]]:
    """bag-info.txt fields that mirror the record."""
    fields: list[tuple[str, str]] = []
    if source_organization:
        fields.append(("Source-Organization", source_organization))
    fields.append(("External-Identifier", record["identifier"]))
    fields.append(("Internal-Sender-Identifier", label))
    fields.append(("Internal-Sender-Description", record["title"]))
    for group in record_groups(record):
        fields.append(("Bag-Group-Identifier", group))
    return fields


def record_groups(record: dict[str, Any]) -> list[str]:
    source = record.get("record_source") or {}
    return [s for s in source.get("set_specs") or [] if isinstance(s, str) and s]


class Store:
    """A bag store on disk. Open with :meth:`open`; writes hold an exclusive lock."""

    def __init__(self, root: Path, ledger: Ledger) -> None:
        self.root = root
        self.ledger = ledger
        self._lock_fd: int | None = None
        self._lock_depth = 0

    # -- opening ------------------------------------------------------------------

    @classmethod
    def open(cls, root: str | os.PathLike[str], *, create: bool = False) -> Store:
        """Open the store at ``root``; with ``create`` make it when missing or empty."""
        path = Path(root)
        ledger_path = path / LEDGER_FILE
        if not ledger_path.exists():
            if not create:
                if path.exists():
                    raise StoreError(
                        f"{path}: not a stook store (no {LEDGER_FILE}); "
                        "check --store, or bag a record into it first",
                        path=path,
                    )
                raise StoreError(f"{path}: store not found; check --store or $STOOK_STORE", path=path)
            if path.exists() and not path.is_dir():
                raise StoreError(f"{path}: exists and is not a directory", path=path)
            if path.is_dir():
                leftovers = [p.name for p in path.iterdir() if p.name not in IGNORED_IN_NEW_STORE]
                if leftovers:
                    raise StoreError(
                        f"{path}: not a stook store and not empty ({len(leftovers)} entries, "
                        f"e.g. {sorted(leftovers)[0]!r}); choose an empty or new directory",
                        path=path,
                    )
            try:
                path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"{path}: cannot create the store: {exc.strerror}", path=path) from exc
        store = cls(path, Ledger(ledger_path))
        if os.access(path, os.W_OK):
            with store.writing():
                store.recover()
        return store

    def close(self) -> None:
        self.ledger.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- locking ------------------------------------------------------------------

    @contextmanager
    def writing(self, timeout: float = 30.0) -> Iterator[None]:
        """Hold the store's writer lock (re-entrant within this object)."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() > deadline:
                    os.close(fd)
                    raise StoreError(
                        f"{self.root}: the store is being written by another stook process; "
                        "wait for it to finish and try again",
                        path=self.root,
                    ) from exc
                time.sleep(0.05)
        self._lock_fd = fd
        self._lock_depth = 1
        try:
            yield
        finally:
            self._lock_depth = 0
            self._lock_fd = None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)

    # -- crash recovery -------------------------------------------------------------

    def recover(self) -> list[str]:
        """Finish versions that reached their place before a crash; forget the others.

        Returns a line per action taken, for the caller to report.
        """
        actions: list[str] = []
        for bag in self.ledger.pending():
            final = self.root / bag.path
            if final.is_dir():
                events = [
                    Event(
                        "ing",
                        "suc",
                        bag.identifier,
                        bag.version,
                        bag.path,
                        detail=f"bag {bag.path} stored; ingest completed after an interruption",
                    ),
                ]
                with self.ledger.transaction() as conn:
                    self.ledger.mark_stored(conn, bag.path)
                    self.ledger.append_events(conn, events)
                actions.append(f"completed {bag.path}")
            else:
                with self.ledger.transaction() as conn:
                    self.ledger.forget_pending(conn, bag.path)
                actions.append(f"discarded unfinished {bag.path}")
        tmp = self.root / TMP_DIR
        if tmp.is_dir():
            for leftover in tmp.iterdir():
                remove_tree(leftover)
                actions.append(f"removed temporary {leftover.name}")
        return actions

    # -- paths --------------------------------------------------------------------

    def tmp_dir(self) -> Path:
        tmp = self.root / TMP_DIR
        tmp.mkdir(exist_ok=True)
        return tmp

    def bag_path(self, bag: BagVersion) -> Path:
        return self.root / bag.path

    def quarantine_dir(self) -> Path:
        return self.root / QUARANTINE_DIR

    # -- reading ------------------------------------------------------------------

    def versions(self, identifier: str) -> list[BagVersion]:
        return self.ledger.versions(identifier_key(identifier))

    def latest(self, identifier: str) -> BagVersion | None:
        return self.ledger.latest(identifier_key(identifier))

    def resolve(self, ref: str) -> list[BagVersion]:
        """Bag versions named by an identifier, a bag name, or a store path ``<name>/v<N>``."""
        ref = ref.rstrip("/")
        found = self.ledger.bag_by_path(ref)
        if found:
            return [found]
        by_label = ref.rsplit(".v", 1)
        if len(by_label) == 2 and by_label[1].isdigit():
            found = self.ledger.bag_by_path(f"{by_label[0]}/v{by_label[1]}")
            if found:
                return [found]
        try:
            versions = self.versions(ref)
        except UsageError:
            versions = []
        if versions:
            return versions
        return [b for b in self.ledger.bags() if b.name == ref]

    # -- writing ------------------------------------------------------------------

    def add(self, request: BagRequest) -> AddResult:
        return self.add_many([request])[0]

    def add_many(self, requests: Iterable[BagRequest]) -> list[AddResult]:
        """Store a batch of record versions with one sync and two ledger transactions.

        Unchanged records are skipped. Raises before anything is visible if any record
        is invalid or any payload cannot be read; in that case nothing is added.
        """
        requests = list(requests)
        for request in requests:
            ensure_valid(request.record, source=f"record {request.record.get('identifier')!r}")
            check_algorithms(request.algorithms)
        with self.writing():
            staged: list[_Staged] = []
            results: list[AddResult | None] = []
            in_batch: dict[str, _Staged] = {}
            try:
                for request in requests:
                    result, stage = self._stage(request, in_batch)
                    results.append(result)
                    if stage is not None:
                        staged.append(stage)
                        in_batch[stage.bag.id_key] = stage
                self._commit(staged)
            except BaseException:
                for stage in staged:
                    remove_tree(stage.tmp)
                raise
        out: list[AddResult] = []
        stage_iter = iter(staged)
        for result in results:
            if result is None:
                stage = next(stage_iter)
                status: AddStatus = "new" if stage.bag.version == 1 else "changed"
                out.append(AddResult(status, stage.bag, self.root / stage.bag.path))
            else:
                out.append(result)
        return out

    def _stage(
        self, request: BagRequest, in_batch: dict[str, _Staged]
    ) -> tuple[AddResult | None, _Staged | None]:
        """Build the bag in .tmp; return a result instead when it changes nothing."""
        record = request.record
        identifier = record["identifier"]
        key = identifier_key(identifier)
        name = bag_name(identifier)
        earlier = in_batch.get(key)
        previous = earlier.bag if earlier else self.ledger.latest(key, include_pending=True)
        version = previous.version + 1 if previous else 1
        label = bag_label(identifier, version)
        tmp = self.tmp_dir() / f"{label}.{uuid.uuid4().hex[:8]}"
        payload = [PayloadItem(RECORD_FILE, data=canonical_json(record)), *request.payload]
        built = write_bag(
            tmp,
            payload,
            bag_info_fields(record, label, request.source_organization),
            request.algorithms,
        )
        fp = fingerprint(record, built.payload_digests["sha512"])
        if previous is not None and fp == previous.fingerprint:
            remove_tree(tmp)
            return AddResult("unchanged", previous, self.root / previous.path), None
        bag = BagVersion(
            identifier=identifier,
            id_key=key,
            version=version,
            name=name,
            path=f"{name}/{version_dir(version)}",
            fingerprint=fp,
            payload_oxum=built.payload_oxum,
            size=built.total_bytes,
            title=record.get("title"),
            groups=tuple(record_groups(record)),
            created=utc_now(),
            state="pending",
        )
        return None, _Staged(request, bag, tmp, built)

    def adopt(self, built_dir: Path, incoming: IncomingBag) -> AddResult:
        """Move a complete, already verified bag (built or extracted in ``.tmp``) into the store.

        Used by ``receive``: the bag is kept exactly as it arrived. An incoming bag whose
        fingerprint equals the latest stored version changes nothing (idempotent receive);
        ``built_dir`` is then removed.
        """
        tmp_root = (self.root / TMP_DIR).resolve()
        if built_dir.resolve().parent != tmp_root:
            raise StoreError(f"{built_dir}: a bag is adopted only from {tmp_root}", path=built_dir)
        key = identifier_key(incoming.identifier)
        with self.writing():
            previous = self.ledger.latest(key, include_pending=True)
            if previous is not None and previous.fingerprint == incoming.fingerprint:
                remove_tree(built_dir)
                return AddResult("unchanged", previous, self.root / previous.path)
            version = previous.version + 1 if previous else 1
            name = bag_name(incoming.identifier)
            bag = BagVersion(
                identifier=incoming.identifier,
                id_key=key,
                version=version,
                name=name,
                path=f"{name}/{version_dir(version)}",
                fingerprint=incoming.fingerprint,
                payload_oxum=incoming.payload_oxum,
                size=incoming.size,
                title=incoming.title,
                groups=tuple(incoming.groups),
                created=utc_now(),
                state="pending",
            )
            request = BagRequest(record={}, events=list(incoming.events))
            stage = _Staged(request, bag, built_dir, BuiltBag(built_dir), ingest_events=False)
            try:
                self._commit([stage])
            except BaseException:
                remove_tree(built_dir)
                raise
        return AddResult("new" if version == 1 else "changed", stage.bag, self.root / stage.bag.path)

    def _commit(self, staged: list[_Staged]) -> None:
        if not staged:
            return
        make_durable(self.root, [s.tmp for s in staged])
        with self.ledger.transaction() as conn:
            for stage in staged:
                self.ledger.insert_bag(conn, stage.bag)
        parents: list[Path] = []
        for stage in staged:
            final = self.root / stage.bag.path
            if not final.parent.exists():
                final.parent.mkdir()
                parents.append(self.root)
            os.rename(stage.tmp, final)
            parents.append(final.parent)
        fsync_dirs(self.root, parents)
        with self.ledger.transaction() as conn:
            for stage in staged:
                self.ledger.mark_stored(conn, stage.bag.path)
                own = _ingest_events(stage) if stage.ingest_events else []
                extra = [_about(event, stage.bag) for event in stage.request.events]
                self.ledger.append_events(conn, [*extra, *own])
        for stage in staged:
            stage.bag = replace(stage.bag, state="stored")


def _about(event: Event, bag: BagVersion) -> Event:
    """Point an event at ``bag`` where the caller did not know the version yet."""
    return replace(
        event,
        identifier=event.identifier or bag.identifier,
        version=event.version if event.version is not None else bag.version,
        bag=event.bag or bag.path,
    )


def _ingest_events(stage: _Staged) -> list[Event]:
    bag = stage.bag
    built = stage.built
    algorithms = list(built.payload_digests)

    def event(kind: str, detail: str, data: dict[str, Any] | None = None) -> Event:
        return Event(kind, "suc", bag.identifier, bag.version, bag.path, detail=detail, data=data)

    return [
        event("val", f"record valid against {schema_id()}"),
        event(
            "mes",
            f"{', '.join(algorithms)} digests of {built.payload_files} payload files "
            f"({built.payload_bytes} bytes) and the tag files",
            {
                "algorithms": algorithms,
                "payload_oxum": built.payload_oxum,
                "sha512": built.payload_digests["sha512"],
            },
        ),
        event("ing", f"bag {bag.path} stored as version {bag.version}"),
    ]
