"""How the command line shows results to a person: one place for every text report.

The library returns result objects (and their ``to_dict`` for ``--json``); turning them
into lines is the command line's job, done here.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from stook.bagwriter import PROFILE_IDENTIFIER, human_size

if TYPE_CHECKING:  # each command imports only what it shows
    from stook.audit.model import AuditResult
    from stook.harvest.config import HarvestSummary
    from stook.repair.model import RepairResult
    from stook.transfer.receive import ReceiveResult


def audit_lines(result: AuditResult, *, quiet: bool = False) -> Iterator[str]:
    """The human report: failures first (each problem named), then recoveries, then totals."""
    from stook.audit.report import next_step

    for b in sorted(result.failures, key=lambda b: b.bag):
        what = f"{b.identifier} v{b.version}" if b.identifier else "(not in the ledger)"
        yield f"{b.status.upper():<8} {b.bag}  {what}"
        if b.status in ("failed", "missing") and b.last_intact:
            when = "at ingest, " if b.previous_check is None or b.last_intact == b.created else ""
            yield f"         last seen intact: {when}{b.last_intact}"
        for p in b.problems:
            where = "" if p.path and p.message.startswith(p.path) else f"{p.path or b.bag}: "
            yield f"  {p.kind:<14} {where}{p.message}"
        step = next_step(b, result.store)
        if step:
            yield f"  next step:     {step}"
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


def receive_line(result: ReceiveResult) -> str:
    """One line for people: what happened to this source."""
    if result.status == "rejected":
        return (f"rejected: {result.source}: {len(result.errors)} problem(s); "
                "nothing was added to the store")
    if result.status == "unchanged":
        return (f"unchanged: {result.identifier} from {result.source} is already stored as version "
                f"{result.version}; nothing added")
    conform = ("conforms to " if result.profile_conforms else "does not conform to ") + (
        "the stook profile" if result.profile == PROFILE_IDENTIFIER else f"profile {result.profile}")
    return (
        f"received: {result.identifier} version {result.version} ({result.status}) from {result.source}: "
        f"{result.files} files, {human_size(result.bytes)}, valid BagIt {result.bagit_version or '?'}, "
        f"{', '.join(result.algorithms)} verified, {conform}"
    )


def repair_line(result: RepairResult) -> str:
    """One line for people: what happened."""
    what = f"{result.identifier} version {result.version} ({result.bag})"
    if result.status == "repaired":
        return (f"repaired: {what}: {len(result.replaced)} file(s) replaced from {result.source}, "
                f"{result.kept} intact file(s) untouched; the bag verifies in full")
    if result.status == "intact":
        return f"intact: {what}: every file matches its recorded digest; nothing to repair"
    return (f"refused: {what}: {len(result.problems)} problem(s); nothing was changed "
            "(bag and ledger as before)")


def harvest_line(summary: HarvestSummary) -> str:
    """One line for people: what the harvest did."""
    window = ""
    if summary.window_from or summary.window_until:
        window = f" from {summary.window_from or 'the start'} until {summary.window_until or 'now'}"
    state = "complete" if summary.complete else "stopped before the end (run again to continue)"
    parts = [
        f"harvest of {summary.base_url} ({summary.metadata_prefix}"
        + (f", set {summary.set_spec}" if summary.set_spec else "") + f"){window} {state}:",
        f"{summary.new} new, {summary.changed} changed, {summary.unchanged} unchanged, "
        f"{summary.deleted} deleted, {summary.invalid} invalid;",
        f"{summary.records} records in {summary.pages} pages, {summary.elapsed:.1f} s "
        f"({summary.rate:.1f} records/s)",
    ]
    extras = []
    if summary.illegal_chars_removed:
        extras.append(f"{summary.illegal_chars_removed} illegal XML characters removed")
    if summary.retries:
        extras.append(f"{summary.retries} retries")
    if summary.resumed:
        extras.append("resumed from a checkpoint")
    if summary.window_restarts:
        extras.append(f"window restarted {summary.window_restarts}x after an expired token")
    if summary.collisions:
        extras.append(f"{summary.collisions} records of other sources quarantined, not bagged or "
                      "tombstoned")
    if summary.taken_over:
        extras.append(f"{summary.taken_over} records of other sources adopted")
    if summary.files_fetched or summary.files_skipped:
        extras.append(f"{summary.files_fetched} files fetched, {summary.files_skipped} skipped")
    if extras:
        parts.append("(" + "; ".join(extras) + ")")
    return " ".join(parts)
