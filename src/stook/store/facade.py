"""The :class:`Store`: one object for everything stook does to a bag store.

It opens the store (and recovers from a crash), holds the writer lock, answers
reads (versions, owners), and stores versions: built by stook (:meth:`add`,
:meth:`add_many`, :meth:`add_batches`, through :mod:`stook.store.pipeline`) or
arrived whole from elsewhere (:meth:`adopt`). The write protocol itself is in
:mod:`stook.store.commit`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from stook.bagwriter import BuiltBag, remove_tree
from stook.errors import StoreError, UsageError
from stook.ledger import BagVersion, Event, Ledger, Source
from stook.names import identifier_key
from stook.store.commit import check_free_slot, commit, recover
from stook.store.layout import QUARANTINE_DIR, TMP_DIR, Mark
from stook.store.locking import StoreBusy, WriterLock
from stook.store.model import AddResult, BagRequest, IncomingBag, StagedBag, check_owner, new_version
from stook.store.opening import open_ledger

if TYPE_CHECKING:
    from stook.store.pipeline import Pipeline


class Store:
    """A bag store on disk. Open with :meth:`open`; writes hold an exclusive lock."""

    def __init__(self, root: Path, ledger: Ledger, stored_count: int | None = None) -> None:
        self.root = root
        self.ledger = ledger
        self._lock = WriterLock(root)
        count = ledger.stored_count() if stored_count is None else stored_count
        self._mark = Mark(root, count)
        self._writer: Pipeline | None = None

    @property
    def _pipeline(self) -> Pipeline:
        """The writing half, made when first used: a store opened to read (ls, audit,
        verify) never imports the record, schema and bag-building modules."""
        if self._writer is None:
            from stook.store.pipeline import Pipeline  # noqa: PLC0415

            self._writer = Pipeline(self.root, self.ledger, self._mark)
        return self._writer

    # -- opening ------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        root: str | os.PathLike[str],
        *,
        create: bool = False,
        check: bool = True,
        read_only: bool | None = None,
    ) -> Store:
        """Open the store at ``root``; with ``create`` make it when missing or empty.

        ``check`` refuses a ledger that is missing, empty or older than the bags (see
        :mod:`stook.store.opening`); only the ledger's own check and rebuild pass False.
        ``read_only`` opens the ledger without writing (None: when the store cannot be
        written).
        """
        path = Path(root)
        ledger, count = open_ledger(path, create=create, check=check, read_only=read_only)
        store = cls(path, ledger, count)
        if not ledger.read_only and os.access(path, os.W_OK):
            store.recover_if_idle()
        return store

    @property
    def read_only(self) -> bool:
        return self.ledger.read_only

    def recover_if_idle(self) -> list[str]:
        """Recover only when no other process is writing: a live writer owns ``.tmp``."""
        try:
            with self.writing(timeout=0):
                return self.recover()
        except StoreBusy:
            return []

    def recover(self) -> list[str]:
        """Finish or forget what a crash left (see :func:`stook.store.commit.recover`)."""
        with self.writing():
            return recover(self.root, self.ledger, self._mark)

    def close(self) -> None:
        self.close_workers()
        self.ledger.close()

    def close_workers(self) -> None:
        if self._writer is not None:
            self._writer.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def writing(self, timeout: float = 30.0) -> Iterator[None]:
        """Hold the store's writer lock (re-entrant within this object)."""
        with self._lock.hold(timeout):
            yield

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

    def owner(self, identifier: str) -> Source | None:
        """Who supplied ``identifier`` (None when the store holds no version of it)."""
        return self.ledger.owner_of(identifier_key(identifier))

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

        Each record is validated and fingerprinted before anything is written, so
        unchanged records cost no file writes. Records are checked and built by
        ``workers`` processes (default: one per core when the batch has several
        records); the versions are then made durable together and committed here.
        If any record is invalid, any payload unreadable, or any record supplied by
        another source (see :class:`BagRequest`), nothing is added.
        """
        from stook.store.pipeline import prechecked  # noqa: PLC0415

        checked = prechecked(requests)
        pool = self._pipeline.pool(len(checked), workers)
        with self.writing():
            return self._pipeline.add_many(checked, pool)

    def add_batches(
        self, batches: Iterable[Sequence[BagRequest]], *, workers: int | None = None
    ) -> Iterator[list[AddResult]]:
        """Store batches one after another, each all or nothing as in :meth:`add_many`.

        While batches are made durable and committed, the workers already check and
        build the next ones, so a long run of batches (a harvest, a migration) keeps
        every core busy. Batches already built when one is committed are committed
        with it (group commit: one sync for all), so when committing is the slower
        side, it syncs less often. A batch that repeats a record of a batch still in
        flight waits for that one to be committed first. Results come in batch order;
        after a failed batch, the batches before it are stored and none after.
        """
        from stook.store.pipeline import PARALLEL_BATCH  # noqa: PLC0415

        pool = self._pipeline.pool(PARALLEL_BATCH, workers)
        with self.writing():
            yield from self._pipeline.add_batches(batches, pool, workers)

    def check_supplier(self, request: BagRequest) -> None:
        """Raise :class:`stook.errors.ProvenanceConflict` now if ``request`` is for a record
        another source supplied (and does not ask for a new version anyway)."""
        identifier = request.record["identifier"]
        check_owner(request, self.owner(identifier), self.latest(identifier))

    def take_over(self, identifiers: Sequence[str], source: Source, *, reason: str) -> list[Event]:
        """Make ``source`` the supplier of records another source supplied, on the user's
        request, with a PREMIS modification event per record; returns the events."""
        events: list[Event] = []
        with self.writing(), self.ledger.transaction() as conn:
            for identifier in identifiers:
                key = identifier_key(identifier)
                before = self.ledger.owner_of(key)
                if before is not None and before.owner == source.owner:
                    continue
                latest = self.ledger.latest(key)
                was = before.describe() if before else "no recorded source"
                events.append(Event(
                    "mod", "suc", identifier, latest.version if latest else None,
                    latest.path if latest else None,
                    detail=f"provenance changed: now supplied by {source.describe()} (was {was}); {reason}",
                    data={"source": source.to_dict(),
                          "previous_source": before.to_dict() if before else None},
                ))
                self.ledger.transfer(conn, key, source)
            self.ledger.append_events(conn, events)
        return events

    def adopt(self, built_dir: Path, incoming: IncomingBag) -> AddResult:
        """Move a complete, already verified bag (built or extracted in ``.tmp``) into the store.

        Used by ``receive``: the bag is kept exactly as it arrived. An incoming bag whose
        fingerprint equals the latest stored version changes nothing (idempotent receive);
        ``built_dir`` is then removed. A bag of a record another source supplied is
        refused unless ``incoming.as_new_version``.
        """
        tmp_root = (self.root / TMP_DIR).resolve()
        if built_dir.resolve().parent != tmp_root:
            raise StoreError(f"{built_dir}: a bag is adopted only from {tmp_root}", path=built_dir)
        key = identifier_key(incoming.identifier)
        with self.writing():
            try:
                previous = self.ledger.latest(key, include_pending=True)
                request = BagRequest(record={"identifier": incoming.identifier}, events=list(incoming.events),
                                     source=incoming.source, as_new_version=incoming.as_new_version)
                if previous is not None and previous.fingerprint == incoming.fingerprint:
                    remove_tree(built_dir)
                    return AddResult("unchanged", previous, self.root / previous.path)
                check_owner(request, self.ledger.owner_of(key), previous)
                bag = new_version(
                    incoming.identifier, previous, fingerprint=incoming.fingerprint,
                    payload_oxum=incoming.payload_oxum, size=incoming.size, title=incoming.title,
                    groups=incoming.groups,
                )
                check_free_slot(self.root, bag)
                stage = StagedBag(request, bag, built_dir, BuiltBag(built_dir), ingest_events=False)
                commit(self.root, self.ledger, [stage], self._mark)
            except BaseException:
                remove_tree(built_dir)
                raise
        return AddResult("new" if bag.version == 1 else "changed", stage.bag, self.root / stage.bag.path)
