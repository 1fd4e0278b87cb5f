"""Fixity audit of a whole store: every bag verified, every check recorded as a PREMIS event.

A store is audited for decades, usually by cron and in slices, so an audit

* checks bags never checked first, then the ones checked longest ago (``max_age`` skips
  bags checked recently, ``limit`` caps one run), so interrupted or sliced runs carry on
  where the last one stopped without any state besides the event log;
* verifies each bag with :func:`stook.verify.verify_bag` in worker processes (or on a
  Dask cluster); results come back to this process, the only one writing the ledger;
* records one ``fix`` event per bag as results arrive (group-committed every fraction
  of a second), so Ctrl-C or SIGKILL loses at most the last moment's results;
* names every damaged file (corrupted with algorithm, expected and found digest,
  truncated, missing, unexpected, unreadable, unsafe, edited tag file), bags the ledger
  knows that are gone, bag directories the ledger never ingested, and bags that failed
  before and pass now (recovered);
* never writes inside a bag.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Literal

from stook.bagwriter import human_size
from stook.errors import NotABag, UsageError
from stook.executor import Executor, JobFailed, open_executor
from stook.ledger import BagVersion, Event, Ledger
from stook.store import QUARANTINE_DIR, Store
from stook.verify import Finding, VerifyResult, verify_bag
from stook.verify.quick import plainly_intact

AuditMode = Literal["full", "fast"]
BagStatus = Literal["ok", "failed", "missing", "unknown", "error"]

#: How many failed files an event's detail names before "and N more" (data has them all).
DETAIL_NAMED = 50
#: Cap on findings kept in one event's data, so one wrecked bag cannot bloat the ledger.
DATA_PROBLEMS_MAX = 10_000
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

MANIFEST = "manifest-sha512.txt"

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}

_KIND_BY_CODE = {
    "missing-file": "missing",
    "missing-tag-file": "missing",
    "not-fetched": "missing",
    "unexpected-file": "unexpected",
    "unreadable-file": "unreadable",
    "special-file": "unreadable",
    "not-a-file": "unreadable",
    "dangling-symlink": "unreadable",
    "symlink-outside": "unsafe",
    "unsafe-path": "unsafe",
    "outside-payload": "unsafe",
    "fetch-outside-payload": "unsafe",
    "oxum-mismatch": "oxum",
}
#: Report order: damage to named files first, bag-level consequences (Payload-Oxum) last.
_KIND_ORDER = ["corrupted", "truncated", "missing", "unexpected", "tag-edited", "unreadable", "unsafe",
               "invalid", "oxum"]


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or combinations such as ``1d12h``."""
    cleaned = text.strip().lower().replace(" ", "")
    pos = 0
    seconds = 0.0
    for match in _DURATION.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not cleaned or pos != len(cleaned):
        raise UsageError(
            f"--max-age {text!r} is not a duration",
            hint="write a number and a unit: 30d, 12h, 90m, 45s or 2w (combinations like 1d12h work)",
        )
    return timedelta(seconds=seconds)


def _stamp(moment: datetime) -> str:
    """A datetime in the ledger's text form, so it compares with event datetimes as strings."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong with a bag, named as precisely as the bag allows."""

    kind: str  # corrupted truncated missing unexpected tag-edited unreadable unsafe invalid ...
    message: str
    path: str | None = None
    code: str = ""
    algorithm: str | None = None
    expected: str | None = None
    found: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}

    def short(self) -> str:
        """One phrase for an event detail: file, kind and, for digests, algorithm/expected/found."""
        where = self.path or "bag"
        if self.algorithm and self.expected and self.found:
            return (f"{where} {self.kind} ({self.algorithm} expected {self.expected},"
                    f" found {self.found})")
        if self.kind in ("invalid", "unsafe", "unreadable", "not-a-bag", "ledger-mismatch"):
            return f"{where} {self.kind}: {self.message}"
        return f"{where} {self.kind}"


@dataclass
class BagAudit:
    """What the audit found for one bag version (or one unknown bag directory)."""

    bag: str  # store path "<name>/v<N>"
    identifier: str | None
    version: int | None
    status: BagStatus
    mode: AuditMode
    checksums_verified: bool = False
    recovered: bool = False
    previous_check: str | None = None
    previous_outcome: str | None = None
    last_intact: str | None = None  # last successful full check, else when the bag was ingested
    created: str | None = None
    files_checked: int = 0
    bytes_hashed: int = 0
    algorithms: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    warnings: list[FileProblem] = field(default_factory=list)
    elapsed: float = 0.0
    event: str | None = None  # uuid of the fix event recorded

    @property
    def failed(self) -> bool:
        return self.status != "ok"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [p.to_dict() for p in self.problems]
        data["warnings"] = [w.to_dict() for w in self.warnings]
        return data


@dataclass(frozen=True)
class SkippedBag:
    """A bag not checked in this run, and why (``not-due`` or ``over-limit``)."""

    bag: str
    identifier: str
    version: int
    last_checked: str | None
    reason: Literal["not-due", "over-limit"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuditResult:
    """A whole run: every bag audited, every bag skipped, and the totals."""

    store: str
    mode: AuditMode
    executor: str
    started: str
    finished: str = ""
    elapsed: float = 0.0
    max_age: str | None = None
    limit: int | None = None
    bags: list[BagAudit] = field(default_factory=list)
    skipped: list[SkippedBag] = field(default_factory=list)
    deferred: list[SkippedBag] = field(default_factory=list)
    interrupted: bool = False

    def _count(self, status: str) -> int:
        return sum(1 for b in self.bags if b.status == status)

    @property
    def checksums_verified(self) -> bool:
        return self.mode == "full"

    @property
    def checked(self) -> int:
        return sum(1 for b in self.bags if b.status in ("ok", "failed"))

    @property
    def ok(self) -> int:
        return self._count("ok")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def missing(self) -> int:
        return self._count("missing")

    @property
    def unknown(self) -> int:
        return self._count("unknown")

    @property
    def errors(self) -> int:
        return self._count("error")

    @property
    def recovered(self) -> int:
        return sum(1 for b in self.bags if b.recovered)

    @property
    def bytes_hashed(self) -> int:
        return sum(b.bytes_hashed for b in self.bags)

    @property
    def failures(self) -> list[BagAudit]:
        return [b for b in self.bags if b.failed]

    @property
    def exit_code(self) -> int:
        """0 when every bag checked is intact and the store holds exactly what the ledger says."""
        if self.interrupted:
            return 130
        return 1 if self.failures else 0

    def summary(self) -> dict[str, Any]:
        rate = self.bytes_hashed / self.elapsed if self.elapsed > 0 else 0.0
        bag_rate = self.checked / self.elapsed if self.elapsed > 0 else 0.0
        return {
            "store": self.store,
            "mode": self.mode,
            "checksums_verified": self.checksums_verified,
            "executor": self.executor,
            "started": self.started,
            "finished": self.finished,
            "elapsed": round(self.elapsed, 3),
            "checked": self.checked,
            "bytes_hashed": self.bytes_hashed,
            "ok": self.ok,
            "failed": self.failed,
            "missing": self.missing,
            "unknown": self.unknown,
            "errors": self.errors,
            "recovered": self.recovered,
            "skipped": len(self.skipped),
            "deferred": len(self.deferred),
            "bytes_per_second": round(rate, 1),
            "bags_per_second": round(bag_rate, 2),
            "max_age": self.max_age,
            "limit": self.limit,
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
        }

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.bags, key=lambda b: (not b.failed, b.bag))
        return {
            "summary": self.summary(),
            "bags": [b.to_dict() for b in ordered],
            "skipped": [s.to_dict() for s in self.skipped],
            "deferred": [s.to_dict() for s in self.deferred],
        }


# -- planning --------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditOptions:
    """What ``stook audit`` was asked to do."""

    max_age: timedelta | None = None
    limit: int | None = None
    workers: int | None = None  # None: os.cpu_count()
    scheduler: str | None = None  # tcp://HOST:PORT of a Dask scheduler
    fast: bool = False

    @property
    def mode(self) -> AuditMode:
        return "fast" if self.fast else "full"


@dataclass(frozen=True)
class BagTask:
    """One bag to verify; sent to a worker process or Dask worker, so plain data only."""

    bag: str
    path: str
    mode: AuditMode
    size: int
    threads: int = 1
    # The data of the bag's ingest ``mes`` event as stored (JSON text, None if there is none),
    # looked up by the parent just before sending, so the worker compares the digests itself.
    ingest: str | None = None
    ingest_loaded: bool = False


@dataclass(frozen=True)
class BagCheck:
    """A worker's answer: the engine's result, or why the path is not a bag (or could not be read).

    The worker also does the per-file classification (``problems``, ``warnings``) and, when
    the task carried the ingest digests, the comparison with them (``ledger_problems``), so
    the result it sends back drops the per-file list and the manifests: the parent, the only
    process writing the ledger, has less to unpickle and judge per bag.
    """

    result: VerifyResult | None
    not_a_bag: str | None
    elapsed: float
    error: str | None = None
    manifest: dict[str, str] | None = None  # sha512 manifest of a valid bag, not yet compared
    problems: tuple[FileProblem, ...] | None = None  # classify(result), done in the worker
    warnings: tuple[FileProblem, ...] = ()
    found_oxum: str | None = None  # payload bytes.files found on disk
    ledger_problems: tuple[FileProblem, ...] | None = None  # compared with the ingest digests


@dataclass(frozen=True)
class _History:
    last_check: str | None = None  # last fix event counting for this mode's ordering
    last_outcome: str | None = None  # outcome of the last fix event of any mode
    last_any: str | None = None
    last_intact: str | None = None  # last successful full check


@dataclass
class AuditPlan:
    """What one run will do: bags to verify (in order), bags gone, unknown dirs, skipped."""

    due: list[BagVersion]
    missing: list[BagVersion]
    unknown: list[str]
    skipped: list[SkippedBag]
    deferred: list[SkippedBag]
    history: dict[str, _History]


def _fix_history(ledger: Ledger, mode: AuditMode) -> dict[str, _History]:
    """Per bag path: the last fixity check, its outcome, and when it was last seen intact."""
    rows = ledger.connection.execute(
        "SELECT bag, last_any, last_outcome, last_full, last_intact FROM fixity"
    )
    return {
        bag: _History(
            last_check=last_any if mode == "fast" else last_full,
            last_outcome=last_outcome,
            last_any=last_any,
            last_intact=last_intact,
        )
        for bag, last_any, last_outcome, last_full, last_intact in rows
    }


def scan_store(root: Path) -> set[str]:
    """Bag directories on disk: ``<name>/<dir>`` for each version, or ``<name>`` for a bag at the top.

    One listing per name directory: a store of N bags costs about N+1 listings
    and no per-bag stat.
    """
    found: set[str] = set()
    try:
        top = list(os.scandir(root))
    except OSError:
        return found
    for entry in top:
        if entry.name.startswith(".") or entry.name == QUARANTINE_DIR:
            continue
        if not entry.is_dir(follow_symlinks=False):
            continue
        try:
            subs = list(os.scandir(entry.path))
        except OSError:
            found.add(entry.name)
            continue
        if any(sub.name == "bagit.txt" for sub in subs):
            found.add(entry.name)  # a bag dropped at the top of the store
            continue
        found.update(
            f"{entry.name}/{sub.name}" for sub in subs if sub.is_dir(follow_symlinks=False)
        )
    return found


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
    bags = ledger.bags()
    known = {b.path for b in bags}
    known.update(b.path for b in ledger.pending())
    on_disk = listing() if listing is not None else scan_store(store.root)
    unknown = sorted(on_disk - known)
    missing = [b for b in bags if b.path not in on_disk and not os.path.lexists(store.root / b.path)]
    gone = {b.path for b in missing}
    present = [b for b in bags if b.path not in gone]

    def key(b: BagVersion) -> tuple[bool, str, str, str]:
        last = history.get(b.path, _History()).last_check
        return (last is not None, last or "", b.created, b.path)

    present.sort(key=key)
    cutoff = None
    if options.max_age is not None:
        cutoff = _stamp((now or datetime.now(timezone.utc)) - options.max_age)
    due: list[BagVersion] = []
    skipped: list[SkippedBag] = []
    for b in present:
        last = history.get(b.path, _History()).last_check
        if cutoff is not None and last is not None and last > cutoff:
            skipped.append(SkippedBag(b.path, b.identifier, b.version, last, "not-due"))
        else:
            due.append(b)
    deferred: list[SkippedBag] = []
    if options.limit is not None and len(due) > options.limit:
        for b in due[options.limit:]:
            last = history.get(b.path, _History()).last_check
            deferred.append(SkippedBag(b.path, b.identifier, b.version, last, "over-limit"))
        due = due[: options.limit]
    return AuditPlan(due, missing, unknown, skipped, deferred, history)


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


# -- the worker side ---------------------------------------------------------------------


def check_bag(task: BagTask) -> BagCheck:
    """Verify one bag (runs in a worker). Only reads; an unreadable bag is an answer, not a crash.

    A full check of a plain bag goes the fast path (:mod:`stook.verify.quick`) first; anything
    it does not vouch for, damage included, is checked again by the engine, which names it.
    """
    started = time.perf_counter()
    if task.mode == "full" and task.threads == 1:
        intact = plainly_intact(task.path)
        if intact is not None:
            result = VerifyResult(
                bag=task.path, mode="full", valid=True, complete=True, checksums_verified=True,
                version="1.0", errors=[], warnings=[], files_checked=intact.files_checked,
                bytes_hashed=intact.bytes_hashed, algorithms=list(intact.algorithms),
            )
            manifest, ledger_problems = _against_ingest(task, intact.payload_digests.get("sha512"))
            return BagCheck(
                result, None, time.perf_counter() - started, manifest=manifest, problems=(),
                found_oxum=intact.payload_oxum, ledger_problems=ledger_problems,
            )
    try:
        result = verify_bag(task.path, mode=task.mode, workers=task.threads)
    except NotABag as exc:
        return BagCheck(None, str(exc), time.perf_counter() - started)
    except Exception as exc:  # an engine bug must not take the other bags of the job down
        return BagCheck(None, None, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    problems = tuple(classify(result))
    # the sha512 manifest as verified, to compare with the digests the ledger recorded at ingest
    manifest, ledger_problems = _against_ingest(
        task, result.payload_digests.get("sha512") if result.valid else None, compare=not problems
    )
    return BagCheck(
        replace(result, files=[], payload_digests={}), None, time.perf_counter() - started,
        manifest=manifest, problems=problems, warnings=tuple(_warnings(result.warnings)),
        found_oxum=_found_oxum(result), ledger_problems=ledger_problems,
    )


def _against_ingest(
    task: BagTask, manifest: dict[str, str] | None, *, compare: bool = True
) -> tuple[dict[str, str] | None, tuple[FileProblem, ...] | None]:
    """Compare a verified sha512 manifest with the ingest digests the task carries, in the worker.

    Returns the manifest still to be compared by the parent (the task carried no digests)
    and the problems found here (None when not compared here).
    """
    if manifest is None or not task.ingest_loaded:
        return manifest, None
    ingest = parse_ingest(task.ingest)
    if ingest and compare:
        return None, tuple(_compare_digests(manifest, ingest))
    return None, None  # no digests at ingest: the parent compares the Payload-Oxum


def check_bags(job: tuple[BagTask, ...]) -> list[BagCheck]:
    """Verify a batch of bags in one worker round trip (many small bags cost little each)."""
    return [check_bag(task) for task in job]


def make_jobs(tasks: list[BagTask], slots: int) -> list[tuple[BagTask, ...]]:
    """Big bags travel alone; small ones in batches, small enough to keep every worker busy."""
    alone = [t for t in tasks if t.threads > 1 or t.size >= JOB_BYTES]
    small = [t for t in tasks if not (t.threads > 1 or t.size >= JOB_BYTES)]
    jobs: list[tuple[BagTask, ...]] = [(t,) for t in alone]
    if small:
        per_job = max(1, min(JOB_BAGS, len(small) // (slots * 4)))
        jobs.extend(tuple(small[i:i + per_job]) for i in range(0, len(small), per_job))
    return jobs


# -- judging ----------------------------------------------------------------------------


def classify(result: VerifyResult) -> list[FileProblem]:
    """Turn the engine's findings into per-file problems an archivist reads at a glance."""
    sizes = {o.path: o.size for o in result.files}
    corrupted_payload = [
        f.path for f in result.errors
        if f.code == "checksum-mismatch" and f.path and f.path.startswith("data/")
    ]
    oxum = next((f for f in result.errors if f.code == "oxum-mismatch"), None)
    lost: int | None = None
    if oxum is not None and oxum.expected and oxum.found and len(set(corrupted_payload)) == 1:
        exp_bytes, exp_files = (int(x) for x in oxum.expected.split("."))
        got_bytes, got_files = (int(x) for x in oxum.found.split("."))
        if exp_files == got_files and got_bytes < exp_bytes:
            lost = exp_bytes - got_bytes
    problems: list[FileProblem] = []
    for f in result.errors:
        kind = _KIND_BY_CODE.get(f.code, "invalid")
        message = f.message
        if f.code == "checksum-mismatch":
            if f.path and f.path.startswith("data/"):
                kind = "corrupted"
                size = sizes.get(f.path)
                if size == 0 or lost is not None:
                    kind = "truncated"
                    message = f"{f.path} is truncated (now {size} bytes"
                    message += f", {lost} bytes fewer than at bagging); " if lost else "); "
                    message += f.message
            else:
                kind = "tag-edited"
                message = f"tag file {f.path} was changed since the bag was made; {f.message}"
        problems.append(
            FileProblem(kind, message, f.path, f.code, f.algorithm, f.expected, f.found, f.line)
        )
    rank = {k: i for i, k in enumerate(_KIND_ORDER)}
    problems.sort(key=lambda p: rank.get(p.kind, len(rank)))  # stable: engine order within a kind
    return problems


def _warnings(findings: Iterable[Finding]) -> list[FileProblem]:
    return [FileProblem("warning", f.message, f.path, f.code, f.algorithm, f.expected, f.found, f.line)
            for f in findings]


def _found_oxum(result: VerifyResult) -> str:
    sizes = [o.size for o in result.files
             if o.path.startswith("data/") and o.size is not None and o.status not in ("missing",)]
    return f"{sum(s for s in sizes if s is not None)}.{len(sizes)}"


def judge(
    bag: BagVersion,
    check: BagCheck | JobFailed[Any],
    mode: AuditMode,
    history: _History,
    ingest: dict[str, str] | None = None,
) -> BagAudit:
    """One bag's verdict from a worker's answer, the bag's fixity history and, for a bag that
    is self-consistent, the sha512 digests the ledger recorded when it was ingested."""
    audit = BagAudit(
        bag=bag.path, identifier=bag.identifier, version=bag.version, status="ok", mode=mode,
        previous_check=history.last_any, previous_outcome=history.last_outcome,
        last_intact=history.last_intact or bag.created, created=bag.created,
    )
    if isinstance(check, JobFailed) or check.error is not None:
        error = (f"{type(check.error).__name__}: {check.error}" if isinstance(check, JobFailed)
                 else check.error)
        audit.status = "error"
        audit.problems = [FileProblem(
            "error",
            f"{bag.path} could not be checked: {error}; nothing was recorded for it, so the next"
            " audit checks it first",
        )]
        return audit
    audit.elapsed = round(check.elapsed, 4)
    if check.not_a_bag is not None:
        audit.status = "failed"
        audit.problems = [FileProblem("not-a-bag", check.not_a_bag, None, "not-a-bag")]
        return audit
    result = check.result
    assert result is not None
    audit.checksums_verified = result.checksums_verified
    audit.files_checked = result.files_checked
    audit.bytes_hashed = result.bytes_hashed
    audit.algorithms = list(result.algorithms)
    audit.problems = list(check.problems) if check.problems is not None else classify(result)
    audit.warnings = list(check.warnings) if check.problems is not None else _warnings(result.warnings)
    if not audit.problems:
        if check.ledger_problems is not None:
            audit.problems.extend(check.ledger_problems)
        else:
            found = check.found_oxum if check.found_oxum is not None else _found_oxum(result)
            audit.problems.extend(_against_ledger(bag, found, check.manifest, ingest))
    if not result.valid and not audit.problems:
        audit.problems.append(FileProblem("invalid", "the verify engine did not confirm the bag"))
    if audit.problems:
        audit.status = "failed"
    elif history.last_outcome == "fai":
        audit.recovered = True
    return audit


def _compare_digests(manifest: dict[str, str], ingest: dict[str, str]) -> list[FileProblem]:
    """Every payload file whose sha512 now differs from the one recorded at ingest."""
    problems: list[FileProblem] = []
    if manifest == ingest:
        return problems
    for path in sorted(set(manifest) | set(ingest)):
        then, now = ingest.get(path), manifest.get(path)
        if then == now:
            continue
        if then is None:
            message = f"{path} is in {MANIFEST} but was not in the bag when it was ingested"
        elif now is None:
            message = f"{path} was in the bag when it was ingested but is no longer in {MANIFEST}"
        else:
            message = (f"{path}: {MANIFEST} now lists sha512 {now}, but the ledger recorded"
                       f" {then} at ingest; the file and its manifest were both changed")
        problems.append(FileProblem("ledger-mismatch", message, path, "ledger-digest-mismatch",
                                    "sha512", then, now))
    return problems


def _against_ledger(
    bag: BagVersion, found: str, manifest: dict[str, str] | None, ingest: dict[str, str] | None
) -> list[FileProblem]:
    """A valid bag must still hold what was ingested: a bag whose files were changed and whose
    manifests were regenerated (a "repair" by another tool) is consistent but not authentic.
    ``found`` is the payload's bytes.files as found on disk (compared when no digests are)."""
    problems: list[FileProblem] = []
    if manifest is not None and ingest:
        return _compare_digests(manifest, ingest)
    if found != bag.payload_oxum:
        problems.append(FileProblem(
            "ledger-mismatch",
            f"the bag is self-consistent but its payload ({found} as bytes.files) differs from"
            f" what the ledger recorded at ingest ({bag.payload_oxum}); the bag was rebuilt or"
            " altered with its manifests updated",
            "data", "ledger-oxum-mismatch", expected=bag.payload_oxum, found=found,
        ))
    return problems


def ingest_digests(ledger: Ledger, bag_path: str) -> dict[str, str] | None:
    """The payload sha512 digests recorded when ``bag_path`` was ingested (its ``mes`` event)."""
    row = ledger.connection.execute(
        "SELECT data FROM events WHERE bag = ? AND type = 'mes' AND outcome = 'suc' AND data IS NOT NULL"
        " ORDER BY seq LIMIT 1",
        (bag_path,),
    ).fetchone()
    return None if row is None else parse_ingest(row[0])


def ingest_data(ledger: Ledger, bag_paths: list[str]) -> dict[str, str]:
    """The raw data of each bag's first successful ``mes`` event, in one query for many bags."""
    found: dict[str, str] = {}
    for start in range(0, len(bag_paths), 500):  # well under SQLite's host-parameter limit
        chunk = bag_paths[start:start + 500]
        rows = ledger.connection.execute(
            "SELECT bag, data FROM events WHERE type = 'mes' AND outcome = 'suc' AND data IS NOT NULL"
            f" AND bag IN ({','.join('?' * len(chunk))}) ORDER BY seq",
            chunk,
        )
        for bag, data in rows:
            found.setdefault(bag, data)
    return found


def parse_ingest(raw: str | None) -> dict[str, str] | None:
    """The sha512 digests in a ``mes`` event's data (JSON text); None if it holds none."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        return None
    digests = data.get("sha512") if isinstance(data, dict) else None
    if not isinstance(digests, dict) or not all(isinstance(v, str) for v in digests.values()):
        return None
    return {str(k): v.lower() for k, v in digests.items()}


def missing_audit(bag: BagVersion, root: Path, mode: AuditMode, history: _History) -> BagAudit:
    return BagAudit(
        bag=bag.path, identifier=bag.identifier, version=bag.version, status="missing", mode=mode,
        previous_check=history.last_any, previous_outcome=history.last_outcome,
        last_intact=history.last_intact or bag.created, created=bag.created,
        problems=[FileProblem(
            "bag-missing",
            f"{root / bag.path} is gone: the ledger holds {bag.identifier} version {bag.version}"
            " but its bag directory is not in the store; restore it from a replica or backup",
            bag.path, "bag-missing",
        )],
    )


def unknown_audit(rel: str, root: Path, mode: AuditMode, history: _History) -> BagAudit:
    return BagAudit(
        bag=rel, identifier=None, version=None, status="unknown", mode=mode,
        previous_check=history.last_any, previous_outcome=history.last_outcome,
        problems=[FileProblem(
            "unknown-bag",
            f"{root / rel} is in the store but the ledger never ingested it; move it out of the"
            " store, or bring it in properly (stook receive)",
            rel, "unknown-bag",
        )],
    )


def fix_event(audit: BagAudit) -> Event:
    """The PREMIS fixity check event for one audited bag."""
    data: dict[str, Any] = {
        "mode": audit.mode,
        "status": audit.status,
        "checksums_verified": audit.checksums_verified,
        "files_checked": audit.files_checked,
        "bytes_hashed": audit.bytes_hashed,
        "algorithms": audit.algorithms,
        "problems": [p.to_dict() for p in audit.problems[:DATA_PROBLEMS_MAX]],
        "warnings": len(audit.warnings),
    }
    if len(audit.problems) > DATA_PROBLEMS_MAX:
        data["problems_omitted"] = len(audit.problems) - DATA_PROBLEMS_MAX
    if audit.recovered:
        data["recovered"] = True
        data["previous_check"] = audit.previous_check
    how = (
        f"{', '.join(audit.algorithms) or 'no'} checksums of {audit.files_checked} files"
        f" ({audit.bytes_hashed} bytes) verified"
        if audit.mode == "full"
        else "fast check of structure, completeness and Payload-Oxum; checksums NOT verified"
    )
    if audit.status == "ok":
        detail = f"bag {audit.bag} intact: {how}"
        if audit.recovered:
            detail += f"; recovered (failed at the previous check, {audit.previous_check})"
        outcome = "suc"
    else:
        named = "; ".join(p.short() for p in audit.problems[:DETAIL_NAMED])
        more = len(audit.problems) - DETAIL_NAMED
        if more > 0:
            named += f"; and {more} more (see the event data)"
        label = {"missing": "bag missing", "unknown": "bag not in the ledger"}.get(
            audit.status, "fixity check failed"
        )
        detail = f"{label}: {audit.bag}: {len(audit.problems)} problem(s): {named}"
        if audit.mode == "fast":
            detail += " (fast check; checksums NOT verified)"
        outcome = "fai"
    return Event("fix", outcome, audit.identifier, audit.version, audit.bag, detail=detail, data=data)


# -- running ----------------------------------------------------------------------------


class _EventWriter:
    """Buffers events and commits them in small groups (durable within FLUSH_SECONDS)."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.buffer: list[Event] = []
        self.last = time.monotonic()
        self.written = 0

    def add(self, event: Event) -> None:
        self.buffer.append(event)
        if (
            not self.written
            or len(self.buffer) >= FLUSH_EVENTS
            or time.monotonic() - self.last >= FLUSH_SECONDS
        ):
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.ledger.record_events(self.buffer)
            self.written += len(self.buffer)
            self.buffer = []
        self.last = time.monotonic()


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
    """
    started = time.monotonic()
    mode = options.mode
    own_executor = executor is None
    runner = executor or open_executor(workers=options.workers, scheduler=options.scheduler)
    try:
        runner.start()  # workers start while the plan is made
        plan = plan_audit(store, options, listing=runner.aside(scan_store, store.root))
    except BaseException:
        if own_executor:
            runner.close()
        raise
    result = AuditResult(
        store=str(store.root), mode=mode, executor=runner.describe(),
        started=_stamp(datetime.now(timezone.utc)),
        max_age=_format_age(options.max_age), limit=options.limit,
        skipped=plan.skipped, deferred=plan.deferred,
    )
    writer = _EventWriter(store.ledger)
    by_path = {b.path: b for b in plan.due}

    def take(audit: BagAudit) -> None:
        if audit.status != "error":
            event = fix_event(audit)
            audit.event = event.uuid
            writer.add(event)
        result.bags.append(audit)
        if on_result is not None:
            on_result(audit)

    try:
        for bag in plan.missing:
            take(missing_audit(bag, store.root, mode, plan.history.get(bag.path, _History())))
        for rel in plan.unknown:
            take(unknown_audit(rel, store.root, mode, plan.history.get(rel, _History())))
        writer.flush()
        jobs = make_jobs(make_tasks(store, plan.due, mode, runner.slots), runner.slots)

        def with_ingest(jobs: list[tuple[BagTask, ...]]) -> Iterator[tuple[BagTask, ...]]:
            """Each job with its bags' ingest digests, looked up in one query as it is sent."""
            for job in jobs:
                raw = ingest_data(store.ledger, [t.bag for t in job])
                yield tuple(BagTask(t.bag, t.path, t.mode, t.size, t.threads, raw.get(t.bag), True)
                            for t in job)

        for job, checks in runner.map_unordered(check_bags, with_ingest(jobs)):
            answers: list[BagCheck | JobFailed[Any]] = (
                [checks] * len(job) if isinstance(checks, JobFailed) else list(checks)
            )
            for task, check in zip(job, answers, strict=True):
                bag = by_path[task.bag]
                ingest = None
                if isinstance(check, BagCheck) and check.manifest is not None:
                    ingest = ingest_digests(store.ledger, bag.path)
                take(judge(bag, check, mode, plan.history.get(bag.path, _History()), ingest))
    except KeyboardInterrupt:
        result.interrupted = True
    finally:
        writer.flush()
        if own_executor:
            if result.interrupted:
                _stop_now(runner)
            runner.close()
    result.elapsed = time.monotonic() - started
    result.finished = _stamp(datetime.now(timezone.utc))
    return result


def audit_store(path: str | os.PathLike[str], options: AuditOptions,
                on_result: Callable[[BagAudit], None] | None = None) -> AuditResult:
    """Open the store at ``path`` (StoreError if it is not one) and audit it."""
    with Store.open(path) as store:
        return run_audit(store, options, on_result=on_result)


def _stop_now(runner: Executor) -> None:
    """After Ctrl-C, don't wait for workers hashing big bags: their results would be dropped."""
    pool = getattr(runner, "_pool", None)
    processes = getattr(pool, "_processes", None) or {}
    for process in list(processes.values()):
        with contextlib.suppress(Exception):  # already gone
            process.terminate()


def _format_age(age: timedelta | None) -> str | None:
    if age is None:
        return None
    seconds = int(age.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


# -- history ------------------------------------------------------------------------------


def record_history(store: Store, ref: str) -> tuple[str, list[Event]]:
    """Every event of the record ``ref`` names (identifier, bag name, ``<name>/v<N>``, label),
    all versions, in the order they were recorded."""
    versions = store.resolve(ref)
    if not versions:
        raise UsageError(
            f"{ref!r} names no record or bag in the store {store.root}",
            hint="give a record identifier, a bag name or a store path <name>/v<N>; list them with stook ls",
        )
    identifier = versions[0].identifier
    paths = {b.path for b in store.versions(identifier)}
    events = [
        e for e in store.ledger.events()
        if e.identifier == identifier or (e.identifier is None and e.bag in paths)
    ]
    return identifier, events


def iter_lines(result: AuditResult, *, quiet: bool = False) -> Iterator[str]:
    """The human report: failures first (each problem named), then recoveries, then totals."""
    for b in sorted(result.failures, key=lambda b: b.bag):
        what = f"{b.identifier} v{b.version}" if b.identifier else "(not in the ledger)"
        yield f"{b.status.upper():<8} {b.bag}  {what}"
        if b.status in ("failed", "missing") and b.last_intact:
            when = "at ingest, " if b.previous_check is None or b.last_intact == b.created else ""
            yield f"         last seen intact: {when}{b.last_intact}"
        for p in b.problems:
            where = "" if p.path and p.message.startswith(p.path) else f"{p.path or b.bag}: "
            yield f"  {p.kind:<14} {where}{p.message}"
    if quiet:
        return
    for b in sorted((b for b in result.bags if b.recovered), key=lambda b: b.bag):
        yield (f"RECOVERED {b.bag}  {b.identifier} v{b.version} (failed at {b.previous_check},"
               " intact now)")
    s = result.summary()
    rate = human_size(int(s["bytes_per_second"])) + "/s"
    yield (f"audit: {s['checked']} bags checked, {human_size(s['bytes_hashed'])} hashed;"
           f" {s['ok']} ok, {s['failed']} failed, {s['missing']} missing, {s['unknown']} unknown,"
           f" {s['recovered']} recovered, {s['skipped']} skipped (not due),"
           f" {s['deferred']} deferred (over --limit)"
           + (f", {s['errors']} could not be checked" if s["errors"] else ""))
    yield (f"       {s['elapsed']:.2f} s, {rate}, {s['bags_per_second']:.1f} bags/s"
           f" on {s['executor']}")
    if result.mode == "fast":
        yield ("       note: --fast: structure, completeness and Payload-Oxum only;"
               " checksums were NOT verified")
    if result.interrupted:
        yield ("       interrupted: the verdicts above are recorded; run stook audit again to"
               " check the rest")
