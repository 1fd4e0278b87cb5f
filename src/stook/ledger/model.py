"""What the ledger holds, as values: bag versions and PREMIS events.

Kept apart from the SQL so the rest of stook can pass these around (and build events
to record) without touching a database connection.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
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


def utc_now() -> str:
    """UTC time to the microsecond with a Z (2026-11-27T06:40:00.123456Z), as every
    timestamp in the ledger is written."""
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")[:-6] + "Z"


_RANDOM = bytearray()
_RANDOM_LOCK = threading.Lock()
# A forked worker must never hand out the parent's unused random bytes again.
os.register_at_fork(after_in_child=_RANDOM.clear)


def new_uuid() -> str:
    """A random (version 4) UUID as text. Every event gets one (four per bag stored): the
    random bytes are read from the OS 4 KiB at a time, not 16 bytes per system call, and
    formatted here (``str(uuid.uuid4())`` costs several times more)."""
    with _RANDOM_LOCK:
        if len(_RANDOM) < 16:
            _RANDOM.extend(os.urandom(4096))
        raw = _RANDOM[-16:]
        del _RANDOM[-16:]
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
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
