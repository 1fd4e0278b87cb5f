"""The picklable result types of a bag verification, and the collector that fills them.

Audit and receive run the engine in worker processes, so everything here is a
plain dataclass of strings, numbers and lists.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Mode = Literal["full", "fast", "completeness"]
MODES: tuple[Mode, ...] = ("full", "fast", "completeness")

FileStatus = Literal[
    "ok",  # every listed checksum verified
    "corrupt",  # at least one checksum differs
    "unverified",  # present, but checksums not computed (fast/completeness mode)
    "missing",  # listed, absent and not in fetch.txt
    "not-fetched",  # listed in fetch.txt and not yet fetched
    "unexpected",  # on disk in data/ but in no payload manifest
    "unsafe",  # refused: escapes the bag, symlink outside, device, FIFO, directory
    "unreadable",  # present but could not be read
]

# Error codes that mean "something is absent or unlisted", as opposed to
# "something present is wrong"; they decide ``complete`` and the INCOMPLETE status.
COMPLETENESS_CODES = frozenset(
    {
        "missing-file",
        "missing-tag-file",
        "not-fetched",
        "unexpected-file",
        "missing-from-manifest",
        "missing-payload-dir",
        "missing-payload-manifest",
    }
)
# The codes that alone make a bag INCOMPLETE rather than INVALID (holes, not damage).
HOLE_CODES = frozenset({"missing-file", "missing-tag-file", "not-fetched", "oxum-mismatch"})


@dataclass(frozen=True)
class Finding:
    """One problem (error) or doubt (warning), located as precisely as the bag allows."""

    code: str
    message: str
    path: str | None = None
    line: int | None = None
    algorithm: str | None = None
    expected: str | None = None
    found: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def where(self) -> str:
        """``path:line`` (or whichever is known), for one-line reports."""
        if self.path is None:
            return ""
        return f"{self.path}:{self.line}" if self.line is not None else self.path


@dataclass(frozen=True)
class FileOutcome:
    """What became of one file the manifests or the payload directory name."""

    path: str
    status: FileStatus
    size: int | None = None
    algorithms: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["algorithms"] = list(self.algorithms)
        return data


@dataclass
class VerifyResult:
    """Everything :func:`stook.verify.verify_bag` learnt about one bag."""

    bag: str
    mode: Mode
    valid: bool
    complete: bool
    checksums_verified: bool
    version: str | None
    errors: list[Finding]
    warnings: list[Finding]
    files_checked: int
    bytes_hashed: int
    algorithms: list[str]
    files: list[FileOutcome] = field(default_factory=list)
    # What each payload manifest lists (algorithm -> bag path -> digest), as read; in a
    # valid full check every one of these was verified against the file.
    payload_digests: dict[str, dict[str, str]] = field(default_factory=dict)
    # bag-info.txt as parsed, (label, value) in order, and the payload found on disk as
    # a Payload-Oxum (bytes.files): what callers would otherwise read the bag again for.
    bag_info: list[tuple[str, str]] = field(default_factory=list)
    payload_oxum: str | None = None

    @property
    def status(self) -> Literal["valid", "incomplete", "invalid"]:
        """``incomplete`` when the only errors are holes (missing or unfetched files)."""
        if self.valid:
            return "valid"
        codes = {f.code for f in self.errors}
        if codes and codes <= HOLE_CODES and codes & (HOLE_CODES - {"oxum-mismatch"}):
            return "incomplete"
        return "invalid"

    def to_dict(self) -> dict[str, Any]:
        return {
            "bag": self.bag,
            "mode": self.mode,
            "status": self.status,
            "valid": self.valid,
            "complete": self.complete,
            "checksums_verified": self.checksums_verified,
            "version": self.version,
            "errors": [f.to_dict() for f in self.errors],
            "warnings": [f.to_dict() for f in self.warnings],
            "files_checked": self.files_checked,
            "bytes_hashed": self.bytes_hashed,
            "algorithms": list(self.algorithms),
            "files": [f.to_dict() for f in self.files],
        }


@dataclass
class Report:
    """Collects findings without stopping; de-duplicates exact repeats."""

    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    _seen: set[tuple[bool, Finding]] = field(default_factory=set, repr=False)

    def error(self, code: str, message: str, **where: Any) -> None:
        self._add(True, Finding(code, message, **where))

    def warn(self, code: str, message: str, **where: Any) -> None:
        self._add(False, Finding(code, message, **where))

    def add(self, is_error: bool, code: str, message: str, **where: Any) -> None:
        self._add(is_error, Finding(code, message, **where))

    def _add(self, is_error: bool, finding: Finding) -> None:
        key = (is_error, finding)
        if key in self._seen:
            return
        self._seen.add(key)
        (self.errors if is_error else self.warnings).append(finding)

    def has_error(self, code: str, path: str | None = None) -> bool:
        return any(f.code == code and (path is None or f.path == path) for f in self.errors)
