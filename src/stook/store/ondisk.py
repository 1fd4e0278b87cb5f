"""What a bag on disk says about itself: its record and its fingerprint.

Crash recovery, receive and the ledger rebuild all ask the same question of a bag
directory (is this the version the ledger means?), so they share one answer.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stook.bagspec import first_value, info_values, payload_algorithms, read_bag_info, read_manifest
from stook.names import RECORD_FILE
from stook.store.model import fingerprint


def read_record(bag_dir: Path) -> dict[str, Any] | None:
    """The stook record in ``data/record.json``, or None when there is none (a bag from
    another tool) or it is not a stook record (kept as a plain file then)."""
    path = bag_dir / "data" / RECORD_FILE
    try:
        raw = path.read_bytes()
    except OSError:
        return None
    try:
        record = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None
    if not isinstance(record, dict) or not isinstance(record.get("identifier"), str):
        return None
    return record


def bag_fingerprint(bag_dir: Path, record: dict[str, Any] | None) -> str:
    """The store fingerprint of a bag on disk.

    With a stook record and a sha512 manifest it is exactly what the store computes
    for a bag it writes, so a bag that went A -> B -> A is recognised as the same
    version. Otherwise: sha256 over the strongest payload manifest, sorted.
    """
    algorithms = payload_algorithms(bag_dir)
    if not algorithms:
        return ""  # not a bag: matches nothing
    if record is not None and "sha512" in algorithms:
        return fingerprint(record, read_manifest(bag_dir, "sha512"))
    algorithm = algorithms[0]
    digest = hashlib.sha256(f"stook-received-bag\n{algorithm}\n".encode())
    for path, value in sorted(read_manifest(bag_dir, algorithm).items()):
        digest.update(f"{path}\0{value}\n".encode("utf-8", "surrogateescape"))
    return digest.hexdigest()


@dataclass(frozen=True)
class BagFacts:
    """What the ledger records of a bag, read from the bag itself."""

    identifier: str | None
    title: str | None
    groups: tuple[str, ...]
    fingerprint: str
    payload_oxum: str
    size: int
    record: dict[str, Any] | None
    organization: str | None


def bag_sizes(bag_dir: Path) -> tuple[str, int]:
    """The payload as a Payload-Oxum (bytes.files under data/) and the bytes of every file."""
    payload_bytes = payload_files = total = 0
    for path in bag_dir.rglob("*"):
        if path.is_file():
            size = path.stat().st_size
            total += size
            if path.relative_to(bag_dir).parts[0] == "data":
                payload_bytes += size
                payload_files += 1
    return f"{payload_bytes}.{payload_files}", total


def bag_facts(bag_dir: Path) -> BagFacts:
    """The identifier, title, groups, fingerprint and sizes of a bag, as receive and the
    ledger rebuild read them: from its stook record when it has one, else its bag-info."""
    info = read_bag_info(bag_dir)
    record = read_record(bag_dir)
    identifier = record["identifier"] if record else first_value(info, "External-Identifier")
    title = (record or {}).get("title") or first_value(info, "Internal-Sender-Description") or first_value(
        info, "External-Description")
    if record is not None:
        from stook.bagbuild import record_groups  # noqa: PLC0415 (the writer's modules: not for reads)

        groups = tuple(record_groups(record))
    else:
        groups = tuple(g for g in info_values(info, "Bag-Group-Identifier") if g)
    oxum, total = bag_sizes(bag_dir)
    return BagFacts(
        identifier=identifier,
        title=title if isinstance(title, str) else None,
        groups=groups,
        fingerprint=bag_fingerprint(bag_dir, record),
        payload_oxum=oxum,
        size=total,
        record=record,
        organization=first_value(info, "Source-Organization"),
    )
