"""``stook verify``: strict RFC 8493 validation of any bag, every problem named at once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stook.cli.base import echo_json, json_option, main, progress
from stook.errors import UsageError

if TYPE_CHECKING:
    from stook.verify import Finding, Mode, VerifyResult

_MODE_NOTE = {
    "fast": "checksums not verified (--fast: structure, completeness and Payload-Oxum only)",
    "completeness": "checksums not verified (--completeness-only: structure and completeness)",
}


def _cores() -> int:
    from stook.executor import default_workers

    return default_workers()


@main.command("verify")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--fast",
    is_flag=True,
    help="Check structure, tag files, completeness and Payload-Oxum (warn if absent);"
    " do not hash files.",
)
@click.option(
    "--completeness-only",
    is_flag=True,
    help="Check structure, tag files and completeness (and Payload-Oxum if present);"
    " do not hash files.",
)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=_cores,
    show_default="the number of cores",
    help="Processes verifying several bags at once; for a single bag, threads hashing"
    " its files in parallel (helps bags of a few huge files).",
)
@json_option
def verify(
    paths: tuple[Path, ...], fast: bool, completeness_only: bool, workers: int, as_json: bool
) -> None:
    """Validate each BagIt bag in PATHS (versions 0.93 to 1.0) against RFC 8493.

    A PATH that is an OCFL storage root or object is checked as OCFL 1.1 instead:
    inventories, sidecars, version sequence and every content digest.

    Every error and warning is listed with its file and line. A bag is VALID
    only when every checksum of every listed file has been verified; with
    --fast or --completeness-only no checksum is computed and the report says so.

    Exit status: 2 if any PATH is not a bag or cannot be read; otherwise 1 if
    any bag is invalid or incomplete; otherwise 0 (warnings allowed).

    Lines are printed as verdicts arrive, in the order the bags were given.

    \b
    stook verify bags/*/v*
    stook verify --json path/to/bag another/bag
    """
    from stook.verify.many import verify_bags

    if fast and completeness_only:
        raise UsageError("--fast and --completeness-only exclude each other; choose one")
    mode: Mode = "fast" if fast else "completeness" if completeness_only else "full"
    reports: list[dict[str, Any]] = []
    exit_code = 0
    from stook.ocfl.layout import is_ocfl  # OCFL storage roots and objects have their own checks

    ocfl_paths = [p for p in paths if is_ocfl(p)]
    if ocfl_paths:
        from stook.cli.ocfl import verify_ocfl_paths

        exit_code, reports = verify_ocfl_paths(ocfl_paths, mode, as_json)
        paths = tuple(p for p in paths if p not in ocfl_paths)
    single = len(paths) == 1
    with progress(None if single else len(paths), "verify", "B" if single else "bag") as advance:
        verdicts = verify_bags(
            paths, mode=mode, workers=workers,
            byte_progress=advance if single else None,
            on_done=None if single else lambda _verdict: advance(1),
            detail=as_json,
        )
        for verdict in verdicts:
            if verdict.result is None:
                assert verdict.not_a_bag is not None
                exit_code = 2
                if as_json:
                    reports.append(
                        {"bag": verdict.path, "status": "not-a-bag", **verdict.not_a_bag.to_dict()}
                    )
                else:
                    click.echo(f"NOT A BAG  {verdict.not_a_bag}")
                continue
            if not verdict.result.valid and exit_code == 0:
                exit_code = 1
            if as_json:
                reports.append(verdict.result.to_dict())
            else:
                click.echo(render(verdict.result))
    if as_json:
        echo_json(reports)
    if exit_code:
        raise SystemExit(exit_code)


def render(result: VerifyResult) -> str:
    """The text report of one bag: a status line, then every error and warning."""
    version = f"BagIt {result.version}" if result.version else "BagIt version unknown"
    head = f"{result.status.upper():<10} {result.bag} ({version}"
    if result.checksums_verified:
        head += (
            f"; {result.files_checked} files, {result.bytes_hashed} bytes hashed with"
            f" {', '.join(result.algorithms)})"
        )
    else:
        head += ")"
    lines = [head]
    if result.mode in _MODE_NOTE:
        lines.append(f"  note: {_MODE_NOTE[result.mode]}")
    elif not result.checksums_verified:
        lines.append("  note: not every checksum could be verified")
    for label, findings in (("error", result.errors), ("warning", result.warnings)):
        for f in findings:
            where = f.where()
            lines.append(f"  {label:<7} [{f.code}] {where + ': ' if where else ''}{_tail(f)}")
    if result.errors or result.warnings:
        lines.append(f"  {len(result.errors)} error(s), {len(result.warnings)} warning(s)")
    return "\n".join(lines)


def _tail(finding: Finding) -> str:
    """The message without a leading restatement of the location already printed."""
    message = finding.message
    if finding.path:
        for prefix in (f"{finding.path} line {finding.line}: ", f"{finding.path}: "):
            if message.startswith(prefix):
                return message[len(prefix) :]
    return message
