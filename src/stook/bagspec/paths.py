"""Lexical handling of the file paths written in manifests and fetch.txt.

Nothing here touches the filesystem: a path is decoded (RFC 8493 §2.1.3
percent-encoding), judged safe or not (§5.1), and normalised before any lookup.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable

_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_DRIVE = re.compile(r"^[A-Za-z]:")
_WIN_RESERVED = re.compile(r"^(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?$", re.IGNORECASE)
_WIN_BAD_CHARS = set('<>:"|?*\\') | {chr(c) for c in range(32)}
_WIN_BAD = re.compile(r'[<>:"|?*\\\x00-\x1f]')
_SEPARATORS = re.compile(r"[/\\]")
_PRE1_LF = re.compile("%0[Aa]")
_PRE1_CR = re.compile("%0[Dd]")
_ENCODABLE = {0x25: "%", 0x0A: "\n", 0x0D: "\r"}


def decode_path(raw: str, v1: bool) -> tuple[str, list[str], str | None]:
    """Decode a manifest/fetch path; return (path, problems, alternative reading).

    BagIt 1.0 percent-encodes CR, LF and ``%`` and only those, so any other
    ``%XX`` or a bare ``%`` is a problem (kept literally for the lookup). Before
    1.0 only CR and LF were encoded and ``%`` was written as is; ``%25`` there
    is ambiguous, so the decoded reading is offered as an alternative.
    """
    problems: list[str] = []
    if "%" not in raw:  # the usual case: nothing to decode
        return raw, problems, None
    if v1:
        out: list[str] = []
        pos = 0
        for m in _PCT.finditer(raw):
            out.append(raw[pos : m.start()])
            code = int(m.group(1), 16)
            if code in _ENCODABLE:
                out.append(_ENCODABLE[code])
            else:
                problems.append(
                    f"'%{m.group(1)}' encodes a character that must not be encoded"
                    " (only CR, LF and % are)"
                )
                out.append(m.group(0))
            pos = m.end()
        out.append(raw[pos:])
        decoded = "".join(out)
        bare = _PCT.sub("", raw).count("%")
        if bare:
            problems.append("a literal '%' must be written as %25")
        return decoded, problems, None
    decoded = _PRE1_LF.sub("\n", raw)
    decoded = _PRE1_CR.sub("\r", decoded)
    alternative = decoded.replace("%25", "%") if "%25" in decoded else None
    return decoded, problems, alternative


def unsafe_reason(path: str) -> str | None:
    """Why ``path`` could reach outside the bag (RFC 8493 §5.1), or None if it cannot."""
    if not path:
        return "the path is empty"
    if "\x00" in path:
        return "the path contains a NUL character"
    if path.startswith(("\\\\", "//", "\\")):
        return "UNC or backslash-prefixed paths are refused"
    if path.startswith("/"):
        return "absolute paths are refused"
    if _DRIVE.match(path):
        return "drive-letter paths are refused"
    if ".." in path and ".." in _SEPARATORS.split(path):
        return "'..' path components are refused"
    return None


def normalise(path: str) -> tuple[str, bool]:
    """Drop ``.`` and empty components; return (path, whether anything was dropped)."""
    if not (path.startswith(("/", "./")) or path.endswith(("/", "/.")) or "//" in path
            or "/./" in path or path in ("", ".")):
        return path, False  # the usual case: nothing to drop
    parts = path.split("/")
    kept = [p for p in parts if p not in ("", ".")]
    return "/".join(kept), len(kept) != len(parts)


def windows_problem(path: str) -> str | None:
    """Why ``path`` cannot be written on Windows (RFC 8493 interoperability notes)."""
    for part in path.split("/"):
        if _WIN_RESERVED.match(part):
            return f"'{part}' is a reserved name on Windows"
        bad = sorted({c for c in part if c in _WIN_BAD_CHARS}) if _WIN_BAD.search(part) else []
        if bad:
            shown = " ".join(repr(c) for c in bad)
            return f"'{part}' contains characters Windows forbids: {shown}"
        if part.endswith((" ", ".")):
            return f"'{part}' ends with a space or dot, which Windows drops"
    return None


def nfc(path: str) -> str:
    return unicodedata.normalize("NFC", path)


def collisions(paths: Iterable[str]) -> list[tuple[str, list[str]]]:
    """Groups of distinct paths equal under NFC ("normalization") or case folding ("case")."""
    by_nfc: dict[str, list[str]] = defaultdict(list)
    by_fold: dict[str, list[str]] = defaultdict(list)
    for p in paths:
        by_nfc[nfc(p)].append(p)
        by_fold[nfc(p).casefold()].append(p)
    found: list[tuple[str, list[str]]] = []
    nfc_groups = {tuple(sorted(g)) for g in by_nfc.values() if len(g) > 1}
    for group in sorted(nfc_groups):
        found.append(("normalization", list(group)))
    for group in sorted({tuple(sorted(g)) for g in by_fold.values() if len(g) > 1}):
        if group not in nfc_groups:
            found.append(("case", list(group)))
    return found


@functools.lru_cache(maxsize=4096)
def is_plain_path(raw: str) -> bool:
    """Nothing to decode, report or normalise: true of nearly every line of every bag.

    Remembered, as the same few names (data/record.json ...) recur in every bag of a store.
    """
    return "%" not in raw and unsafe_reason(raw) is None and not normalise(raw)[1]


@functools.lru_cache(maxsize=256)
def name_findings(
    names: tuple[str, ...],
) -> tuple[tuple[tuple[str, tuple[str, ...]], ...], tuple[tuple[str, str], ...]]:
    """Name collisions and Windows-unsafe names among a bag's files (sorted names).

    Remembered (immutable), as the bags of one store mostly hold the same file names.
    """
    collided = tuple((kind, tuple(group)) for kind, group in collisions(names))
    unsafe = tuple((rel, problem) for rel in names if (problem := windows_problem(rel)))
    return collided, unsafe
