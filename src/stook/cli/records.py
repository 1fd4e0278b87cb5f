"""``stook template`` and ``stook validate``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from stook.cli.base import echo_json, json_option, main
from stook.errors import RecordError, RecordInvalid
from stook.record import load_record, record_template


@main.command()
def template() -> None:
    """Print a commented YAML skeleton of a record, generated from the schema.

    \b
    stook template > my-record.yaml
    """
    click.echo(record_template())


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@json_option
def validate(files: tuple[Path, ...], as_json: bool) -> None:
    """Check record files (YAML or JSON) against the record schema.

    Every error of every file is listed with its JSON path, the value found and
    what was expected. Exit 0 when all are valid, 1 when any is invalid, 2 when a
    file cannot be read or parsed.
    """
    reports: list[dict[str, Any]] = []
    worst = 0
    for path in files:
        try:
            load_record(path)
        except RecordInvalid as exc:
            worst = max(worst, 1)
            reports.append({"file": str(path), "valid": False, "errors": [p.to_dict() for p in exc.problems]})
        except RecordError as exc:
            worst = 2
            reports.append(
                {
                    "file": str(path),
                    "valid": False,
                    "unreadable": True,
                    "errors": [{"location": "$", "message": exc.message}],
                }
            )
        else:
            reports.append({"file": str(path), "valid": True, "errors": []})
    if as_json:
        echo_json(reports)
    else:
        for report in reports:
            if report["valid"]:
                click.echo(f"{report['file']}: valid")
                continue
            errors = report["errors"]
            if report.get("unreadable"):
                click.echo(f"{report['file']}: unreadable: {errors[0]['message']}")
                continue
            click.echo(f"{report['file']}: invalid, {len(errors)} error{'s' if len(errors) != 1 else ''}")
            for error in errors:
                line = f"  {error['location']}: {error['message']}"
                if "expected" in error:
                    line += f" (expected {error['expected']})"
                click.echo(line)
    raise SystemExit(worst)
