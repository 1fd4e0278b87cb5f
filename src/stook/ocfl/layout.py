"""The OCFL storage root: its declaration, layout and the 0004 hashed n-tuple mapping.

A root stook writes holds::

    0=ocfl_1.1                                              the root declaration (NAMASTE)
    ocfl_layout.json                                        names the layout extension
    extensions/0004-hashed-n-tuple-storage-layout/config.json
    3c0/ff4/240/3c0ff4...d4/                                one OCFL object per record

The object of identifier ``I`` lives at the hex digest (sha256 by default) of ``I``'s
UTF-8 bytes, cut into ``numberOfTuples`` directories of ``tupleSize`` characters,
then the whole digest (or, with ``shortObjectRoot``, what the tuples left). A root
made by another tool with other 0004 parameters is read with its own ones.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stook.durable import fsync_path
from stook.errors import StookError

SPEC_VERSION = "1.1"
SPEC_VERSIONS = ("1.0", "1.1")
ROOT_DECLARATION = f"0=ocfl_{SPEC_VERSION}"
OBJECT_DECLARATION = f"0=ocfl_object_{SPEC_VERSION}"
INVENTORY_TYPE = f"https://ocfl.io/{SPEC_VERSION}/spec/#inventory"
LAYOUT_FILE = "ocfl_layout.json"
EXTENSIONS_DIR = "extensions"
LAYOUT_NAME = "0004-hashed-n-tuple-storage-layout"
CONFIG_FILE = "config.json"
# stook's own storage root extension: where updates are built before they are swapped
# in. Empty (absent) except while an export runs or after one was killed.
STAGING_EXTENSION = "stook-staging"
LAYOUT_DESCRIPTION = (
    "OCFL object identifiers are hashed with sha256; the hex digest is split into 3 "
    "directories of 3 characters, under which the object root is named by the whole digest "
    "(OCFL Community Extension 0004: Hashed N-tuple Storage Layout)."
)
_ROOT_NAMASTE = re.compile(r"^0=ocfl_(\d+\.\d+)$")
_OBJECT_NAMASTE = re.compile(r"^0=ocfl_object_(\d+\.\d+)$")
_HEX_LENGTH = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "blake2b-512": 128}
FIXITY_ALGORITHMS = tuple(_HEX_LENGTH)  # the digest algorithms every OCFL client supports
CONTENT_ALGORITHMS = ("sha512", "sha256")  # the ones an inventory may address content by


class OcflError(StookError):
    """An OCFL storage root or object cannot be used as asked (usage or environment)."""


def new_hasher(algorithm: str) -> Any:
    """A hashlib object for an OCFL digest algorithm name."""
    if algorithm == "blake2b-512":
        return hashlib.blake2b(digest_size=64)
    if algorithm not in _HEX_LENGTH:
        raise ValueError(f"unsupported OCFL digest algorithm {algorithm!r}")
    return hashlib.new(algorithm)


def hex_length(algorithm: str) -> int | None:
    return _HEX_LENGTH.get(algorithm)


@dataclass(frozen=True)
class LayoutConfig:
    """The parameters of extension 0004, as ``config.json`` states them."""

    digest_algorithm: str = "sha256"
    tuple_size: int = 3
    number_of_tuples: int = 3
    short_object_root: bool = False

    def object_path(self, identifier: str) -> str:
        """The object root of ``identifier`` relative to the storage root, with ``/``."""
        hasher = new_hasher(self.digest_algorithm)
        hasher.update(identifier.encode("utf-8"))
        digest = hasher.hexdigest()
        cut = self.tuple_size * self.number_of_tuples
        parts = [digest[i:i + self.tuple_size] for i in range(0, cut, self.tuple_size)]
        parts.append(digest[cut:] if self.short_object_root else digest)
        return "/".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "extensionName": LAYOUT_NAME,
            "digestAlgorithm": self.digest_algorithm,
            "tupleSize": self.tuple_size,
            "numberOfTuples": self.number_of_tuples,
            "shortObjectRoot": self.short_object_root,
        }

    @classmethod
    def from_json(cls, data: Any, where: str) -> LayoutConfig:
        """Check a ``config.json`` against the extension's constraints."""
        if not isinstance(data, dict):
            raise OcflError(f"{where}: not a JSON object; expected the 0004 layout parameters", path=where)
        name = data.get("extensionName", LAYOUT_NAME)
        algorithm = data.get("digestAlgorithm", "sha256")
        size = data.get("tupleSize", 3)
        count = data.get("numberOfTuples", 3)
        short = data.get("shortObjectRoot", False)
        problem = None
        if name != LAYOUT_NAME:
            problem = f"extensionName is {name!r}, not {LAYOUT_NAME!r}"
        elif algorithm not in _HEX_LENGTH:
            problem = f"digestAlgorithm {algorithm!r} is not one of {', '.join(_HEX_LENGTH)}"
        elif not all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 32 for v in (size, count)):
            problem = "tupleSize and numberOfTuples must be integers from 0 to 32"
        elif (size == 0) != (count == 0):
            problem = "tupleSize and numberOfTuples must both be 0 when one is"
        elif size * count > _HEX_LENGTH[algorithm]:
            problem = f"tupleSize x numberOfTuples exceeds the {_HEX_LENGTH[algorithm]} digits of {algorithm}"
        elif not isinstance(short, bool):
            problem = "shortObjectRoot must be true or false"
        elif short and size * count == _HEX_LENGTH[algorithm]:
            problem = "shortObjectRoot must be false when the tuples use the whole digest"
        if problem:
            raise OcflError(f"{where}: {problem}", path=where)
        return cls(algorithm, size, count, short)


@dataclass(frozen=True)
class StorageRoot:
    """An OCFL storage root on disk and how it maps identifiers to object paths.

    ``layout`` is None when the root names no layout stook knows: such a root can be
    read (its objects are found by walking it) but not written to.
    """

    path: Path
    spec_version: str
    layout_name: str | None
    layout: LayoutConfig | None

    def object_dir(self, identifier: str) -> Path:
        if self.layout is None:
            raise OcflError(
                f"{self.path}: the storage root uses layout {self.layout_name or '(none declared)'}; "
                f"stook writes only into roots with {LAYOUT_NAME}: export to a new directory",
                path=self.path,
            )
        return self.path / self.layout.object_path(identifier)

    def staging(self) -> Path:
        return self.path / EXTENSIONS_DIR / STAGING_EXTENSION


def namaste(directory: Path) -> tuple[str, str] | None:
    """``("root" | "object", spec version)`` from a directory's ``0=ocfl_...`` file, if any."""
    try:
        names = os.listdir(directory)
    except OSError:
        return None
    for name in sorted(names):
        match = _OBJECT_NAMASTE.match(name)
        if match:
            return "object", match.group(1)
        match = _ROOT_NAMASTE.match(name)
        if match:
            return "root", match.group(1)
    return None


def is_ocfl(path: Path) -> bool:
    """Whether ``path`` is an OCFL storage root or object (and not a bag)."""
    return path.is_dir() and not (path / "bagit.txt").exists() and namaste(path) is not None


def open_root(path: Path) -> StorageRoot:
    """Read a storage root's declaration and layout; raises :class:`OcflError` when unusable."""
    found = namaste(path)
    if found is None or found[0] != "root":
        raise OcflError(f"{path}: not an OCFL storage root (no 0=ocfl_1.x declaration)", path=path)
    version = found[1]
    if version not in SPEC_VERSIONS:
        raise OcflError(f"{path}: declares OCFL {version}, which stook does not know", path=path)
    layout_file = path / LAYOUT_FILE
    if not layout_file.exists():
        return StorageRoot(path, version, None, None)
    try:
        layout = json.loads(layout_file.read_bytes().decode("utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise OcflError(f"{layout_file}: unreadable or not JSON ({exc})", path=layout_file) from exc
    name = layout.get("extension") if isinstance(layout, dict) else None
    if not isinstance(name, str):
        raise OcflError(f"{layout_file}: has no 'extension' naming the layout", path=layout_file)
    if name != LAYOUT_NAME:
        return StorageRoot(path, version, name, None)
    config_file = path / EXTENSIONS_DIR / LAYOUT_NAME / CONFIG_FILE
    data: Any = {}
    if config_file.exists():
        try:
            data = json.loads(config_file.read_bytes().decode("utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise OcflError(f"{config_file}: unreadable or not JSON ({exc})", path=config_file) from exc
    return StorageRoot(path, version, name, LayoutConfig.from_json(data, str(config_file)))


def create_root(path: Path) -> StorageRoot:
    """Open the storage root at ``path``, creating it (whole, in one rename) when absent or empty.

    The skeleton is built beside ``path`` and renamed onto it, so a kill leaves either
    no root or a complete one; a partial one left by a write in place is finished.
    """
    if path.exists() and not path.is_dir():
        raise OcflError(f"{path}: exists and is not a directory; choose a directory for the OCFL root",
                        path=path)
    if path.is_dir():
        entries = set(os.listdir(path))
        if namaste(path) is not None:
            return open_root(path)
        if not entries <= {LAYOUT_FILE, EXTENSIONS_DIR}:
            raise OcflError(
                f"{path}: not an OCFL storage root and not empty ({len(entries)} entries, e.g. "
                f"{sorted(entries)[0]!r}); choose an empty or new directory", path=path)
    parent = path.absolute().parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for leftover in parent.glob(f".{path.name}.stook-new-*"):
            shutil.rmtree(leftover, ignore_errors=True)
        skeleton = parent / f".{path.name}.stook-new-{uuid.uuid4().hex[:8]}"
        skeleton.mkdir()
        _write_skeleton(skeleton)
        try:
            os.rename(skeleton, path)  # onto a missing or empty directory: atomic
        except OSError as exc:
            shutil.rmtree(skeleton, ignore_errors=True)
            if exc.errno in (errno.EEXIST, errno.ENOTEMPTY) and namaste(path) is not None:
                return open_root(path)  # another export made it meanwhile
            if exc.errno not in (errno.EXDEV, errno.EBUSY, errno.EACCES, errno.EPERM):
                raise
            path.mkdir(exist_ok=True)  # a mount point, or a parent we may not write
            _write_skeleton(path)  # in place, the declaration last
        fsync_path(parent)
    except OSError as exc:
        raise OcflError(f"{path}: cannot create the OCFL storage root: {exc.strerror or exc}",
                        path=path) from exc
    return open_root(path)


def _write_skeleton(directory: Path) -> None:
    config_dir = directory / EXTENSIONS_DIR / LAYOUT_NAME
    config_dir.mkdir(parents=True, exist_ok=True)
    _write_file(config_dir / CONFIG_FILE, _json_bytes(LayoutConfig().to_json()))
    layout = {"extension": LAYOUT_NAME, "description": LAYOUT_DESCRIPTION}
    _write_file(directory / LAYOUT_FILE, _json_bytes(layout))
    _write_file(directory / ROOT_DECLARATION, f"{ROOT_DECLARATION[2:]}\n".encode())


def _json_bytes(data: Any) -> bytes:
    return (json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def _write_file(path: Path, data: bytes) -> None:
    """Write ``path`` whole: a temporary name, fsync, rename."""
    part = path.with_name(f".{path.name}.part")
    with open(part, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(part, path)


def walk_objects(root: Path) -> Iterator[tuple[str, list[str]]]:
    """Every directory under a storage root (``extensions`` aside) that holds files, with them.

    Object roots are where the walk stops; the caller judges each (an object has a
    ``0=ocfl_object_`` file; anything else with files is a stray).
    """
    for dirpath, dirs, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel == ".":
            if EXTENSIONS_DIR in dirs:
                dirs.remove(EXTENSIONS_DIR)
            dirs.sort()
            continue
        if files:
            dirs.clear()
            yield rel.replace(os.sep, "/"), sorted(files)
        elif not dirs:
            yield rel.replace(os.sep, "/"), []
        dirs.sort()
