"""The root ``stook`` group, shared options and the error-to-exit-code translation."""

from __future__ import annotations

import importlib
import json
import os
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


class StookGroup(click.Group):
    """A click group that turns :class:`StookError` into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except StookError as exc:
            if ctx.meta.get("stook.json"):
                click.echo(json.dumps(exc.to_dict(), ensure_ascii=False))
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: work already made durable is kept", err=True)
            ctx.exit(130)


@click.group(cls=StookGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="stook")
def main() -> None:
    """Harvest archival records, validate them and keep them as BagIt bags.

    Every change to a store is recorded as a PREMIS event in the store's ledger.
    """


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
    "web",
)

for _name in COMMAND_MODULES:
    importlib.import_module(f"stook.cli.{_name}")
