"""The root ``stook`` group, shared options and the error-to-exit-code translation.

Start-up time is part of every command, so the group knows its commands' names and
one-line help (:data:`COMMANDS`) and imports a command's module only to run it or
show its own ``--help``; command modules import heavy libraries inside the command.
"""

from __future__ import annotations

import errno
import importlib
import json
import os
import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import click

from stook import __version__
from stook.errors import StookError

F = TypeVar("F", bound=Callable[..., Any])

DEFAULT_STORE = "bags"
STORE_ENV = "STOOK_STORE"


# Each command module registers its commands on ``main`` when imported.
COMMAND_MODULES = (
    "records",
    "bagging",
    "verify",
    "audit",
    "serve",
    "harvest",
    "transfer",
    "ledger",
    "repair",
    "ocfl",
    "web",
)

# Command name -> (module under stook.cli, the first paragraph of its help), so that
# ``stook --help`` lists every command without importing any. A test checks that this
# table matches the commands themselves.
COMMANDS: dict[str, tuple[str, str]] = {
    "template": ("records", "Print a commented YAML skeleton of a record, generated from the schema."),
    "validate": ("records",
                 "Check record files (YAML or JSON) and the files they list, as `stook bag` would."),
    "bag": ("bagging", "Validate RECORD and store it with its text and files as a BagIt 1.0 bag."),
    "ls": ("bagging", "List the bags in the store: identifier, version, created, size, path."),
    "verify": ("verify", "Validate each BagIt bag in PATHS (versions 0.93 to 1.0) against RFC 8493."),
    "audit": ("audit", "Verify the bags of the store and record a PREMIS fixity event for each."),
    "events": ("audit", "Print the store's PREMIS event log, oldest first."),
    "history": ("audit", "Show every event of one record (all its versions), in the order they happened."),
    "serve": ("serve", "Serve the store as an OAI-PMH 2.0 data provider until interrupted (Ctrl-C)."),
    "harvest": ("harvest", "Harvest BASE_URL over OAI-PMH 2.0 into the bag store, one bag per record."),
    "export": ("transfer",
               "Verify bags and write them for a partner archive, with a .sha512 file per archive."),
    "receive": ("transfer",
                "Take bags from another archive into the store, only when whole, safe and valid."),
    "import": ("ocfl", "Rebuild the bags of an OCFL storage root's objects and add them to the store."),
    "web": ("web", "Describe documents, browse the store and watch its fixity in a web browser."),
    "web-user": ("web", "Who may log in to `stook web` to make changes (a users file with scrypt hashes)."),
    "ledger": ("ledger", "Check the store's ledger against its bags, or rebuild it from them."),
    "repair": ("repair", "Replace the damaged or missing files of a stored bag from a partner's copy."),
    "secret": ("serve", "The store's secret that signs OAI-PMH resumption tokens (<store>/.token-secret)."),
}


def load_all_commands() -> None:
    """Import every command module (each registers its commands on ``main``)."""
    for name in COMMAND_MODULES:
        importlib.import_module(f"stook.cli.{name}")


class StookGroup(click.Group):
    """A click group that turns :class:`StookError` into one line and an exit code,
    and imports a command's module only when that command is wanted."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = self.commands.get(cmd_name)
        if command is None:
            entry = COMMANDS.get(cmd_name)
            if entry is not None:
                importlib.import_module(f"stook.cli.{entry[0]}")
            else:  # a command not in the table yet still runs
                load_all_commands()
            command = self.commands.get(cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from :data:`COMMANDS`, shortened by click's own rule."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = []
        for name in names:
            loaded = self.commands.get(name)
            if loaded is None:
                loaded = click.Command(name, help=COMMANDS[name][1])
            if not loaded.hidden:
                rows.append((name, loaded.get_short_help_str(limit)))
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StookError as exc:
            if ctx.meta.get("stook.json"):
                click.echo(json.dumps(exc.to_dict(), ensure_ascii=False))
            click.echo(f"error: {with_flag(str(exc), exc.option)}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: work already made durable is kept", err=True)
            ctx.exit(130)
        except OSError as exc:  # a system error no library edge named: still one line, no traceback
            where = f"{exc.filename}: " if exc.filename else ""
            what = "no space left on the filesystem; free some space and run again" \
                if exc.errno == errno.ENOSPC else (exc.strerror or str(exc))
            click.echo(f"error: {where}{what}", err=True)
            ctx.exit(2)


@click.group(cls=StookGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stook")
def main() -> None:
    """Harvest archival records, validate them and keep them as BagIt bags.

    Every change to a store is recorded as a PREMIS event in the store's ledger.
    """


# Library parameters whose command-line flag is not simply "--" and the name with hyphens.
FLAGS = {"set_spec": "--set", "metadata_prefix": "--prefix", "from_": "--from", "texts": "--text",
         "files": "--file", "record_only": "--record-only"}


def flag(option: str) -> str:
    """The command-line flag of a library parameter (``max_bytes`` -> ``--max-bytes``)."""
    return FLAGS.get(option) or "--" + option.rstrip("_").replace("_", "-")


def with_flag(message: str, option: str | None) -> str:
    """A library message, with the flag that changes the outcome named for the command line."""
    return f"{message} [{flag(option)}]" if option else message


_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(i?b)?\s*$", re.IGNORECASE)


class ByteSize(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click
    """A byte count: ``1048576``, ``1MB``, ``10G`` (units are powers of 1024)."""

    name = "bytes"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        match = _SIZE.match(str(value))
        if not match:
            self.fail(f"{value!r} is not a size; write bytes, or a number with K, M, G or T", param, ctx)
        return int(match.group(1)) * _UNITS[match.group(2).lower()]


def store_option(func: F) -> F:
    """``--store DIR``: the bag store, default ./bags or $STOOK_STORE."""
    return click.option(
        "--store",
        "store_path",
        type=click.Path(file_okay=False, path_type=Path),
        envvar=STORE_ENV,
        default=DEFAULT_STORE,
        show_default=True,
        help=f"Bag store directory (or ${STORE_ENV}).",
    )(func)


def json_option(func: F) -> F:
    """``--json``: machine-readable output on stdout."""

    def remember(ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
        if value:
            ctx.meta["stook.json"] = True
        return value

    return click.option(
        "--json",
        "as_json",
        is_flag=True,
        callback=remember,
        expose_value=True,
        help="Print machine-readable JSON instead of text.",
    )(func)


def echo_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


def show_progress() -> bool:
    """Progress bars only for a person at a terminal, never in pipes, cron or CI."""
    return sys.stderr.isatty() and not os.environ.get("CI")


@contextmanager
def progress(total: int | None, desc: str, unit: str = "item") -> Iterator[Callable[[int], None]]:
    """Yield an ``advance(n)`` function backed by tqdm on a terminal, a no-op otherwise."""
    if not show_progress():

        def ignore(_n: int = 1) -> None:
            return None

        yield ignore
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False) as bar:

        def advance(n: int = 1) -> None:
            bar.update(n)

        yield advance

