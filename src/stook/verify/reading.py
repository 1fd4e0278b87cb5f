"""Reading one bag for verification: its encoding, what is on disk, and its tag files.

The first part of a verification run (:mod:`stook.verify.engine`); every problem goes
into the run's report and reading goes on.
"""

from __future__ import annotations

import codecs
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from stook.bagspec import ANY_MANIFEST_NAME, HASHLIB_NAMES, NOT_ALGORITHM_CHAR
from stook.verify.fs import BagFS, Entry
from stook.verify.manifests import FetchEntry, ManifestEntry, parse_fetch, parse_manifest
from stook.verify.model import (
    FileOutcome,
    FileStatus,
    Mode,
    Report,
)
from stook.verify.tagfiles import InfoElement, decode_tag_file, parse_bag_info, version_tuple


@dataclass
class Manifest:
    """One manifest file as found on disk and parsed."""

    name: str
    tag: bool
    algorithm: str  # normalised (RFC 8493 §2.4) name
    supported: bool
    entries: list[ManifestEntry] = field(default_factory=list)
    resolved: dict[str, ManifestEntry] = field(default_factory=dict)  # disk path -> entry


class BagReading:
    """State of one verification, and the reading of the bag (tag files, disk listing)."""

    def __init__(
        self,
        given: str,
        fs: BagFS,
        bagit_txt: bytes,
        mode: Mode,
        workers: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.given = given
        self.fs = fs
        self.bagit_txt = bagit_txt
        self.mode = mode
        self.workers = workers
        self.progress = progress
        self.report = Report()
        self.v1 = True
        self.encoding = "utf-8"
        self.utf8 = True
        self.payload: dict[str, int] = {}  # regular payload files found on disk -> size
        self.tags: dict[str, int] = {}  # regular tag files found on disk -> size
        self.refused: dict[str, str] = {}  # paths never to be opened -> why
        self.outcomes: dict[str, FileOutcome] = {}
        self.by_nfc: dict[str, list[str]] = {}

    # -- bagit.txt and encoding -------------------------------------------------------

    def _choose_encoding(self, declared: str | None) -> None:
        if declared is None:
            return
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            self.report.error(
                "unknown-encoding",
                f"bagit.txt declares Tag-File-Character-Encoding {declared!r}, which is not a"
                " known character encoding; tag files were read as UTF-8",
                path="bagit.txt", line=2, found=declared,
            )
            return
        self.encoding = codec
        self.utf8 = codec == "utf-8"
        if not self.utf8:
            self.report.warn(
                "non-utf8-encoding",
                f"bagit.txt declares {declared}; RFC 8493 §2.1.1 says tag files SHOULD be"
                " UTF-8",
                path="bagit.txt", line=2, found=declared,
            )

    # -- what is on disk ------------------------------------------------------------

    def _scan_disk(self) -> None:
        data = self.fs.lookup("data")
        if data.kind != "directory" or data.via_symlink:
            what = {"missing": "is missing"}.get(data.kind, f"is not a directory ({data.kind})")
            if data.via_symlink and data.kind == "directory":
                what = "is a symlink; the payload directory must be a real directory"
            self.report.error(
                "missing-payload-dir",
                f"the payload directory data/ {what} (RFC 8493 §2.1.2)",
                path="data",
            )
        for rel, entry in self.fs.walk(""):
            if rel == "data":
                continue
            is_payload = rel.startswith("data/")
            if entry.kind == "file":
                (self.payload if is_payload else self.tags)[rel] = entry.size
                if entry.via_symlink:
                    self.report.warn(
                        "symlink",
                        f"{rel} is a symlink to a file inside the bag; it was followed, but"
                        " copies of the bag may not keep it",
                        path=rel,
                    )
                continue
            self._refuse(rel, entry)

    def _refuse(self, rel: str, entry: Entry) -> None:
        """Report a path that is not a regular file inside the bag; it is never opened."""
        if rel in self.refused:
            return
        if entry.kind == "outside":
            code, why = "symlink-outside", "is a symlink pointing outside the bag"
        elif entry.kind == "special":
            code, why = "special-file", f"is a {entry.detail}, not a regular file"
        elif entry.kind == "directory":
            if entry.via_symlink:
                self.report.warn(
                    "symlink",
                    f"{rel} is a symlink to a directory inside the bag; it was not followed",
                    path=rel,
                )
                return
            code, why = "not-a-file", "is a directory; manifests list files only"
        elif entry.kind == "missing":
            code, why = "dangling-symlink", "is a symlink to nothing"
        else:
            code, why = "unreadable-file", f"cannot be read ({entry.detail})"
        self.refused[rel] = code
        self.report.error(code, f"{rel} {why}; it was not opened", path=rel)
        self._outcome(rel, "unsafe" if code != "unreadable-file" else "unreadable")

    def _outcome(
        self, rel: str, status: FileStatus, size: int | None = None, algs: Iterable[str] = ()
    ) -> None:
        self.outcomes[rel] = FileOutcome(rel, status, size, tuple(sorted(algs)))

    def _read_tag_file(self, rel: str) -> str | None:
        try:
            data = self.fs.read_bytes(rel)
        except OSError as exc:
            self.report.error(
                "unreadable-file", f"{rel} cannot be read: {exc.strerror or exc}", path=rel
            )
            return None
        return decode_tag_file(rel, data, self.encoding, self.utf8, self.v1, self.report)

    # -- tag files ------------------------------------------------------------------

    def _load_manifests(self) -> list[Manifest]:
        manifests: list[Manifest] = []
        names = sorted(n for n in [*self.tags, *self.refused] if "/" not in n)
        for name in names:
            m = ANY_MANIFEST_NAME.match(name)
            if not m or name in self.refused:
                continue
            raw_alg = m.group(2)
            alg = NOT_ALGORITHM_CHAR.sub("", raw_alg.lower())
            if raw_alg != alg:
                self.report.error(
                    "bad-algorithm-name",
                    f"{name}: algorithm {raw_alg!r} is not normalised; RFC 8493 §2.4 wants"
                    f" the lowercase name without punctuation ({alg!r})",
                    path=name, found=raw_alg, expected=alg,
                )
            supported = alg in HASHLIB_NAMES
            if not supported:
                self.report.add(
                    self.mode == "full",
                    "unsupported-algorithm",
                    f"{name}: checksum algorithm {raw_alg!r} is not supported, so its"
                    " checksums cannot be verified",
                    path=name, algorithm=alg,
                )
            manifest = Manifest(name, bool(m.group(1)), alg, supported)
            text = self._read_tag_file(name)
            if text is not None:
                manifest.entries = parse_manifest(
                    name, alg if supported else None, text, self.v1, self.report
                )
            manifests.append(manifest)
        if not any(not m.tag for m in manifests):
            self.report.error(
                "missing-payload-manifest",
                "the bag has no payload manifest (manifest-<algorithm>.txt); RFC 8493 §2.1.3"
                " requires at least one",
            )
        return manifests

    def _load_fetch(self) -> list[FetchEntry]:
        if "fetch.txt" not in self.tags:
            return []
        text = self._read_tag_file("fetch.txt")
        return [] if text is None else parse_fetch(text, self.v1, self.report)

    def _load_bag_info(self, version: str | None) -> list[InfoElement]:
        name = "bag-info.txt"
        if name not in self.tags and version_tuple(version) < (0, 96):
            name = "package-info.txt"  # its name before BagIt 0.96
        if name not in self.tags:
            return []
        text = self._read_tag_file(name)
        return [] if text is None else parse_bag_info(name, text, self.v1, self.report)

