"""What the ledger holds, as values: bag versions and PREMIS events.

Kept apart from the SQL so the rest of stook can pass these around (and build events
to record) without touching a database connection.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from stook import AGENT

LEDGER_FILE = "stook-ledger.sqlite"

PREMIS_EVENT_TYPE = "http://id.loc.gov/vocabulary/preservation/eventType/"
PREMIS_OUTCOME = "http://id.loc.gov/vocabulary/preservation/eventOutcome/"

EVENT_TYPES = {
    "cap": "capture",
    "val": "validation",
    "mes": "message digest calculation",
    "ing": "ingestion",
    "fix": "fixity check",
    "tra": "transfer",
    "rep": "replication",
    "dea": "deaccession",
    # Also from the id.loc.gov vocabulary, for repair, quarantine and dropped files.
    "del": "deletion",
    "mod": "modification",
    "qua": "quarantine",
    "rec": "recovery",
}
OUTCOMES = {"suc": "success", "fai": "failure", "war": "warning"}


# The last whole second formatted, and its text: an audit stamps thousands of events a
# second, and only the microseconds change between most of them.
_LAST_SECOND: tuple[int, str] = (-1, "")


def utc_now() -> str:
    """UTC time to the microsecond with a Z (2026-11-27T06:40:00.123456Z), as every
    timestamp in the ledger is written."""
    global _LAST_SECOND
    seconds, nanos = divmod(time.time_ns(), 1_000_000_000)
    last, text = _LAST_SECOND
    if seconds != last:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _LAST_SECOND = (seconds, text)  # one tuple, replaced whole: safe across threads
    return f"{text}.{nanos // 1000:06d}Z"


_RANDOM = bytearray()
_RANDOM_LOCK = threading.Lock()
# A forked worker must never hand out the parent's unused random bytes again.
os.register_at_fork(after_in_child=_RANDOM.clear)


def new_uuid() -> str:
    """A time-ordered (version 7, RFC 9562) UUID as text. Every event gets one (four per bag
    stored). Time-ordered, new identifiers land at the end of the ledger's unique index
    instead of on a random page of it: a commit of a few hundred events then rewrites a few
    index pages, not hundreds (an audit of small bags spends a fifth less on its ledger).
    The 48-bit Unix time in milliseconds is followed by 12 bits of sub-millisecond time
    (RFC 9562, 6.2 method 3) and 62 random bits, read from the OS 4 KiB at a time."""
    now = time.time_ns()
    with _RANDOM_LOCK:
        if len(_RANDOM) < 8:
            _RANDOM.extend(os.urandom(4096))
        rand = int.from_bytes(_RANDOM[-8:], "big")
        del _RANDOM[-8:]
    millis, rest = divmod(now, 1_000_000)
    value = (
        (millis & 0xFFFF_FFFF_FFFF) << 80
        | 0x7 << 76  # version 7
        | (rest * 4096 // 1_000_000) << 64  # sub-millisecond fraction, 12 bits
        | 0b10 << 62  # RFC 9562 variant
        | rand & 0x3FFF_FFFF_FFFF_FFFF
    )
    h = f"{value:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


BAG_COLUMNS = (
    "identifier, id_key, version, name, path, fingerprint, payload_oxum, size, title, groups,"
    " created, state"
)


@dataclass(frozen=True)
class BagVersion:
    identifier: str
    id_key: str
    version: int
    name: str
    path: str  # relative to the store root: "<name>/v<N>"
    fingerprint: str
    payload_oxum: str
    size: int
    title: str | None
    groups: tuple[str, ...]
    created: str
    state: str

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> BagVersion:
        """From a row selected as ``SELECT {BAG_COLUMNS} FROM bags`` (by position: fast)."""
        identifier, id_key, version, name, path, fingerprint, oxum, size, title, groups, created, state = row
        return cls(
            identifier, id_key, version, name, path, fingerprint, oxum, size, title,
            () if groups == "[]" else tuple(json.loads(groups)), created, state,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["groups"] = list(self.groups)
        return data


@dataclass(frozen=True)
class Event:
    """One PREMIS event: what happened to which bag version, when, by whom, with what outcome."""

    type: str
    outcome: str
    identifier: str | None = None
    version: int | None = None
    bag: str | None = None
    detail: str = ""
    data: dict[str, Any] | None = None
    uuid: str = field(default_factory=new_uuid)
    datetime: str = field(default_factory=utc_now)
    agent: str = AGENT
    seq: int | None = None

    def __post_init__(self) -> None:
        if self.type not in EVENT_TYPES:
            raise ValueError(f"unknown PREMIS event type {self.type!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"unknown PREMIS event outcome {self.outcome!r}")

    @property
    def type_uri(self) -> str:
        return PREMIS_EVENT_TYPE + self.type

    @property
    def outcome_uri(self) -> str:
        return PREMIS_OUTCOME + self.outcome

    def to_dict(self) -> dict[str, Any]:
        return {
            "uuid": self.uuid,
            "type": self.type,
            "type_label": EVENT_TYPES[self.type],
            "type_uri": self.type_uri,
            "datetime": self.datetime,
            "identifier": self.identifier,
            "version": self.version,
            "bag": self.bag,
            "agent": self.agent,
            "outcome": self.outcome,
            "outcome_label": OUTCOMES[self.outcome],
            "outcome_uri": self.outcome_uri,
            "detail": self.detail,
            "data": self.data,
        }

    @classmethod
    def from_row(cls, row: Any) -> Event:
        """From a ``SELECT * FROM events`` row (an ``sqlite3.Row``)."""
        return cls(
            type=row["type"],
            outcome=row["outcome"],
            identifier=row["identifier"],
            version=row["version"],
            bag=row["bag"],
            detail=row["detail"],
            data=json.loads(row["data"]) if row["data"] else None,
            uuid=row["uuid"],
            datetime=row["datetime"],
            agent=row["agent"],
            seq=row["seq"],
        )


EventRow = tuple[Any, ...]  # the columns of the events table, as inserted


def event_row(e: Event) -> EventRow:
    """An event as the row it is inserted as; its data serialized once, here."""
    data = json.dumps(e.data, ensure_ascii=False, sort_keys=True) if e.data is not None else None
    return (e.uuid, e.type, e.datetime, e.identifier, e.version, e.bag, e.agent, e.outcome, e.detail, data)


def row_event(row: Sequence[Any] | dict[str, Any]) -> Event:
    """An event kept with a pending bag, back from its row (or, as kept before rows were
    used, from a dict of its fields)."""
    if isinstance(row, dict):
        return Event(**row)
    uuid_, type_, when, identifier, version, bag, agent, outcome, detail, data = row
    return Event(type_, outcome, identifier, version, bag, detail=detail,
                 data=json.loads(data) if data is not None else None,
                 uuid=uuid_, datetime=when, agent=agent)
