"""Where an extraction writes: the caps, the free-space margin and the checked entry names.

:class:`Sink` is shared by the directory, tar and zip readers (:mod:`.extract`,
:mod:`.tararchive`, :mod:`.ziparchive`): every entry goes through it, so the rules
on names, duplicates, links, caps and free space are the same whatever the format.
"""

from __future__ import annotations

import os
import stat
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Literal

from stook.errors import Problem

SourceFormat = Literal["dir", "tar", "tar.gz", "zip"]
#: The forms a bag travels in between archives: what export writes and receive reads.
FORMATS: tuple[SourceFormat, ...] = ("dir", "tar", "tar.gz", "zip")

DEFAULT_MAX_BYTES = 10 * 1024**3  # 10 GiB of extracted files per bag
DEFAULT_MAX_FILES = 100_000  # files and directories per bag
DEFAULT_MAX_RATIO = 200.0  # bytes written per compressed byte, per entry and per archive
RATIO_GRACE = 1024 * 1024  # an entry or archive that wrote less is never judged by its ratio
SPACE_MARGIN_FRACTION = 0.05  # of the filesystem's size, kept free ...
SPACE_MARGIN_MAX = 1024**3  # ... but never more than 1 GiB
SPACE_RECHECK = 64 * 1024 * 1024  # ask the filesystem again after this many bytes written
CHUNK = 1024 * 1024
FILE_MODE = 0o644
DIR_MODE = 0o755


@dataclass(frozen=True)
class Limits:
    """Caps on one received bag: bytes actually written, entries created, expansion ratio.

    ``max_ratio`` bounds bytes written per compressed byte read, for each entry and
    for the whole archive (neither is judged before it has written ``RATIO_GRACE``
    bytes, so small, very compressible files pass). Bags copied from a directory
    are not compressed and have no ratio.
    """

    max_bytes: int = DEFAULT_MAX_BYTES
    max_files: int = DEFAULT_MAX_FILES
    max_ratio: float = DEFAULT_MAX_RATIO


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


class StopExtraction(Exception):
    """A cap was hit or the archive cannot be read further: stop extracting."""


def show_name(name: str) -> str:
    """A name as it can be printed on one line."""
    return name if name.isprintable() else ascii(name)


def special_kind(mode: int) -> str:
    """How to name a file that is neither regular nor a directory."""
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "device file"
    if stat.S_ISFIFO(mode):
        return "FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "socket"
    return f"special file (mode {mode:o})"


class Sink:
    """Writes checked entries under ``target``, which becomes the bag directory."""

    def __init__(self, target: Path, result: Extraction, limits: Limits,
                 archive_size: int | None = None) -> None:
        self.target = target
        self.result = result
        self.limits = limits
        self.archive_size = archive_size  # bytes of the archive file; None for a directory
        self.kinds: dict[str, str] = {}  # relative path -> "file" | "dir"
        self.explicit_dirs: set[str] = set()
        self.nfc_names: dict[str, str] = {}
        self.folded: dict[str, str] = {}
        self.entries = 0
        self.scanned = 0
        target.mkdir(mode=DIR_MODE)
        self.kinds[""] = "dir"
        self.space = Space(target.parent)

    # -- reporting ----------------------------------------------------------------

    def error(self, name: str, message: str, *, option: str | None = None) -> None:
        self.result.errors.append(Problem(show_name(name), message, option=option))

    def warn(self, name: str, message: str) -> None:
        self.result.warnings.append(Problem(show_name(name), message))

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
            self.error(raw, f"second top-level entry besides {show_name(self.result.top)!s}/: a serialized "
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
                self.error(raw, f"entry lies under {show_name(probe)}, which is a file")
                return False
            probe = probe.rsplit("/", 1)[0] if "/" in probe else ""
        if rel not in self.kinds:
            nfc = unicodedata.normalize("NFC", rel)
            if nfc in self.nfc_names:
                self.error(raw, f"duplicate entry: same name as {show_name(self.nfc_names[nfc])} after "
                                "Unicode normalization (NFC)")
                return False
            self.nfc_names[nfc] = rel
            folded = nfc.casefold()
            if folded in self.folded:
                self.warn(raw, f"differs from {show_name(self.folded[folded])} only in case: the two "
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
            self.error(raw, f"more than {self.limits.max_files} entries: over the cap on entries "
                            "(max_files); nothing was added (raise it if the bag is genuine)",
                       option="max_files")
            raise StopExtraction

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

    def add_file(self, raw: str, reader: IO[bytes], declared: int | None = None,
                 compressed: Callable[[], int] | None = None) -> None:
        """Write one file entry; ``compressed`` tells how many archive bytes it has cost so far."""
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
        self.make_room(raw, self.space.block)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
            os, "O_CLOEXEC", 0)
        fd = os.open(target, flags, FILE_MODE)
        self.kinds[rel] = "file"
        written = 0
        with os.fdopen(fd, "wb") as out:
            while True:
                chunk = reader.read(CHUNK)
                if not chunk:
                    break
                if self.result.bytes + len(chunk) > self.limits.max_bytes:
                    self.over_bytes(raw, "grows")
                written += len(chunk)
                self.check_ratio(raw, written, compressed() if compressed else None,
                                 self.result.bytes + len(chunk))
                self.make_room(raw, len(chunk))
                out.write(chunk)
                self.result.bytes += len(chunk)
        self.result.files += 1

    def over_bytes(self, raw: str, how: str) -> None:
        self.error(raw, f"entry {how} past the cap on bytes extracted (max_bytes) of "
                        f"{self.limits.max_bytes} bytes; nothing was added (raise it if the bag is genuine)",
                   option="max_bytes")
        raise StopExtraction

    def check_ratio(self, raw: str, written: int, compressed: int | None, total: int,
                    how: str = "written") -> None:
        """Stop before an entry, or the archive as a whole, expands past ``max_ratio``.

        ``written`` bytes of the entry came from ``compressed`` bytes of the archive;
        ``total`` is what the whole archive has written (or, before extracting, declares).
        """
        ratio = self.limits.max_ratio
        if compressed is not None and written > RATIO_GRACE and written > ratio * max(compressed, 1):
            self.over_ratio(raw, f"entry expands more than {ratio:g}:1 ({written} bytes {how} from "
                                 f"about {compressed} compressed bytes)")
        size = self.archive_size
        if size is not None and total > RATIO_GRACE and total > ratio * max(size, 1):
            self.over_ratio(raw, f"the archive expands more than {ratio:g}:1 ({total} bytes {how} "
                                 f"from a {size}-byte archive)")

    def over_ratio(self, raw: str, how: str) -> None:
        self.error(raw, f"{how}: over the expansion-ratio cap (max_ratio) of "
                        f"{self.limits.max_ratio:g}:1, the mark of a compression bomb; nothing was "
                        "added (raise it if the bag is genuine)", option="max_ratio")
        raise StopExtraction

    def declare(self, name: str, declared: int) -> None:
        """Refuse, before writing anything, an archive whose declared size would not leave the
        free-space margin on the store's filesystem."""
        self.space.refresh()
        if self.space.free - declared < self.space.margin:
            self.error(name, f"not enough free space to extract it: it declares {declared} bytes, the "
                             f"store's filesystem ({self.space.directory}) has {self.space.free} bytes "
                             f"free and keeps {self.space.margin} free (5% of its size, at most 1 GiB); "
                             "nothing was written: free some space or use a store on a larger "
                             "filesystem")
            raise StopExtraction

    def make_room(self, raw: str, size: int) -> None:
        if not self.space.room(size):
            self.error(raw, f"extraction stopped: writing it would leave less than {self.space.margin} "
                            f"bytes free on the store's filesystem ({self.space.directory}, "
                            f"{self.space.free} bytes free); nothing was added: free some space or "
                            "use a store on a larger filesystem")
            raise StopExtraction


class Space:
    """Free space on the store's filesystem, asked again often enough to notice other writers."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        st = os.statvfs(directory)
        self.block = st.f_frsize or 4096
        self.margin = min(int(st.f_blocks * st.f_frsize * SPACE_MARGIN_FRACTION), SPACE_MARGIN_MAX)
        self.free = st.f_bavail * st.f_frsize
        self.since = 0

    def refresh(self) -> None:
        st = os.statvfs(self.directory)
        self.free = st.f_bavail * st.f_frsize
        self.since = 0

    def room(self, size: int) -> bool:
        """Whether ``size`` more bytes leave the margin free; if so they are counted as taken."""
        if self.since + size > SPACE_RECHECK or self.free - size < self.margin:
            self.refresh()
        if self.free - size < self.margin:
            return False
        self.free -= size
        self.since += size
        return True
