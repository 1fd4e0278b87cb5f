"""Reading values out of a bag that has already been verified (or is about to be judged).

The verify engine has judged the bag's syntax; these readers only pick out values
(bag-info fields, manifest digests) for transfer, the store and repair, tolerating
what the engine tolerates.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from stook.bagspec.grammar import MANIFEST_NAME
from stook.bagspec.hashing import STRENGTH


def read_bag_info(bag_dir: Path) -> list[tuple[str, str]]:
    """``(label, value)`` pairs of bag-info.txt in order; continuation lines joined."""
    path = bag_dir / "bag-info.txt"
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except OSError:
        return []
    text = text.lstrip("\ufeff")
    fields: list[tuple[str, str]] = []
    for line in text.splitlines():
        if not line.strip():
            continue
        if line[0] in " \t" and fields:
            label, value = fields[-1]
            fields[-1] = (label, f"{value} {line.strip()}".strip())
            continue
        label, colon, value = line.partition(":")
        if colon:
            fields.append((label.strip(), value.strip()))
    return fields


def info_values(fields: list[tuple[str, str]], label: str) -> list[str]:
    """Every value of ``label`` (case-insensitive, as RFC 8493 reads labels)."""
    wanted = label.lower()
    return [value for name, value in fields if name.lower() == wanted]


def first_value(fields: list[tuple[str, str]], label: str) -> str | None:
    values = [v for v in info_values(fields, label) if v]
    return values[0] if values else None


def bagging_timestamp(fields: list[tuple[str, str]], floor: int) -> int:
    """Bagging-Date at 00:00 UTC as a Unix time; ``floor`` when absent, unreadable or earlier."""
    value = first_value(fields, "Bagging-Date")
    if value:
        try:
            day = datetime.strptime(value[:10], "%Y-%m-%d").replace(tzinfo=timezone.utc)
        except ValueError:
            return floor
        return max(floor, int(day.timestamp()))
    return floor


def decode_manifest_path(path: str) -> str:
    return path.replace("%0A", "\n").replace("%0a", "\n").replace("%0D", "\r").replace(
        "%0d", "\r").replace("%25", "%")


def payload_algorithms(bag_dir: Path) -> list[str]:
    """Algorithms of the payload manifests present, strongest first."""
    found = []
    for child in bag_dir.iterdir():
        match = MANIFEST_NAME.match(child.name)
        if match and not match.group(1) and child.is_file():
            found.append(match.group(2))
    return sorted(found, key=lambda a: (STRENGTH.index(a) if a in STRENGTH else len(STRENGTH), a))


def read_manifest(bag_dir: Path, algorithm: str, *, tag: bool = False) -> dict[str, str]:
    """``{path: digest}`` of one manifest; paths decoded as RFC 8493 §2.1.3 says."""
    name = f"{'tag' if tag else ''}manifest-{algorithm}.txt"
    text = (bag_dir / name).read_bytes().decode("utf-8", errors="replace").lstrip("\ufeff")
    entries: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            continue
        digest, path = parts
        entries[decode_manifest_path(path)] = digest.lower()
    return entries
