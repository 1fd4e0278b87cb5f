"""``stook template`` and ``stook validate``."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from stook.cli.base import echo_json, json_option, main


@main.command()
def template() -> None:
    """Print a commented YAML skeleton of a record, generated from the schema.

    \b
    stook template > my-record.yaml
    """
    from stook.record import record_template

    click.echo(record_template())


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--record-only",
    is_flag=True,
    help="Check only the record against the schema, not the files its content lists.",
)
@json_option
def validate(files: tuple[Path, ...], record_only: bool, as_json: bool) -> None:
    """Check record files (YAML or JSON) and the files they list, as `stook bag` would.

    Every schema error of every file is listed with its line or JSON path, the value
    found and what was expected. The files in each record's `content` are checked too
    (relative to the record file): they must exist, texts must be UTF-8, and any
    declared size, sha512 or sha256 must match; `--record-only` skips them and says so.
    Exit 0 when all are valid, 1 when any is invalid, 2 when a file cannot be read.

    \b
    stook validate my-record.yaml
    stook validate --record-only --json records/*.yaml
    """
    from stook.recordcheck import check_record_file

    reports = [check_record_file(path, record_only=record_only) for path in files]
    if as_json:
        echo_json([report.to_dict() for report in reports])
    else:
        for report in reports:
            if report.valid:
                click.echo(f"{report.file}: valid ({_checked(report.record_only, report.files_checked)})")
            elif report.unreadable:
                click.echo(f"{report.file}: unreadable: {report.problems[0].message}")
            else:
                count = len(report.problems)
                click.echo(f"{report.file}: invalid, {count} error{'s' if count != 1 else ''}")
                for line in problem_lines(report.problems):
                    click.echo(line)
    raise SystemExit(max((report.exit_code for report in reports), default=0))


def _checked(record_only: bool, files: int) -> str:
    if record_only:
        return "record only; the files it lists were not checked"
    return f"record and {files} listed file{'s' if files != 1 else ''}"


def problem_lines(problems: Iterable[Any]) -> list[str]:
    """Indented lines, one per problem: its JSON path, what is wrong, what was expected."""
    lines = []
    for problem in problems:
        line = f"  {problem.location}: {problem.message}"
        if problem.expected is not None:
            line += f" (expected {problem.expected})"
        lines.append(line)
    return lines
