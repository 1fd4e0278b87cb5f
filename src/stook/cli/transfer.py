"""``stook export`` and ``stook receive``: bags between archives."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from stook.bagwriter import human_size
from stook.cli.base import ByteSize, echo_json, json_option, main, progress, store_option, with_flag
from stook.cli.render import receive_line
from stook.errors import UsageError
from stook.ledger import LEDGER_FILE
from stook.transfer.sink import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, DEFAULT_MAX_RATIO, FORMATS

if TYPE_CHECKING:
    from stook.store import Store

@main.command("export")
@click.argument("refs", nargs=-1)
@click.option("--to", "to", required=True, type=click.Path(path_type=Path),
              help="Directory to export into, or the archive file when exporting one bag.")
@click.option("--format", "fmt", type=click.Choice([*FORMATS, "ocfl"]), default=None,
              help="dir, tar, tar.gz or zip (default: from the --to file name, else tar); "
              "ocfl: --to is an OCFL 1.1 storage root, written or brought up to date.")
@click.option("--all-versions", is_flag=True,
              help="Export every version of each record, not only the latest.")
@click.option("--all", "all_records", is_flag=True,
              help="With --format ocfl: every record in the store.")
@store_option
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads hashing files while the bag is verified before export.")
@json_option
def export_command(refs: tuple[str, ...], to: Path, fmt: str | None, all_versions: bool, all_records: bool,
                   store_path: Path, workers: int, as_json: bool) -> None:
    """Verify bags and write them for a partner archive, with a .sha512 file per archive.

    Each REF is a record identifier (its latest version), a store path
    <name>/v<N>, a label <name>.v<N>, a bag name, or the path of a bag directory.
    The archive's single top-level directory is the bag's label, and the same bag
    always gives the same bytes. An invalid bag is not exported (exit 1). Each
    export of a stored bag is recorded as a PREMIS transfer event.

    With --format ocfl, --to is an OCFL 1.1 storage root (made when absent): one
    object per record, one OCFL version per stook version, unchanged files stored
    once. Running it again adds only new versions (see 'stook import --from-ocfl').

    \b
    stook export wcda:115179 --to outbox/ --format tar
    stook export wcda:115179 --to wilson.zip
    stook export --all --format ocfl --to /srv/ocfl
    """
    if fmt == "ocfl":  # an OCFL storage root, not one archive per bag
        from stook.cli.ocfl import export_to_ocfl

        return export_to_ocfl(store_path, to, refs, all_records, workers, as_json)
    if all_records or not refs:
        raise UsageError("name the bags to export (--all goes with --format ocfl only)")
    from stook.transfer import ExportOptions, export_bags

    store = _open_store(store_path)
    options = ExportOptions(to=to, format=fmt, all_versions=all_versions, workers=workers)  # type: ignore[arg-type]
    try:
        with progress(len(refs), "export", "bag") as advance:
            results = export_bags(list(refs), options, store, progress=advance)
    finally:
        if store is not None:
            store.close()
    if as_json:
        echo_json([r.to_dict() for r in results])
    else:
        for r in results:
            if r.status == "exported":
                size = f", {human_size(r.size)}" if r.size is not None else ""
                click.echo(f"exported: {r.source.label} as {r.format}{size}", err=True)
                click.echo(r.destination)
            else:
                click.echo(f"refused: {r.source.directory} is not a valid bag; not exported", err=True)
                for p in r.errors:
                    click.echo(f"  error: {with_flag(str(p), p.option)}", err=True)
    if any(r.status != "exported" for r in results):
        raise SystemExit(1)


def _open_store(path: Path) -> Store | None:
    """The store when there is one; exporting bag directories needs none."""
    if not (path / LEDGER_FILE).exists():
        return None
    from stook.store import Store

    return Store.open(path)


@main.command("receive")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@store_option
@click.option("--profile", "profile_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Check against this BagIt profile (JSON) instead of stook's; its problems reject the bag.")
@click.option("--strict-profile", is_flag=True,
              help="Reject bags that break the profile even when they do not claim it.")
@click.option("--max-bytes", type=ByteSize(), default=DEFAULT_MAX_BYTES, show_default=True,
              help="Most bytes one bag may extract to (e.g. 500M, 20G).")
@click.option("--max-files", type=click.IntRange(min=1), default=DEFAULT_MAX_FILES, show_default=True,
              help="Most files and directories one bag may hold.")
@click.option("--max-ratio", type=click.FloatRange(min=1), default=DEFAULT_MAX_RATIO, show_default=True,
              help="Most bytes an entry or archive may write per compressed byte (bomb guard).")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Threads hashing files while a received bag is verified.")
@click.option("--as-new-version", is_flag=True,
              help="Store a bag of a record that another source supplied (hand entry, a harvest, "
              "another partner) as its next version; the record keeps its source.")
@json_option
def receive_command(paths: tuple[Path, ...], store_path: Path, profile_file: Path | None,
                    strict_profile: bool, max_bytes: int, max_files: int, max_ratio: float,
                    workers: int, as_new_version: bool, as_json: bool) -> None:
    """Take bags from another archive into the store, only when whole, safe and valid.

    Each PATH is a bag directory or a .tar, .tar.gz/.tgz or .zip file (a
    <file>.sha512 beside it is checked). The bag is unpacked inside the store
    (links, devices, '..' and absolute names, duplicates, badly encoded zip
    names, archives over the caps or expanding more than --max-ratio, and
    archives that would fill the store's filesystem are refused), every
    checksum is verified, and the bag is checked against a
    BagIt profile: stook's, or --profile FILE. A bag from another tool that does
    not claim the profile is received when valid, with the profile's complaints as
    warnings. Receiving the same bag twice changes nothing. A bag whose bag-info and
    record name different identifiers is refused; one that would become a new version
    of a record another source supplied needs --as-new-version.

    Prints the stored bag's path. Exit status 1 if any bag was rejected; nothing
    of a rejected bag is kept.

    \b
    stook receive inbox/wilson.tar --store archive-b
    """
    from stook.profile import load_profile
    from stook.store import Store
    from stook.transfer import Limits, ReceiveOptions, receive_bags

    profile = load_profile(profile_file) if profile_file else None
    options = ReceiveOptions(profile=profile, profile_explicit=profile_file is not None,
                             strict_profile=strict_profile,
                             limits=Limits(max_bytes, max_files, max_ratio),
                             workers=workers, as_new_version=as_new_version)
    with Store.open(store_path, create=True) as store, progress(len(paths), "receive", "bag") as advance:
        results = receive_bags(store, list(paths), options, progress=advance)
    if as_json:
        echo_json([r.to_dict() for r in results])
    else:
        for r in results:
            click.echo(receive_line(r), err=True)
            for p in r.errors:
                click.echo(f"  error: {with_flag(str(p), p.option)}", err=True)
            for p in r.warnings:
                click.echo(f"  warning: {p}", err=True)
            if r.path is not None:
                click.echo(r.path)
    if any(not r.ok for r in results):
        raise SystemExit(1)
