"""``stook template`` and ``stook validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from stook.cli.base import echo_json, json_option, main
from stook.errors import RecordError, RecordInvalid

# What checking one file gave: nothing wrong, an unreadable file, or an invalid record.
Outcome = RecordError | RecordInvalid | None


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
@json_option
def validate(files: tuple[Path, ...], as_json: bool) -> None:
    """Check record files (YAML or JSON) against the record schema.

    Every error of every file is listed with its JSON path, the value found and
    what was expected. Exit 0 when all are valid, 1 when any is invalid, 2 when a
    file cannot be read or parsed.

    \b
    stook validate examples/wilson-115179/record.yaml
    """
    from stook.record import load_record

    outcomes: list[tuple[Path, Outcome]] = []
    worst = 0
    for path in files:
        try:
            load_record(path)
        except RecordInvalid as exc:
            worst = max(worst, 1)
            outcome: Outcome = exc
        except RecordError as exc:
            worst = 2
            outcome = exc
        else:
            outcome = None
        if as_json:
            outcomes.append((path, outcome))
        else:
            click.echo(_render(path, outcome))
    if as_json:
        echo_json([_report(path, outcome) for path, outcome in outcomes])
    raise SystemExit(worst)


def _render(path: Path, outcome: Outcome) -> str:
    """One file's verdict as text: a status line, then each error with its JSON path."""
    if outcome is None:
        return f"{path}: valid"
    if not isinstance(outcome, RecordInvalid):
        return f"{path}: unreadable: {outcome.message}"
    problems = outcome.problems
    lines = [f"{path}: invalid, {len(problems)} error{'s' if len(problems) != 1 else ''}"]
    for problem in problems:
        line = f"  {problem.location}: {problem.message}"
        if problem.expected is not None:
            line += f" (expected {problem.expected})"
        lines.append(line)
    return "\n".join(lines)


def _report(path: Path, outcome: Outcome) -> dict[str, Any]:
    """One file's verdict for --json."""
    if outcome is None:
        return {"file": str(path), "valid": True, "errors": []}
    if isinstance(outcome, RecordInvalid):
        return {"file": str(path), "valid": False, "errors": [p.to_dict() for p in outcome.problems]}
    return {
        "file": str(path),
        "valid": False,
        "unreadable": True,
        "errors": [{"location": "$", "message": outcome.message}],
    }
