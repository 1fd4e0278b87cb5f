"""The rules an inventory's JSON must follow (OCFL 1.1 §3.5), each broken one named.

:func:`check_inventory` reads any inventory, written by stook or not, and reports
every problem into a :class:`~stook.verify.model.Report` with the spec's code in the
message (``E036``, ``E050``, ...), so a finding can be looked up in the OCFL
validation codes. What the filesystem checks need next comes back as
:class:`InventoryFacts` (None when the inventory is too broken to go on).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from stook.ocfl.layout import CONTENT_ALGORITHMS, FIXITY_ALGORITHMS, hex_length
from stook.verify.model import Report

_KEYS = {"id", "type", "digestAlgorithm", "head", "contentDirectory", "fixity", "manifest", "versions"}
_VERSION_KEYS = {"created", "state", "message", "user"}
_VERSION_NAME = re.compile(r"^v(0*)([1-9][0-9]*)$")
_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
_TYPE = re.compile(r"^https://ocfl\.io/(\d+\.\d+)/spec/#inventory$")


@dataclass
class InventoryFacts:
    id: str
    spec_version: str
    algorithm: str
    content_dir: str
    version_names: list[str]  # in order, v1 first, as the object names its directories
    manifest: dict[str, list[str]]
    versions: dict[str, dict[str, Any]]
    fixity: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def content_paths(self) -> dict[str, str]:
        """Content path -> digest."""
        return {path: digest for digest, paths in self.manifest.items() for path in paths}

    def state(self, name: str) -> dict[str, str]:
        """Logical path -> digest (lower case) of version ``name``."""
        block = self.versions[name]["state"]
        return {path: digest.lower() for digest, paths in block.items() for path in paths}


def path_problem(path: Any) -> str | None:
    """Why ``path`` is not a safe OCFL path (``/``-separated, no ``.``, ``..`` or empty parts)."""
    if not isinstance(path, str) or not path:
        return "is not a non-empty string"
    if path.startswith("/") or path.endswith("/"):
        return "begins or ends with '/'"
    if any(part in ("", ".", "..") for part in path.split("/")):
        return "has an empty, '.' or '..' element"
    return None


def conflicts(paths: set[str]) -> list[str]:
    """Paths that are also a directory of another path in the set."""
    prefixes = {p[:i] for p in paths for i, ch in enumerate(p) if ch == "/"}
    return sorted(paths & prefixes)


def check_inventory(raw: Any, report: Report, where: str) -> InventoryFacts | None:
    """Check parsed inventory JSON; report every problem; facts for the next checks, or None."""
    def error(code: str, message: str) -> None:
        report.error(code, message, path=where)

    before = len(report.errors)
    if not isinstance(raw, dict):
        error("inventory-structure", "is not a JSON object (E033)")
        return None
    for key in sorted(set(raw) - _KEYS):
        error("inventory-structure", f"has key {key!r}, which OCFL does not define (E102)")
    for key in ("id", "type", "digestAlgorithm", "head", "manifest", "versions"):
        if key not in raw:
            error("inventory-structure", f"has no {key!r} (E036/E041)")
    identifier, kind, algorithm = raw.get("id"), raw.get("type"), raw.get("digestAlgorithm")
    if "id" in raw and (not isinstance(identifier, str) or not identifier):
        error("inventory-structure", "id is not a non-empty string (E037)")
    match = _TYPE.match(kind) if isinstance(kind, str) else None
    if "type" in raw and not match:
        error("inventory-structure", f"type {kind!r} is not an OCFL inventory type URI (E038)")
    if "digestAlgorithm" in raw and algorithm not in CONTENT_ALGORITHMS:
        error("inventory-structure", f"digestAlgorithm {algorithm!r} is neither sha512 nor sha256 (E025)")
    content_dir = raw.get("contentDirectory", "content")
    if not isinstance(content_dir, str) or content_dir in ("", ".", "..") or "/" in content_dir:
        error("inventory-structure", f"contentDirectory {content_dir!r} is not a plain directory name (E017)")
    names = _check_versions(raw, report, where)
    manifest = _check_digest_map(raw.get("manifest"), algorithm, "manifest", report, where)
    fixity = _check_fixity(raw.get("fixity", {}), report, where)
    if names is None or manifest is None or len(report.errors) > before:
        return None
    facts = InventoryFacts(str(identifier), match.group(1) if match else "?", str(algorithm), content_dir,
                           names, manifest, raw["versions"], fixity)
    _check_consistency(facts, report, where)
    return facts


def _check_versions(raw: dict[str, Any], report: Report, where: str) -> list[str] | None:
    versions = raw.get("versions")
    if not isinstance(versions, dict) or not versions:
        if "versions" in raw:
            report.error("inventory-structure", "versions is not a non-empty JSON object (E044)", path=where)
        return None
    numbered: dict[int, str] = {}
    for name in versions:
        match = _VERSION_NAME.match(name)
        if not match:
            report.error("version-sequence", f"version {name!r} is not named v1, v2, ... (E046)", path=where)
            continue
        numbered[int(match.group(2))] = name
    count = len(numbered)
    if not count or sorted(numbered) != list(range(1, count + 1)):
        report.error("version-sequence", f"versions {sorted(numbered)} do not run from 1 without gaps "
                     "(E009/E010)", path=where)
        return None
    names = [numbered[n] for n in range(1, count + 1)]
    padded = names[0].startswith("v0")
    if any(n.startswith("v0") != padded or (padded and len(n) != len(names[0])) for n in names):
        report.error("version-sequence", "version names do not all follow v1's naming (plain, or "
                     "zero-padded to one width) (E012/E013)", path=where)
    if raw.get("head") != names[-1]:
        report.error("version-sequence", f"head is {raw.get('head')!r}, not the last version "
                     f"{names[-1]!r} (E040)", path=where)
    for name in names:
        _check_version(name, versions[name], raw.get("digestAlgorithm"), report, where)
    return names


def _check_version(name: str, block: Any, algorithm: Any, report: Report, where: str) -> None:
    def error(code: str, message: str) -> None:
        report.error(code, f"version {name}: {message}", path=where)

    if not isinstance(block, dict):
        error("inventory-structure", "is not a JSON object (E047)")
        return
    for key in sorted(set(block) - _VERSION_KEYS):
        error("inventory-structure", f"has key {key!r}, which OCFL does not define (E102)")
    created = block.get("created")
    if not isinstance(created, str) or not _RFC3339.match(created):
        error("inventory-structure", f"created {created!r} is not an RFC 3339 date-time (E049)")
    if "message" in block and not isinstance(block["message"], str):
        error("inventory-structure", "message is not a string (E094)")
    user = block.get("user")
    if "user" in block and (not isinstance(user, dict) or not isinstance(user.get("name"), str)):
        error("inventory-structure", "user has no name (E054)")
    elif "user" not in block or "message" not in block:
        report.warn("version-metadata", f"version {name}: no message or user (W007)", path=where)
    state = _check_digest_map(block.get("state"), algorithm, f"{name} state", report, where, logical=True)
    if state is not None:
        bad = conflicts({p for paths in state.values() for p in paths})
        if bad:
            error("path-conflict", f"logical path {bad[0]!r} is also a directory of another (E095)")


def _check_digest_map(value: Any, algorithm: Any, label: str, report: Report, where: str,
                      logical: bool = False) -> dict[str, list[str]] | None:
    if not isinstance(value, dict):
        if value is not None:
            report.error("inventory-structure", f"{label} is not a JSON object (E106)", path=where)
        return None
    length = hex_length(algorithm) if isinstance(algorithm, str) else None
    lowered: set[str] = set()
    seen: set[str] = set()
    for digest, paths in value.items():
        if length is not None and not re.fullmatch(f"[0-9a-fA-F]{{{length}}}", digest):
            report.error("bad-digest", f"{label}: {digest[:20]!r}... is not a {algorithm} digest (E096)",
                         path=where)
        if digest.lower() in lowered:
            report.error("bad-digest", f"{label}: digest {digest[:16]}... appears twice (E096)", path=where)
        lowered.add(digest.lower())
        if not isinstance(paths, list) or not paths:
            report.error("inventory-structure", f"{label}: digest {digest[:16]}... has no paths (E092)",
                         path=where)
            continue
        for path in paths:
            problem = path_problem(path)
            if problem:
                code = "E052/E053" if logical else "E099/E100"
                report.error("unsafe-path", f"{label}: path {path!r} {problem} ({code})", path=where)
            elif path in seen:
                report.error("duplicate-path", f"{label}: path {path!r} is listed twice (E101/E095)",
                             path=where)
            seen.add(str(path))
    return value


def _check_fixity(value: Any, report: Report, where: str) -> dict[str, dict[str, list[str]]]:
    if not isinstance(value, dict):
        report.error("inventory-structure", "fixity is not a JSON object (E111)", path=where)
        return {}
    for algorithm in sorted(value):
        if algorithm not in FIXITY_ALGORITHMS:
            report.warn("fixity-algorithm", f"fixity algorithm {algorithm!r} is not one OCFL requires "
                        "clients to support; its digests are not checked (E028)", path=where)
        else:
            _check_digest_map(value[algorithm], algorithm, f"fixity {algorithm}", report, where)
    return {a: v for a, v in value.items() if a in FIXITY_ALGORITHMS and isinstance(v, dict)}


def _check_consistency(facts: InventoryFacts, report: Report, where: str) -> None:
    """State digests in the manifest, manifest digests used, content paths where they belong."""
    manifest = {d.lower() for d in facts.manifest}
    used: set[str] = set()
    for name in facts.version_names:
        for digest in facts.versions[name]["state"]:
            used.add(digest.lower())
            if digest.lower() not in manifest:
                report.error("state-not-in-manifest", f"version {name}: digest {digest[:16]}... is not in "
                             "the manifest (E050)", path=where)
    for digest in sorted(manifest - used):
        report.error("manifest-unused", f"manifest digest {digest[:16]}... is in no version's state (E107)",
                     path=where)
    prefixes = tuple(f"{name}/{facts.content_dir}/" for name in facts.version_names)
    content = facts.content_paths()
    for path in sorted(content):
        if not path.startswith(prefixes):
            report.error("content-path", f"content path {path!r} is not inside a version's "
                         f"{facts.content_dir}/ directory (E042)", path=where)
    bad = conflicts(set(content))
    if bad:
        report.error("path-conflict", f"content path {bad[0]!r} is also a directory of another (E101)",
                     path=where)
    for algorithm, block in facts.fixity.items():
        for digest, paths in block.items():
            for path in paths:
                if path not in content:
                    report.error("fixity-path", f"fixity {algorithm}: {path!r} is not a content path "
                                 f"of the manifest (digest {digest[:16]}...) (E093)", path=where)
