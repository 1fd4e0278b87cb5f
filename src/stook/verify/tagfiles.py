"""Parsers for bagit.txt and bag-info.txt (manifests and fetch.txt: :mod:`stook.verify.manifests`).

Each parser reads every line, records every problem with its file and line in a
:class:`~stook.verify.model.Report`, and returns what it could make of the rest,
so one malformed line never hides the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stook.bagspec import (
    BOM,
    KNOWN_VERSIONS,
    SINGLE_VALUED,
)
from stook.verify.model import Report

_LINE_END = re.compile(r"\r\n|\r|\n")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_VERSION = re.compile(r"\d+\.\d+")
_LITERAL_PERCENT = re.compile(r"%(?!0[AaDd])")
_FETCH_FIELDS = re.compile(r"[ \t]+")
# Reserved bag-info elements that SHOULD NOT be repeated (RFC 8493 §2.2.2).


def split_lines(text: str) -> tuple[list[str], bool]:
    """Split on LF, CR or CRLF (RFC 8493 §2.3); also say whether the last line was ended."""
    if not text:
        return [], True
    lines = _LINE_END.split(text)
    ended = lines[-1] == ""
    if ended:
        lines.pop()
    return lines, ended


def decode_tag_file(
    name: str, data: bytes, encoding: str, utf8: bool, v1: bool, report: Report
) -> str:
    """Decode a tag file in the declared encoding, reporting a BOM and undecodable bytes.

    Undecodable bytes are kept as surrogate escapes so paths still match the
    raw names on disk and parsing can go on.
    """
    if utf8 and data.startswith(BOM):
        report.add(
            v1,
            "bom",
            f"{name} starts with a UTF-8 byte-order mark, which RFC 8493 §2.3 forbids"
            " in UTF-8 tag files; remove the first three bytes",
            path=name,
            line=1,
        )
        data = data[len(BOM) :]
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        report.error(
            "undecodable-tag-file",
            f"{name} is not valid {encoding}: byte {exc.object[exc.start]:#04x} at offset"
            f" {exc.start} cannot be decoded; re-encode the file in the declared encoding",
            path=name,
            line=line,
        )
        return data.decode(encoding, errors="surrogateescape")


@dataclass(frozen=True)
class Declaration:
    """What bagit.txt declares; None where it could not be read."""

    version: str | None
    encoding: str | None


def parse_bagit_txt(data: bytes, report: Report) -> Declaration:
    """RFC 8493 §2.1.1: exactly two lines, in order, UTF-8 without BOM."""
    name = "bagit.txt"

    def bad(message: str, line: int | None = None) -> None:
        report.error("bad-bagit-txt", f"bagit.txt: {message}", path=name, line=line)

    if data.startswith(BOM):
        report.error(
            "bom",
            "bagit.txt starts with a UTF-8 byte-order mark, which RFC 8493 §2.1.1 forbids;"
            " remove the first three bytes",
            path=name,
            line=1,
        )
        data = data[len(BOM) :]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        bad("is not valid UTF-8")
        text = data.decode("utf-8", errors="replace")
    lines, ended = split_lines(text)
    fields: dict[str, tuple[int, str, str]] = {}
    for number, line in enumerate(lines, 1):
        label, colon, value = line.partition(":")
        key = label.strip().lower()
        if not colon or key not in ("bagit-version", "tag-file-character-encoding"):
            bad(f"line {number} {line!r} is neither BagIt-Version nor"
                " Tag-File-Character-Encoding; the file must have exactly those two lines",
                number)
            continue
        if key in fields:
            bad(f"{label.strip()} is given twice", number)
            continue
        fields[key] = (number, label, value)
    version = encoding = None
    if "bagit-version" in fields:
        number, label, value = fields["bagit-version"]
        version = value.strip()
        if number != 1:
            bad("BagIt-Version must be the first line", number)
        if not _VERSION.fullmatch(version):
            bad(f"BagIt-Version {version!r} is not of the form M.N", number)
        elif version not in KNOWN_VERSIONS:
            report.error(
                "unknown-version",
                f"BagIt-Version {version} is not a known version"
                f" ({', '.join(KNOWN_VERSIONS)}); checked with the 1.0 rules",
                path=name,
                line=number,
            )
        _check_declaration_spacing(label, value, number, version, report)
    else:
        bad("the BagIt-Version line is missing")
    if "tag-file-character-encoding" in fields:
        number, label, value = fields["tag-file-character-encoding"]
        encoding = value.strip()
        if number != 2:
            bad("Tag-File-Character-Encoding must be the second line", number)
        _check_declaration_spacing(label, value, number, version, report)
    else:
        bad("the Tag-File-Character-Encoding line is missing")
    if lines and not ended:
        report.warn(
            "missing-line-ending",
            "bagit.txt: the last line is not terminated by LF, CR or CRLF (RFC 8493 §2.3)",
            path=name,
            line=len(lines),
        )
    return Declaration(version or None, encoding or None)


def _check_declaration_spacing(
    label: str, value: str, number: int, version: str | None, report: Report
) -> None:
    exact = label.strip() == label and value.startswith(" ") and value[1:] == value.strip()
    if exact:
        return
    v1 = version_tuple(version) >= (1, 0)
    report.add(
        v1,
        "bad-bagit-txt" if v1 else "pre-1.0-rule",
        f"bagit.txt line {number}: expected '{label.strip()}: value' with one space after"
        " the colon and no other surrounding whitespace"
        + ("" if v1 else " (accepted before BagIt 1.0)"),
        path="bagit.txt",
        line=number,
    )


def version_tuple(version: str | None) -> tuple[int, int]:
    """(major, minor); unreadable versions count as 1.0 so the strictest rules apply."""
    if version and _VERSION.fullmatch(version):
        major, minor = version.split(".")
        return int(major), int(minor)
    return (1, 0)


@dataclass(frozen=True)
class InfoElement:
    label: str
    value: str
    line: int


def parse_bag_info(name: str, text: str, v1: bool, report: Report) -> list[InfoElement]:
    """RFC 8493 §2.2.2: ``label: value`` lines with indented continuations."""
    lines, ended = split_lines(text)
    elements: list[InfoElement] = []
    current: tuple[str, list[str], int] | None = None

    def flush() -> None:
        if current is not None:
            elements.append(InfoElement(current[0], "\n".join(current[1]), current[2]))

    for number, line in enumerate(lines, 1):
        if not line.strip():
            report.warn(
                "blank-line", f"{name} line {number} is blank; it is ignored",
                path=name, line=number,
            )
            continue
        if line[0] in " \t":
            if current is None:
                report.error(
                    "bag-info-syntax",
                    f"{name} line {number} is indented but continues no element",
                    path=name, line=number,
                )
            else:
                current[1].append(line.strip(" \t"))
            continue
        label, colon, rest = line.partition(":")
        if not colon:
            report.error(
                "bag-info-syntax",
                f"{name} line {number} has no colon: {line!r}; write 'Label: value'",
                path=name, line=number,
            )
            continue
        flush()
        current = None
        if not label.strip():
            report.error(
                "bag-info-syntax", f"{name} line {number} has an empty label",
                path=name, line=number,
            )
            continue
        if label != label.strip(" \t"):
            report.add(
                v1,
                "bag-info-syntax" if v1 else "pre-1.0-rule",
                f"{name} line {number}: label {label!r} has surrounding whitespace"
                + (" (RFC 8493 §2.2.2 forbids it in BagIt 1.0)" if v1 else
                   " (tolerated before 1.0, an error in 1.0)"),
                path=name, line=number,
            )
        if rest == "":
            report.warn(
                "bag-info-syntax",
                f"{name} line {number}: {label.strip()} has no value",
                path=name, line=number,
            )
        elif rest[0] not in " \t":
            report.error(
                "bag-info-syntax",
                f"{name} line {number}: the colon after {label.strip()} must be followed by"
                " a space or tab",
                path=name, line=number,
            )
        elif len(rest) > 1 and rest[1] in " \t":
            report.add(
                v1,
                "bag-info-syntax" if v1 else "pre-1.0-rule",
                f"{name} line {number}: more than one space or tab after the colon of"
                f" {label.strip()}"
                + (" (RFC 8493 §2.2.2 allows exactly one in BagIt 1.0)" if v1 else
                   " (tolerated before 1.0, an error in 1.0)"),
                path=name, line=number,
            )
        current = (label.strip(" \t"), [rest.strip(" \t")], number)
    flush()
    if lines and not ended:
        report.warn(
            "missing-line-ending",
            f"{name}: the last line is not terminated by LF, CR or CRLF (RFC 8493 §2.3)",
            path=name, line=len(lines),
        )
    _check_repeats(name, elements, report)
    return elements


def _check_repeats(name: str, elements: list[InfoElement], report: Report) -> None:
    seen: dict[str, InfoElement] = {}
    for el in elements:
        key = el.label.lower()
        if key in seen and key == "payload-oxum":
            report.error(
                "repeated-oxum",
                f"{name} line {el.line}: Payload-Oxum is repeated (first on line"
                f" {seen[key].line}); RFC 8493 §2.2.2 allows it once",
                path=name, line=el.line,
            )
        elif key in seen and key in SINGLE_VALUED:
            report.warn(
                "repeated-element",
                f"{name} line {el.line}: {el.label} is repeated (first on line"
                f" {seen[key].line}); it SHOULD NOT be",
                path=name, line=el.line,
            )
        seen.setdefault(key, el)
