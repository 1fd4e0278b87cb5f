"""Building batches of bags with worker processes and committing them in order.

The store hands a batch of requests to :class:`Pipeline`: each record's latest version
and owner are looked up once, the records are checked and built by worker processes
(one per core) into ``.tmp``, and what was built is committed by
:func:`stook.store.commit.commit`. For a run of batches, the next ones are built
while earlier ones are committed, and batches already built are committed together
under one sync (group commit).
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from stook.bagbuild import BuildJob, BuildOutcome, Builds, record_groups, start_workers, submit_builds
from stook.bagwriter import check_algorithms, remove_tree
from stook.ledger import BagVersion, Ledger, Source
from stook.names import bag_label, bag_name, identifier_key, version_dir
from stook.record import ensure_valid, record_invalid
from stook.store.commit import check_free_slot, commit
from stook.store.layout import TMP_DIR, Mark
from stook.store.model import AddResult, BagRequest, StagedBag, check_owner, new_version, result_of
from stook.workers import ProcessPool

PARALLEL_BATCH = 8  # records in a batch before building is worth worker processes
IN_FLIGHT = 2  # batches being built while an earlier one is committed


@dataclass
class Flight:
    """A batch whose records are being checked and built, not yet committed."""

    segment: list[BagRequest]
    jobs: list[BuildJob]
    bases: list[BagVersion | None]
    owners: list[Source | None]
    builds: Builds
    building: list[Path]  # its temporary bags, to remove if it never lands
    landed: bool = False

    def discard(self) -> None:
        """Wait until no worker writes for this flight, then remove what it built."""
        if self.landed:
            return
        with contextlib.suppress(Exception):
            self.builds.outcomes()
        for tmp in self.building:
            remove_tree(tmp)


def prechecked(requests: Iterable[BagRequest]) -> list[BagRequest]:
    """The requests as a list, each with an identifier to look versions up by and known algorithms."""
    checked = list(requests)
    for request in checked:
        identifier = request.record.get("identifier") if isinstance(request.record, dict) else None
        if not isinstance(identifier, str):  # no key to look versions up by: report it now
            ensure_valid(request.record, source=f"record {identifier!r}")
        check_algorithms(request.algorithms)
    return checked


def segments(requests: list[BagRequest]) -> Iterator[list[BagRequest]]:
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


class Pipeline:
    """Batches of requests in, committed versions out (the store's writing half)."""

    def __init__(self, root: Path, ledger: Ledger, mark: Mark) -> None:
        self.root = root
        self.ledger = ledger
        self.mark = mark
        self._pool: tuple[ProcessPool, int] | None = None

    # -- workers ------------------------------------------------------------------

    def pool(self, count: int, workers: int | None) -> tuple[ProcessPool, int] | None:
        """The build workers for a batch of ``count`` records, or None to build here.

        Started before the caller takes the writer lock. A caller that already holds it
        (a harvest) shares the lock's file with them; they end with the parent (see
        :func:`stook.bagbuild.start_workers`), so a killed run never leaves the store
        locked."""
        wanted = workers if workers is not None else (os.cpu_count() or 1)
        if wanted <= 1 or count < PARALLEL_BATCH:
            return None
        if self._pool is None or self._pool[1] != wanted:
            self.close()
            self._pool = (start_workers(wanted), wanted)
        return self._pool

    def close(self) -> None:
        if self._pool is not None:
            self._pool[0].shutdown()
            self._pool = None

    # -- one batch ------------------------------------------------------------------

    def add_many(self, requests: list[BagRequest], pool: tuple[ProcessPool, int] | None) -> list[AddResult]:
        """Store one batch all or nothing (the caller holds the writer lock)."""
        staged: list[StagedBag] = []
        outcome: list[AddResult | StagedBag] = []
        building: list[Path] = []  # every temporary bag of this batch, built or not
        try:
            for segment in segments(requests):
                flight = self.launch(segment, staged, building, pool)
                outcome.extend(self.take(flight, staged))
            commit(self.root, self.ledger, staged, self.mark)
        except BaseException:
            for tmp in building:
                remove_tree(tmp)
            raise
        return [result_of(item, self.root) for item in outcome]

    def launch(
        self,
        segment: list[BagRequest],
        staged: list[StagedBag],
        building: list[Path],
        pool: tuple[ProcessPool, int] | None,
    ) -> Flight:
        """Look up each record's latest version and owner, and start checking and building it.

        A record of another source is refused once it is known to change (in :meth:`take`):
        sending an unchanged copy changes nothing."""
        keys = [identifier_key(request.record["identifier"]) for request in segment]
        known = self.ledger.latest_of(keys)
        known.update((stage.bag.id_key, stage.bag) for stage in staged)
        owners = self.ledger.owners_of(keys)
        jobs: list[BuildJob] = []
        bases: list[BagVersion | None] = []
        tmp_root = self.root / TMP_DIR
        tmp_root.mkdir(exist_ok=True)
        suffixes = os.urandom(4 * len(segment)).hex()
        for n, (request, key) in enumerate(zip(segment, keys, strict=True)):
            record = request.record
            previous = known.get(key)
            version = previous.version + 1 if previous else 1
            name = previous.name if previous else bag_name(record["identifier"])
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
        return Flight(segment, jobs, bases, [owners.get(key) for key in keys], builds, building)

    def take(self, flight: Flight, staged: list[StagedBag]) -> list[AddResult | StagedBag]:
        """Wait for a flight's builds; stage the changed ones, or raise the first failure."""
        outcomes = flight.builds.outcomes()
        rows = list(zip(flight.segment, flight.jobs, flight.bases, outcomes, strict=True))
        owners = flight.owners
        mine: list[StagedBag | None] = []
        for request, job, previous, built in rows:
            stage = None
            if built.built is not None:  # staged first, so a failure below removes it too
                stage = StagedBag(request, _version_of(job, previous, built), job.tmp, built.built,
                                  moves_name_dir=previous is None)
                staged.append(stage)
            mine.append(stage)
        results: list[AddResult | StagedBag] = []
        for (request, _job, previous, built), stage, owner in zip(rows, mine, owners, strict=True):
            identifier = request.record["identifier"]
            if built.problems:
                raise record_invalid(request.record, built.problems, source=f"record {identifier!r}")
            if built.error is not None:
                raise built.error
            if stage is None:
                assert built.unchanged and previous is not None
                results.append(AddResult("unchanged", previous, self.root / previous.path))
            else:  # an unchanged record changes nothing, whoever sends it
                check_owner(request, owner, previous)
                check_free_slot(self.root, stage.bag)
                results.append(stage)
        return results

    # -- runs of batches ----------------------------------------------------------------

    def add_batches(
        self,
        batches: Iterable[Sequence[BagRequest]],
        pool: tuple[ProcessPool, int] | None,
        workers: int | None,
    ) -> Iterator[list[AddResult]]:
        """See :meth:`stook.store.Store.add_batches` (the caller holds the writer lock)."""
        flights: deque[tuple[Flight, set[str]]] = deque()
        try:
            for batch in batches:
                requests = prechecked(batch)
                keys = {identifier_key(r.record["identifier"]) for r in requests}
                if pool is None or len(keys) < len(requests):
                    yield from self._land_flights(flights, keep=0)
                    yield self.add_many(requests, self.pool(len(requests), workers))
                    continue
                if any(keys & busy for _, busy in flights):
                    yield from self._land_flights(flights, keep=0)
                flights.append((self.launch(requests, [], [], pool), keys))
                if len(flights) > IN_FLIGHT:
                    yield from self._land_flights(flights, keep=1)
            yield from self._land_flights(flights, keep=0)
        finally:
            for flight, _ in flights:
                flight.discard()

    def _land_flights(
        self, flights: deque[tuple[Flight, set[str]]], *, keep: int
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

    def _land(self, group: list[Flight]) -> tuple[list[list[AddResult]], Exception | None]:
        """Wait for the flights of ``group`` in order, then commit together those that built.

        A flight whose batch fails (an invalid record, an unreadable file, a record of
        another source) is discarded with every flight after it; its error is returned,
        to be raised once the results of the flights before it are handed out. A
        failure to commit keeps nothing.
        """
        staged: list[StagedBag] = []
        outcomes: list[list[AddResult | StagedBag]] = []
        failure: Exception | None = None
        try:
            for flight in group:
                mine: list[StagedBag] = []
                try:
                    outcomes.append(self.take(flight, mine))
                except Exception as exc:
                    failure = exc
                    break
                staged.extend(mine)
            taken = group[: len(outcomes)]
            for flight in group[len(outcomes):]:
                flight.discard()
            commit(self.root, self.ledger, staged, self.mark)
        except BaseException:
            for flight in group:
                flight.discard()
            raise
        for flight in taken:
            flight.landed = True
        return [[result_of(item, self.root) for item in outcome] for outcome in outcomes], failure


def _version_of(job: BuildJob, previous: BagVersion | None, outcome: BuildOutcome) -> BagVersion:
    assert outcome.built is not None
    record = job.record
    return new_version(
        record["identifier"],
        previous,
        fingerprint=outcome.fingerprint,
        payload_oxum=outcome.built.payload_oxum,
        size=outcome.built.total_bytes,
        title=record.get("title"),
        groups=record_groups(record),
    )
