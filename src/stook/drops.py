"""No silent drops: a new version keeps every payload file of the one before, unless told.

Re-bagging a record without one of its attachments would otherwise make a latest
version that quietly lacks it. The payload of the latest stored version (read from
its manifests, ``data/record.json`` aside) is compared with the new payload; a file
missing from the new one is refused by name unless the caller drops it on purpose,
and each file dropped on purpose is recorded as a PREMIS deletion event of the new
version naming the file and the previous version's bag.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from stook.errors import FilesDropped, StoreError, UsageError
from stook.ledger import BagVersion, Event
from stook.names import RECORD_FILE
from stook.store import BagRequest, Store
from stook.verify.manifests import parse_manifest
from stook.verify.model import Report
from stook.verify.tagfiles import decode_tag_file, parse_bagit_txt, version_tuple

_MANIFEST = re.compile(r"^manifest-([a-z0-9]+)\.txt$")


@dataclass(frozen=True)
class DropPlan:
    """What a new version leaves out of the previous one, and the events that say so."""

    previous: BagVersion | None
    dropped: tuple[str, ...] = ()  # data/... paths
    events: tuple[Event, ...] = ()


def payload_files(bag_dir: Path) -> dict[str, tuple[str, str]]:
    """The payload paths (``data/...``) a stored bag's manifests list, each with an
    (algorithm, digest) pair: sha512 where the bag has it."""
    files: dict[str, tuple[str, str]] = {}
    try:
        declaration = parse_bagit_txt((bag_dir / "bagit.txt").read_bytes(), Report())
        # sha512 last, so its digest is the one kept
        names = sorted((p.name for p in bag_dir.iterdir() if _MANIFEST.match(p.name)),
                       key=lambda n: (n == "manifest-sha512.txt", n))
        if not names:
            raise StoreError(
                f"{bag_dir}: this stored version has no manifest to compare the new one with;"
                " check the store with an audit",
                path=bag_dir,
            )
        v1 = version_tuple(declaration.version) >= (1, 0)
        encoding = declaration.encoding or "utf-8"
        utf8 = encoding.lower().replace("-", "") == "utf8"
        for name in names:
            algorithm = name[len("manifest-") : -len(".txt")]
            report = Report()
            text = decode_tag_file(name, (bag_dir / name).read_bytes(), encoding, utf8, v1, report)
            for entry in parse_manifest(name, algorithm, text, v1, report):
                files[entry.path] = (algorithm, entry.digest)
    except (OSError, LookupError) as exc:
        raise StoreError(
            f"{bag_dir}: cannot read the file list of this stored version to compare the new one"
            f" with it: {getattr(exc, 'strerror', None) or exc}; check the store with an audit",
            path=bag_dir,
        ) from exc
    return files


def plan_drops(
    store: Store, request: BagRequest, *, drop: Sequence[str] = (), drop_missing: bool = False
) -> DropPlan:
    """Compare ``request`` with the latest stored version of its record.

    Raises :class:`FilesDropped` naming each file the new version lacks, unless it is in
    ``drop`` (its ``data/`` path or its path under data/) or ``drop_missing`` is set;
    raises :class:`UsageError` for a ``drop`` entry that names no file being left out.
    Call it holding the store's writer lock, so the latest version cannot change before
    the new one is added.
    """
    identifier = request.record["identifier"]
    previous = store.latest(identifier)
    if previous is None:
        if drop:
            raise UsageError(
                f"record {identifier!r}: nothing to drop: the store has no earlier version of it",
                record_id=identifier,
            )
        return DropPlan(None)
    before = payload_files(store.bag_path(previous))
    before.pop(f"data/{RECORD_FILE}", None)
    after = {f"data/{item.path}" for item in request.payload}
    missing = sorted(set(before) - after)
    wanted = {_as_data_path(name, before, after, identifier, previous) for name in drop}
    unwanted = [path for path in missing if path not in wanted]
    if unwanted and not drop_missing:
        listed = ", ".join(unwanted)
        raise FilesDropped(
            f"record {identifier!r}: the new version lacks {len(unwanted)} file"
            f"{'s' if len(unwanted) != 1 else ''} that version {previous.version}"
            f" ({previous.path}) has: {listed}",
            missing=unwanted,
            previous=previous.path,
            record_id=identifier,
            hint="add them back (in the record's content, as texts or as files), or leave them out"
            " on purpose by naming each in drop, or with drop_missing",
        )
    reason = "named to be dropped"
    events = tuple(
        Event(
            "del",
            "suc",
            identifier,
            detail=f"{path} of version {previous.version} ({previous.path}) left out of this version:"
            f" {reason if path in wanted else 'all missing files dropped on request'}",
            data={
                "file": path,
                "previous_version": previous.version,
                "previous_bag": previous.path,
                before[path][0]: before[path][1],
            },
        )
        for path in missing
    )
    return DropPlan(previous, tuple(missing), events)


def _as_data_path(
    name: str, before: dict[str, tuple[str, str]], after: set[str], identifier: str, previous: BagVersion
) -> str:
    """The ``data/`` path a drop entry names: as given, or with ``data/`` put in front."""
    for candidate in (name, f"data/{name}"):
        if candidate in before and candidate not in after:
            return candidate
    if name in after or f"data/{name}" in after:
        raise UsageError(
            f"record {identifier!r}: {name!r} is to be dropped, but the new version has it;"
            " drop only files the new version leaves out",
            record_id=identifier,
        )
    raise UsageError(
        f"record {identifier!r}: {name!r} is to be dropped, but version {previous.version}"
        f" ({previous.path}) has no such file; its files are: {', '.join(sorted(before)) or 'none'}",
        record_id=identifier,
    )
