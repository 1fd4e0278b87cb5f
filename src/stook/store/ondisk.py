"""What a bag on disk says about itself: its record and its fingerprint.

Crash recovery, receive and the ledger rebuild all ask the same question of a bag
directory (is this the version the ledger means?), so they share one answer.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from stook.bagbuild import RECORD_FILE
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
    from stook.transfer.baginfo import payload_algorithms, read_manifest  # noqa: PLC0415 (cycle)

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
