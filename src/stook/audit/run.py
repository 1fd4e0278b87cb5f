"""Running an audit: plan which bags are due, verify them in parallel, record every verdict."""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from stook.audit.check import (
    Answer,
    BagTask,
    check_bags,
    fix_event_row,
    judge,
    missing_audit,
    unknown_audit,
)
from stook.audit.model import (
    AuditMode,
    AuditOptions,
    AuditResult,
    BagAudit,
    FixHistory,
    SkippedBag,
    stamp,
)
from stook.errors import ReadOnlyStore, StookError
from stook.executor import Executor, JobFailed, open_executor
from stook.ledger import BagVersion, EventAppender, EventRow, Ledger
from stook.store import Store, bag_dirs

#: The history of a bag never checked (one shared value: FixHistory is frozen).
NEVER_CHECKED = FixHistory()
#: Group commit: write buffered events after this many seconds or this many events
#: (the very first verdict is written at once, so even a short-lived run leaves a trace).
FLUSH_SECONDS = 0.1
FLUSH_EVENTS = 256
#: A bag bigger than its fair share of the run is hashed with this many threads at most.
MAX_THREADS_PER_BAG = 8
#: Small bags go to workers in batches of up to this many bags (fewer round trips) ...
JOB_BAGS = 64
#: ... and a bag this big always travels alone.
JOB_BYTES = 8 << 20


@dataclass
class AuditPlan:
    """What one run will do: bags to verify (in order), bags gone, unknown dirs, skipped."""

    due: list[BagVersion]
    missing: list[BagVersion]
    unknown: list[str]
    skipped: list[SkippedBag]
    deferred: list[SkippedBag]
    history: dict[str, FixHistory]


def _fix_history(ledger: Ledger, mode: AuditMode) -> dict[str, FixHistory]:
    """Per bag path: the last fixity check, its outcome, and when it was last seen intact."""
    return {
        bag: FixHistory(
            last_check=row.last_any if mode == "fast" else row.last_full,
            last_outcome=row.last_outcome,
            last_any=row.last_any,
            last_intact=row.last_intact,
        )
        for bag, row in ledger.fixity_rows().items()
    }


def scan_store(root: Path) -> set[str]:
    """The bag directories on disk (see :func:`stook.store.bag_dirs`)."""
    return bag_dirs(root)


def plan_audit(
    store: Store,
    options: AuditOptions,
    *,
    now: datetime | None = None,
    listing: Callable[[], set[str]] | None = None,
) -> AuditPlan:
    """Decide what a run checks: never-checked first, then the oldest check first.

    ``listing`` waits for :func:`scan_store` started elsewhere (a worker lists the
    store while this process reads the ledger); without it the store is listed here.
    """
    ledger = store.ledger
    history = _fix_history(ledger, options.mode)
    on_disk = listing() if listing is not None else scan_store(store.root)
    # The ledger is read after the disk is listed, in one snapshot: a version is
    # reserved (pending) before it is renamed into place, so every bag directory the
    # listing saw is known here, stored or still pending. Read in the other order, a
    # bag committed in between looks unknown.
    with ledger.snapshot():
        rows = ledger.bags(include_pending=True)
    bags = [b for b in rows if b.state == "stored"]
    known = {b.path for b in rows}
    unknown = sorted(on_disk - known)
    missing = [b for b in bags if b.path not in on_disk and not os.path.lexists(store.root / b.path)]
    gone = {b.path for b in missing}
    due, skipped, deferred = _schedule([b for b in bags if b.path not in gone], history, options, now)
    return AuditPlan(due, missing, unknown, skipped, deferred, history)


def _schedule(
    present: list[BagVersion], history: dict[str, FixHistory], options: AuditOptions, now: datetime | None
) -> tuple[list[BagVersion], list[SkippedBag], list[SkippedBag]]:
    """Due (in order), not due, and over the limit, among the bags present."""

    def key(b: BagVersion) -> tuple[bool, str, str, str]:
        last = history.get(b.path, NEVER_CHECKED).last_check
        return (last is not None, last or "", b.created, b.path)

    present = sorted(present, key=key)
    cutoff = None
    if options.max_age is not None:
        cutoff = stamp((now or datetime.now(timezone.utc)) - options.max_age)
    due: list[BagVersion] = []
    skipped: list[SkippedBag] = []
    for b in present:
        last = history.get(b.path, NEVER_CHECKED).last_check
        if cutoff is not None and last is not None and last > cutoff:
            skipped.append(SkippedBag(b.path, b.identifier, b.version, last, "not-due"))
        else:
            due.append(b)
    deferred: list[SkippedBag] = []
    if options.limit is not None and len(due) > options.limit:
        for b in due[options.limit:]:
            last = history.get(b.path, NEVER_CHECKED).last_check
            deferred.append(SkippedBag(b.path, b.identifier, b.version, last, "over-limit"))
        due = due[: options.limit]
    return due, skipped, deferred


@dataclass
class _LedgerPlan:
    """A plan from the ledger alone (every stored bag taken for present), made so that the
    workers start on the bags while the disk is still being listed."""

    plan: AuditPlan
    stored: list[BagVersion]


def _plan_from_ledger(store: Store, options: AuditOptions) -> _LedgerPlan:
    history = _fix_history(store.ledger, options.mode)
    stored = store.ledger.bags()
    due, skipped, deferred = _schedule(stored, history, options, None)
    return _LedgerPlan(AuditPlan(due, [], [], skipped, deferred, history), stored)


def _settle(store: Store, early: _LedgerPlan, on_disk: set[str]) -> tuple[AuditPlan, set[str]]:
    """Bring the disk listing into a plan made from the ledger alone: the plan
    :func:`plan_audit` would have made, and the bags sent to the workers whose answers
    must be dropped (their directories are gone).

    The ledger's paths are read again after the listing, as :func:`plan_audit` reads
    them, so a bag committed meanwhile is not unknown; and a bag whose directory is gone
    is missing only if the ledger still holds it as stored (not deaccessioned meanwhile).
    """
    states = store.ledger.bag_states()
    unknown = sorted(on_disk - states.keys())
    vanished = {b.path for b in early.stored
                if b.path not in on_disk and not os.path.lexists(store.root / b.path)}
    missing = [b for b in early.stored if b.path in vanished and states.get(b.path) == "stored"]
    plan = early.plan
    settled = AuditPlan(
        [b for b in plan.due if b.path not in vanished], missing, unknown,
        [s for s in plan.skipped if s.bag not in vanished], plan.deferred, plan.history,
    )
    return settled, vanished


def make_tasks(store: Store, bags: list[BagVersion], mode: AuditMode, slots: int) -> list[BagTask]:
    """Largest bags first, so a huge one never starts last; a bag heavier than a worker's
    fair share of the run is also hashed with several threads (files in parallel)."""
    total = sum(b.size for b in bags)
    share = total / slots if slots else total
    tasks = []
    root = str(store.root)
    for b in sorted(bags, key=lambda b: (-b.size, b.path)):
        threads = 1
        if slots > 1 and mode == "full" and b.size >= share:
            threads = min(slots, MAX_THREADS_PER_BAG)
        tasks.append(BagTask(b.path, os.path.join(root, b.path), mode, b.size, threads))
    return tasks


def make_jobs(tasks: list[BagTask], slots: int) -> list[tuple[BagTask, ...]]:
    """Big bags travel alone; small ones in batches, small enough to keep every worker busy."""
    alone = [t for t in tasks if t.threads > 1 or t.size >= JOB_BYTES]
    small = [t for t in tasks if not (t.threads > 1 or t.size >= JOB_BYTES)]
    jobs: list[tuple[BagTask, ...]] = [(t,) for t in alone]
    if small:
        per_job = max(1, min(JOB_BAGS, len(small) // (slots * 4)))
        jobs.extend(tuple(small[i:i + per_job]) for i in range(0, len(small), per_job))
    return jobs


# -- running ----------------------------------------------------------------------------


class _EventWriter:
    """Buffers event rows and commits them in small groups (durable within FLUSH_SECONDS),
    on the ledger's background appender, so verdicts keep arriving while SQLite syncs."""

    def __init__(self, ledger: Ledger, *, record: bool = True) -> None:
        self.ledger = ledger
        self.record = record
        self.buffer: list[EventRow] = []
        self.last = time.monotonic()
        self.written = 0
        self.appender: EventAppender | None = None

    def add(self, row: EventRow) -> None:
        if not self.record:
            return
        self.buffer.append(row)
        if (
            not self.written
            or len(self.buffer) >= FLUSH_EVENTS
            or time.monotonic() - self.last >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            if self.appender is None:
                self.appender = self.ledger.appender()
            self.appender.submit_rows(self.buffer)
            self.written += len(self.buffer)
            self.buffer = []
        self.last = time.monotonic()

    def submit_rest(self) -> None:
        """Hand over what is buffered and say it is all, without waiting (the appender
        commits it and tidies the ledger meanwhile; an error here waits for :meth:`close`)."""
        with contextlib.suppress(StookError):
            self.flush()
        if self.appender is not None:
            self.appender.finish()

    def close(self) -> None:
        """Commit what is buffered and wait for every group to be committed."""
        try:
            self.flush()
        finally:
            if self.appender is not None:
                self.appender.close()


def run_audit(
    store: Store,
    options: AuditOptions,
    *,
    on_result: Callable[[BagAudit], None] | None = None,
    executor: Executor | None = None,
) -> AuditResult:
    """Audit ``store`` as ``options`` say; record a fix event per bag; return every finding.

    ``on_result`` is called as each bag's verdict arrives (progress bars, live output).
    Ctrl-C stops the run after recording every verdict already in; the result then has
    ``interrupted`` set (exit code 130).

    Without a limit, the bags are sent to the workers as soon as the ledger is read, and
    the disk listing (for missing and unknown bags) is brought in before the first
    verdict is judged; with a limit, the plan waits for the listing (a missing bag must
    not take a place under the limit).
    """
    started = time.monotonic()
    mode = options.mode
    if options.record and store.read_only:
        raise ReadOnlyStore(
            f"{store.root}: the store is read-only; an audit needs write access to record its fixity "
            "events (or can only report, without recording)",
            path=store.root,
        )
    own_executor = executor is None
    runner = executor or open_executor(workers=options.workers, scheduler=options.scheduler)
    early: _LedgerPlan | None = None
    try:
        runner.start()  # workers start while the plan is made
        listing = runner.aside(scan_store, store.root)  # an idle worker lists the disk meanwhile
        if options.limit is None:
            early = _plan_from_ledger(store, options)
            plan = early.plan
        else:
            plan = plan_audit(store, options, listing=listing)
    except BaseException:
        if own_executor:
            runner.close()
        raise
    result = AuditResult(
        store=str(store.root), mode=mode, executor=runner.describe(),
        started=stamp(datetime.now(timezone.utc)),
        max_age=_format_age(options.max_age), limit=options.limit,
        skipped=plan.skipped, deferred=plan.deferred,
    )
    writer = _EventWriter(store.ledger, record=options.record)
    by_path = {b.path: b for b in plan.due}

    def take(audit: BagAudit) -> None:
        if audit.status != "error" and options.record:
            row = fix_event_row(audit)
            audit.event = row[0]
            writer.add(row)
        result.bags.append(audit)
        if on_result is not None:
            on_result(audit)

    def with_ingest(jobs: list[tuple[BagTask, ...]]) -> Iterator[tuple[BagTask, ...]]:
        """Each job with its bags' ingest digests, looked up in one query as it is sent."""
        for job in jobs:
            raw = store.ledger.ingest_data([t.bag for t in job])
            yield tuple(BagTask(t.bag, t.path, t.mode, t.size, t.threads, raw.get(t.bag), True)
                        for t in job)

    try:
        jobs = make_jobs(make_tasks(store, plan.due, mode, runner.slots), runner.slots)
        answers = runner.map_unordered(check_bags, with_ingest(jobs))
        dropped: set[str] = set()
        first = None
        if early is not None:
            first = next(answers, None)  # the workers are busy while the disk is listed
            plan, dropped = _settle(store, early, listing())
            result.skipped = plan.skipped
        for bag in plan.missing:
            take(missing_audit(bag, store.root, mode, plan.history.get(bag.path, NEVER_CHECKED)))
        for rel in plan.unknown:
            take(unknown_audit(rel, store.root, mode, plan.history.get(rel, NEVER_CHECKED)))
        writer.flush()
        for job, checks in answers if first is None else itertools.chain([first], answers):
            answered: list[Answer | JobFailed[Any]] = (
                [checks] * len(job) if isinstance(checks, JobFailed) else list(checks)
            )
            for task, check in zip(job, answered, strict=True):
                if task.bag in dropped:
                    continue  # gone from the disk: reported missing above (or deaccessioned)
                bag = by_path[task.bag]
                ingest = None
                if not isinstance(check, JobFailed) and check.manifest is not None:
                    ingest = store.ledger.ingest_digests(bag.path)
                take(judge(bag, check, mode, plan.history.get(bag.path, NEVER_CHECKED), ingest))
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        writer.submit_rest()
        try:
            if own_executor:
                if result.interrupted:
                    runner.terminate()  # don't wait for workers hashing big bags
                runner.close()
        finally:
            writer.close()  # the last events were committing while the workers stopped
    result.elapsed = time.monotonic() - started
    result.finished = stamp(datetime.now(timezone.utc))
    return result


def audit_store(path: str | os.PathLike[str], options: AuditOptions,
                on_result: Callable[[BagAudit], None] | None = None) -> AuditResult:
    """Open the store at ``path`` (StoreError if it is not one) and audit it."""
    with Store.open(path) as store:
        return run_audit(store, options, on_result=on_result)


def _format_age(age: timedelta | None) -> str | None:
    if age is None:
        return None
    seconds = int(age.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
