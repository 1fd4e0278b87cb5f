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

import errno
import fcntl
import hashlib
import os
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

from stook.bagwriter import (
    DEFAULT_ALGORITHMS,
    BuiltBag,
    PayloadItem,
    check_algorithms,
    payload_sha512,
    remove_tree,
    write_bag,
)
from stook.durable import fsync_dirs, make_durable
from stook.errors import ContentError, StoreError, UsageError
from stook.ledger import LEDGER_FILE, BagVersion, Event, Ledger, utc_now
from stook.names import bag_label, bag_name, identifier_key, version_dir
from stook.record import canonical_json, ensure_valid
from stook.schema import schema_id

TMP_DIR = ".tmp"
LOCK_FILE = ".lock"
QUARANTINE_DIR = "quarantine"
RECORD_FILE = "record.json"
IGNORED_IN_NEW_STORE = {".gitkeep", ".DS_Store", LOCK_FILE, TMP_DIR}  # no bags, no history

AddStatus = Literal["new", "changed", "unchanged"]


class StoreBusy(StoreError):
    """Another process holds the store's writer lock."""


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
    record_bytes: bytes = b""
    stable_bytes: bytes = b""


def stable_record_bytes(record: dict[str, Any], record_bytes: bytes | None = None) -> bytes:
    """The record's canonical JSON without its retrieval time, which alone is no change.

    ``record_bytes`` (the record's canonical JSON) is reused when there is no retrieval time.
    """
    source = record.get("record_source")
    if isinstance(source, dict) and "retrieved_at" in source:
        stable = dict(record)  # shallow: only serialized, never changed
        stable["record_source"] = {k: v for k, v in source.items() if k != "retrieved_at"}
        return canonical_json(stable)
    return record_bytes if record_bytes is not None else canonical_json(record)


def fingerprint(
    record: dict[str, Any], payload_sha512: dict[str, str], *, record_bytes: bytes | None = None
) -> str:
    """What makes two versions the same: the record without its retrieval time, and the files."""
    return _fingerprint(stable_record_bytes(record, record_bytes), payload_sha512)


def _fingerprint(stable_bytes: bytes, payload_sha512: dict[str, str]) -> str:
    digest = hashlib.sha256(stable_bytes)
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
            store.recover_if_idle()
        return store

    def recover_if_idle(self) -> list[str]:
        """Recover only when no other process is writing: a live writer owns ``.tmp``."""
        try:
            with self.writing(timeout=0):
                return self.recover()
        except StoreBusy:
            return []

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
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreBusy(
                        f"{self.root}: the store is being written by another stook process; "
                        "wait for it to finish and try again",
                        path=self.root,
                    ) from exc
                time.sleep(0.05)
        self._lock_depth = 1
        try:
            yield
        finally:
            self._lock_depth = 0
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
                # The bag reached its place: record it with the events it was written with.
                note = "; completed after an interruption"
                kept = self.ledger.pending_events(bag.path)
                events = [replace(e, detail=e.detail + note) if e.type == "ing" else e for e in kept]
                if not any(e.type == "ing" for e in events):
                    events.append(
                        Event(
                            "ing",
                            "suc",
                            bag.identifier,
                            bag.version,
                            bag.path,
                            detail=f"bag {bag.path} stored{note}",
                        )
                    )
                with self.ledger.transaction() as conn:
                    self.ledger.mark_stored(conn, bag.path, utc_now())
                    self.ledger.append_events(conn, events)
                actions.append(f"completed {bag.path}")
            else:
                with self.ledger.transaction() as conn:
                    self.ledger.forget_pending(conn, bag.path)
                actions.append(f"discarded unfinished {bag.path}")
        for leftover in self.tmp_dir().iterdir():
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

    def add_many(self, requests: Iterable[BagRequest], *, workers: int | None = None) -> list[AddResult]:
        """Store a batch of record versions with one sync and two ledger transactions.

        Each record's fingerprint is computed before anything is written, so unchanged
        records cost no file writes. The changed ones are built in parallel threads
        (file creation is kernel work that releases the GIL), made durable together,
        then committed. If any record is invalid or any payload unreadable, nothing is
        added.
        """
        requests = list(requests)
        for request in requests:
            ensure_valid(request.record, source=f"record {request.record.get('identifier')!r}")
            check_algorithms(request.algorithms)
        with self.writing():
            plans: list[_Staged] = []
            outcome: list[AddResult | _Staged] = []
            in_batch: dict[str, _Staged] = {}
            try:
                for request in requests:
                    planned = self._plan(request, in_batch)
                    outcome.append(planned)
                    if isinstance(planned, _Staged):
                        plans.append(planned)
                        in_batch[planned.bag.id_key] = planned
                self._build(plans, workers)
                self._commit(plans)
            except BaseException:
                for plan in plans:
                    remove_tree(plan.tmp)
                raise
        results: list[AddResult] = []
        for item in outcome:
            if isinstance(item, _Staged):
                status: AddStatus = "new" if item.bag.version == 1 else "changed"
                results.append(AddResult(status, item.bag, self.root / item.bag.path))
            else:
                results.append(item)
        return results

    def _plan(self, request: BagRequest, in_batch: dict[str, _Staged]) -> AddResult | _Staged:
        """Decide, without writing, whether a record makes a new version, and which."""
        record = request.record
        identifier = record["identifier"]
        key = identifier_key(identifier)
        record_bytes = canonical_json(record)
        stable_bytes = stable_record_bytes(record, record_bytes)
        digests = {"data/" + item.path: payload_sha512(item) for item in request.payload}
        fp = _fingerprint(stable_bytes, digests)
        earlier = in_batch.get(key)
        previous = earlier.bag if earlier else self.ledger.latest(key, include_pending=True)
        if previous is not None and fp == previous.fingerprint:
            if earlier is not None:  # the same version twice in one batch
                return AddResult("unchanged", earlier.bag, self.root / earlier.bag.path)
            return AddResult("unchanged", previous, self.root / previous.path)
        version = previous.version + 1 if previous else 1
        name = bag_name(identifier)
        label = bag_label(identifier, version)
        bag = BagVersion(
            identifier=identifier,
            id_key=key,
            version=version,
            name=name,
            path=f"{name}/{version_dir(version)}",
            fingerprint=fp,
            payload_oxum="",
            size=0,
            title=record.get("title"),
            groups=tuple(record_groups(record)),
            created=utc_now(),
            state="pending",
        )
        tmp = self.tmp_dir() / f"{label}.{uuid.uuid4().hex[:8]}"
        return _Staged(request, bag, tmp, BuiltBag(tmp), record_bytes=record_bytes, stable_bytes=stable_bytes)

    def _build(self, plans: list[_Staged], workers: int | None) -> None:
        """Write every planned bag into .tmp, several at once."""

        def build(plan: _Staged) -> None:
            record = plan.request.record
            label = bag_label(plan.bag.identifier, plan.bag.version)
            payload = [PayloadItem(RECORD_FILE, data=plan.record_bytes), *plan.request.payload]
            info = bag_info_fields(record, label, plan.request.source_organization)
            plan.built = write_bag(plan.tmp, payload, info, plan.request.algorithms)
            written = _fingerprint(plan.stable_bytes, plan.built.payload_digests["sha512"])
            if written != plan.bag.fingerprint:
                raise ContentError(
                    f"record {plan.bag.identifier!r}: a payload file changed while it was being bagged; "
                    "bag it again once the files are no longer being written",
                    record_id=plan.bag.identifier,
                )
            plan.bag = replace(plan.bag, payload_oxum=plan.built.payload_oxum, size=plan.built.total_bytes)

        count = min(len(plans), workers or (os.cpu_count() or 1) * 2)
        if count <= 1:
            for plan in plans:
                build(plan)
            return
        with ThreadPoolExecutor(max_workers=count, thread_name_prefix="stook-bag") as pool:
            for future in [pool.submit(build, plan) for plan in plans]:
                future.result()

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
        events: dict[str, list[Event]] = {}
        for stage in staged:
            own = _ingest_events(stage) if stage.ingest_events else []
            events[stage.bag.path] = [*(_about(e, stage.bag) for e in stage.request.events), *own]
        with self.ledger.transaction() as conn:
            for stage in staged:
                self.ledger.insert_bag(conn, stage.bag, pending_events=events[stage.bag.path])
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
            stored_at = utc_now()  # taken under the write lock: visible from this instant
            for stage in staged:
                self.ledger.mark_stored(conn, stage.bag.path, stored_at)
                self.ledger.append_events(conn, events[stage.bag.path])
        for stage in staged:
            stage.bag = replace(stage.bag, state="stored", created=stored_at)


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
