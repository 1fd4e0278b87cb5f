"""``stook bag`` and ``stook ls`` (``stook events`` lives in :mod:`stook.cli.audit`)."""

from __future__ import annotations

from pathlib import Path

import click

from stook.bagwriter import ALGORITHMS, human_size
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
@json_option
def bag(
    record: Path,
    texts: tuple[Path, ...],
    files: tuple[Path, ...],
    store_path: Path,
    algorithms: tuple[str, ...],
    source_organization: str | None,
    as_json: bool,
) -> None:
    """Validate RECORD and store it with its text and files as a BagIt 1.0 bag.

    Files listed in the record's `content` are read relative to the record file.
    Prints the bag's path. An unchanged record makes no new bag; a changed one
    makes a new version beside the earlier ones, which are never touched.

    \b
    stook bag examples/wilson-115179/record.yaml --store bags
    """
    from stook.manual import ManualBagOptions, manual_bag_request
    from stook.store import Store

    options = ManualBagOptions(
        texts=texts,
        files=files,
        algorithms=algorithms or ("sha512",),
        source_organization=source_organization,
    )
    request = manual_bag_request(record, options)
    with Store.open(store_path, create=True) as store:
        result = store.add(request)
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
        click.echo(f"{result.status}: {result.bag.identifier} version {result.bag.version}", err=True)
        click.echo(result.path)


@main.command(name="ls")
@store_option
@click.option("--latest", is_flag=True, help="Only the newest version of each record.")
@json_option
def list_bags(store_path: Path, latest: bool, as_json: bool) -> None:
    """List the bags in the store: identifier, version, created, size, path.

    \b
    stook ls --store bags --latest
    """
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
