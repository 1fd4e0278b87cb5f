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

import contextlib
import errno
import fcntl
import os
import time
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from stook.bagbuild import RECORD_FILE as RECORD_FILE
from stook.bagbuild import (
    BuildJob,
    BuildOutcome,
    Builds,
    fingerprint_of,
    record_groups,
    stable_record_bytes,
    start_workers,
    submit_builds,
)
from stook.bagwriter import (
    DEFAULT_ALGORITHMS,
    BuiltBag,
    PayloadItem,
    check_algorithms,
    remove_tree,
)
from stook.durable import fsync_dirs, make_durable
from stook.errors import StoreError, UsageError
from stook.ledger import LEDGER_FILE, BagVersion, Event, EventRow, Ledger, event_row, utc_now
from stook.names import bag_label, bag_name, identifier_key, version_dir
from stook.record import ensure_valid, record_invalid
from stook.schema import schema_id

if TYPE_CHECKING:
    from concurrent.futures import ProcessPoolExecutor  # ~20 ms to import: not for stook ls

TMP_DIR = ".tmp"
LOCK_FILE = ".lock"
QUARANTINE_DIR = "quarantine"
PARALLEL_BATCH = 8  # records in a batch before building is worth worker processes
IN_FLIGHT = 2  # batches being built while an earlier one is committed
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
    tmp: Path  # the bag directory as built
    built: BuiltBag
    ingest_events: bool = True
    # A first version is built as ``.tmp/<name>.<random>/v1``; that directory is then
    # renamed to ``<name>``: no directory to make at commit time.
    moves_name_dir: bool = False


def fingerprint(
    record: dict[str, Any], payload_sha512: dict[str, str], *, record_bytes: bytes | None = None
) -> str:
    """What makes two versions the same: the record without its retrieval time, and the files."""
    return fingerprint_of(stable_record_bytes(record, record_bytes), payload_sha512)


@dataclass
class _Flight:
    """A batch whose records are being checked and built, not yet committed."""

    segment: list[BagRequest]
    jobs: list[BuildJob]
    bases: list[BagVersion | None]
    builds: Builds
    building: list[Path]  # its temporary bags, to remove if it never lands
    landed: bool = False


def _discard(flight: _Flight) -> None:
    """Wait until no worker writes for ``flight``, then remove what it built."""
    if flight.landed:
        return
    with contextlib.suppress(Exception):
        flight.builds.outcomes()
    for tmp in flight.building:
        remove_tree(tmp)


def _prechecked(requests: Iterable[BagRequest]) -> list[BagRequest]:
    """The requests as a list, each with an identifier to look versions up by and known algorithms."""
    checked = list(requests)
    for request in checked:
        identifier = request.record.get("identifier") if isinstance(request.record, dict) else None
        if not isinstance(identifier, str):  # no key to look versions up by: report it now
            ensure_valid(request.record, source=f"record {identifier!r}")
        check_algorithms(request.algorithms)
    return checked


def _result(item: AddResult | _Staged, root: Path) -> AddResult:
    if isinstance(item, AddResult):
        return item
    status: AddStatus = "new" if item.bag.version == 1 else "changed"
    return AddResult(status, item.bag, root / item.bag.path)


def _segments(requests: list[BagRequest]) -> Iterator[list[BagRequest]]:
    """Runs of requests in which no record appears twice; a repeat starts the next run,
    so it is compared with the version the run before it staged."""
    segment: list[BagRequest] = []
    keys: set[str] = set()
    for request in requests:
        key = identifier_key(request.record["identifier"])
        if key in keys:
            yield segment
            segment, keys = [], set()
        segment.append(request)
        keys.add(key)
    if segment:
        yield segment


class Store:
    """A bag store on disk. Open with :meth:`open`; writes hold an exclusive lock."""

    def __init__(self, root: Path, ledger: Ledger) -> None:
        self.root = root
        self.ledger = ledger
        self._lock_depth = 0
        self._pool: tuple[ProcessPoolExecutor, int] | None = None

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
        self.close_workers()
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
                    self.ledger.mark_stored(conn, [bag.path], utc_now())
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

        Each record is validated and fingerprinted before anything is written, so
        unchanged records cost no file writes. Records are checked and built by
        ``workers`` processes (default: one per core when the batch has several
        records); the versions are then made durable together and committed here.
        If any record is invalid or any payload unreadable, nothing is added.
        """
        requests = _prechecked(requests)
        pool = self._build_pool(len(requests), workers)
        with self.writing():
            staged: list[_Staged] = []
            outcome: list[AddResult | _Staged] = []
            building: list[Path] = []  # every temporary bag of this batch, built or not
            try:
                for segment in _segments(requests):
                    outcome.extend(self._build_segment(segment, staged, building, pool))
                self._commit(staged)
            except BaseException:
                for tmp in building:
                    remove_tree(tmp)
                raise
        return [_result(item, self.root) for item in outcome]

    def _build_pool(self, count: int, workers: int | None) -> tuple[ProcessPoolExecutor, int] | None:
        """The build workers for a batch of ``count`` records, or None to build here.

        Started before this call takes the writer lock. A caller that already holds it
        (a harvest) shares the lock's file with them; they end with the parent
        (see :func:`stook.bagbuild.start_workers`), so a killed run never leaves the
        store locked."""
        wanted = workers if workers is not None else (os.cpu_count() or 1)
        if wanted <= 1 or count < PARALLEL_BATCH:
            return None
        if self._pool is None or self._pool[1] != wanted:
            self.close_workers()
            self._pool = (start_workers(wanted), wanted)
        return self._pool

    def close_workers(self) -> None:
        if self._pool is not None:
            self._pool[0].shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _build_segment(
        self,
        segment: list[BagRequest],
        staged: list[_Staged],
        building: list[Path],
        pool: tuple[ProcessPoolExecutor, int] | None,
    ) -> list[AddResult | _Staged]:
        """Build the changed records of a segment (no identifier twice) into ``.tmp``."""
        return self._take(self._launch(segment, staged, building, pool), staged)

    def _launch(
        self,
        segment: list[BagRequest],
        staged: list[_Staged],
        building: list[Path],
        pool: tuple[ProcessPoolExecutor, int] | None,
    ) -> _Flight:
        """Look up each record's latest version and start checking and building it."""
        keys = [identifier_key(request.record["identifier"]) for request in segment]
        known = self.ledger.latest_of(keys)
        known.update((stage.bag.id_key, stage.bag) for stage in staged)
        jobs: list[BuildJob] = []
        bases: list[BagVersion | None] = []
        tmp_root = self.tmp_dir()
        suffixes = os.urandom(4 * len(segment)).hex()
        for n, (request, key) in enumerate(zip(segment, keys, strict=True)):
            record = request.record
            previous = known.get(key)
            version = previous.version + 1 if previous else 1
            name = bag_name(record["identifier"])
            label = bag_label(record["identifier"], version, name)
            # a first version is built as v1 inside what becomes its name directory
            top = tmp_root / f"{label if previous else name}.{suffixes[8 * n:8 * n + 8]}"
            bases.append(previous)
            jobs.append(
                BuildJob(
                    record=record,
                    payload=tuple(request.payload),
                    algorithms=check_algorithms(request.algorithms),
                    source_organization=request.source_organization,
                    label=label,
                    tmp=top if previous else top / version_dir(1),
                    previous_fingerprint=previous.fingerprint if previous else None,
                    new_parent=previous is None,
                )
            )
            building.append(top)
        builds = submit_builds(jobs, pool[0] if pool else None, pool[1] if pool else 1)
        return _Flight(segment, jobs, bases, builds, building)

    def _take(self, flight: _Flight, staged: list[_Staged]) -> list[AddResult | _Staged]:
        """Wait for a flight's builds; stage the changed ones, or raise the first failure."""
        outcomes = flight.builds.outcomes()
        rows = list(zip(flight.segment, flight.jobs, flight.bases, outcomes, strict=True))
        mine: list[_Staged | None] = []
        for request, job, previous, built in rows:
            stage = None
            if built.built is not None:  # staged first, so a failure below removes it too
                stage = _Staged(
                    request, self._new_version(job, previous, built), job.tmp, built.built,
                    moves_name_dir=previous is None,
                )
                staged.append(stage)
            mine.append(stage)
        results: list[AddResult | _Staged] = []
        for (request, _job, previous, built), stage in zip(rows, mine, strict=True):
            identifier = request.record["identifier"]
            if built.problems:
                raise record_invalid(request.record, built.problems, source=f"record {identifier!r}")
            if built.error is not None:
                raise built.error
            if stage is None:
                assert built.unchanged and previous is not None
                results.append(AddResult("unchanged", previous, self.root / previous.path))
            else:
                results.append(stage)
        return results

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
        pool = self._build_pool(PARALLEL_BATCH, workers)
        with self.writing():
            flights: deque[tuple[_Flight, set[str]]] = deque()
            try:
                for batch in batches:
                    requests = _prechecked(batch)
                    keys = {identifier_key(r.record["identifier"]) for r in requests}
                    if pool is None or len(keys) < len(requests):
                        yield from self._land_flights(flights, keep=0)
                        yield self.add_many(requests, workers=workers)
                        continue
                    if any(keys & busy for _, busy in flights):
                        yield from self._land_flights(flights, keep=0)
                    flights.append((self._launch(requests, [], [], pool), keys))
                    if len(flights) > IN_FLIGHT:
                        yield from self._land_flights(flights, keep=1)
                yield from self._land_flights(flights, keep=0)
            finally:
                for flight, _ in flights:
                    _discard(flight)

    def _land_flights(
        self, flights: deque[tuple[_Flight, set[str]]], *, keep: int
    ) -> Iterator[list[AddResult]]:
        """Commit the oldest flight and every later one already built, all but the last
        ``keep`` (left building), with one sync; then the rest, the same way, if ``keep`` is 0."""
        while len(flights) > keep:
            group = [flights.popleft()[0]]
            while len(flights) > keep and flights[0][0].builds.ready():
                group.append(flights.popleft()[0])
            results, failure = self._land(group)
            yield from results
            if failure is not None:
                raise failure
            if keep:
                return

    def _land(self, group: list[_Flight]) -> tuple[list[list[AddResult]], Exception | None]:
        """Wait for the flights of ``group`` in order, then commit together those that built.

        A flight whose batch fails (an invalid record, an unreadable file) is discarded
        with every flight after it; its error is returned, to be raised once the results
        of the flights before it are handed out. A failure to commit keeps nothing.
        """
        staged: list[_Staged] = []
        outcomes: list[list[AddResult | _Staged]] = []
        failure: Exception | None = None
        try:
            for flight in group:
                mine: list[_Staged] = []
                try:
                    outcomes.append(self._take(flight, mine))
                except Exception as exc:
                    failure = exc
                    break
                staged.extend(mine)
            taken = group[: len(outcomes)]
            for flight in group[len(outcomes):]:
                _discard(flight)
            self._commit(staged)
        except BaseException:
            for flight in group:
                _discard(flight)
            raise
        for flight in taken:
            flight.landed = True
        return [[_result(item, self.root) for item in outcome] for outcome in outcomes], failure

    def _new_version(self, job: BuildJob, previous: BagVersion | None, outcome: BuildOutcome) -> BagVersion:
        assert outcome.built is not None
        record = job.record
        version = previous.version + 1 if previous else 1
        name = bag_name(record["identifier"])
        return BagVersion(
            identifier=record["identifier"],
            id_key=identifier_key(record["identifier"]),
            version=version,
            name=name,
            path=f"{name}/{version_dir(version)}",
            fingerprint=outcome.fingerprint,
            payload_oxum=outcome.built.payload_oxum,
            size=outcome.built.total_bytes,
            title=record.get("title"),
            groups=tuple(record_groups(record)),
            created=utc_now(),
            state="pending",
        )

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
        now = utc_now()
        rows: list[list[EventRow]] = []
        for stage in staged:
            own = _ingest_events(stage, now) if stage.ingest_events else []
            events = [*(_about(e, stage.bag) for e in stage.request.events), *own]
            rows.append([event_row(e) for e in events])
        with self.ledger.transaction() as conn:
            self.ledger.insert_bags(conn, list(zip((stage.bag for stage in staged), rows, strict=True)))
        root = os.fspath(self.root)
        parents: list[Path] = []
        for stage in staged:
            name_dir = os.path.join(root, stage.bag.name)
            if stage.moves_name_dir and _rename_into_place(stage.tmp.parent, name_dir):
                parents.append(self.root)  # the name directory, holding v1
                continue
            try:
                os.mkdir(name_dir)
                parents.append(self.root)
            except FileExistsError:
                pass
            os.rename(stage.tmp, os.path.join(root, stage.bag.path))
            parents.append(Path(name_dir))
        fsync_dirs(self.root, parents)
        with self.ledger.transaction() as conn:
            stored_at = utc_now()  # taken under the write lock: visible from this instant
            self.ledger.mark_stored(conn, [stage.bag.path for stage in staged], stored_at)
            self.ledger.append_rows(conn, [row for bag_rows in rows for row in bag_rows])
        for stage in staged:
            stage.bag = replace(stage.bag, state="stored", created=stored_at)


def _rename_into_place(source: Path, target: str) -> bool:
    """Rename a directory to ``target`` unless a non-empty directory is there already."""
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
    return True


def _about(event: Event, bag: BagVersion) -> Event:
    """Point an event at ``bag`` where the caller did not know the version yet."""
    return replace(
        event,
        identifier=event.identifier or bag.identifier,
        version=event.version if event.version is not None else bag.version,
        bag=event.bag or bag.path,
    )


def _ingest_events(stage: _Staged, now: str) -> list[Event]:
    """The validation, digest and ingestion events of a bag being committed at ``now``."""
    bag = stage.bag
    built = stage.built
    algorithms = list(built.payload_digests)

    def event(kind: str, detail: str, data: dict[str, Any] | None = None) -> Event:
        return Event(kind, "suc", bag.identifier, bag.version, bag.path, detail=detail, data=data,
                     datetime=now)

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
