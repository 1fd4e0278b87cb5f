"""Unpacking a received bag (directory, tar, gzipped tar or zip) safely into the store's ``.tmp``.

Everything that arrives is hostile until checked. Entries are streamed one by one
into a fresh directory that becomes the bag; nothing is ever written elsewhere:

* names must be relative, without ``..``, drive letters, backslashes, control
  characters or undecodable bytes, and all under one top-level directory;
* only regular files and directories are accepted: symbolic and hard links,
  devices, FIFOs and sockets are refused (their target is never looked at);
* an entry that appears twice (exactly, or equal after Unicode NFC normalization)
  is refused; names that differ only in case are reported as a warning, since
  they collide on case-insensitive filesystems;
* the caps on bytes and entries count what is actually written, not what an
  archive declares (a compression bomb lies about its sizes);
* a truncated or damaged archive (short data, missing end-of-archive marker,
  bad CRC, broken gzip stream) is an error that says so.

Files are created with ``O_EXCL | O_NOFOLLOW`` and mode 0644, directories 0755,
whatever the archive claims. Problems are collected, not raised, so the report
names every one; hitting a cap stops the extraction at once.
"""

from __future__ import annotations

import gzip
import os
import stat
import tarfile
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from stook.errors import Problem

SourceFormat = Literal["dir", "tar", "tar.gz", "zip"]
#: The forms a bag travels in between archives: what export writes and receive reads.
FORMATS: tuple[SourceFormat, ...] = ("dir", "tar", "tar.gz", "zip")

KiB = 1024
DEFAULT_MAX_BYTES = 10 * 1024**3  # 10 GiB of extracted files per bag
DEFAULT_MAX_FILES = 100_000  # files and directories per bag
CHUNK = 1024 * 1024
TRAILER_LIMIT = 1024 * 1024  # bytes read after a tar's end marker to check the stream ends well
FILE_MODE = 0o644
DIR_MODE = 0o755


@dataclass(frozen=True)
class Limits:
    """Caps on one received bag: bytes actually written and entries created."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_files: int = DEFAULT_MAX_FILES


@dataclass
class Extraction:
    """What an extraction produced: the bag's top-level name, counts and every problem."""

    format: SourceFormat
    top: str | None = None
    files: int = 0
    dirs: int = 0
    bytes: int = 0
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


class _Stop(Exception):
    """A cap was hit or the archive cannot be read further: stop extracting."""


class _TarDamage(Exception):
    """A tar header that is short, missing or corrupt after the first one."""


_EOF_HEADER: type[Exception] = tarfile.EOFHeaderError  # type: ignore[attr-defined]


class _StrictTarInfo(tarfile.TarInfo):
    """TarInfo that does not take a damaged or missing header for the end of the archive.

    ``tarfile`` quietly ends iteration at a corrupt or short header; a receiver must
    know the difference between "no more entries" and "the rest is lost".
    """

    @classmethod
    def frombuf(cls, buf: bytes | bytearray, encoding: str, errors: str) -> _StrictTarInfo:
        if len(buf) == 0:
            raise _TarDamage("the archive ends without the tar end-of-archive marker: it is truncated")
        if len(buf) != tarfile.BLOCKSIZE:
            raise _TarDamage("the archive ends inside an entry header: it is truncated")
        try:
            return super().frombuf(buf, encoding, errors)
        except _EOF_HEADER:
            raise
        except tarfile.HeaderError as exc:
            raise _TarDamage(f"damaged tar entry header ({exc}): the archive is corrupt") from exc


def detect_format(path: Path) -> SourceFormat | None:
    """The kind of bag at ``path``, from its content rather than its name."""
    if path.is_dir():
        return "dir"
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return None
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "tar.gz"
    if len(head) >= 262 and head[257:262] == b"ustar":
        return "tar"
    return format_from_name(path)


def format_from_name(path: Path) -> SourceFormat | None:
    """The archive kind a file name promises (.tar, .tar.gz/.tgz, .zip), if any."""
    name = path.name.lower()
    if name.endswith((".tar.gz", ".tgz")):
        return "tar.gz"
    if name.endswith(".tar"):
        return "tar"
    if name.endswith(".zip"):
        return "zip"
    return None


def _show(name: str) -> str:
    """A name as it can be printed on one line."""
    return name if name.isprintable() else ascii(name)


class _Sink:
    """Writes checked entries under ``target``, which becomes the bag directory."""

    def __init__(self, target: Path, result: Extraction, limits: Limits) -> None:
        self.target = target
        self.result = result
        self.limits = limits
        self.kinds: dict[str, str] = {}  # relative path -> "file" | "dir"
        self.explicit_dirs: set[str] = set()
        self.nfc_names: dict[str, str] = {}
        self.folded: dict[str, str] = {}
        self.entries = 0
        self.scanned = 0
        target.mkdir(mode=DIR_MODE)
        self.kinds[""] = "dir"

    # -- reporting ----------------------------------------------------------------

    def error(self, name: str, message: str) -> None:
        self.result.errors.append(Problem(_show(name), message))

    def warn(self, name: str, message: str) -> None:
        self.result.warnings.append(Problem(_show(name), message))

    def refuse(self, name: str, what: str) -> None:
        self.error(name, f"{what}: refused (a bag holds only regular files and directories)")

    # -- names --------------------------------------------------------------------

    def relative(self, raw: str) -> str | None:
        """The entry's path inside the bag, or None (after reporting) when unsafe."""
        if not raw:
            self.error("(empty name)", "entry without a name")
            return None
        if any(0xD800 <= ord(ch) <= 0xDFFF for ch in raw):
            self.error(raw, "entry name is not valid UTF-8")
            return None
        if any(unicodedata.category(ch) == "Cc" for ch in raw):
            self.error(raw, "entry name contains control characters")
            return None
        if raw.startswith(("/", "\\")) or (len(raw) >= 2 and raw[1] == ":"):
            self.error(raw, "absolute path: refused (entries must be relative to the archive)")
            return None
        if "\\" in raw:
            self.error(raw, "backslash in entry name: refused (a Windows path separator, "
                            "not portable and possibly a path trick)")
            return None
        parts = [p for p in raw.split("/") if p not in ("", ".")]
        if ".." in parts:
            self.error(raw, "'..' in entry name: refused (path traversal outside the bag)")
            return None
        if not parts:
            return ""  # the archive root itself ("./")
        top, rest = parts[0], parts[1:]
        if self.result.top is None:
            self.result.top = top
        elif top != self.result.top:
            self.error(raw, f"second top-level entry besides {_show(self.result.top)!s}/: a serialized "
                            "bag has exactly one top-level directory, the bag")
            return None
        return "/".join(rest)

    def claim(self, raw: str, rel: str, kind: str) -> bool:
        """Record ``rel`` as a new entry; refuse duplicates and file/directory clashes."""
        if rel in self.kinds and not (kind == "dir" and self.kinds[rel] == "dir"
                                      and rel not in self.explicit_dirs):
            self.error(raw, "duplicate entry: the archive holds this name twice")
            return False
        parent = rel.rsplit("/", 1)[0] if "/" in rel else ""
        probe = parent
        while probe:
            if self.kinds.get(probe) == "file":
                self.error(raw, f"entry lies under {_show(probe)}, which is a file")
                return False
            probe = probe.rsplit("/", 1)[0] if "/" in probe else ""
        if rel not in self.kinds:
            nfc = unicodedata.normalize("NFC", rel)
            if nfc in self.nfc_names:
                self.error(raw, f"duplicate entry: same name as {_show(self.nfc_names[nfc])} after "
                                "Unicode normalization (NFC)")
                return False
            self.nfc_names[nfc] = rel
            folded = nfc.casefold()
            if folded in self.folded:
                self.warn(raw, f"differs from {_show(self.folded[folded])} only in case: the two "
                               "collide on case-insensitive filesystems")
            else:
                self.folded[folded] = rel
        self.count_entry(raw)
        if kind == "dir":
            self.explicit_dirs.add(rel)
        return True

    def count_entry(self, raw: str) -> None:
        self.entries += 1
        if self.entries > self.limits.max_files:
            self.error(raw, f"more than {self.limits.max_files} entries: over the --max-files cap; "
                            "nothing was added (raise --max-files if the bag is genuine)")
            raise _Stop

    # -- writing ------------------------------------------------------------------

    def _ensure_dirs(self, raw: str, rel: str) -> Path:
        """Create the parents of ``rel`` (counted as entries); return the parent path."""
        parts = rel.split("/")
        path = self.target
        built = ""
        for part in parts[:-1]:
            built = f"{built}/{part}" if built else part
            path = path / part
            if built not in self.kinds:
                self.kinds[built] = "dir"
                self.nfc_names.setdefault(unicodedata.normalize("NFC", built), built)
                self.folded.setdefault(unicodedata.normalize("NFC", built).casefold(), built)
                self.count_entry(raw)
                path.mkdir(mode=DIR_MODE)
                self.result.dirs += 1
        return path

    def add_dir(self, raw: str) -> bool:
        """Create the directory entry ``raw``; False when it was refused."""
        rel = self.relative(raw)
        if rel is None:
            return False
        if rel == "":
            return True
        if not self.claim(raw, rel, "dir"):
            return False
        if self.kinds.get(rel) == "dir":
            return True  # created earlier as a parent
        self._ensure_dirs(raw, rel)
        (self.target / rel).mkdir(mode=DIR_MODE)
        self.kinds[rel] = "dir"
        self.result.dirs += 1
        return True

    def scan(self, raw: str, size: int) -> None:
        """Count data that passes through, written or skipped, against the byte cap."""
        self.scanned += max(0, size)
        if self.scanned > self.limits.max_bytes:
            self.over_bytes(raw, f"brings the archive's data to {self.scanned} bytes,")

    def add_file(self, raw: str, reader: IO[bytes], declared: int | None = None) -> None:
        rel = self.relative(raw)
        if rel is None:
            return
        if rel == "":
            self.error(raw, "a file at the top level of the archive: the bag must be its only entry")
            return
        if not self.claim(raw, rel, "file"):
            return
        if declared is not None and self.result.bytes + declared > self.limits.max_bytes:
            self.over_bytes(raw, f"declares {declared} bytes")
        parent = self._ensure_dirs(raw, rel)
        target = parent / rel.rsplit("/", 1)[-1]
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
            os, "O_CLOEXEC", 0)
        fd = os.open(target, flags, FILE_MODE)
        self.kinds[rel] = "file"
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = reader.read(CHUNK)
                if not chunk:
                    break
                if self.result.bytes + len(chunk) > self.limits.max_bytes:
                    self.over_bytes(raw, "grows")
                out.write(chunk)
                self.result.bytes += len(chunk)
        self.result.files += 1

    def over_bytes(self, raw: str, how: str) -> None:
        self.error(raw, f"entry {how} past the --max-bytes cap of {self.limits.max_bytes} bytes "
                        "extracted; nothing was added (raise --max-bytes if the bag is genuine)")
        raise _Stop


def extract(source: Path, target: Path, fmt: SourceFormat, limits: Limits | None = None) -> Extraction:
    """Unpack the bag at ``source`` into the new directory ``target`` (the bag itself).

    ``target`` must not exist; the caller removes it when the result has errors.
    """
    limits = limits or Limits()
    result = Extraction(format=fmt)
    sink = _Sink(target, result, limits)
    try:
        if fmt == "dir":
            _copy_dir(source, sink)
        elif fmt == "zip":
            _extract_zip(source, sink)
        else:
            _extract_tar(source, sink, gz=fmt == "tar.gz")
    except _Stop:
        pass
    except OSError as exc:
        result.errors.append(Problem(str(source), f"cannot be read or extracted: {exc.strerror or exc}"))
    if result.top is None and not result.errors:
        result.errors.append(Problem(str(source), "holds no bag directory (the archive is empty)"))
    return result


# -- directories ------------------------------------------------------------------


def _copy_dir(source: Path, sink: _Sink) -> None:
    top = source.resolve().name or "bag"
    sink.result.top = top
    _copy_tree(source, top, sink)


def _copy_tree(directory: Path, prefix: str, sink: _Sink) -> None:
    with os.scandir(directory) as listing:
        entries = sorted(listing, key=lambda e: e.name)
    for entry in entries:
        raw = f"{prefix}/{entry.name}"
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError as exc:
            sink.error(raw, f"cannot be read: {exc.strerror or exc}")
            continue
        mode = st.st_mode
        if stat.S_ISLNK(mode):
            target = os.readlink(entry.path)
            sink.refuse(raw, f"symbolic link to {_show(target)}")
        elif stat.S_ISDIR(mode):
            if sink.add_dir(raw):
                _copy_tree(Path(entry.path), raw, sink)
        elif stat.S_ISREG(mode):
            if st.st_nlink > 1:
                sink.warn(raw, f"has {st.st_nlink} hard links on the sending side; its content is copied")
            flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
            try:
                fd = os.open(entry.path, flags)
            except OSError as exc:
                sink.error(raw, f"cannot be read: {exc.strerror or exc}")
                continue
            with os.fdopen(fd, "rb") as reader:
                sink.add_file(raw, reader, st.st_size)
        else:
            sink.refuse(raw, _special_kind(mode))


def _special_kind(mode: int) -> str:
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return f"special file (mode {mode:o})"


# -- tar --------------------------------------------------------------------------


@contextmanager
def _open_tar(source: Path, gz: bool) -> Iterator[tuple[tarfile.TarFile, Any]]:
    with open(source, "rb") as raw:
        stream: Any = gzip.GzipFile(fileobj=raw, mode="rb") if gz else raw
        try:
            with tarfile.open(fileobj=stream, mode="r|", tarinfo=_StrictTarInfo,
                              encoding="utf-8", errors="surrogateescape") as tar:
                yield tar, stream
        finally:
            if gz:
                stream.close()


def _extract_tar(source: Path, sink: _Sink, *, gz: bool) -> None:
    kind = "gzipped tar" if gz else "tar"
    try:
        with _open_tar(source, gz) as (tar, stream):
            for member in tar:
                _tar_member(tar, member, sink)
            _check_tar_end(tar, stream, sink, source)
    except _Stop:
        raise
    except _TarDamage as exc:
        sink.error(source.name, str(exc))
    except (tarfile.ReadError, EOFError, zlib.error, gzip.BadGzipFile) as exc:
        sink.error(source.name, f"cannot be read as a {kind} file: {_truncation(exc)}")
    except tarfile.TarError as exc:
        sink.error(source.name, f"cannot be read as a {kind} file: {exc}")


def _truncation(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "unexpected end" in lowered or "ended before" in lowered or isinstance(exc, EOFError):
        return f"{text}: the archive is truncated"
    return text


def _tar_member(tar: tarfile.TarFile, member: tarfile.TarInfo, sink: _Sink) -> None:
    raw = member.name
    sink.scan(raw, member.size)
    if member.isdir():
        sink.add_dir(raw)
    elif member.isreg():
        reader = tar.extractfile(member)
        assert reader is not None
        with reader:
            sink.add_file(raw, reader, member.size)
    elif member.issym():
        sink.refuse(raw, f"symbolic link to {_show(member.linkname)}")
    elif member.islnk():
        sink.refuse(raw, f"hard link to {_show(member.linkname)}")
    elif member.ischr() or member.isblk():
        sink.refuse(raw, "device file")
    elif member.isfifo():
        sink.refuse(raw, "FIFO (named pipe)")
    else:
        sink.refuse(raw, f"tar entry of type {member.type!r}")


def _check_tar_end(tar: tarfile.TarFile, stream: Any, sink: _Sink, source: Path) -> None:
    """After the first zero block: a second one, then (for gzip) a stream that ends cleanly."""
    fileobj: Any = tar.fileobj
    second = fileobj.read(tarfile.BLOCKSIZE)
    if len(second) < tarfile.BLOCKSIZE:
        sink.error(source.name, "the tar end-of-archive marker is incomplete: the archive is truncated")
        return
    trailer_nonzero = second.count(0) != len(second)
    seen = len(second)
    while True:
        chunk = fileobj.read(64 * KiB)
        if not chunk:
            break
        seen += len(chunk)
        trailer_nonzero = trailer_nonzero or chunk.count(0) != len(chunk)
        if seen > TRAILER_LIMIT:
            sink.warn(source.name, "more than 1 MiB after the end-of-archive marker; ignored")
            return
    if trailer_nonzero:
        sink.warn(source.name, "data after the end-of-archive marker; ignored")


# -- zip --------------------------------------------------------------------------


def _extract_zip(source: Path, sink: _Sink) -> None:
    try:
        archive = zipfile.ZipFile(source)
    except zipfile.BadZipFile as exc:
        sink.error(source.name, f"cannot be read as a zip file ({exc}): its central directory is "
                                "missing or damaged, so the file is truncated or not a zip")
        return
    with archive:
        infos = archive.infolist()
        if len(infos) > sink.limits.max_files:
            sink.error(source.name, f"lists {len(infos)} entries: over the --max-files cap of "
                                    f"{sink.limits.max_files}; nothing was added")
            raise _Stop
        declared = sum(i.file_size for i in infos)
        if declared > sink.limits.max_bytes:
            sink.error(source.name, f"declares {declared} bytes: over the --max-bytes cap of "
                                    f"{sink.limits.max_bytes}; nothing was added")
            raise _Stop
        for info in infos:
            _zip_member(archive, info, sink)


def _zip_member(archive: zipfile.ZipFile, info: zipfile.ZipInfo, sink: _Sink) -> None:
    raw = info.filename
    mode = (info.external_attr >> 16) & 0xFFFF if info.create_system == 3 else 0
    file_type = stat.S_IFMT(mode)
    if file_type == stat.S_IFLNK:
        sink.refuse(raw, "symbolic link")
        return
    if file_type and file_type not in (stat.S_IFREG, stat.S_IFDIR):
        sink.refuse(raw, _special_kind(mode))
        return
    if info.flag_bits & 0x1:
        sink.error(raw, "encrypted entry: refused (cannot be verified)")
        return
    if info.is_dir() or file_type == stat.S_IFDIR:
        sink.add_dir(raw if raw.endswith("/") else raw + "/")
        return
    try:
        with archive.open(info) as reader:
            sink.add_file(raw, reader, info.file_size)
    except _Stop:
        raise
    except zipfile.BadZipFile as exc:
        sink.error(raw, f"damaged zip entry: {exc}")
    except NotImplementedError as exc:
        sink.error(raw, f"cannot be extracted: {exc}")
    except (EOFError, zlib.error) as exc:
        sink.error(raw, f"damaged zip entry: {_truncation(exc)}")
