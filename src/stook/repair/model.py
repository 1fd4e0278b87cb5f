"""What repair is asked and what it did: options, each file's fate, the run's result."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stook.errors import Problem
from stook.transfer.extract import Limits, SourceFormat

RepairStatus = Literal["repaired", "intact", "refused"]
SwapMethod = Literal["exchange", "per-file", "rename"]


@dataclass(frozen=True)
class RepairOptions:
    """How to repair.

    ``limits`` bound the extraction of an archive given as the partner's copy (the same
    rules as receive). ``exchange`` False replaces the damaged files one by one (each
    atomically) instead of swapping the whole repaired bag in at once; stook falls
    back to that by itself where the filesystem cannot exchange two directories.
    """

    limits: Limits = field(default_factory=Limits)
    exchange: bool = True


@dataclass(frozen=True)
class Reference:
    """What the bag must hold, as known without the partner's word: its payload digests."""

    algorithm: str
    payload: dict[str, str]  # bag path -> digest
    source: str  # how it is known, for people and for the recovery event
    algorithms: tuple[str, ...] = ()  # the payload manifests' algorithms at ingest, when recorded


@dataclass(frozen=True)
class FileRepair:
    """One file of the repaired bag that came from the partner's copy."""

    path: str
    reason: str  # missing, corrupted, damaged (a tag file)
    algorithm: str
    digest: str  # the digest of the replacement, equal to the reference
    found: str | None = None  # the damaged file's digest (None when it was missing)
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "reason": self.reason, "algorithm": self.algorithm,
                                "digest": self.digest, "found": self.found}
        if self.note:
            data["note"] = self.note
        return data

    def phrase(self) -> str:
        was = f"was {self.reason}"
        if self.found:
            was += f", {self.algorithm} {self.found}"
        return f"{self.path} ({was}; now {self.algorithm} {self.digest})"


@dataclass
class RepairResult:
    """Everything one repair found and did; ``status`` says which."""

    identifier: str
    version: int
    bag: str  # store path <name>/v<N>
    source: Path
    status: RepairStatus = "refused"
    format: SourceFormat | None = None
    reference: str | None = None
    method: SwapMethod | None = None
    replaced: list[FileRepair] = field(default_factory=list)
    kept: int = 0
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # uuids of the events recorded

    @property
    def exit_code(self) -> int:
        return 1 if self.status == "refused" else 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "version": self.version,
            "bag": self.bag,
            "source": str(self.source),
            "status": self.status,
            "format": self.format,
            "reference": self.reference,
            "method": self.method,
            "replaced": [r.to_dict() for r in self.replaced],
            "kept": self.kept,
            "problems": [p.to_dict() for p in self.problems],
            "warnings": [p.to_dict() for p in self.warnings],
            "events": list(self.events),
        }
