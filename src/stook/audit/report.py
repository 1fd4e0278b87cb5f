"""What an audit shows a person: one record's history, and the report's lines."""

from __future__ import annotations

import shlex
from collections.abc import Iterator

from stook.audit.model import AuditResult, BagAudit
from stook.bagwriter import human_size
from stook.errors import UsageError
from stook.ledger import Event
from stook.store import Store


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


def next_step(bag: BagAudit, store: str) -> str | None:
    """What to run to put a failed or missing bag right: a repair from a partner's copy."""
    if bag.status not in ("failed", "missing") or bag.identifier is None or bag.version is None:
        return None
    return (f"restore with: stook repair {shlex.quote(bag.identifier)} --version {bag.version}"
            f" --from <partner copy> --store {shlex.quote(store)}")
