"""What an audit is asked and what it finds: options, each bag's verdict, the run's result."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from stook.errors import UsageError

AuditMode = Literal["full", "fast"]
BagStatus = Literal["ok", "failed", "missing", "unknown", "error"]

_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``45s``, ``2w`` or combinations such as ``1d12h``."""
    cleaned = text.strip().lower().replace(" ", "")
    pos = 0
    seconds = 0.0
    for match in _DURATION.finditer(cleaned):
        if match.start() != pos:
            break
        seconds += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not cleaned or pos != len(cleaned):
        raise UsageError(
            f"{text!r} is not a duration",
            option="max_age",
            hint="write a number and a unit: 30d, 12h, 90m, 45s or 2w (combinations like 1d12h work)",
        )
    return timedelta(seconds=seconds)


def stamp(moment: datetime) -> str:
    """A datetime in the ledger's text form, so it compares with event datetimes as strings."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# -- results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FileProblem:
    """One thing wrong with a bag, named as precisely as the bag allows."""

    kind: str  # corrupted truncated missing unexpected tag-edited unreadable unsafe invalid ...
    message: str
    path: str | None = None
    code: str = ""
    algorithm: str | None = None
    expected: str | None = None
    found: str | None = None
    line: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None and v != ""}

    def short(self) -> str:
        """One phrase for an event detail: file, kind and, for digests, algorithm/expected/found."""
        where = self.path or "bag"
        if self.algorithm and self.expected and self.found:
            return (f"{where} {self.kind} ({self.algorithm} expected {self.expected},"
                    f" found {self.found})")
        if self.kind in ("invalid", "unsafe", "unreadable", "not-a-bag", "ledger-mismatch"):
            return f"{where} {self.kind}: {self.message}"
        return f"{where} {self.kind}"


@dataclass
class BagAudit:
    """What the audit found for one bag version (or one unknown bag directory)."""

    bag: str  # store path "<name>/v<N>"
    identifier: str | None
    version: int | None
    status: BagStatus
    mode: AuditMode
    checksums_verified: bool = False
    recovered: bool = False
    previous_check: str | None = None
    previous_outcome: str | None = None
    last_intact: str | None = None  # last successful full check, else when the bag was ingested
    created: str | None = None
    files_checked: int = 0
    bytes_hashed: int = 0
    algorithms: list[str] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    warnings: list[FileProblem] = field(default_factory=list)
    elapsed: float = 0.0
    event: str | None = None  # uuid of the fix event recorded

    @property
    def failed(self) -> bool:
        return self.status != "ok"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["problems"] = [p.to_dict() for p in self.problems]
        data["warnings"] = [w.to_dict() for w in self.warnings]
        return data


@dataclass(frozen=True)
class SkippedBag:
    """A bag not checked in this run, and why (``not-due`` or ``over-limit``)."""

    bag: str
    identifier: str
    version: int
    last_checked: str | None
    reason: Literal["not-due", "over-limit"]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class AuditResult:
    """A whole run: every bag audited, every bag skipped, and the totals."""

    store: str
    mode: AuditMode
    executor: str
    started: str
    finished: str = ""
    elapsed: float = 0.0
    max_age: str | None = None
    limit: int | None = None
    bags: list[BagAudit] = field(default_factory=list)
    skipped: list[SkippedBag] = field(default_factory=list)
    deferred: list[SkippedBag] = field(default_factory=list)
    interrupted: bool = False

    def _count(self, status: str) -> int:
        return sum(1 for b in self.bags if b.status == status)

    @property
    def checksums_verified(self) -> bool:
        return self.mode == "full"

    @property
    def checked(self) -> int:
        return sum(1 for b in self.bags if b.status in ("ok", "failed"))

    @property
    def ok(self) -> int:
        return self._count("ok")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def missing(self) -> int:
        return self._count("missing")

    @property
    def unknown(self) -> int:
        return self._count("unknown")

    @property
    def errors(self) -> int:
        return self._count("error")

    @property
    def recovered(self) -> int:
        return sum(1 for b in self.bags if b.recovered)

    @property
    def bytes_hashed(self) -> int:
        return sum(b.bytes_hashed for b in self.bags)

    @property
    def failures(self) -> list[BagAudit]:
        return [b for b in self.bags if b.failed]

    @property
    def exit_code(self) -> int:
        """0 when every bag checked is intact and the store holds exactly what the ledger says."""
        if self.interrupted:
            return 130
        return 1 if self.failures else 0

    def summary(self) -> dict[str, Any]:
        rate = self.bytes_hashed / self.elapsed if self.elapsed > 0 else 0.0
        bag_rate = self.checked / self.elapsed if self.elapsed > 0 else 0.0
        return {
            "store": self.store,
            "mode": self.mode,
            "checksums_verified": self.checksums_verified,
            "executor": self.executor,
            "started": self.started,
            "finished": self.finished,
            "elapsed": round(self.elapsed, 3),
            "checked": self.checked,
            "bytes_hashed": self.bytes_hashed,
            "ok": self.ok,
            "failed": self.failed,
            "missing": self.missing,
            "unknown": self.unknown,
            "errors": self.errors,
            "recovered": self.recovered,
            "skipped": len(self.skipped),
            "deferred": len(self.deferred),
            "bytes_per_second": round(rate, 1),
            "bags_per_second": round(bag_rate, 2),
            "max_age": self.max_age,
            "limit": self.limit,
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
        }

    def to_dict(self) -> dict[str, Any]:
        ordered = sorted(self.bags, key=lambda b: (not b.failed, b.bag))
        return {
            "summary": self.summary(),
            "bags": [b.to_dict() for b in ordered],
            "skipped": [s.to_dict() for s in self.skipped],
            "deferred": [s.to_dict() for s in self.deferred],
        }


@dataclass(frozen=True)
class AuditOptions:
    """What ``stook audit`` was asked to do."""

    max_age: timedelta | None = None
    limit: int | None = None
    workers: int | None = None  # None: os.cpu_count()
    scheduler: str | None = None  # tcp://HOST:PORT of a Dask scheduler
    fast: bool = False
    record: bool = True  # False: only report, write no events (a read-only store)

    @property
    def mode(self) -> AuditMode:
        return "fast" if self.fast else "full"


@dataclass(frozen=True)
class FixHistory:
    """A bag's fixity checks so far, as the ledger's ``fixity`` table keeps them."""

    last_check: str | None = None  # last fix event counting for this mode's ordering
    last_outcome: str | None = None  # outcome of the last fix event of any mode
    last_any: str | None = None
    last_intact: str | None = None  # last successful full check
