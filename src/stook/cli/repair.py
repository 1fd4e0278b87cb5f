"""``stook repair``: replace a stored bag's damaged files from a partner's copy."""

from __future__ import annotations

from pathlib import Path

import click

from stook.cli.base import ByteSize, echo_json, json_option, main, store_option
from stook.cli.render import repair_line
from stook.transfer.sink import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, DEFAULT_MAX_RATIO


@main.command("repair")
@click.argument("ref", metavar="ID")
@click.option("--version", "version", type=click.IntRange(min=1), metavar="N",
              help="The version to repair (default: the latest).")
@click.option("--from", "source", required=True, type=click.Path(path_type=Path),
              help="The partner's copy: a bag directory, or an export archive (.tar, .tar.gz, .zip).")
@store_option
@click.option("--max-bytes", type=ByteSize(), default=DEFAULT_MAX_BYTES, show_default=True,
              help="Most bytes an archive may extract to.")
@click.option("--max-files", type=click.IntRange(min=1), default=DEFAULT_MAX_FILES, show_default=True,
              help="Most files and directories an archive may hold.")
@click.option("--max-ratio", type=click.FloatRange(min=1), default=DEFAULT_MAX_RATIO, show_default=True,
              help="Most bytes an archive may write per compressed byte (bomb guard).")
@json_option
def repair_command(ref: str, version: int | None, source: Path, store_path: Path, max_bytes: int,
                   max_files: int, max_ratio: float, as_json: bool) -> None:
    """Replace the damaged or missing files of a stored bag from a partner's copy.

    Only files that differ from what the store recorded are replaced, and only by
    copies whose digests equal it: payload files by the sha512 digests the ledger
    recorded at ingest, tag files by the bag's own tag manifest. Intact files are
    never touched. The repaired bag is built beside the stored one, verified in
    full, then swapped in at once. The damage found, the recovery and the
    repaired bag's fixity are recorded as PREMIS events. A copy that does not
    match is refused, file by file, and nothing changes (exit 1).

    ID is a record identifier, a bag name or a store path <name>/v<N>. An archive
    is unpacked inside the store with the same safety rules as stook receive.

    \b
    stook repair wcda:115179 --from partner/wcda-115179-00e6896c9b37d041.v1.tar --store bags
    stook repair wcda:115179 --version 2 --from /mnt/replica/wcda-115179-00e6896c9b37d041/v2 --json
    """
    from stook.repair import RepairOptions, repair
    from stook.store import Store
    from stook.transfer.sink import Limits

    options = RepairOptions(limits=Limits(max_bytes, max_files, max_ratio))
    with Store.open(store_path) as store:
        result = repair(store, ref, version, source, options)
    if as_json:
        echo_json(result.to_dict())
    else:
        click.echo(repair_line(result), err=True)
        for r in result.replaced:
            click.echo(f"  replaced: {r.phrase()}", err=True)
        for p in result.problems:
            click.echo(f"  error: {p}", err=True)
        for p in result.warnings:
            click.echo(f"  warning: {p}", err=True)
        if result.status != "refused":
            click.echo(store_path / result.bag)
    if result.exit_code:
        raise SystemExit(result.exit_code)


__all__ = ["repair_command"]
