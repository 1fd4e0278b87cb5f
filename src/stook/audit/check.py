"""One bag's check: verified in a worker (the fast path first, then the engine), judged
against its history and the ledger, and recorded as a PREMIS fixity event."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from stook import AGENT
from stook.audit.model import AuditMode, BagAudit, FileProblem, FixHistory
from stook.errors import NotABag
from stook.executor import JobFailed
from stook.ledger import BagVersion, Event, EventRow, event_row, new_uuid, parse_ingest, utc_now
from stook.verify import Finding, VerifyResult, verify_bag
from stook.verify.quick import plainly_intact

#: How many failed files an event's detail names before "and N more" (data has them all).
DETAIL_NAMED = 50
#: Cap on findings kept in one event's data, so one wrecked bag cannot bloat the ledger.
DATA_PROBLEMS_MAX = 10_000

MANIFEST = "manifest-sha512.txt"

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


class BagTask(NamedTuple):
    """One bag to verify; sent to a worker process or Dask worker, so plain data only (a
    tuple: an audit sends thousands, and a tuple is made and pickled at a fraction of the
    cost of a dataclass)."""

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


class PlainCheck(NamedTuple):
    """A worker's answer for a bag the fast path found plainly intact: a few numbers. An audit
    of small bags receives thousands of these; as a tuple each travels back to the parent
    at a fifth of the cost of a :class:`BagCheck` and its :class:`VerifyResult`."""

    elapsed: float
    version: str  # BagIt-Version
    files_checked: int
    bytes_hashed: int
    algorithms: tuple[str, ...]
    found_oxum: str  # payload bytes.files found on disk
    manifest: dict[str, str] | None = None  # as in BagCheck
    ledger_problems: tuple[FileProblem, ...] | None = None  # as in BagCheck


#: What a worker answers for one bag.
Answer = BagCheck | PlainCheck


# -- the worker side ---------------------------------------------------------------------


def check_bag(task: BagTask) -> Answer:
    """Verify one bag (runs in a worker). Only reads; an unreadable bag is an answer, not a crash.

    A full check of a plain bag goes the fast path (:mod:`stook.verify.quick`) first; anything
    it does not vouch for, damage included, is checked again by the engine, which names it.
    """
    started = time.perf_counter()
    if task.mode == "full" and task.threads == 1:
        intact = plainly_intact(task.path)
        if intact is not None:
            manifest, ledger_problems = _against_ingest(task, intact.payload_digests.get("sha512"))
            return PlainCheck(
                time.perf_counter() - started, intact.version, intact.files_checked,
                intact.bytes_hashed, intact.algorithms, intact.payload_oxum, manifest, ledger_problems,
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


def check_bags(job: tuple[BagTask, ...]) -> list[Answer]:
    """Verify a batch of bags in one worker round trip (many small bags cost little each)."""
    return [check_bag(task) for task in job]


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
    if result.payload_oxum is not None:
        return result.payload_oxum
    sizes = [o.size for o in result.files
             if o.path.startswith("data/") and o.size is not None and o.status not in ("missing",)]
    return f"{sum(s for s in sizes if s is not None)}.{len(sizes)}"


def judge(
    bag: BagVersion,
    check: Answer | JobFailed[Any],
    mode: AuditMode,
    history: FixHistory,
    ingest: dict[str, str] | None = None,
) -> BagAudit:
    """One bag's verdict from a worker's answer, the bag's fixity history and, for a bag that
    is self-consistent, the sha512 digests the ledger recorded when it was ingested."""
    audit = BagAudit(
        bag=bag.path, identifier=bag.identifier, version=bag.version, status="ok", mode=mode,
        previous_check=history.last_any, previous_outcome=history.last_outcome,
        last_intact=history.last_intact or bag.created, created=bag.created,
    )
    if isinstance(check, JobFailed) or (isinstance(check, BagCheck) and check.error is not None):
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
    if isinstance(check, PlainCheck):
        audit.checksums_verified = True
        audit.files_checked = check.files_checked
        audit.bytes_hashed = check.bytes_hashed
        audit.algorithms = list(check.algorithms)
        audit.problems = (list(check.ledger_problems) if check.ledger_problems is not None
                          else _against_ledger(bag, check.found_oxum, check.manifest, ingest))
        return _conclude(audit, history)
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
    return _conclude(audit, history)


def _conclude(audit: BagAudit, history: FixHistory) -> BagAudit:
    """Failed if anything was found; recovered if the bag failed at its previous check."""
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


def missing_audit(bag: BagVersion, root: Path, mode: AuditMode, history: FixHistory) -> BagAudit:
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


def unknown_audit(rel: str, root: Path, mode: AuditMode, history: FixHistory) -> BagAudit:
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
    how = _how(audit)
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


def _how(audit: BagAudit) -> str:
    if audit.mode == "full":
        return (f"{', '.join(audit.algorithms) or 'no'} checksums of {audit.files_checked} files"
                f" ({audit.bytes_hashed} bytes) verified")
    return "fast check of structure, completeness and Payload-Oxum; checksums NOT verified"


_JSON_TEXT: dict[Any, str] = {}  # a mode or a list of algorithms -> its JSON text


def _json_text(value: str | tuple[str, ...]) -> str:
    text = _JSON_TEXT.get(value)
    if text is None:
        shown = list(value) if isinstance(value, tuple) else value
        text = _JSON_TEXT[value] = json.dumps(shown, ensure_ascii=False)
    return text


def fix_event_row(audit: BagAudit) -> EventRow:
    """``event_row(fix_event(audit))``: the fixity event as the row the ledger stores.

    An intact bag's row (nearly every row of an audit, thousands per run) is written
    straight from its values, its data as the text ``json.dumps(..., sort_keys=True)``
    makes, without building the event and its data first; tests hold the two equal.
    Anything else goes through :func:`fix_event`.
    """
    if audit.status != "ok" or audit.recovered or audit.problems:
        return event_row(fix_event(audit))
    data = (
        f'{{"algorithms": {_json_text(tuple(audit.algorithms))}, "bytes_hashed": {int(audit.bytes_hashed)},'
        f' "checksums_verified": {"true" if audit.checksums_verified else "false"},'
        f' "files_checked": {int(audit.files_checked)}, "mode": {_json_text(audit.mode)},'
        f' "problems": [], "status": "ok", "warnings": {len(audit.warnings)}}}'
    )
    return (new_uuid(), "fix", utc_now(), audit.identifier, audit.version, audit.bag, AGENT, "suc",
            f"bag {audit.bag} intact: {_how(audit)}", data)
