"""``stook serve``: publish the store over OAI-PMH 2.0; ``stook secret rotate``: renew its token secret."""

from __future__ import annotations

import logging
import os
import sys
from datetime import timedelta
from pathlib import Path

import click

from stook.cli.base import echo_json, json_option, main, store_option

PLACEHOLDER_EMAIL = "archivist@example.invalid"  # stook.provider.DEFAULT_ADMIN_EMAIL, without importing it


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
@click.option("--admin-email", default=PLACEHOLDER_EMAIL, show_default=True, envvar="STOOK_ADMIN_EMAIL",
              help="adminEmail in Identify (or $STOOK_ADMIN_EMAIL); set a real address.")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Worker threads answering requests.")
@click.option("--token-hours", default=24.0, show_default=True, type=click.FloatRange(0.02, 24 * 365),
              help="How long a resumptionToken stays valid.")
@click.option("--max-connections", default=256, show_default=True, type=click.IntRange(8, 10_000),
              help="Open connections at most; beyond it the slowest idle or unfinished ones are closed.")
@click.option("--request-timeout", default=30.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds a client has to send a whole request (slow senders are cut off).")
@click.option("--idle-timeout", default=60.0, show_default=True, type=click.FloatRange(1, 3600),
              help="Seconds an idle keep-alive connection stays open.")
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
    max_connections: int,
    request_timeout: float,
    idle_timeout: float,
) -> None:
    """Serve the store as an OAI-PMH 2.0 data provider until interrupted (Ctrl-C).

    Every record's latest version is served in oai_dc and in the native `stook`
    format (record.json, lossless); deletions are persistent; sets are the bags'
    groups. The store is only read, so bagging and harvesting can go on meanwhile.
    Resumption tokens are signed with the store's secret (or $STOOK_TOKEN_SECRET);
    a bag that cannot be read is left out of lists and named in the log on stderr.

    \b
    stook serve --store bags --port 8080
    stook harvest http://127.0.0.1:8080/oai --prefix stook --store other
    """
    from stook.provider import ServeOptions, serve

    _log_to_stderr()
    options = ServeOptions(
        store=store_path, host=host, port=port, base_url=base_url, page_size=page_size,
        repository_name=repository_name, admin_email=admin_email, threads=threads,
        token_ttl=timedelta(hours=token_hours), max_connections=max_connections,
        request_timeout=request_timeout, idle_timeout=idle_timeout,
    )
    if admin_email == PLACEHOLDER_EMAIL:
        click.echo(f"note: announcing the placeholder adminEmail {admin_email}; set --admin-email", err=True)

    def ready(url: str) -> None:
        click.echo(f"serving {store_path} over OAI-PMH 2.0 at {url} (Ctrl-C to stop)", err=True)
        click.echo(url)

    serve(options, ready=ready)


def _log_to_stderr() -> None:
    """The provider's log (skipped bags, secret warnings), one line each on stderr."""
    logger = logging.getLogger("stook")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("stook serve: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


@main.group(name="secret")
def secret_group() -> None:
    """The store's secret that signs OAI-PMH resumption tokens (<store>/.token-secret).

    \b
    stook secret rotate --store bags
    """


@secret_group.command(name="rotate")
@store_option
@json_option
def rotate_command(store_path: Path, as_json: bool) -> None:
    """Replace the store's token secret with a new random one.

    Every resumptionToken issued before is then refused (badResumptionToken) and
    harvesters start their list again; running servers take the new secret at
    their next request. $STOOK_TOKEN_SECRET, where set, overrides the store's secret.

    \b
    stook secret rotate --store bags
    """
    from stook.secret import SECRET_ENV, SECRET_FILE, rotate_secret

    rotate_secret(store_path)
    overridden = bool(os.environ.get(SECRET_ENV))
    if as_json:
        echo_json({"store": str(store_path), "file": str(store_path / SECRET_FILE), "rotated": True,
                   "overridden_by_environment": overridden})
    else:
        click.echo(f"rotated: {store_path / SECRET_FILE}; resumption tokens issued before are now refused")
    if overridden:
        click.echo(f"warning: {SECRET_ENV} is set here; a server started with it signs tokens with it, "
                   "not with the store's secret: change it where the server is started", err=True)
