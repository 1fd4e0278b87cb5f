"""What is asked of the store and what it answers: requests, incoming bags, results."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stook.bagwriter import DEFAULT_ALGORITHMS, BuiltBag, PayloadItem
from stook.errors import ProvenanceConflict
from stook.ledger import BagVersion, Event, Source, utc_now
from stook.names import bag_name, identifier_key, version_dir

AddStatus = Literal["new", "changed", "unchanged"]


@dataclass
class BagRequest:
    """Everything needed to store one version of a record.

    ``payload`` excludes ``record.json``, which the store writes from ``record``.
    ``events`` are extra events (such as a harvest's capture) recorded with the bag.
    ``source`` says who supplies the record (hand entry when None): a record already
    supplied by another source is refused unless ``as_new_version`` (a version is
    added, the record keeps its owner); :meth:`stook.store.Store.take_over` moves a
    record to another source on purpose.
    """

    record: dict[str, Any]
    payload: Sequence[PayloadItem] = ()
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS
    source_organization: str | None = None
    events: Sequence[Event] = ()
    source: Source | None = None
    as_new_version: bool = False

    @property
    def supplier(self) -> Source:
        return self.source or Source.manual()


@dataclass
class IncomingBag:
    """A bag that arrived whole from elsewhere, described for the ledger.

    ``events`` are recorded with it (the receiver's transfer, fixity and ingestion
    events); their identifier/version/bag fields are filled in by the store when
    left empty. ``source`` and ``as_new_version`` mean what they mean for a
    :class:`BagRequest`.
    """

    identifier: str
    fingerprint: str
    payload_oxum: str
    size: int
    title: str | None = None
    groups: Sequence[str] = ()
    events: Sequence[Event] = ()
    source: Source = field(default_factory=Source.received)
    as_new_version: bool = False


@dataclass
class AddResult:
    status: AddStatus
    bag: BagVersion
    path: Path

    def to_dict(self) -> dict[str, Any]:
        data = self.bag.to_dict()
        data["store_path"] = data.pop("path")  # relative to the store root
        return {"status": self.status, "path": str(self.path), **data}


@dataclass
class StagedBag:
    """A version built in the store's ``.tmp``, waiting to be committed."""

    request: BagRequest
    bag: BagVersion
    tmp: Path  # the bag directory as built
    built: BuiltBag
    ingest_events: bool = True
    # A first version is built as ``.tmp/<name>.<random>/v1``; that directory is then
    # renamed to ``<name>``: no directory to make at commit time.
    moves_name_dir: bool = False


def new_version(
    identifier: str,
    previous: BagVersion | None,
    *,
    fingerprint: str,
    payload_oxum: str,
    size: int,
    title: str | None,
    groups: Sequence[str],
) -> BagVersion:
    """The pending version that follows ``previous`` (or the first one): the one place a
    new :class:`BagVersion` is made."""
    version = previous.version + 1 if previous else 1
    name = previous.name if previous else bag_name(identifier)
    return BagVersion(
        identifier=identifier,
        id_key=identifier_key(identifier),
        version=version,
        name=name,
        path=f"{name}/{version_dir(version)}",
        fingerprint=fingerprint,
        payload_oxum=payload_oxum,
        size=size,
        title=title,
        groups=tuple(groups),
        created=utc_now(),
        state="pending",
    )


def check_owner(request: BagRequest, owner: Source | None, previous: BagVersion | None) -> None:
    """Refuse a record that another source supplied, unless the request says to add a version."""
    supplier = request.supplier
    if owner is None or owner.owner == supplier.owner or request.as_new_version:
        return
    identifier = request.record["identifier"]
    latest = f" (latest version {previous.version})" if previous else ""
    raise ProvenanceConflict(
        f"record {identifier!r}{latest} was supplied by {owner.describe()}, not by {supplier.describe()}; "
        "nothing was stored",
        owner=owner.owner,
        source=supplier.owner,
        record_id=identifier,
        hint="to add this as a new version anyway (the record keeps its source), ask for a new version "
        "explicitly; a harvest can take records over on purpose",
    )


def fingerprint(
    record: dict[str, Any], payload_sha512: dict[str, str], *, record_bytes: bytes | None = None
) -> str:
    """What makes two versions the same: the record without its retrieval time, and the files."""
    from stook.bagbuild import fingerprint_of, stable_record_bytes  # noqa: PLC0415 (not for reads)

    return fingerprint_of(stable_record_bytes(record, record_bytes), payload_sha512)


def result_of(item: AddResult | StagedBag, root: Path) -> AddResult:
    if isinstance(item, AddResult):
        return item
    status: AddStatus = "new" if item.bag.version == 1 else "changed"
    return AddResult(status, item.bag, root / item.bag.path)


__all__ = [
    "AddResult",
    "AddStatus",
    "BagRequest",
    "IncomingBag",
    "StagedBag",
    "check_owner",
    "fingerprint",
    "new_version",
    "result_of",
]
