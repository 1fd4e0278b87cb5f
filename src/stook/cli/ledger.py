"""``stook ledger check`` and ``stook ledger rebuild``."""

from __future__ import annotations

from pathlib import Path

import click

from stook.cli.base import echo_json, json_option, main, progress, store_option


@main.group()
def ledger() -> None:
    """Check the store's ledger against its bags, or rebuild it from them.

    \b
    stook ledger check --store bags
    stook ledger rebuild --store bags
    """


@ledger.command("check")
@store_option
@json_option
def check_command(store_path: Path, as_json: bool) -> None:
    """Run SQLite's integrity check on the ledger and compare it with the bags on disk.

    Reports damage, bag directories the ledger does not know, versions it records
    that are gone, unfinished versions, and a ledger older than the store. Exit 0
    when the ledger and the disk agree, 1 when they do not.

    \b
    stook ledger check --store bags
    """
    from stook.store.rebuild import check_ledger

    if not store_path.is_dir():
        raise click.UsageError(f"{store_path}: no such store directory")
    report = check_ledger(store_path)
    if as_json:
        echo_json(report.to_dict())
    else:
        click.echo(f"{store_path}: {report.versions_in_ledger} versions in the ledger, "
                   f"{report.bag_dirs_on_disk} bag directories on disk")
        if report.unreadable:
            click.echo(f"  the ledger cannot be read: {report.unreadable}")
        for problem in report.integrity[:20]:
            click.echo(f"  damaged: {problem}")
        if report.behind:
            click.echo(f"  the ledger knows {report.versions_in_ledger} versions but the store held "
                       f"{report.noted_versions}: it is older than the bags")
        for rel in report.unknown[:50]:
            click.echo(f"  not in the ledger: {rel}")
        for rel in report.missing[:50]:
            click.echo(f"  gone from disk: {rel} (stook audit reports it; restore it from a replica)")
        for rel in report.pending:
            click.echo(f"  unfinished: {rel} (finished or forgotten when the store is next opened)")
        if report.ok:
            extra = " (apart from missing bags)" if report.missing else ""
            click.echo(f"the ledger and the disk agree{extra}")
        else:
            click.echo(f"the ledger needs rebuilding: stook ledger rebuild --store {store_path}", err=True)
    if not report.ok:
        raise SystemExit(1)


@ledger.command("rebuild")
@store_option
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes verifying bags (default: one per core).")
@json_option
def rebuild_command(store_path: Path, workers: int | None, as_json: bool) -> None:
    """Rebuild the ledger from the bags in the store.

    Every bag directory is verified and entered with its identifier, version,
    fingerprint and digests, read from the bag. What the old ledger still holds
    (events, harvest checkpoints, sources) is kept; versions known only from the
    disk get events that say their history was rebuilt. The old ledger file is kept
    beside the new one as stook-ledger.sqlite.replaced-<time>.

    \b
    stook ledger rebuild --store bags
    """
    import os

    from stook.store.rebuild import rebuild_ledger

    if not store_path.is_dir():
        raise click.UsageError(f"{store_path}: no such store directory")
    with progress(None, "rebuild", "bag") as advance:
        result = rebuild_ledger(store_path, workers=workers or os.cpu_count() or 1, progress=advance)
    if as_json:
        echo_json(result.to_dict())
        return
    click.echo(f"rebuilt {store_path}: {result.bags} versions ({result.kept} as the old ledger recorded "
               f"them, {result.rebuilt} from the disk alone, {len(result.missing)} gone from disk); "
               f"{result.old_events} old events kept")
    if result.old_ledger:
        click.echo(f"the old ledger is kept as {store_path / result.old_ledger}")
    if result.old_unreadable:
        click.echo(f"parts of the old ledger could not be read: {result.old_unreadable}", err=True)
    for line in result.skipped:
        click.echo(f"  not entered: {line}", err=True)
    for line in result.failed_fixity:
        click.echo(f"  damaged: {line} (entered; stook audit reports it)", err=True)
