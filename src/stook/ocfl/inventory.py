"""An OCFL object's inventory (``inventory.json``) and its digest sidecar.

The inventory is written with sorted keys and two-space indents, so the same
object history always gives the same bytes. Its sidecar ``inventory.json.sha512``
holds ``<digest> inventory.json`` and is written after it (OCFL 1.1 §3.6).
:func:`read_inventory` is the strict reader the writer and importer rely on; the
validator (:mod:`stook.ocfl.validate`) checks much more and names every problem.
"""

from __future__ import annotations

import copy
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from stook.ocfl.layout import INVENTORY_TYPE, OcflError, hex_length, new_hasher

INVENTORY_FILE = "inventory.json"
DIGEST_ALGORITHM = "sha512"
DEFAULT_CONTENT_DIR = "content"
_VERSION = re.compile(r"^v([1-9][0-9]*)$")


@dataclass
class Version:
    """One OCFL version: when, why, by whom, and its logical state (digest -> paths)."""

    created: str
    state: dict[str, list[str]]
    message: str | None = None
    user_name: str | None = None
    user_address: str | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"created": self.created, "state": self.state}
        if self.message is not None:
            data["message"] = self.message
        if self.user_name is not None:
            user = {"name": self.user_name}
            if self.user_address is not None:
                user["address"] = self.user_address
            data["user"] = user
        return data

    def files(self) -> dict[str, str]:
        """Logical path -> digest."""
        return {path: digest for digest, paths in self.state.items() for path in paths}


@dataclass
class Inventory:
    """The parts of an inventory stook reads and writes (OCFL 1.1 §3.5)."""

    id: str
    manifest: dict[str, list[str]] = field(default_factory=dict)
    versions: list[Version] = field(default_factory=list)  # v1, v2, ... in order
    fixity: dict[str, dict[str, list[str]]] = field(default_factory=dict)
    digest_algorithm: str = DIGEST_ALGORITHM
    content_directory: str = DEFAULT_CONTENT_DIR
    type: str = INVENTORY_TYPE

    @property
    def head(self) -> str:
        return f"v{len(self.versions)}"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "type": self.type,
            "digestAlgorithm": self.digest_algorithm,
            "head": self.head,
            "manifest": self.manifest,
            "versions": {f"v{n}": v.to_json() for n, v in enumerate(self.versions, 1)},
        }
        if self.content_directory != DEFAULT_CONTENT_DIR:
            data["contentDirectory"] = self.content_directory
        if self.fixity:
            data["fixity"] = self.fixity
        return data

    def to_bytes(self) -> bytes:
        text = json.dumps(self.to_json(), indent=2, sort_keys=True, ensure_ascii=False)
        return (text + "\n").encode("utf-8")

    def copy(self) -> Inventory:
        return copy.deepcopy(self)

    def content_path(self, digest: str) -> str:
        """Where the bytes of ``digest`` are stored, relative to the object root."""
        return self.manifest[digest][0]


def digest_of(data: bytes, algorithm: str = DIGEST_ALGORITHM) -> str:
    hasher = new_hasher(algorithm)
    hasher.update(data)
    return str(hasher.hexdigest())


def sidecar_name(algorithm: str = DIGEST_ALGORITHM) -> str:
    return f"{INVENTORY_FILE}.{algorithm}"


def sidecar_bytes(inventory_bytes: bytes, algorithm: str = DIGEST_ALGORITHM) -> bytes:
    return f"{digest_of(inventory_bytes, algorithm)} {INVENTORY_FILE}\n".encode("ascii")


def parse_sidecar(data: bytes) -> str | None:
    """The digest a sidecar states, or None when it is not ``<hex> inventory.json``."""
    try:
        parts = data.decode("ascii").split()
    except UnicodeDecodeError:
        return None
    if len(parts) != 2 or parts[1] != INVENTORY_FILE or not re.fullmatch(r"[0-9a-fA-F]+", parts[0]):
        return None
    return parts[0].lower()


def write_inventory(directory: Path, inventory: Inventory, data: bytes | None = None) -> bytes:
    """Write ``inventory.json`` (``data``, when already serialized), then its sidecar, into
    ``directory``; both must be new files (an update never writes into a linked inode)."""
    data = inventory.to_bytes() if data is None else data
    _write_new(directory / INVENTORY_FILE, data)
    algorithm = inventory.digest_algorithm
    _write_new(directory / sidecar_name(algorithm), sidecar_bytes(data, algorithm))
    return data


_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, _NEW_FILE, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def read_inventory(object_dir: Path) -> tuple[Inventory, bytes]:
    """The object's root inventory, checked against its sidecar; :class:`OcflError` if unusable."""
    where = object_dir / INVENTORY_FILE
    try:
        data = where.read_bytes()
        raw = json.loads(data.decode("utf-8"))
    except FileNotFoundError as exc:
        raise OcflError(f"{object_dir}: no {INVENTORY_FILE}; not a complete OCFL object", path=where) from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise OcflError(f"{where}: unreadable or not JSON ({exc}); check it with 'stook verify'",
                        path=where) from exc
    inventory = parse_inventory(raw, str(where))
    sidecar = object_dir / sidecar_name(inventory.digest_algorithm)
    try:
        stated = parse_sidecar(sidecar.read_bytes())
    except OSError as exc:
        raise OcflError(f"{sidecar}: cannot be read ({exc.strerror}); the object is damaged",
                        path=sidecar) from exc
    if stated is None or stated != digest_of(data, inventory.digest_algorithm):
        raise OcflError(f"{where}: does not match its sidecar {sidecar.name}; the inventory was changed "
                        "or damaged: check the object with 'stook verify'", path=where)
    return inventory, data


def parse_inventory(raw: Any, where: str) -> Inventory:
    """An :class:`Inventory` from parsed JSON; raises :class:`OcflError` naming the first flaw."""

    def fail(problem: str) -> OcflError:
        return OcflError(f"{where}: {problem}; check the object with 'stook verify'", path=where)

    if not isinstance(raw, dict):
        raise fail("not a JSON object")
    identifier, algorithm = raw.get("id"), raw.get("digestAlgorithm")
    if not isinstance(identifier, str) or not identifier:
        raise fail("no object id")
    if algorithm not in ("sha512", "sha256"):
        raise fail(f"digestAlgorithm {algorithm!r} is neither sha512 nor sha256")
    manifest, versions = raw.get("manifest"), raw.get("versions")
    if not _digest_map(manifest):
        raise fail("manifest is not a map of digests to content paths")
    if not isinstance(versions, dict) or not versions:
        raise fail("no versions")
    numbers = sorted(int(m.group(1)) for m in map(_VERSION.match, versions) if m)
    if numbers != list(range(1, len(versions) + 1)) or raw.get("head") != f"v{len(numbers)}":
        raise fail("versions are not v1, v2, ... up to head without gaps (or are zero-padded)")
    parsed: list[Version] = []
    for n in numbers:
        block = versions[f"v{n}"]
        if not isinstance(block, dict) or not _digest_map(block.get("state")):
            raise fail(f"version v{n} has no state")
        if not isinstance(block.get("created"), str):
            raise fail(f"version v{n} has no created time")
        user: dict[str, Any] = block["user"] if isinstance(block.get("user"), dict) else {}
        parsed.append(Version(block["created"], block["state"], block.get("message"),
                              user.get("name"), user.get("address")))
        missing = [d for d in block["state"] if d not in manifest]
        if missing:
            raise fail(f"version v{n} refers to digest {missing[0][:16]}... absent from the manifest")
    fixity = raw.get("fixity", {})
    if not isinstance(fixity, dict) or not all(_digest_map(v) for v in fixity.values()):
        raise fail("fixity is not a map of algorithms to digest maps")
    content_dir = raw.get("contentDirectory", DEFAULT_CONTENT_DIR)
    if not isinstance(content_dir, str) or content_dir in ("", ".", "..") or "/" in content_dir:
        raise fail(f"contentDirectory {content_dir!r} is not a plain directory name")
    length = hex_length(algorithm)
    if any(len(d) != length for d in manifest):
        raise fail(f"a manifest digest is not {length} hex digits of {algorithm}")
    return Inventory(identifier, manifest, parsed, fixity, algorithm, content_dir,
                     raw.get("type", INVENTORY_TYPE))


def _digest_map(value: Any) -> TypeGuard[dict[str, list[str]]]:
    return isinstance(value, dict) and all(
        isinstance(paths, list) and paths and all(isinstance(p, str) for p in paths)
        for paths in value.values())
