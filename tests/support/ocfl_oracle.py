"""ocfl-py as the oracle for the OCFL tests: its validator judges every root stook writes.

ocfl-py 2.1 implements the 0002 and 0003 storage layouts but not 0004, so as it
ships it rejects any root declaring ``0004-hashed-n-tuple-storage-layout`` in
``ocfl_layout.json`` (E071) before looking at an object. :class:`HashedNTupleLayout`
teaches it that extension, written here from the extension's text and registered in
ocfl-py's layout registry; everything else (root structure, every object, every
inventory, every digest) is ocfl-py's own code. ocfl-py's ``StorageRoot.validate``
answers for the root's structure only; :func:`validate_root` also requires every
object it found to be valid.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import ocfl
from ocfl.layout import Layout, LayoutException
from ocfl.layout_registry import add_layout, layout_is_supported
from ocfl.validator import Validator

NAME = "0004-hashed-n-tuple-storage-layout"
_HEX = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128, "blake2b-512": 128}


def layout_path(identifier: str, algorithm: str = "sha256", tuple_size: int = 3, tuples: int = 3,
                short: bool = False) -> str:
    """Extension 0004's procedure: hash the UTF-8 id, cut tuples off the hex digest, then the rest."""
    hasher = hashlib.blake2b(digest_size=64) if algorithm == "blake2b-512" else hashlib.new(algorithm)
    hasher.update(identifier.encode("utf-8"))
    digest = hasher.hexdigest()
    segments = [digest[n * tuple_size:(n + 1) * tuple_size] for n in range(tuples)]
    return "/".join([*segments, digest[tuple_size * tuples:] if short else digest])


class HashedNTupleLayout(Layout):  # type: ignore[misc]
    """OCFL Community Extension 0004 for ocfl-py's layout registry."""

    def __init__(self) -> None:
        super().__init__()
        self.NAME = NAME
        self.DESCRIPTION = "Extension 0004: Hashed N-tuple Storage Layout"
        self.digest_algorithm, self.tuple_size, self.number_of_tuples = "sha256", 3, 3
        self.short_object_root = False
        self.PARAMS = {"digestAlgorithm": self._algorithm, "tupleSize": self._size,
                       "numberOfTuples": self._count, "shortObjectRoot": self._short}

    def _algorithm(self, value: Any) -> None:
        if value is not None:
            if value not in _HEX:
                raise LayoutException(f"unsupported digestAlgorithm {value!r}")
            self.digest_algorithm = value

    def _size(self, value: Any) -> None:
        if value is not None:
            self.tuple_size = value

    def _count(self, value: Any) -> None:
        if value is not None:
            self.number_of_tuples = value

    def _short(self, value: Any) -> None:
        if value is not None:
            self.short_object_root = value

    def check_full_config(self) -> None:
        for value in (self.tuple_size, self.number_of_tuples):
            if not isinstance(value, int) or not 0 <= value <= 32:
                raise LayoutException("tupleSize and numberOfTuples must be integers from 0 to 32")
        if (self.tuple_size == 0) != (self.number_of_tuples == 0):
            raise LayoutException("tupleSize and numberOfTuples must be 0 together")
        if self.tuple_size * self.number_of_tuples > _HEX[self.digest_algorithm]:
            raise LayoutException("the tuples need more characters than the digest has")

    @property
    def config(self) -> dict[str, Any]:
        return {"extensionName": NAME, "digestAlgorithm": self.digest_algorithm,
                "tupleSize": self.tuple_size, "numberOfTuples": self.number_of_tuples,
                "shortObjectRoot": self.short_object_root}

    def identifier_to_path(self, identifier: str) -> str:
        return layout_path(identifier, self.digest_algorithm, self.tuple_size, self.number_of_tuples,
                           self.short_object_root)


def register() -> None:
    if not layout_is_supported(NAME):
        add_layout(NAME, HashedNTupleLayout)


def validate_root(root: Path, check_digests: bool = True) -> tuple[bool, str]:
    """ocfl-py's verdict on a storage root and every object in it, with its messages."""
    register()
    store = ocfl.StorageRoot(root=str(root))
    structure_ok = store.validate(log_warnings=True, check_digests=check_digests, max_errors=1000)
    messages = [str(store.log)] + [message for _path, message in store.errors]
    valid = structure_ok and store.num_objects == store.good_objects
    return valid, "\n".join(m for m in messages if m.strip())


def validate_object(path: Path) -> tuple[bool, str]:
    validator = Validator(log_warnings=True)
    return bool(validator.validate_object(str(path))), validator.status_str()


def objects_where_layout_says(root: Path) -> dict[str, str]:
    """Each object's id (from its inventory) and its path; asserts the path is the 0004 mapping."""
    config = json.loads((root / "extensions" / NAME / "config.json").read_text(encoding="utf-8"))
    found = {}
    for dirpath, dirs, files in os.walk(root):
        if Path(dirpath) == root:
            dirs.remove("extensions")
            continue
        if any(f.startswith("0=ocfl_object_") for f in files):
            dirs.clear()
            identifier = json.loads(Path(dirpath, "inventory.json").read_text(encoding="utf-8"))["id"]
            rel = Path(dirpath).relative_to(root).as_posix()
            expected = layout_path(identifier, config["digestAlgorithm"], config["tupleSize"],
                                   config["numberOfTuples"], config["shortObjectRoot"])
            assert rel == expected, f"object {identifier!r} at {rel}, layout 0004 says {expected}"
            found[identifier] = rel
    return found
