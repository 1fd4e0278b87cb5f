"""The work of one record version before the store commits it: check, compare, build.

Everything here is a pure function of its job (no ledger, no lock), so it runs in this
process or in a worker process alike: the store sends batches of jobs to worker
processes when there are several records, and keeps for itself what must happen in
one place (looking up versions, the sync, the renames, the ledger).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stook.bagwriter import BuiltBag, PayloadItem, payload_sha512, remove_tree, write_bag
from stook.errors import BagError, ContentError, Problem, StookError
from stook.names import RECORD_FILE
from stook.record import canonical_json
from stook.schema import validate_record
from stook.workers import ProcessPool

if TYPE_CHECKING:
    from concurrent.futures import Future



@dataclass(frozen=True)
class BuildJob:
    """One record version to build into ``tmp`` unless it matches ``previous_fingerprint``."""

    record: dict[str, Any]
    payload: Sequence[PayloadItem]
    algorithms: Sequence[str]
    source_organization: str | None
    label: str
    tmp: Path
    previous_fingerprint: str | None
    new_parent: bool = False  # ``tmp``'s parent is to be created too (a first version's name dir)


@dataclass
class BuildOutcome:
    """What became of a job: invalid (problems), unchanged, failed (error) or built."""

    fingerprint: str = ""
    problems: list[Problem] = field(default_factory=list)
    unchanged: bool = False
    built: BuiltBag | None = None
    error: StookError | None = None


# How a record was fetched, not what it says: a re-harvest that differs only here is no change.
CAPTURE_CIRCUMSTANCES = ("retrieved_at", "redirects")


def stable_record_bytes(record: dict[str, Any], record_bytes: bytes | None = None) -> bytes:
    """The record's canonical JSON without the circumstances of its capture (its retrieval
    time, the redirects its provider answered with), which alone are no change.

    ``record_bytes`` (the record's canonical JSON) is reused when there are none.
    """
    source = record.get("record_source")
    if isinstance(source, dict) and any(key in source for key in CAPTURE_CIRCUMSTANCES):
        stable = dict(record)  # shallow: only serialized, never changed
        stable["record_source"] = {k: v for k, v in source.items() if k not in CAPTURE_CIRCUMSTANCES}
        return canonical_json(stable)
    return record_bytes if record_bytes is not None else canonical_json(record)


def fingerprint_of(stable_bytes: bytes, payload_sha512: dict[str, str]) -> str:
    """What makes two versions the same: the stable record bytes and the other files' digests."""
    digest = hashlib.sha256(stable_bytes)
    for path, value in sorted(payload_sha512.items()):
        if path != "data/" + RECORD_FILE:
            digest.update(f"\n{path}\0{value}".encode())
    return digest.hexdigest()


def record_groups(record: dict[str, Any]) -> list[str]:
    source = record.get("record_source") or {}
    return [s for s in source.get("set_specs") or [] if isinstance(s, str) and s]


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


def build(job: BuildJob) -> BuildOutcome:
    """Validate, fingerprint and (if changed) write one bag into ``job.tmp``.

    Errors come back in the outcome rather than raised, so a batch run in a worker
    reports every record and the caller decides (it removes whatever was built).
    """
    problems = validate_record(job.record)
    if problems:
        return BuildOutcome(problems=problems)
    try:
        record_bytes = canonical_json(job.record)
        stable_bytes = stable_record_bytes(job.record, record_bytes)
        planned = None
        if job.previous_fingerprint is not None:  # a first version is new whatever its files
            digests = {"data/" + item.path: payload_sha512(item) for item in job.payload}
            planned = fingerprint_of(stable_bytes, digests)
            if planned == job.previous_fingerprint:
                return BuildOutcome(fingerprint=planned, unchanged=True)
        payload = [PayloadItem(RECORD_FILE, data=record_bytes), *job.payload]
        info = bag_info_fields(job.record, job.label, job.source_organization)
        try:
            if job.new_parent:
                os.mkdir(job.tmp.parent)
        except OSError as exc:
            raise BagError(f"{job.tmp.parent}: cannot create: {exc.strerror or exc}", path=job.tmp) from exc
        built = write_bag(job.tmp, payload, info, job.algorithms)
        written = fingerprint_of(stable_bytes, built.payload_digests["sha512"])
        if planned is not None and written != planned:
            raise ContentError(
                f"record {job.record['identifier']!r}: a payload file changed while it was being"
                " bagged; bag it again once the files are no longer being written",
                record_id=job.record["identifier"],
            )
    except StookError as exc:
        remove_tree(job.tmp)  # the caller removes the rest of its temporary directory
        return BuildOutcome(error=exc)
    return BuildOutcome(fingerprint=written, built=built)


def build_batch(jobs: Sequence[BuildJob]) -> list[BuildOutcome]:
    """Several jobs in one worker round trip: small records cost little each."""
    return [build(job) for job in jobs]


def start_workers(count: int) -> ProcessPool:
    """A pool of ``count`` build workers, started now."""
    pool = ProcessPool(count)
    pool.start()
    return pool


class Builds:
    """Jobs handed to the build workers (or already built here): wait for them, or ask."""

    def __init__(self, futures: list[Future[list[BuildOutcome]]] | None = None,
                 done: list[BuildOutcome] | None = None) -> None:
        self._futures = futures or []
        self._done = done

    def ready(self) -> bool:
        """Whether every job has finished, so :meth:`outcomes` will not wait."""
        return self._done is not None or all(f.done() for f in self._futures)

    def outcomes(self) -> list[BuildOutcome]:
        """The outcomes in job order, once every job has finished."""
        if self._done is not None:
            return self._done
        try:
            return [outcome for future in self._futures for outcome in future.result()]
        finally:
            from concurrent.futures import wait

            wait(self._futures)  # none still writing, even when one failed


def submit_builds(jobs: Sequence[BuildJob], pool: ProcessPool | None, workers: int) -> Builds:
    """Start the jobs and return at once (with a pool), so the caller can commit other work
    meanwhile; without a pool, or for a single job, they run here, now."""
    if pool is None or len(jobs) < 2:
        return Builds(done=build_batch(jobs))
    size = max(1, min(16, -(-len(jobs) // (workers * 2))))
    return Builds([pool.submit(build_batch, jobs[i : i + size]) for i in range(0, len(jobs), size)])
