"""The files a record's ``content`` lists: there, UTF-8 where they are texts, as declared.

A record may declare a file's ``size``, ``sha512`` or ``sha256``. A declaration is a
promise about the bytes, so a file that differs is refused rather than stored under a
false description. ``validate`` and ``bag`` both ask here, so they agree.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stook.bagwriter import CHUNK, check_payload_path, open_source
from stook.errors import ContentError, Problem, StookError

TEXT_KINDS = {"text", "translation", "transcription"}
DECLARED_DIGESTS = ("sha512", "sha256")


@dataclass(frozen=True)
class Measured:
    """What a file holds: its size, the digests asked for, and its first non-UTF-8 byte if any."""

    size: int
    digests: dict[str, str] = field(default_factory=dict)
    bad_utf8: tuple[int, int] | None = None  # (offset, byte value)


_HEX = {"sha512": re.compile(r"^[0-9a-f]{128}$"), "sha256": re.compile(r"^[0-9a-f]{64}$")}


def declared_algorithms(entry: dict[str, Any]) -> list[str]:
    """The digest algorithms a content entry declares a well-formed value for (the schema
    check names malformed ones)."""
    return [
        alg for alg in DECLARED_DIGESTS if isinstance(entry.get(alg), str) and _HEX[alg].match(entry[alg])
    ]


def _declared_size(entry: dict[str, Any]) -> int | None:
    size = entry.get("size")
    return size if type(size) is int and size >= 0 else None


def declares_anything(entry: dict[str, Any]) -> bool:
    return bool(declared_algorithms(entry)) or _declared_size(entry) is not None


def measure_bytes(data: bytes, algorithms: Sequence[str], *, utf8: bool = False) -> Measured:
    """Measure bytes already in memory."""
    bad = None
    if utf8:
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad = (exc.start, data[exc.start])
    return Measured(len(data), {alg: hashlib.new(alg, data).hexdigest() for alg in algorithms}, bad)


def measure_file(
    path: Path, algorithms: Sequence[str], *, utf8: bool = False, what: str = "file"
) -> Measured:
    """Measure a file in one streaming pass (bounded memory whatever its size).

    Without digests or a UTF-8 check, only its size is looked up.
    """
    with open_source(path, what) as handle:
        if not algorithms and not utf8:
            return Measured(os.fstat(handle.fileno()).st_size)
        hashers = [hashlib.new(alg) for alg in algorithms]
        decoder = codecs.getincrementaldecoder("utf-8")() if utf8 else None
        size = 0
        bad: tuple[int, int] | None = None
        try:
            while chunk := handle.read(CHUNK):
                for hasher in hashers:
                    hasher.update(chunk)
                if decoder is not None and bad is None:
                    bad = _utf8_step(decoder, chunk, size, final=False)
                size += len(chunk)
        except OSError as exc:
            raise ContentError(f"{path}: cannot read {what}: {exc.strerror}", path=path) from exc
        if decoder is not None and bad is None:
            bad = _utf8_step(decoder, b"", size, final=True)
    return Measured(size, {alg: h.hexdigest() for alg, h in zip(algorithms, hashers, strict=True)}, bad)


def _utf8_step(
    decoder: codecs.IncrementalDecoder, chunk: bytes, offset: int, *, final: bool
) -> tuple[int, int] | None:
    """Feed ``chunk`` (starting at byte ``offset`` of the file); the first bad byte, if any."""
    pending: bytes = decoder.getstate()[0]
    try:
        decoder.decode(chunk, final)
    except UnicodeDecodeError as exc:
        return offset - len(pending) + exc.start, exc.object[exc.start]
    return None


def not_utf8_message(path: Path, bad: tuple[int, int], advice: str) -> str:
    offset, byte = bad
    return f"{path}: text is not valid UTF-8 (byte {byte:#04x} at offset {offset}); {advice}"


CONTENT_TEXT_ADVICE = (
    "convert it to UTF-8, or give it kind: attachment in the record's content to keep it byte for byte"
)


def declared_problems(
    entry: dict[str, Any], measured: Measured, *, shown: str, location: str
) -> list[Problem]:
    """Each declared size or digest of ``entry`` that the measured file contradicts."""
    problems: list[Problem] = []
    size = _declared_size(entry)
    if size is not None and size != measured.size:
        problems.append(
            Problem(
                f"{location}.size",
                f"{shown}: the file has {measured.size} bytes, not the size the record declares",
                found=measured.size,
                expected=str(size),
            )
        )
    for alg in declared_algorithms(entry):
        declared = entry[alg]
        found = measured.digests.get(alg)
        if found is not None and found != declared:
            problems.append(
                Problem(
                    f"{location}.{alg}",
                    f"{shown}: the file's {alg} is {found}, not the one the record declares",
                    found=found,
                    expected=declared,
                )
            )
    return problems


@dataclass
class ContentCheck:
    """The outcome of checking a record's listed files: ``unreadable`` problems are missing,
    unreadable or non-UTF-8 files (exit 2), ``mismatches`` differ from their declarations (exit 1)."""

    unreadable: list[Problem] = field(default_factory=list)
    mismatches: list[Problem] = field(default_factory=list)
    files: int = 0

    @property
    def problems(self) -> list[Problem]:
        return [*self.unreadable, *self.mismatches]


def content_entries(record: Any) -> list[tuple[int, dict[str, Any], str]]:
    """(index, entry, path) of each content entry well-formed enough to find its file.

    Malformed entries are left to the schema check, which names them.
    """
    content = record.get("content") if isinstance(record, dict) else None
    if not isinstance(content, list):
        return []
    found = []
    for index, entry in enumerate(content):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        try:
            check_payload_path(entry["path"])
        except StookError:
            continue
        found.append((index, entry, entry["path"]))
    return found


def check_content(record: Any, base: Path) -> ContentCheck:
    """Check every file the record's ``content`` lists, relative to ``base``, without keeping them."""
    result = ContentCheck()
    for index, entry, rel in content_entries(record):
        location = f"$.content[{index}]"
        source = base.joinpath(*rel.split("/"))
        is_text = entry.get("kind") in TEXT_KINDS
        result.files += 1
        what = "text file" if is_text else "attachment"
        try:
            measured = measure_file(source, declared_algorithms(entry), utf8=is_text, what=what)
        except ContentError as exc:
            result.unreadable.append(Problem(f"{location}.path", exc.message))
            continue
        if measured.bad_utf8 is not None:
            message = not_utf8_message(source, measured.bad_utf8, CONTENT_TEXT_ADVICE)
            result.unreadable.append(Problem(f"{location}.path", message))
        result.mismatches.extend(declared_problems(entry, measured, shown=str(source), location=location))
    return result
