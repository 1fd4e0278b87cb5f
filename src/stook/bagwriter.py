"""Writing one BagIt 1.0 bag (RFC 8493) into a directory.

Every byte stook writes is hashed while it is in memory, and files copied from disk
are hashed while they are copied, so no file is read back. The writer only builds a
bag in the directory it is given; the store decides where that is and makes it
durable and visible (see :mod:`stook.store`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import BinaryIO

from stook import AGENT, PROJECT_URL
from stook.bagspec import DECLARATION
from stook.durable import no_space
from stook.errors import BagError, ContentError, UsageError

ALGORITHMS = ("sha512", "sha256", "sha1", "md5")
DEFAULT_ALGORITHMS: tuple[str, ...] = ("sha512",)
PROFILE_IDENTIFIER = "https://stook.dev/schemas/bagit-profile/v1/stook-bagit-profile.json"
CHUNK = 1024 * 1024


@dataclass(frozen=True)
class PayloadItem:
    """One payload file: its path under data/ and either its bytes or a file to copy."""

    path: str
    data: bytes | None = None
    source: Path | None = None

    def __post_init__(self) -> None:
        if (self.data is None) == (self.source is None):
            raise ValueError("a payload item has either data or a source file")
        check_payload_path(self.path)


@dataclass
class BuiltBag:
    """What was written: digests per algorithm for payload and tag files, sizes."""

    directory: Path
    payload_digests: dict[str, dict[str, str]] = field(default_factory=dict)
    tag_digests: dict[str, dict[str, str]] = field(default_factory=dict)
    payload_bytes: int = 0
    payload_files: int = 0
    total_bytes: int = 0

    @property
    def payload_oxum(self) -> str:
        return f"{self.payload_bytes}.{self.payload_files}"


def check_algorithms(algorithms: Sequence[str]) -> tuple[str, ...]:
    """sha512 always, plus the requested extras, each once, in a stable order."""
    chosen = ["sha512"]
    for alg in algorithms:
        name = alg.lower().replace("-", "")
        if name not in ALGORITHMS:
            raise UsageError(f"unsupported checksum algorithm {alg!r}; choose from {', '.join(ALGORITHMS)}")
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


_UNPORTABLE = set('%\\:*?"<>|') | {chr(c) for c in range(32)} | {"\x7f"}


def check_payload_path(path: str) -> None:
    """Refuse payload paths that could escape data/ or break on another system.

    ``%`` is refused too: RFC 8493 §2.1.3 has it percent-encoded in manifests, but
    bagit-python does not decode it, and every stook bag must validate there as well.
    With ``%``, CR and LF refused, manifest lines carry paths exactly as they are.
    """
    parts = path.split("/")
    if (
        not path
        or path.startswith("/")
        or any(part in ("", ".", "..") for part in parts)
        or any(ch in _UNPORTABLE for ch in path)
    ):
        raise UsageError(
            f"payload path {path!r} is not a portable relative path under data/ "
            "(no '..', no leading '/', none of % \\ : * ? \" < > | or control characters)"
        )


def portable_file_name(name: str) -> str:
    """``name`` with characters other systems or BagIt tools mishandle replaced by '_'."""
    cleaned = "".join("_" if ch in _UNPORTABLE or ch == "/" else ch for ch in name).strip(" .")
    return cleaned or "file"



_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _write_new(path: str, data: bytes) -> None:
    """Create ``path`` (never overwriting) with ``data``: plain os calls, no buffered file object."""
    fd = os.open(path, _NEW_FILE, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


class _Hashers:
    def __init__(self, algorithms: Sequence[str]) -> None:
        self.objs = [hashlib.new(alg) for alg in algorithms]
        self.algorithms = algorithms

    def update(self, data: bytes | memoryview) -> None:
        for obj in self.objs:
            obj.update(data)

    def hexdigests(self) -> dict[str, str]:
        return {alg: obj.hexdigest() for alg, obj in zip(self.algorithms, self.objs, strict=True)}


def _source_error(source: Path, what: str, exc: OSError) -> ContentError:
    """An OS error on a file to be bagged, as a message that names it and says what it is."""
    if isinstance(exc, FileNotFoundError):
        return ContentError(f"{source}: {what} not found", path=source)
    if isinstance(exc, IsADirectoryError):
        return ContentError(f"{source}: {what} is a directory, not a file", path=source)
    return ContentError(f"{source}: cannot read {what}: {exc.strerror}", path=source)


@contextmanager
def open_source(source: Path, what: str = "file") -> Iterator[BinaryIO]:
    """Open a file to be bagged, turning OS errors into messages that name it and say what it is."""
    try:
        handle = open(source, "rb")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise _source_error(source, what, exc) from exc
    with handle:
        yield handle


_READ_SOURCE = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def _copy_hashing(source: Path, target: str, algorithms: Sequence[str]) -> tuple[dict[str, str], int]:
    """Copy ``source`` to the new file ``target`` and hash it on the way, in one pass.

    Plain descriptors, no buffered file objects: most attachments are small, and a
    bag holds several, so the per-file cost is mostly system calls.
    """
    hashers = _Hashers(algorithms)
    size = 0
    try:
        src = os.open(source, _READ_SOURCE)
    except OSError as exc:
        raise _source_error(source, "file", exc) from exc
    try:
        dst = os.open(target, _NEW_FILE, 0o644)
        try:
            while True:
                try:
                    chunk = os.read(src, CHUNK)
                except OSError as exc:
                    raise _source_error(source, "file", exc) from exc
                if not chunk:
                    break
                hashers.update(chunk)
                view = memoryview(chunk)
                while view:
                    view = view[os.write(dst, view) :]
                size += len(chunk)
        finally:
            os.close(dst)
    finally:
        os.close(src)
    return hashers.hexdigests(), size


def payload_sha512(item: PayloadItem) -> str:
    """The sha512 of a payload item, read from disk when it is a file."""
    if item.data is not None:
        return hashlib.sha512(item.data).hexdigest()
    assert item.source is not None
    digest = hashlib.sha512()
    with open_source(item.source) as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _bag_info_text(fields: Iterable[tuple[str, str]]) -> bytes:
    lines = []
    for label, value in fields:
        flat = " ".join(str(value).split())  # tag values are single lines here
        lines.append(f"{label}: {flat}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _space_needed(payload: Sequence[PayloadItem]) -> int:
    """About how many bytes a bag of ``payload`` takes on disk: its files, a block each
    for the small ones, and the tag files."""
    total = 16 * 1024
    for item in payload:
        if item.data is not None:
            size = len(item.data)
        else:
            assert item.source is not None
            try:
                size = os.stat(item.source).st_size
            except OSError:
                size = 0
        total += size + 4096
    return total


def human_size(size: int) -> str:
    value = float(size)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{int(value)} {unit}" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"


def write_bag(
    directory: Path,
    payload: Sequence[PayloadItem],
    info: Sequence[tuple[str, str]],
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS,
    *,
    bagging_date: datetime | None = None,
) -> BuiltBag:
    """Write a complete bag into the new, empty ``directory``.

    ``info`` holds the bag-info fields that describe the content; the writer adds
    Bagging-Date, Bag-Size, Payload-Oxum, Bag-Software-Agent and
    BagIt-Profile-Identifier.
    """
    algorithms = check_algorithms(algorithms)
    seen: set[str] = set()
    for item in payload:
        folded = item.path.casefold()
        if folded in seen:
            raise UsageError(f"payload path {item.path!r} appears twice (case-insensitively)")
        seen.add(folded)
    built = BuiltBag(directory=directory)
    built.payload_digests = {alg: {} for alg in algorithms}
    root = os.fspath(directory)
    try:
        os.mkdir(root)
        data_dir = root + "/data"
        os.mkdir(data_dir)
        made_dirs: set[str] = {data_dir}
        for item in sorted(payload, key=lambda p: p.path):
            target = data_dir + "/" + item.path
            parent = target.rsplit("/", 1)[0]
            if parent not in made_dirs:
                _make_parents(parent, made_dirs)
            if item.data is not None:
                hashers = _Hashers(algorithms)
                hashers.update(item.data)
                _write_new(target, item.data)
                digests, size = hashers.hexdigests(), len(item.data)
            else:
                assert item.source is not None
                digests, size = _copy_hashing(item.source, target, algorithms)
            for alg, digest in digests.items():
                built.payload_digests[alg]["data/" + item.path] = digest
            built.payload_bytes += size
            built.payload_files += 1

        when = bagging_date or datetime.now(timezone.utc)
        bag_info = list(info) + [
            ("Bagging-Date", when.date().isoformat()),
            ("Bag-Size", human_size(built.payload_bytes)),
            ("Payload-Oxum", built.payload_oxum),
            ("Bag-Software-Agent", f"{AGENT} <{PROJECT_URL}>"),
            ("BagIt-Profile-Identifier", PROFILE_IDENTIFIER),
        ]
        tag_files: dict[str, bytes] = {
            "bagit.txt": DECLARATION,
            "bag-info.txt": _bag_info_text(bag_info),
        }
        for alg in algorithms:
            lines = [
                f"{digest}  {path}\n"
                for path, digest in sorted(built.payload_digests[alg].items())
            ]
            tag_files[f"manifest-{alg}.txt"] = "".join(lines).encode("utf-8")
        built.tag_digests = {alg: {} for alg in algorithms}
        for name, content in tag_files.items():
            _write_new(f"{root}/{name}", content)
            for alg in algorithms:
                built.tag_digests[alg][name] = hashlib.new(alg, content).hexdigest()
        tag_bytes = sum(len(c) for c in tag_files.values())
        for alg in algorithms:
            lines = [f"{d}  {n}\n" for n, d in sorted(built.tag_digests[alg].items())]
            content = "".join(lines).encode("utf-8")
            _write_new(f"{root}/tagmanifest-{alg}.txt", content)
            tag_bytes += len(content)
        built.total_bytes = built.payload_bytes + tag_bytes
    except OSError as exc:
        shutil.rmtree(directory, ignore_errors=True)
        if exc.errno == errno.ENOSPC:
            raise no_space(directory.parent, "writing a new bag", _space_needed(payload)) from exc
        raise BagError(f"{directory}: cannot write the bag: {exc.strerror or exc}", path=directory) from exc
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    return built


def _make_parents(directory: str, made: set[str]) -> None:
    """Create ``directory`` and whatever of its parents this bag has not made yet."""
    parent = directory.rsplit("/", 1)[0]
    if parent not in made:
        _make_parents(parent, made)
    os.mkdir(directory)
    made.add(directory)


def remove_tree(path: Path) -> None:
    """Delete a directory tree we own (temporary builds), tolerating a partial one."""
    if path.is_symlink() or path.is_file():
        path.unlink(missing_ok=True)
    elif path.exists():
        shutil.rmtree(path, ignore_errors=True)
    if path.exists():  # pragma: no cover - only on odd permissions
        os.chmod(path, 0o700)
        shutil.rmtree(path)
