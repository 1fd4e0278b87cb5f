"""``stook import --from-ocfl``, and the OCFL side of ``stook export`` and ``stook verify``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from stook.cli.base import echo_json, json_option, main, progress, store_option
from stook.errors import UsageError

if TYPE_CHECKING:  # the command imports only what it shows
    from stook.ocfl.reader import OcflImportSummary, VersionImport
    from stook.ocfl.validate import OcflResult
    from stook.ocfl.writer import ObjectExport, OcflExportSummary


def export_to_ocfl(store_path: Path, to: Path, refs: tuple[str, ...], all_records: bool, workers: int,
                   as_json: bool) -> None:
    """``stook export --format ocfl``: bring the OCFL storage root ``to`` up to date."""
    from stook.ocfl.writer import OcflExportOptions, export_ocfl
    from stook.store import Store

    if not refs and not all_records:
        raise UsageError("name the records to export, or pass --all for every record in the store")
    options = OcflExportOptions(root=to, refs=refs, all_records=all_records, workers=workers)
    with Store.open(store_path) as store, progress(None, "export", "object") as advance:
        summary = export_ocfl(store, options, progress=advance)
    if as_json:
        echo_json(summary.to_dict())
    else:
        if summary.cleared:
            click.echo(f"removed {summary.cleared} leftover(s) of an interrupted export", err=True)
        for item in summary.objects:
            if item.status != "unchanged" or not item.ok:
                click.echo(object_line(item), err=not item.ok)
            for problem in item.errors:
                click.echo(f"  error: {problem}", err=True)
        click.echo(export_summary_line(summary))
    if not summary.ok:
        raise SystemExit(1)


@main.command("import")
@click.argument("ids", nargs=-1)
@click.option("--from-ocfl", "root", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The OCFL storage root to import from.")
@store_option
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads hashing files while each rebuilt bag is verified.")
@json_option
def import_command(ids: tuple[str, ...], root: Path, store_path: Path, workers: int, as_json: bool) -> None:
    """Rebuild the bags of an OCFL storage root's objects and add them to the store.

    Each ID is an OCFL object id (for a root stook wrote: a record identifier); with
    none, every object is imported. Version vN of an object becomes version N of its
    identifier: its logical state is written out in the store (each content file
    checked against the inventory's digest), verified in full as a BagIt bag, and
    added with transfer, fixity, validation and ingestion events. Versions the store
    already holds are skipped, so importing again changes nothing.

    Exit status 1 if any version was rejected (nothing of it is kept; later versions
    of that object are not imported).

    \b
    stook import --from-ocfl /srv/ocfl --store archive-b
    stook import --from-ocfl /srv/ocfl wcda:115179 --store archive-b --json
    """
    from stook.ocfl.reader import OcflImportOptions, import_ocfl
    from stook.store import Store

    options = OcflImportOptions(root=root, ids=ids, workers=workers)
    with Store.open(store_path, create=True) as store, progress(None, "import", "object") as advance:
        summary = import_ocfl(store, options, progress=advance)
    if as_json:
        echo_json(summary.to_dict())
    else:
        for item in summary.versions:
            click.echo(version_line(item), err=item.status == "rejected")
            for problem in item.errors:
                click.echo(f"  error: {problem}", err=True)
            for problem in item.warnings:
                click.echo(f"  warning: {problem}", err=True)
        click.echo(import_summary_line(summary))
    if not summary.ok:
        raise SystemExit(1)


def object_line(item: ObjectExport) -> str:
    """What the export did with one record's object."""
    if item.status == "unchanged" and item.ok:
        return f"unchanged: {item.identifier} ({item.versions} version(s) already in the root)"
    added = f"{', '.join(item.added)} added" if item.added else "nothing added"
    return (f"{item.status}: {item.identifier} -> {item.object_path}: {added} ({item.files_written} files "
            f"written, {item.deduplicated} deduplicated)")


def export_summary_line(summary: OcflExportSummary) -> str:
    c = summary.counts()
    return (f"OCFL root {summary.root}: {len(summary.objects)} object(s): {c['new']} new, {c['updated']} "
            f"updated, {c['unchanged']} unchanged, {c['refused']} refused; {c['versions_added']} "
            "version(s) added")


def version_line(item: VersionImport) -> str:
    """What the import did with one OCFL version."""
    if item.status == "rejected":
        return (f"rejected: {item.identifier} {item.version} ({item.object_path}): "
                f"{len(item.errors)} problem(s); nothing of it was added to the store")
    if item.status == "unchanged":
        return f"unchanged: {item.identifier} {item.version} is already stored as {item.bag}"
    return f"imported: {item.identifier} {item.version} as {item.bag} ({item.status})"


def import_summary_line(summary: OcflImportSummary) -> str:
    c = summary.counts()
    return (f"OCFL root {summary.root}: {len(summary.versions)} version(s): {c['new'] + c['changed']} "
            f"imported, {c['unchanged']} already stored, {c['rejected']} rejected")


def verify_ocfl_paths(paths: list[Path], mode: Any, as_json: bool) -> tuple[int, list[dict[str, Any]]]:
    """``stook verify`` of OCFL roots and objects: the exit code (0, 1) and the JSON reports."""
    from stook.ocfl.validate import verify_ocfl

    exit_code = 0
    reports = []
    for path in paths:
        result = verify_ocfl(path, mode)
        reports.append(result.to_dict())
        if not result.valid:
            exit_code = 1
        if not as_json:
            click.echo(render(result))
    return exit_code, reports


def render(result: OcflResult) -> str:
    """The text report of a root or object, in the style of a bag's."""
    kind = "storage root" if result.kind == "root" else f"object {result.id!r}" if result.id else "object"
    head = f"{result.status.upper():<10} {result.path} (OCFL {result.spec_version or '?'} {kind}"
    if result.kind == "root":
        head += f", {result.layout or 'no layout'}; {len(result.objects)} object(s)"
    head += f", {result.versions} version(s)"
    if result.checksums_verified:
        head += (f"; {result.files_checked} files, {result.bytes_hashed} bytes hashed with "
                 f"{', '.join(result.algorithms) or 'nothing'})")
    else:
        head += ")"
    lines = [head]
    if not result.checksums_verified:
        lines.append("  note: checksums not verified (structure and inventories only)")
    _findings(result, lines, "  ")
    for child in result.objects:
        if child.errors or child.warnings:
            lines.append(f"  {child.status.upper():<8} object {child.id!r} at {child.path}")
            _findings(child, lines, "    ")
    errors = len(result.errors) + sum(len(c.errors) for c in result.objects)
    warnings = len(result.warnings) + sum(len(c.warnings) for c in result.objects)
    if errors or warnings:
        lines.append(f"  {errors} error(s), {warnings} warning(s)")
    return "\n".join(lines)


def _findings(result: OcflResult, lines: list[str], indent: str) -> None:
    for label, findings in (("error", result.errors), ("warning", result.warnings)):
        for f in findings:
            where = f.where()
            tail = f" (expected {f.expected}, found {f.found})" if f.expected and f.found else ""
            lines.append(f"{indent}{label:<7} [{f.code}] {where + ': ' if where else ''}{f.message}{tail}")
