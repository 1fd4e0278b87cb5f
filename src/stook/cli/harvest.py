"""``stook harvest``: OAI-PMH into the bag store."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from stook.bagwriter import ALGORITHMS
from stook.cli.base import echo_json, json_option, main, show_progress, store_option
from stook.cli.render import harvest_line
from stook.harvest.files import DEFAULT_MAX_FILE_SIZE
from stook.harvest.netpolicy import DEFAULT_MAX_RESPONSE_BYTES

if TYPE_CHECKING:
    from stook.harvest import PageProgress


@contextmanager
def _page_bar() -> Iterator[Callable[[PageProgress], None] | None]:
    """A records bar (total = completeListSize when the provider gives it) on a terminal."""
    if not show_progress():
        yield None
        return
    from tqdm import tqdm

    # one redraw per page (pages are seldom more than a few per second)
    with tqdm(desc="harvest", unit="rec", file=sys.stderr, leave=False, mininterval=0, miniters=1) as bar:

        def update(progress: PageProgress) -> None:
            if progress.complete_list_size and bar.total != progress.complete_list_size:
                bar.total = progress.complete_list_size
            bar.set_postfix(pages=progress.pages, refresh=False)
            bar.update(progress.records - bar.n)

        yield update


@main.command(name="harvest")
@click.argument("base_url")
@click.option("--prefix", "metadata_prefix", default="oai_dc", show_default=True,
              help="metadataPrefix to harvest. oai_dc, qualified DC, MODS, MARCXML and DataCite get a "
              "full crosswalk whatever their prefix is called; others are kept raw (see --list-formats).")
@click.option("--list-formats", is_flag=True,
              help="Show the formats BASE_URL offers (ListMetadataFormats) and which stook crosswalks "
              "fully; harvest nothing.")
@click.option("--full-text-min-chars", type=click.IntRange(min=1), default=8000, show_default=True,
              help="A description this long, on several lines, is the document's full text (one headed "
              "'Full text:' needs 1000); it goes to data/text.txt and stays a description.")
@click.option("--set", "set_spec", help="Harvest only this set (setSpec).")
@click.option("--from", "from_", metavar="DATE",
              help="Only records changed since DATE (YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ). "
              "Default: the responseDate of the last complete harvest of this source.")
@click.option("--until", metavar="DATE", help="Only records changed up to DATE.")
@store_option
@click.option("--limit", type=click.IntRange(min=1), help="Stop after N records (run again to continue).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=60.0, show_default=True,
              help="Seconds the provider has for each whole answer (connecting, headers and body); "
              "a slower answer is retried like any timeout.")
@click.option("--max-wait", type=click.FloatRange(min=0), default=600.0, show_default=True,
              help="Longest single wait between retries, Retry-After included (seconds).")
@click.option("--max-retries", type=click.IntRange(min=0), default=8, show_default=True,
              help="Retries of one request (connection errors, timeouts, 429, 5xx, broken XML).")
@click.option("--max-response-bytes", type=click.IntRange(min=1024), default=DEFAULT_MAX_RESPONSE_BYTES,
              show_default=True, help="Largest answer read, counted after decompression (gzip bombs stop "
              "here).")
@click.option("--fetch-files", is_flag=True,
              help="Download http(s) files linked from dc:identifier/dc:relation into data/files/.")
@click.option("--max-file-size", type=click.IntRange(min=1), default=DEFAULT_MAX_FILE_SIZE,
              show_default=True, help="Size cap in bytes for --fetch-files.")
@click.option("--allow-private-hosts", is_flag=True,
              help="Let --fetch-files download from loopback, link-local and private addresses (refused by "
              "default, so a record's links cannot reach into this network).")
@click.option("--restart", is_flag=True,
              help="Forget a saved resumption token and harvest the window from its start.")
@click.option("--adopt-existing", is_flag=True,
              help="Records with the same identifiers that another source supplied (hand entry, a "
              "receive, another repository) become this repository's: it may then change and delete "
              "them. Without it they are quarantined, never bagged over or tombstoned.")
@click.option("--algorithm", "algorithms", multiple=True, type=click.Choice(ALGORITHMS, case_sensitive=False),
              help="Add a manifest in this algorithm besides sha512 (repeatable).")
@click.option("--organization", "source_organization", envvar="STOOK_ORGANIZATION",
              help="Source-Organization for bag-info.txt (or $STOOK_ORGANIZATION).")
@json_option
def harvest_command(
    base_url: str,
    metadata_prefix: str,
    list_formats: bool,
    full_text_min_chars: int,
    set_spec: str | None,
    from_: str | None,
    until: str | None,
    store_path: Path,
    limit: int | None,
    timeout: float,
    max_wait: float,
    max_retries: int,
    max_response_bytes: int,
    fetch_files: bool,
    max_file_size: int,
    allow_private_hosts: bool,
    restart: bool,
    adopt_existing: bool,
    algorithms: tuple[str, ...],
    source_organization: str | None,
    as_json: bool,
) -> None:
    """Harvest BASE_URL over OAI-PMH 2.0 into the bag store, one bag per record.

    Run it again to continue an interrupted harvest (from its last checkpoint) or,
    after a complete one, to fetch only what changed since. Invalid records are
    quarantined in <store>/quarantine and make the exit code 1; deleted records are
    logged and their bags kept. A repository may change or delete only the records it
    supplied: the same identifier from another source is quarantined (exit 1) unless
    --adopt-existing.

    \b
    stook harvest https://example.org/oai --store bags
    stook harvest https://example.org/oai --set history --from 2024-01-01 --json
    stook harvest https://example.org/oai --list-formats
    stook harvest https://example.org/oai --prefix mods --store bags
    """
    from stook.crosswalk import CrosswalkOptions
    from stook.harvest import HarvestConfig, harvest
    from stook.store import Store

    if list_formats:
        _print_formats(base_url, timeout, max_retries, max_wait, as_json)
        return
    config = HarvestConfig(
        base_url=base_url,
        metadata_prefix=metadata_prefix,
        crosswalk=CrosswalkOptions(full_text_min_chars=full_text_min_chars),
        set_spec=set_spec,
        from_=from_,
        until=until,
        limit=limit,
        timeout=timeout,
        max_wait=max_wait,
        max_retries=max_retries,
        max_response_bytes=max_response_bytes,
        fetch_files=fetch_files,
        max_file_size=max_file_size,
        allow_private_hosts=allow_private_hosts,
        algorithms=algorithms or ("sha512",),
        source_organization=source_organization,
        restart=restart,
        adopt_existing=adopt_existing,
    )
    with Store.open(store_path, create=True) as store, _page_bar() as on_page:
        summary = harvest(store, config, on_page=on_page)
    if as_json:
        echo_json(summary.to_dict())
    else:
        click.echo(harvest_line(summary))
        for where in summary.quarantined[:10]:
            click.echo(f"quarantined: {where}", err=True)
    if summary.exit_code:
        click.get_current_context().exit(summary.exit_code)


def _print_formats(base_url: str, timeout: float, max_retries: int, max_wait: float, as_json: bool) -> None:
    """``--list-formats``: one line per format (prefix, what stook does, namespace)."""
    from stook.crosswalk import offered_formats
    from stook.harvest.client import RetryPolicy

    formats = offered_formats(
        base_url, policy=RetryPolicy(timeout=timeout, max_retries=max_retries, max_wait=max_wait)
    )
    if as_json:
        echo_json([f.to_dict() for f in formats])
        return
    width = max((len(f.prefix) for f in formats), default=0)
    support = max((len(f.support) for f in formats), default=0)
    for found in formats:
        click.echo(f"{found.prefix:<{width}}  {found.support:<{support}}  {found.namespace}")
