"""``stook verify`` of an OCFL storage root or object: every problem named, as for bags.

An object is checked for its declaration, its root inventory (structure by
:mod:`stook.ocfl.rules`, sidecar digest), the entries of its root and of each version
directory, every version inventory against the root one (same states, the head's
byte for byte), and every content file: listed in the manifest, present, and, in the
full mode, hashed with the content algorithm and every fixity algorithm that names
it. A storage root is checked for its declaration, layout and extensions, for stray
files and empty directories in its hierarchy, for objects where the layout does not
put them or that share an id, and then object by object. Findings use the verify
engine's :class:`~stook.verify.model.Finding`; messages carry the OCFL code.
"""

from __future__ import annotations

import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stook.ocfl.inventory import INVENTORY_FILE, parse_sidecar
from stook.ocfl.layout import (
    CONTENT_ALGORITHMS,
    EXTENSIONS_DIR,
    STAGING_EXTENSION,
    OcflError,
    namaste,
    new_hasher,
    open_root,
    walk_objects,
)
from stook.ocfl.rules import InventoryFacts, check_inventory
from stook.verify.model import Finding, Mode, Report

CHUNK = 1024 * 1024
_VERSION_DIR = re.compile(r"^v\d+$")


@dataclass
class OcflResult:
    """What a check of one OCFL object, or of a storage root and its objects, found."""

    path: str
    kind: Literal["object", "root"]
    mode: Mode
    id: str | None = None
    spec_version: str | None = None
    versions: int = 0
    layout: str | None = None
    errors: list[Finding] = field(default_factory=list)
    warnings: list[Finding] = field(default_factory=list)
    files_checked: int = 0
    bytes_hashed: int = 0
    algorithms: list[str] = field(default_factory=list)
    objects: list[OcflResult] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors and all(o.valid for o in self.objects)

    @property
    def checksums_verified(self) -> bool:
        return self.mode == "full"

    @property
    def status(self) -> Literal["valid", "invalid"]:
        return "valid" if self.valid else "invalid"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "path": self.path, "kind": f"ocfl-{self.kind}", "mode": self.mode, "status": self.status,
            "valid": self.valid, "checksums_verified": self.checksums_verified, "id": self.id,
            "spec_version": self.spec_version, "versions": self.versions,
            "errors": [f.to_dict() for f in self.errors], "warnings": [f.to_dict() for f in self.warnings],
            "files_checked": self.files_checked, "bytes_hashed": self.bytes_hashed,
            "algorithms": list(self.algorithms),
        }
        if self.kind == "root":
            data["layout"] = self.layout
            data["objects"] = [o.to_dict() for o in self.objects]
        return data


def verify_ocfl(path: Path, mode: Mode = "full") -> OcflResult:
    """Check the storage root or object at ``path``; :class:`OcflError` when it is neither."""
    found = namaste(path)
    if found is None:
        raise OcflError(f"{path}: not an OCFL storage root or object (no 0=ocfl_ declaration)", path=path)
    return verify_root(path, mode) if found[0] == "root" else verify_object(path, mode)


def verify_object(path: Path, mode: Mode = "full") -> OcflResult:
    result = OcflResult(str(path), "object", mode)
    report = Report()
    _ObjectCheck(path, mode, report, result).run()
    result.errors, result.warnings = report.errors, report.warnings
    return result


def verify_root(path: Path, mode: Mode = "full") -> OcflResult:
    result = OcflResult(str(path), "root", mode)
    report = Report()
    declarations = [n for n in _names(path) if n.startswith("0=")]
    if len(declarations) != 1:
        report.error("declaration", f"{len(declarations)} declaration files (0=...); exactly one "
                     "0=ocfl_1.x is required (E076)")
    else:
        result.spec_version = _check_declaration(path, declarations[0], "ocfl_", report)
    layout = None
    try:
        root = open_root(path)
        result.layout, layout = root.layout_name, root.layout
        if root.layout_name and layout is None:
            report.warn("unknown-layout", f"layout {root.layout_name} is not one stook knows; object "
                        "paths were not checked against it", path="ocfl_layout.json")
    except OcflError as exc:
        report.error("layout", f"{exc.message} (E070)", path="ocfl_layout.json")
    _check_extensions(path / EXTENSIONS_DIR, report, root_level=True)
    seen: dict[str, str] = {}
    for rel, files in walk_objects(path):
        if not files:
            report.error("empty-directory", "an empty directory in the storage hierarchy (E073)", path=rel)
        elif not any(f.startswith("0=ocfl_object_") for f in files):
            report.error("stray-files", f"{len(files)} file(s) outside any OCFL object, e.g. {files[0]!r} "
                         "(E072/E084)", path=rel)
        else:
            child = verify_object(path / rel, mode)
            child.path = rel
            result.objects.append(child)
            if child.id is None:
                continue
            if child.id in seen:
                report.error("duplicate-object", f"object {child.id!r} is also at {seen[child.id]}", path=rel)
            seen[child.id] = rel
            expected = layout.object_path(child.id) if layout else rel
            if expected != rel:
                report.error("object-path", f"object {child.id!r} is here but the layout puts it at "
                             f"{expected} (E083)", path=rel)
    result.errors, result.warnings = report.errors, report.warnings
    for child in result.objects:
        result.files_checked += child.files_checked
        result.bytes_hashed += child.bytes_hashed
        result.algorithms.extend(a for a in child.algorithms if a not in result.algorithms)
        result.versions += child.versions
    return result


def _names(path: Path) -> list[str]:
    try:
        return sorted(os.listdir(path))
    except OSError:
        return []


def _check_declaration(path: Path, name: str, prefix: str, report: Report) -> str | None:
    """The spec version a NAMASTE file declares, its content checked (E007/E080)."""
    match = re.fullmatch(r"0=" + prefix + r"(\d+\.\d+)", name)
    if not match:
        report.error("declaration", f"{name!r} is not a {prefix}1.x declaration (E004/E079)", path=name)
        return None
    try:
        content = (path / name).read_bytes()
    except OSError:
        content = b""
    if content != f"{name[2:]}\n".encode():
        report.error("declaration", f"must contain exactly {name[2:]!r} and a newline (E007/E080)", path=name)
    return match.group(1)


def _check_extensions(directory: Path, report: Report, root_level: bool) -> None:
    for name in _names(directory):
        where = f"{EXTENSIONS_DIR}/{name}"
        if not (directory / name).is_dir():
            report.error("extensions", f"a file in {EXTENSIONS_DIR}/, which may hold only extension "
                         f"directories ({'E112' if root_level else 'E067'})", path=where)
        elif root_level and name == STAGING_EXTENSION and any((directory / name).iterdir()):
            report.warn("unfinished-export", "an interrupted stook export left staging data (never part of "
                        "an object); the next export removes it", path=where)


class _ObjectCheck:
    """One object, checked from its declaration down to every content byte."""

    def __init__(self, path: Path, mode: Mode, report: Report, result: OcflResult) -> None:
        self.path, self.mode, self.report, self.result = path, mode, report, result

    def run(self) -> None:
        names = _names(self.path)
        declarations = [n for n in names if n.startswith("0=")]
        if len(declarations) != 1:
            self.report.error("declaration", f"{len(declarations)} declaration files (0=...); exactly one "
                              "0=ocfl_object_1.x is required (E003)")
        else:
            self.result.spec_version = _check_declaration(self.path, declarations[0], "ocfl_object_",
                                                          self.report)
        facts, data = self._inventory("")
        if facts is None or data is None:
            return
        self.result.id, self.result.versions = facts.id, len(facts.version_names)
        if self.result.spec_version and facts.spec_version != self.result.spec_version:
            self.report.error("declaration", f"the inventory type is OCFL {facts.spec_version}, the "
                              f"declaration says {self.result.spec_version} (E038)", path=INVENTORY_FILE)
        self._root_entries(names, facts)
        for name in facts.version_names:
            if (self.path / name).is_dir():
                self._version(name, facts, data)
        self._content(facts)

    def _inventory(self, directory: str) -> tuple[InventoryFacts | None, bytes | None]:
        """An inventory and its sidecar in ``directory`` ("" for the object root), checked."""
        where = f"{directory}/{INVENTORY_FILE}" if directory else INVENTORY_FILE
        try:
            data = (self.path / where).read_bytes()
            raw = json.loads(data.decode("utf-8"))
        except FileNotFoundError:
            if directory:
                self.report.warn("missing-inventory", "no inventory in this version directory (W010)",
                                 path=directory)
            else:
                self.report.error("missing-inventory", "the object has no root inventory (E063)",
                                  path=where)
            return None, None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            self.report.error("inventory-unreadable", f"unreadable or not JSON: {exc} (E033)", path=where)
            return None, None
        facts = check_inventory(raw, self.report, where)
        algorithm = raw.get("digestAlgorithm") if isinstance(raw, dict) else None
        if algorithm in CONTENT_ALGORITHMS:
            self._sidecar(directory, where, data, algorithm)
        return facts, data

    def _sidecar(self, directory: str, where: str, data: bytes, algorithm: str) -> None:
        sidecar = f"{where}.{algorithm}"
        try:
            stated = parse_sidecar((self.path / sidecar).read_bytes())
        except OSError:
            self.report.error("missing-sidecar", f"{INVENTORY_FILE} has no {algorithm} sidecar (E058)",
                              path=sidecar)
            return
        if stated is None:
            self.report.error("sidecar-unreadable", "not '<digest> inventory.json' (E061)", path=sidecar)
            return
        hasher = new_hasher(algorithm)
        hasher.update(data)
        if stated != hasher.hexdigest():
            self.report.error("inventory-digest-mismatch", f"the {algorithm} of {where} differs from its "
                              "sidecar: the inventory or its sidecar was changed (E060)", path=where,
                              algorithm=algorithm, expected=stated, found=hasher.hexdigest())

    def _root_entries(self, names: list[str], facts: InventoryFacts) -> None:
        allowed = {INVENTORY_FILE, f"{INVENTORY_FILE}.{facts.algorithm}", "logs", EXTENSIONS_DIR,
                   *facts.version_names}
        for name in names:
            if name.startswith("0=") or name in allowed:
                continue
            if _VERSION_DIR.match(name) and (self.path / name).is_dir():
                self.report.error("unexpected-version", "a version directory the inventory does not list "
                                  "(E046/E001)", path=name)
            else:
                self.report.error("unexpected-entry", "not allowed in an object root (E001)", path=name)
        for name in facts.version_names:
            if not (self.path / name).is_dir():
                self.report.error("missing-version", f"version directory {name} is missing (E010)", path=name)
        _check_extensions(self.path / EXTENSIONS_DIR, self.report, root_level=False)

    def _version(self, name: str, facts: InventoryFacts, root_data: bytes) -> None:
        for entry in _names(self.path / name):
            if entry in (INVENTORY_FILE, f"{INVENTORY_FILE}.{facts.algorithm}", facts.content_dir):
                continue
            if (self.path / name / entry).is_dir():
                self.report.warn("unexpected-directory", "a directory besides the content directory (W002)",
                                 path=f"{name}/{entry}")
            else:
                self.report.error("unexpected-entry", "a file besides the inventory and its sidecar "
                                  "(E015)", path=f"{name}/{entry}")
        own, data = self._inventory(name)
        if own is None or data is None:
            return
        where = f"{name}/{INVENTORY_FILE}"
        if own.version_names != facts.version_names[:len(own.version_names)] or own.version_names[-1] != name:
            self.report.error("version-inventory", f"its head is {own.version_names[-1]}, not {name} (E040)",
                              path=where)
            return
        if own.id != facts.id:
            self.report.error("version-inventory", f"its id is {own.id!r}, not {facts.id!r} (E110)",
                              path=where)
        for version in own.version_names:
            if own.state(version) != facts.state(version):
                self.report.error("version-inventory", f"version {version} has another state than in the "
                                  "root inventory (E066)", path=where)
            elif any(own.versions[version].get(k) != facts.versions[version].get(k)
                     for k in ("created", "message", "user")):
                self.report.warn("version-inventory", f"version {version} has other metadata than in the "
                                 "root inventory (W011)", path=where)
        if name == facts.version_names[-1] and data != root_data:
            self.report.error("version-inventory", "the head version's inventory differs from the root "
                              "inventory (E064)", path=where)

    def _content(self, facts: InventoryFacts) -> None:
        expected = facts.content_paths()
        fixity: dict[str, list[tuple[str, str]]] = {}
        for algorithm, block in facts.fixity.items():
            for digest, paths in block.items():
                for path in paths:
                    fixity.setdefault(path, []).append((algorithm, digest.lower()))
        found: set[str] = set()
        for name in facts.version_names:
            top = self.path / name / facts.content_dir
            for dirpath, dirs, files in os.walk(top):
                rel_dir = Path(dirpath).relative_to(self.path).as_posix()
                if not dirs and not files:
                    self.report.error("empty-directory", "an empty directory in the content (E024)",
                                      path=rel_dir)
                for file_name in sorted(files):
                    rel = f"{rel_dir}/{file_name}"
                    found.add(rel)
                    try:
                        mode = os.lstat(os.path.join(dirpath, file_name)).st_mode
                    except OSError:
                        mode = 0
                    if not stat.S_ISREG(mode):
                        self.report.error("unsafe-file", "not a regular file (links are not allowed, E090)",
                                          path=rel)
                    elif rel not in expected:
                        self.report.error("unexpected-file", "a content file the manifest does not list "
                                          "(E023)", path=rel)
                    elif self.mode == "full":
                        self._hash(rel, expected[rel].lower(), facts.algorithm, fixity.get(rel, []))
                for sub in dirs:
                    if os.path.islink(os.path.join(dirpath, sub)):
                        self.report.error("unsafe-file", "a symbolic link (E090)", path=f"{rel_dir}/{sub}")
                dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(dirpath, d))]
        for path in sorted(set(expected) - found):
            self.report.error("missing-file", "listed in the manifest but absent (E092)", path=path)

    def _hash(self, rel: str, digest: str, algorithm: str, others: list[tuple[str, str]]) -> None:
        hashers = {algorithm: new_hasher(algorithm)}
        for other, _ in others:
            hashers.setdefault(other, new_hasher(other))
        try:
            with open(self.path / rel, "rb") as handle:
                while chunk := handle.read(CHUNK):
                    for hasher in hashers.values():
                        hasher.update(chunk)
                    self.result.bytes_hashed += len(chunk)
        except OSError as exc:
            self.report.error("unreadable", f"cannot be read: {exc.strerror}", path=rel)
            return
        self.result.files_checked += 1
        for name in hashers:
            if name not in self.result.algorithms:
                self.result.algorithms.append(name)
        found = hashers[algorithm].hexdigest()
        if found != digest:
            self.report.error("corrupt-file", f"{algorithm} differs from the manifest: the file is corrupt "
                              "(E092)", path=rel, algorithm=algorithm, expected=digest, found=found)
        for other, value in others:
            if hashers[other].hexdigest() != value:
                self.report.error("fixity-mismatch", f"{other} differs from the inventory's fixity block "
                                  "(E093)", path=rel, algorithm=other, expected=value,
                                  found=hashers[other].hexdigest())
