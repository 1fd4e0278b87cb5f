"""What a stored bag must hold, known from the ledger rather than from any copy of the bag.

A bag stook built has a ``mes`` (message digest calculation) event whose data holds the
sha512 of every payload file as ingested: that is the reference. A bag received before
receive recorded one has no such event, but the ledger keeps its fingerprint, computed from its record and its
strongest payload manifest when it arrived: a manifest (the stored one, else the
partner's) that reproduces that fingerprint is the reference then.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from stook.ledger import BagVersion, Ledger, parse_ingest
from stook.repair.model import Reference


def find_reference(ledger: Ledger, bag: BagVersion, stored: Path, partner: Path | None) -> Reference | None:
    """The payload digests ``bag`` must hold, or None when nothing trustworthy records them."""
    data = ledger.ingest_event(bag.path)
    if data is not None:
        digests = parse_ingest(json.dumps(data))
        if digests:
            algorithms = tuple(a for a in data.get("algorithms") or () if isinstance(a, str))
            return Reference("sha512", digests, "the sha512 digests recorded in the ledger at ingest",
                             algorithms)
    for label, root in (("the stored bag", stored), ("the partner's copy", partner)):
        if root is not None and root.is_dir():
            found = _by_fingerprint(root, bag, label)
            if found is not None:
                return found
    return None


def _by_fingerprint(root: Path, bag: BagVersion, label: str) -> Reference | None:
    """The payload manifest of ``root`` when, with its record, it gives the recorded fingerprint."""
    from stook.bagspec import payload_algorithms, read_manifest
    from stook.store import bag_fingerprint

    try:
        record = _record(root)
        if bag_fingerprint(root, record) != bag.fingerprint:
            return None
        algorithms = payload_algorithms(root)
        algorithm = "sha512" if record is not None and "sha512" in algorithms else algorithms[0]
        manifest = read_manifest(root, algorithm)
    except (OSError, ValueError, IndexError):
        return None
    return Reference(algorithm, manifest,
                     f"the {algorithm} manifest of {label}, which reproduces the fingerprint the ledger "
                     "recorded when the bag was received", tuple(algorithms))


def _record(root: Path) -> dict[str, Any] | None:
    """data/record.json as receive read it when it computed the fingerprint."""
    path = root / "data" / "record.json"
    if path.is_symlink() or not path.is_file():
        return None
    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("identifier"), str):
        return None
    return record
