"""``stook audit``, ``stook history`` and ``stook events``: fixity audits and the event log."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stook.cli.base import F, echo_json, json_option, main, progress, store_option
from stook.cli.render import audit_lines
from stook.errors import ReadOnlyStore, UsageError
from stook.ledger import EVENT_TYPES

if TYPE_CHECKING:
    from stook.audit import BagAudit
    from stook.ledger import Event

FORMATS = ("text", "json", "jsonl", "premis")


@main.command()
@store_option
@click.option("--max-age", "max_age", metavar="DURATION",
              help="Skip bags checked more recently than this (30d, 12h, 90m); they are reported as skipped.")
@click.option("--limit", type=click.IntRange(min=1), metavar="N",
              help="Check at most N bags this run (never-checked and oldest-checked first).")
@click.option("--workers", type=click.IntRange(min=1), metavar="N",
              help="Local worker processes (default: the number of CPU cores).")
@click.option("--scheduler", metavar="ADDRESS",
              help="Send the work to a Dask distributed scheduler, e.g. tcp://10.0.0.5:8786"
              " (needs stook[dask]).")
@click.option("--fast", is_flag=True,
              help="Check structure, completeness and Payload-Oxum only; checksums are NOT verified.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the full result as JSON to FILE.")
@click.option("--quiet", "-q", is_flag=True, help="Print only failures (for cron mail).")
@click.option("--read-only", is_flag=True,
              help="Only report: record no fixity events (for a store on read-only media or a copy).")
@json_option
def audit(
    store_path: Path,
    max_age: str | None,
    limit: int | None,
    workers: int | None,
    scheduler: str | None,
    fast: bool,
    report_path: Path | None,
    quiet: bool,
    read_only: bool,
    as_json: bool,
) -> None:
    """Verify the bags of the store and record a PREMIS fixity event for each.

    Bags never checked come first, then those checked longest ago. Names every
    corrupted (with algorithm, expected and found digest), truncated, missing,
    unexpected or unreadable file and every edited tag file; bags the ledger
    knows that are gone; bag directories the ledger never ingested; and bags
    that failed before and pass now (recovered). Never changes a bag; each
    failed or missing bag ends with the command that restores it from a
    partner's copy (stook repair).

    Exit status: 0 all checked bags intact, 1 any failed, missing or unknown
    bag, 2 usage or environment error, 130 interrupted (verdicts so far are kept).
    A read-only store is audited with --read-only: the same report, no events.

    \b
    stook audit --store bags --max-age 30d --limit 5000 --quiet
    stook audit --store bags --scheduler tcp://10.0.0.5:8786 --report audit.json
    """
    from stook.audit import AuditOptions, parse_duration, run_audit
    from stook.store import Store

    options = AuditOptions(
        max_age=parse_duration(max_age) if max_age else None,
        limit=limit, workers=workers, scheduler=scheduler, fast=fast, record=not read_only,
    )
    with Store.open(store_path, read_only=True if read_only else None) as store, \
            progress(None, "audit", "bag") as advance:

        def seen(_audit: BagAudit) -> None:
            advance(1)

        try:
            result = run_audit(store, options, on_result=seen)
        except ReadOnlyStore as exc:
            raise ReadOnlyStore(str(exc), path=exc.path,
                                hint="use --read-only to only report, without recording events") from exc
    if report_path is not None:
        try:
            report_path.write_text(
                json.dumps(result.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
        except OSError as exc:
            raise UsageError(f"{report_path}: cannot write the report: {exc.strerror}",
                             path=report_path) from exc
    if as_json:
        echo_json(result.to_dict())
    else:
        for line in audit_lines(result, quiet=quiet):
            click.echo(line)
    if result.interrupted:
        click.echo("interrupted: every verdict above is recorded in the ledger", err=True)
    if result.exit_code:
        raise SystemExit(result.exit_code)


def _format_option(func: F) -> F:
    func = click.option(
        "--format", "fmt", type=click.Choice(FORMATS), default=None,
        help="text (default), json, jsonl (one event per line) or premis (PREMIS 3.0 XML).",
    )(func)
    return json_option(func)


def _emit(found: Sequence[Event], fmt: str | None, as_json: bool) -> None:
    if as_json and fmt not in (None, "json"):
        raise UsageError(f"--json is short for --format json; it cannot be combined with --format {fmt}")
    fmt = "json" if as_json else (fmt or "text")
    if fmt == "json":
        echo_json([e.to_dict() for e in found])
    elif fmt == "jsonl":
        for e in found:
            click.echo(json.dumps(e.to_dict(), ensure_ascii=False, sort_keys=True))
    elif fmt == "premis":
        from stook.premis import write_premis

        out = sys.stdout.buffer
        write_premis(out, found)
        out.flush()
    else:
        for e in found:
            target = e.identifier or e.bag or "-"
            if e.identifier and e.version is not None:
                target += f" v{e.version}"
            click.echo(f"{e.datetime[:19]}Z\t{e.type}\t{e.outcome}\t{target}\t{e.detail}")
            if e.data and e.outcome != "suc":
                click.echo("\t" + json.dumps(e.data, ensure_ascii=False))


@main.command()
@store_option
@click.option("--id", "identifier", help="Only events about this record identifier.")
@click.option("--type", "types", multiple=True, type=click.Choice(sorted(EVENT_TYPES)),
              help="Only events of this PREMIS type (repeatable).")
@_format_option
def events(store_path: Path, identifier: str | None, types: tuple[str, ...], fmt: str | None,
           as_json: bool) -> None:
    """Print the store's PREMIS event log, oldest first.

    \b
    stook events --store bags --type fix --format jsonl
    stook events --store bags --format premis > events.premis.xml
    """
    from stook.store import Store

    with Store.open(store_path) as store:
        found = list(store.ledger.events(identifier=identifier, types=types or None))
    _emit(found, fmt, as_json)


@main.command()
@click.argument("ref", metavar="ID")
@store_option
@_format_option
def history(ref: str, store_path: Path, fmt: str | None, as_json: bool) -> None:
    """Show every event of one record (all its versions), in the order they happened.

    ID is a record identifier, a bag name, a store path <name>/v<N> or a label <name>.v<N>.

    \b
    stook history 'https://example.org/records/115179' --store bags
    """
    from stook.audit import record_history
    from stook.store import Store

    with Store.open(store_path) as store:
        identifier, found = record_history(store, ref)
    if not found and (fmt or "text") == "text" and not as_json:
        click.echo(f"no events recorded for {identifier}", err=True)
    _emit(found, fmt, as_json)


__all__ = ["audit", "events", "history"]
