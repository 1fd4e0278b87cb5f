"""What a harvest is asked to do, what it reports, and the datestamps it sends."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from stook.bagwriter import DEFAULT_ALGORITHMS
from stook.crosswalk import CrosswalkOptions
from stook.errors import UsageError
from stook.harvest.client import DAY_GRANULARITY, RetryPolicy
from stook.harvest.files import DEFAULT_MAX_FILE_SIZE
from stook.harvest.netpolicy import DEFAULT_MAX_RESPONSE_BYTES


@dataclass
class HarvestConfig:
    """Everything ``stook harvest`` was asked to do."""

    base_url: str
    metadata_prefix: str = "oai_dc"
    crosswalk: CrosswalkOptions = field(default_factory=CrosswalkOptions, kw_only=True)
    set_spec: str | None = None
    from_: str | None = None
    until: str | None = None
    limit: int | None = None
    timeout: float = 60.0
    max_wait: float = 600.0
    max_retries: int = 8
    backoff: float = 1.0
    max_response_bytes: int = field(default=DEFAULT_MAX_RESPONSE_BYTES, kw_only=True)
    fetch_files: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    allow_private_hosts: bool = field(default=False, kw_only=True)
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS
    source_organization: str | None = None
    restart: bool = False
    adopt_existing: bool = False

    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.timeout, self.max_retries, self.backoff, self.max_wait,
                           max_response_bytes=self.max_response_bytes)


@dataclass
class PageProgress:
    """Sent to the progress callback after every page."""

    pages: int
    records: int
    complete_list_size: int | None
    elapsed: float


@dataclass
class HarvestSummary:
    base_url: str
    metadata_prefix: str
    set_spec: str | None
    window_from: str | None = None
    window_until: str | None = None
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    invalid: int = 0
    pages: int = 0
    records: int = 0
    illegal_chars_removed: int = 0
    retries: int = 0
    files_fetched: int = 0
    files_skipped: int = 0
    resumed: bool = False
    window_restarts: int = 0
    complete: bool = False
    elapsed: float = 0.0
    rate: float = 0.0
    quarantined: list[str] = field(default_factory=list)
    collisions: int = 0
    taken_over: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.invalid or self.collisions else 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["elapsed"] = round(self.elapsed, 3)
        data["rate"] = round(self.rate, 1)
        return data


def normalize_datestamp(value: str | None, granularity: str, *, end: bool, what: str) -> str | None:
    """An OAI datestamp for ``from``/``until`` in the repository's granularity; ``what`` names
    the parameter (or saved value) the date came from, for the message."""
    if value is None or value == "":
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise UsageError(
            f"{value!r} is not a date ({what}); use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (UTC)",
            option=what if what in ("from_", "until") else None,
        )
    if granularity == DAY_GRANULARITY:
        return text[:10]
    if len(text) == 10:
        return text + ("T23:59:59Z" if end else "T00:00:00Z")
    return text
