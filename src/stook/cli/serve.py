"""``stook serve``: publish the store over OAI-PMH 2.0."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import click

from stook.cli.base import main, store_option
from stook.provider import DEFAULT_ADMIN_EMAIL


@main.command(name="serve")
@store_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on (0.0.0.0 for every interface).")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (0 picks a free one).")
@click.option("--base-url", help="The public base URL to announce, when behind a proxy "
              "(default: the URL each request arrives at).")
@click.option("--page-size", default=100, show_default=True, type=click.IntRange(1, 10_000),
              help="Records or headers per ListRecords/ListIdentifiers page.")
@click.option("--name", "repository_name", help="repositoryName in Identify (default: 'stook store <dir>').")
@click.option("--admin-email", default=DEFAULT_ADMIN_EMAIL, show_default=True, envvar="STOOK_ADMIN_EMAIL",
              help="adminEmail in Identify (or $STOOK_ADMIN_EMAIL); set a real address.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Worker threads answering requests.")
@click.option("--token-hours", default=24.0, show_default=True, type=click.FloatRange(0.02, 24 * 365),
              help="How long a resumptionToken stays valid.")
def serve_command(
    store_path: Path,
    host: str,
    port: int,
    base_url: str | None,
    page_size: int,
    repository_name: str | None,
    admin_email: str,
    threads: int,
    token_hours: float,
) -> None:
    """Serve the store as an OAI-PMH 2.0 data provider until interrupted (Ctrl-C).

    Every record's latest version is served in oai_dc and in the native `stook`
    format (record.json, lossless); deletions are persistent; sets are the bags'
    groups. The store is only read, so bagging and harvesting can go on meanwhile.

    \b
    stook serve --store bags --port 8080
    stook harvest http://127.0.0.1:8080/oai --prefix stook --store other
    """
    from stook.provider import ServeOptions, serve

    options = ServeOptions(
        store=store_path, host=host, port=port, base_url=base_url, page_size=page_size,
        repository_name=repository_name, admin_email=admin_email, threads=threads,
        token_ttl=timedelta(hours=token_hours),
    )
    if admin_email == DEFAULT_ADMIN_EMAIL:
        click.echo(f"note: announcing the placeholder adminEmail {admin_email}; set --admin-email", err=True)

    def ready(url: str) -> None:
        click.echo(f"serving {store_path} over OAI-PMH 2.0 at {url} (Ctrl-C to stop)", err=True)
        click.echo(url)

    serve(options, ready=ready)
