"""``stook export``: a verified bag as a directory, tar, gzipped tar or zip, byte for byte reproducible.

The single top-level directory of an archive is the bag's label ``<name>.v<N>``
(the convention APTrust and DART use). The same bag always exports to the same
bytes, so a partner can compare checksums of two exports:

* entries in a fixed order: each directory, then its entries sorted by name;
* owner and group 0 with empty names, mode 0644 for files and 0755 for directories;
* every time stamp is the bag's Bagging-Date at 00:00 UTC (1980-01-01 when the
  bag has none, the earliest date a zip can hold);
* tar in POSIX pax format (UTF-8 names of any length); gzip without a file name
  and with time 0; zip entries from a Unix system, deflated, with that fixed date.

Every archive gets a ``<archive>.sha512`` sidecar (``<hex>  <file name>``, the
format ``sha512sum -c`` reads). The bag is verified in full first; an invalid bag
is not exported. Each export of a stored bag is a PREMIS transfer event (``tra``).
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import stat
import tarfile
import uuid
import zipfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, Literal

from stook.bagspec import bagging_timestamp, read_bag_info, read_manifest
from stook.errors import Problem, TransferError, UsageError
from stook.ledger import BagVersion, Event
from stook.names import bag_label, parse_version_dir
from stook.store import Store
from stook.transfer.extract import format_from_name
from stook.verify import verify_bag

Format = Literal["dir", "tar", "tar.gz", "zip"]
SUFFIXES: dict[Format, str] = {"dir": "", "tar": ".tar", "tar.gz": ".tar.gz", "zip": ".zip"}
DEFAULT_FORMAT: Format = "tar"
ZIP_EPOCH = 315532800  # 1980-01-01T00:00:00Z, the earliest time a zip entry can carry
FILE_MODE = 0o644
DIR_MODE = 0o755
CHUNK = 1024 * 1024
SIDECAR_SUFFIX = ".sha512"


@dataclass(frozen=True)
class ExportOptions:
    """Where and how to export: ``to`` is a directory, or a file for a single archive."""

    to: Path
    format: Format | None = None  # None: from the --to file name, else tar
    all_versions: bool = False
    workers: int = 1


@dataclass(frozen=True)
class BagSource:
    """One bag to export: its directory, its label and, when stored, its ledger row."""

    ref: str
    directory: Path
    label: str
    stored: BagVersion | None = None


@dataclass
class ExportResult:
    source: BagSource
    status: Literal["exported", "refused"]
    format: Format
    destination: Path | None = None
    sidecar: Path | None = None
    sha512: str | None = None
    size: int | None = None
    errors: list[Problem] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        stored = self.source.stored
        return {
            "ref": self.source.ref,
            "bag": str(self.source.directory),
            "label": self.source.label,
            "identifier": stored.identifier if stored else None,
            "version": stored.version if stored else None,
            "status": self.status,
            "format": self.format,
            "destination": str(self.destination) if self.destination else None,
            "sidecar": str(self.sidecar) if self.sidecar else None,
            "sha512": self.sha512,
            "size": self.size,
            "errors": [p.to_dict() for p in self.errors],
        }


# -- choosing what and where ------------------------------------------------------


def resolve_sources(
    refs: Sequence[str], store: Store | None, *, all_versions: bool = False
) -> list[BagSource]:
    """Bags named by identifiers, store paths, labels or bag directories, in the order given.

    Raises :class:`UsageError` naming every reference that matches nothing.
    """
    sources: list[BagSource] = []
    unknown: list[str] = []
    for ref in refs:
        found = _resolve_one(ref, store, all_versions)
        if not found:
            unknown.append(ref)
        sources.extend(found)
    if unknown:
        where = f"store {store.root}" if store else "no store (none found at the store path)"
        raise UsageError(
            f"nothing to export for {', '.join(repr(u) for u in unknown)}: not a record identifier, "
            f"bag name or label in {where}, and not a bag directory",
            hint="list the store with 'stook ls', or give the path of a bag directory",
        )
    seen: set[Path] = set()
    unique = []
    for source in sources:
        key = source.directory.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(source)
    return unique


def _resolve_one(ref: str, store: Store | None, all_versions: bool) -> list[BagSource]:
    if store is not None:
        versions = store.resolve(ref)
        if versions:
            chosen = versions if all_versions else [versions[-1]]
            return [
                BagSource(ref, store.bag_path(v), bag_label(v.identifier, v.version), v) for v in chosen
            ]
    path = Path(ref)
    if not (path / "bagit.txt").is_file():
        return []
    if store is not None:
        try:
            rel = path.resolve().relative_to(store.root.resolve()).as_posix()
        except ValueError:
            rel = None
        stored = store.ledger.bag_by_path(rel) if rel else None
        if stored is not None and stored.state == "stored":
            return [BagSource(ref, store.bag_path(stored), bag_label(stored.identifier, stored.version),
                              stored)]
    return [BagSource(ref, path, _directory_label(path))]


def _directory_label(path: Path) -> str:
    """``<name>.v<N>`` for a ``<name>/v<N>`` layout, else the directory's own name."""
    resolved = path.resolve()
    version = parse_version_dir(resolved.name)
    if version is not None and resolved.parent.name:
        return f"{resolved.parent.name}.v{version}"
    return resolved.name or "bag"


def choose_format(options: ExportOptions, count: int) -> Format:
    """The format asked for, or the one the destination's file name implies, or tar."""
    implied = format_from_name(options.to) if count == 1 and not options.to.is_dir() else None
    if options.format is None:
        return implied or DEFAULT_FORMAT
    if implied is not None and implied != options.format:
        raise UsageError(
            f"{options.to} names a {implied} file but the format asked for is {options.format}; "
            "make them agree",
            option="format",
        )
    return options.format



def destinations(sources: Sequence[BagSource], options: ExportOptions, fmt: Format) -> list[Path]:
    """Where each bag goes; refuses to overwrite anything."""
    to = options.to
    as_file = (
        len(sources) == 1
        and fmt != "dir"
        and not to.is_dir()
        and not str(to).endswith(os.sep)
        and format_from_name(to) is not None
    )
    if as_file:
        targets = [to]
    else:
        if to.exists() and not to.is_dir():
            raise UsageError(f"{to}: exists and is not a directory; exporting "
                             f"{len(sources)} bag(s) as {fmt} needs a directory", path=to, option="to")
        targets = [to / (s.label + SUFFIXES[fmt]) for s in sources]
    clashes = [t for t in targets if t.exists() or (fmt != "dir" and _sidecar(t).exists())]
    if clashes:
        raise UsageError(
            f"{clashes[0]} already exists{f' (and {len(clashes) - 1} more)' if len(clashes) > 1 else ''}; "
            "stook never overwrites an export: remove it or choose another destination",
            path=clashes[0], option="to",
        )
    if len(set(targets)) != len(targets):
        raise UsageError("two bags would be exported to the same name; export them separately")
    return targets


def _sidecar(archive: Path) -> Path:
    return archive.with_name(archive.name + SIDECAR_SUFFIX)


# -- exporting ----------------------------------------------------------------------


def export_bags(
    refs: Sequence[str],
    options: ExportOptions,
    store: Store | None,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[ExportResult]:
    """Verify and export each bag; record a ``tra`` event for every stored one.

    An invalid bag is refused (its result lists the verification errors) and the
    others are still exported; the caller exits 1 when any was refused.
    """
    sources = resolve_sources(refs, store, all_versions=options.all_versions)
    fmt = choose_format(options, len(sources))
    targets = destinations(sources, options, fmt)
    folder = options.to.parent if len(sources) == 1 and targets[0] == options.to else options.to
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{options.to}: cannot create the directory {folder}: {exc.strerror}",
                         path=folder, option="to") from exc
    results = []
    for source, target in zip(sources, targets, strict=True):
        results.append(export_one(source, target, fmt, store, workers=options.workers))
        if progress:
            progress(1)
    return results


def export_one(
    source: BagSource, target: Path, fmt: Format, store: Store | None, *, workers: int = 1
) -> ExportResult:
    """Verify one bag and write it to ``target`` with its sidecar."""
    result = ExportResult(source, "refused", fmt)
    verified = verify_bag(source.directory, mode="full", workers=workers)
    if not verified.valid:
        result.errors = [
            Problem(f.where() or str(source.directory), f"[{f.code}] {f.message}") for f in verified.errors
        ]
        if store is not None and source.stored is not None:
            _record(store, source, Event(
                "tra", "fai", detail=f"export as {fmt} refused: the bag is not valid "
                f"({len(result.errors)} error(s)); nothing written",
                data={"format": fmt, "destination": str(target.resolve()),
                      "errors": [p.to_dict() for p in result.errors]},
            ))
        return result
    try:
        write_export(source.directory, source.label, fmt, target)
    except TransferError as exc:
        result.errors = [Problem(exc.path or str(source.directory), exc.message)]
        return result
    result.status = "exported"
    result.destination = target
    if fmt != "dir":
        result.sha512, result.size = _sha512_file(target)
        result.sidecar = _sidecar(target)
        _write_atomically(result.sidecar, f"{result.sha512}  {target.name}\n".encode())
    if store is not None and source.stored is not None:
        detail = f"exported as {fmt} to {target.resolve()}"
        if result.sha512:
            detail += f" (sha512 {result.sha512})"
        _record(store, source, Event(
            "tra", "suc", detail=detail,
            data={"format": fmt, "destination": str(target.resolve()), "label": source.label,
                  "sha512": result.sha512, "size": result.size},
        ))
    return result


def _record(store: Store, source: BagSource, event: Event) -> None:
    stored = source.stored
    assert stored is not None
    full = Event(event.type, event.outcome, stored.identifier, stored.version, stored.path,
                 detail=event.detail, data=event.data)
    store.ledger.record_events([full])


# -- deterministic serialization ------------------------------------------------------


@dataclass(frozen=True)
class _Entry:
    name: str  # archive name, label first
    path: Path
    is_dir: bool
    size: int = 0


def archive_entries(bag_dir: Path, label: str) -> Iterator[_Entry]:
    """The bag's directories and files, depth first, each directory's entries sorted by name.

    Anything but regular files and directories makes the export fail: a verified
    bag has none, so one appearing means the bag changed under us.
    """
    yield _Entry(label, bag_dir, True)
    yield from _walk(bag_dir, label)


def _walk(directory: Path, prefix: str) -> Iterator[_Entry]:
    with os.scandir(directory) as listing:
        children = sorted(listing, key=lambda e: e.name.encode("utf-8", "surrogateescape"))
    for child in children:
        name = f"{prefix}/{child.name}"
        st = child.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            yield _Entry(name, Path(child.path), True)
            yield from _walk(Path(child.path), name)
        elif stat.S_ISREG(st.st_mode):
            yield _Entry(name, Path(child.path), False, st.st_size)
        else:
            raise TransferError(
                f"{child.path}: not a regular file or directory; the bag changed after it was verified",
                path=child.path,
            )


class _HashingReader:
    """A file read through sha512, so what was archived can be compared with the manifest."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.digest = hashlib.sha512()

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self.digest.update(data)
        return data


class _Guard:
    """Checks every archived file against the bag's sha512 manifests, as it is written.

    The bag was verified just before; a difference means it changed meanwhile,
    and an export must not carry bytes its own manifest contradicts.
    """

    def __init__(self, bag_dir: Path) -> None:
        self.expected: dict[str, str] = {}
        if (bag_dir / "manifest-sha512.txt").is_file():
            self.expected.update(read_manifest(bag_dir, "sha512"))
        if (bag_dir / "tagmanifest-sha512.txt").is_file():
            self.expected.update(read_manifest(bag_dir, "sha512", tag=True))

    @contextmanager
    def reading(self, entry: _Entry, rel: str) -> Iterator[_HashingReader]:
        with open(entry.path, "rb") as handle:
            reader = _HashingReader(handle)
            yield reader
            reader.read()  # anything past the size archived also counts as a change
        want = self.expected.get(rel)
        if want is not None and reader.digest.hexdigest() != want:
            raise TransferError(
                f"{entry.path}: changed after the bag was verified (sha512 differs from the manifest); "
                "nothing was exported: run 'stook verify' on the bag", path=entry.path)


def write_export(bag_dir: Path, label: str, fmt: Format, target: Path) -> None:
    """Write ``bag_dir`` to ``target`` as ``fmt``; the target appears whole or not at all."""
    mtime = bagging_timestamp(read_bag_info(bag_dir), ZIP_EPOCH)
    guard = _Guard(bag_dir)
    part = target.with_name(f".{target.name}.part-{uuid.uuid4().hex[:8]}")
    try:
        if fmt == "dir":
            _write_dir(bag_dir, part, guard)
        else:
            with open(part, "xb") as raw:
                if fmt == "zip":
                    _write_zip(bag_dir, label, raw, mtime, guard)
                elif fmt == "tar.gz":
                    with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=6) as gz:
                        _write_tar(bag_dir, label, gz, mtime, guard)
                else:
                    _write_tar(bag_dir, label, raw, mtime, guard)
                raw.flush()
                os.fsync(raw.fileno())
        os.rename(part, target)
        _fsync_dir(target.parent)
    except BaseException as exc:
        if part.is_dir():
            shutil.rmtree(part, ignore_errors=True)
        else:
            part.unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise TransferError(f"{target}: cannot write the export: {exc.strerror or exc}",
                                path=target) from exc
        raise


def _write_tar(bag_dir: Path, label: str, out: IO[bytes] | gzip.GzipFile, mtime: int, guard: _Guard) -> None:
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT, encoding="utf-8") as tar:
        for entry in archive_entries(bag_dir, label):
            info = tarfile.TarInfo(entry.name)
            info.mtime = mtime
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            if entry.is_dir:
                info.type = tarfile.DIRTYPE
                info.mode = DIR_MODE
                tar.addfile(info)
            else:
                info.type = tarfile.REGTYPE
                info.mode = FILE_MODE
                info.size = entry.size
                with guard.reading(entry, entry.name[len(label) + 1:]) as reader:
                    tar.addfile(info, reader)


def _write_zip(bag_dir: Path, label: str, out: IO[bytes], mtime: int, guard: _Guard) -> None:
    when = datetime.fromtimestamp(mtime, timezone.utc)
    date_time = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
        for entry in archive_entries(bag_dir, label):
            info = zipfile.ZipInfo(entry.name + ("/" if entry.is_dir else ""), date_time=date_time)
            info.create_system = 3  # Unix, so the mode bits below are read
            if entry.is_dir:
                info.external_attr = ((stat.S_IFDIR | DIR_MODE) << 16) | 0x10
                info.compress_type = zipfile.ZIP_STORED
                archive.writestr(info, b"")
                continue
            info.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            info.file_size = entry.size
            with guard.reading(entry, entry.name[len(label) + 1:]) as src, archive.open(
                info, "w", force_zip64=entry.size >= zipfile.ZIP64_LIMIT
            ) as dst:
                shutil.copyfileobj(src, dst, CHUNK)


def _write_dir(bag_dir: Path, part: Path, guard: _Guard) -> None:
    part.mkdir(mode=DIR_MODE)
    for entry in _walk(bag_dir, ""):
        target = part / entry.name.lstrip("/")
        if entry.is_dir:
            target.mkdir(mode=DIR_MODE)
        else:
            with guard.reading(entry, entry.name.lstrip("/")) as src, open(target, "xb") as dst:
                shutil.copyfileobj(src, dst, CHUNK)
                dst.flush()
                os.fsync(dst.fileno())
            os.chmod(target, FILE_MODE)


def _sha512_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha512()
    size = 0
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _write_atomically(path: Path, data: bytes) -> None:
    part = path.with_name(f".{path.name}.part-{uuid.uuid4().hex[:8]}")
    try:
        with open(part, "xb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.rename(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise TransferError(f"{path}: cannot write the checksum file: {exc.strerror or exc}",
                            path=path) from exc


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
