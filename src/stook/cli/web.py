"""``stook web``: the store in a browser; ``stook web-user``: who may make changes there."""

from __future__ import annotations

import ipaddress
import logging
import sys
from pathlib import Path

import click

from stook.cli.base import echo_json, json_option, main, store_option

USERS_HELP = "The users file (default <store>/.web-users.json, or $STOOK_WEB_USERS)."


@main.command(name="web")
@store_option
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to listen on; anything but loopback lets other machines in.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="TCP port (0 picks a free one).")
@click.option("--oai", is_flag=True,
              help="Also serve the store over OAI-PMH under /oai, as stook serve does.")
@click.option("--read-only", is_flag=True, help="Browse only: no login, no entry, no edits, no audits.")
@click.option("--max-upload", default=100, show_default=True, type=click.IntRange(1, 1_000_000), metavar="MB",
              help="The most one request may send (its uploads together), in MiB.")
@click.option("--users", "users_file", type=click.Path(dir_okay=False, path_type=Path),
              envvar="STOOK_WEB_USERS", help=USERS_HELP)
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Worker threads answering requests.")
def web_command(store_path: Path, host: str, port: int, oai: bool, read_only: bool, max_upload: int,
                users_file: Path | None, threads: int) -> None:
    """Describe documents, browse the store and watch its fixity in a web browser.

    Records entered here are checked as `stook validate` checks them and bagged as
    `stook bag` bags them; edits make new versions; /audit shows what failed, what was
    never checked, and checks per day, and audits a slice in the background. Reading
    needs no login; changes need one: a first user from $STOOK_WEB_USER and
    $STOOK_WEB_PASSWORD, more with `stook web-user add`. After 5 failed logins in 15
    minutes a user name and a client address wait before trying again. Listens on
    127.0.0.1 unless told otherwise; --read-only serves a store nobody may change through it.

    \b
    STOOK_WEB_USER=archivist STOOK_WEB_PASSWORD='long passphrase' stook web --store bags
    stook web --store bags --port 8080 --oai
    stook web --store /mnt/archive-copy --read-only
    """
    from stook.web.config import WebConfig
    from stook.web.server import WebServeOptions, serve_web
    from stook.web.users import default_users_file, load_users

    _log_to_stderr()
    config = WebConfig(store=store_path, read_only=read_only, max_upload=max_upload * 1024 * 1024,
                       users_file=users_file, oai=oai)
    options = WebServeOptions(host=host, port=port, threads=threads)
    if not _loopback(host):
        click.echo(f"note: listening on {host}: anyone who can reach it can read the store, and passwords "
                   "travel unencrypted; put it behind HTTPS", err=True)
    if not read_only and not load_users(users_file or default_users_file(store_path)).anyone:
        click.echo("note: no user can log in, so nothing can be changed yet: set STOOK_WEB_USER and "
                   "STOOK_WEB_PASSWORD, or add one with: stook web-user add NAME --store "
                   f"{store_path}", err=True)

    def ready(url: str) -> None:
        extra = f" (OAI-PMH at {url}oai)" if oai else ""
        mode = " read-only" if read_only else ""
        click.echo(f"serving {store_path}{mode} at {url}{extra} (Ctrl-C to stop)", err=True)
        click.echo(url)

    serve_web(config, options, ready=ready)


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _log_to_stderr() -> None:
    """Internal errors (with their tracebacks) go to the server's log on stderr, never to a page."""
    logger = logging.getLogger("stook")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("stook web: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


@main.group(name="web-user")
def web_user_group() -> None:
    """Who may log in to `stook web` to make changes (a users file with scrypt hashes).

    \b
    stook web-user add archivist --store bags
    stook web-user list --store bags
    """


def _users_path(store_path: Path, users_file: Path | None) -> Path:
    from stook.web.users import default_users_file

    return users_file or default_users_file(store_path)


@web_user_group.command(name="add")
@click.argument("name")
@store_option
@click.option("--users", "users_file", type=click.Path(dir_okay=False, path_type=Path), help=USERS_HELP)
@click.option("--replace", is_flag=True, help="Set a new password for a user who exists.")
@click.option("--password-stdin", is_flag=True, help="Read the password from the first line of stdin.")
def add_command(name: str, store_path: Path, users_file: Path | None, replace: bool,
                password_stdin: bool) -> None:
    """Add a user (asks for the password twice), or with --replace set a new password.

    \b
    stook web-user add archivist --store bags
    printf '%s\\n' "$PASSWORD" | stook web-user add archivist --store bags --password-stdin
    """
    from stook.web.users import add_user, check_name

    check_name(name)
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    path = _users_path(store_path, users_file)
    if path.parent == store_path:
        from stook.store import Store

        with Store.open(store_path, create=True):  # a file in a directory that is not yet a store
            pass  # would keep `stook bag` from making the store there
    new = add_user(path, name, password, replace=replace)
    click.echo(f"{'added' if new else 'new password for'} {name} in {path}")


@web_user_group.command(name="remove")
@click.argument("name")
@store_option
@click.option("--users", "users_file", type=click.Path(dir_okay=False, path_type=Path), help=USERS_HELP)
def remove_command(name: str, store_path: Path, users_file: Path | None) -> None:
    """Remove a user; sessions already logged in end at their next change.

    \b
    stook web-user remove archivist --store bags
    """
    from stook.web.users import remove_user

    path = _users_path(store_path, users_file)
    remove_user(path, name)
    click.echo(f"removed {name} from {path}")


@web_user_group.command(name="list")
@store_option
@click.option("--users", "users_file", type=click.Path(dir_okay=False, path_type=Path), help=USERS_HELP)
@json_option
def list_command(store_path: Path, users_file: Path | None, as_json: bool) -> None:
    """List the users of the users file (never their password hashes).

    \b
    stook web-user list --store bags --json
    """
    from stook.web.users import read_users_file

    path = _users_path(store_path, users_file)
    users = read_users_file(path)
    if as_json:
        listed = [{"name": n, "changed": u.get("changed")} for n, u in sorted(users.items())]
        echo_json({"file": str(path), "users": listed})
        return
    if not users:
        click.echo(f"{path}: no users yet; add one with: stook web-user add NAME --store {store_path}",
                   err=True)
    for name, entry in sorted(users.items()):
        click.echo(f"{name}\t{entry.get('changed', '')}")
