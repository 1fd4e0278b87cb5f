"""``stook bag`` and ``stook ls`` (``stook events`` lives in :mod:`stook.cli.audit`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

import click

from stook.bagwriter import ALGORITHMS
from stook.cli.base import echo_json, json_option, main, store_option


@main.command()
@click.argument("record", type=click.Path(path_type=Path))
@click.option(
    "--text",
    "texts",
    multiple=True,
    type=click.Path(path_type=Path),
    help="A UTF-8 text of the document to add as data/text.txt (repeatable).",
)
@click.option(
    "--file",
    "files",
    multiple=True,
    type=click.Path(path_type=Path),
    help="An attachment to keep byte for byte under data/files/ (repeatable).",
)
@store_option
@click.option(
    "--algorithm",
    "algorithms",
    multiple=True,
    type=click.Choice(ALGORITHMS, case_sensitive=False),
    help="Add a manifest in this algorithm besides sha512 (repeatable).",
)
@click.option(
    "--organization",
    "source_organization",
    envvar="STOOK_ORGANIZATION",
    help="Source-Organization for bag-info.txt (or $STOOK_ORGANIZATION).",
)
@click.option("--as-new-version", is_flag=True,
              help="Store the record even though another source supplied it (a harvest, a receive) "
              "as its next version; the record keeps its source.")
@click.option(
    "--drop",
    "drop",
    multiple=True,
    metavar="FILE",
    help="A file of the previous version to leave out of this one on purpose: its data/ path or "
    "its content path (repeatable). Recorded as a deletion event.",
)
@click.option(
    "--drop-missing",
    is_flag=True,
    help="Leave out every file of the previous version this one lacks (each recorded as a deletion event).",
)
@json_option
def bag(
    record: Path,
    texts: tuple[Path, ...],
    files: tuple[Path, ...],
    store_path: Path,
    algorithms: tuple[str, ...],
    source_organization: str | None,
    as_new_version: bool,
    drop: tuple[str, ...],
    drop_missing: bool,
    as_json: bool,
) -> None:
    """Validate RECORD and store it with its text and files as a BagIt 1.0 bag.

    Files listed in the record's `content` are read relative to the record file;
    a size, sha512 or sha256 declared there must match the file. Prints the bag's
    path. An unchanged record makes no new bag; a changed one makes a new version
    beside the earlier ones, which are never touched. A new version must keep every
    file of the previous one, unless `--drop FILE` or `--drop-missing` says so.
    Exit 1 when the record or a file is refused (every problem is listed), 2 when
    something cannot be read.

    \b
    stook bag examples/wilson-115179/record.yaml --store bags
    stook bag my-record.yaml --text translation.txt --file scan-001.tif --algorithm sha256
    stook bag my-record.yaml --drop files/old-scan.tif
    """
    from stook.errors import ContentMismatch, FilesDropped, RecordInvalid
    from stook.manual import ManualBagOptions, bag_manual_record

    options = ManualBagOptions(
        texts=texts,
        files=files,
        algorithms=algorithms or ("sha512",),
        source_organization=source_organization,
        drop=drop,
        drop_missing=drop_missing,
        as_new_version=as_new_version,
    )
    try:
        result = bag_manual_record(store_path, record, options)
    except (RecordInvalid, ContentMismatch) as exc:
        _refused(exc, exc.problems, as_json)
    except FilesDropped as exc:
        flags = " ".join(f"--drop {path}" for path in exc.missing)
        exc.hint = f"add each back, or leave it out on purpose: {flags}, or --drop-missing for all"
        raise
    if as_json:
        echo_json(result.to_dict())
    elif result.status == "unchanged":
        click.echo(
            f"unchanged: {result.bag.identifier} is already stored as version "
            f"{result.bag.version}; nothing written",
            err=True,
        )
        click.echo(result.path)
    else:
        line = f"{result.status}: {result.bag.identifier} version {result.bag.version}"
        if result.dropped:
            line += f" (left out of it on purpose: {', '.join(result.dropped)})"
        click.echo(line, err=True)
        click.echo(result.path)


def _refused(error: Any, problems: list[Any], as_json: bool) -> NoReturn:
    """Every problem of a refused record, as ``stook validate`` lists them; then exit."""
    from stook.cli.records import problem_lines

    if as_json:
        echo_json(error.to_dict())
    click.echo(f"error: {error}", err=True)
    for line in problem_lines(problems):
        click.echo(line, err=True)
    raise SystemExit(error.exit_code)


@main.command(name="ls")
@store_option
@click.option("--latest", is_flag=True, help="Only the newest version of each record.")
@json_option
def list_bags(store_path: Path, latest: bool, as_json: bool) -> None:
    """List the bags in the store: identifier, version, created, size, path.

    \b
    stook ls --store bags --latest
    """
    from stook.bagwriter import human_size
    from stook.store import Store

    with Store.open(store_path) as store:
        bags = store.ledger.bags(latest_only=latest)
    if as_json:
        echo_json([b.to_dict() for b in bags])
        return
    if not bags:
        click.echo("the store holds no bags yet", err=True)
        return
    for b in bags:
        click.echo(f"{b.identifier}\tv{b.version}\t{b.created[:19]}Z\t{human_size(b.size)}\t{b.path}")
