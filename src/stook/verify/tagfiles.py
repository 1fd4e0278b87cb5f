"""Parsers for the text tag files: bagit.txt, bag-info.txt, manifests and fetch.txt.

Each parser reads every line, records every problem with its file and line in a
:class:`~stook.verify.model.Report`, and returns what it could make of the rest,
so one malformed line never hides the next one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from stook.bagspec import (
    BOM,
    HEX,
    KNOWN_VERSIONS,
    MANIFEST_LINE,
    SINGLE_VALUED,
    decode_path,
    digest_size,
    is_plain_path,
    normalise,
    unsafe_reason,
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


@dataclass(frozen=True)
class ManifestEntry:
    """One usable manifest line: a safe, decoded path and its expected digest."""

    path: str
    digest: str
    line: int
    alternative: str | None = None


def parse_manifest(
    name: str, algorithm: str | None, text: str, v1: bool, report: Report
) -> list[ManifestEntry]:
    """RFC 8493 §2.1.3 lines ``checksum path``; md5sum quirks are warned about and accepted."""
    lines, ended = split_lines(text)
    entries: list[ManifestEntry] = []
    first: dict[str, ManifestEntry] = {}
    size = digest_size(algorithm) if algorithm else None
    for number, line in enumerate(lines, 1):
        where = {"path": name, "line": number}
        if not line.strip():
            report.warn("blank-line", f"{name} line {number} is blank; it is ignored", **where)
            continue
        m = MANIFEST_LINE.match(line)
        if not m:
            report.error(
                "bad-manifest-line",
                f"{name} line {number} is not 'checksum path': {line!r}",
                **where,
            )
            continue
        checksum, raw = m.group(1), m.group(2)
        md5sum_style = []
        if checksum.startswith("\\"):
            checksum = checksum[1:]
            raw = raw.replace("\\n", "%0A").replace("\\\\", "\\")
            md5sum_style.append("a leading backslash (md5sum escaping)")
        if raw.startswith("*"):
            raw = raw[1:]
            md5sum_style.append("'*' before the path (md5sum binary mode)")
        if raw.startswith("./"):
            raw = raw[2:]
            md5sum_style.append("a './' prefix")
        if md5sum_style:
            report.warn(
                "md5sum-style-line",
                f"{name} line {number} has {' and '.join(md5sum_style)}; accepted here,"
                " but strict validators reject it: rewrite the manifest",
                **where,
            )
        if not HEX.match(checksum):
            report.error(
                "bad-checksum",
                f"{name} line {number}: {checksum!r} is not a hex checksum",
                **where,
            )
            continue
        if size is not None and len(checksum) != size:
            report.error(
                "bad-checksum",
                f"{name} line {number}: a {algorithm} checksum has {size} hex digits,"
                f" this one has {len(checksum)}",
                algorithm=algorithm, found=checksum.lower(), **where,
            )
            continue
        path = checked_path(name, number, raw, v1, report)
        if path is None:
            continue
        decoded, alternative = path
        if decoded in first:
            repeated(name, first[decoded], ManifestEntry(decoded, checksum.lower(), number), report)
            continue
        entry = ManifestEntry(decoded, checksum.lower(), number, alternative)
        first[decoded] = entry
        entries.append(entry)
    if lines and not ended:
        report.warn(
            "missing-line-ending",
            f"{name}: the last line is not terminated by LF, CR or CRLF (RFC 8493 §2.3)",
            path=name, line=len(lines),
        )
    if not lines:
        report.warn("empty-manifest", f"{name} lists no files", path=name)
    return entries


def repeated(name: str, first: ManifestEntry, again: ManifestEntry, report: Report) -> None:
    """A file listed twice in one manifest (literally, or in two Unicode normalizations).

    With the same checksum the line is redundant: a warning, the bag stays valid (as
    bagit-python also holds). With another checksum the manifest contradicts itself:
    an error, whichever line the file matches.
    """
    how = "" if again.path == first.path else f" (as {again.path!r})"
    if again.digest == first.digest:
        report.warn(
            "repeated-entry",
            f"{name} line {again.line} lists {first.path} again{how} with the same checksum (first"
            f" on line {first.line}); harmless, but strict validators reject it: remove the line",
            path=name, line=again.line, found=again.path,
        )
    else:
        report.error(
            "duplicate-entry",
            f"{name} line {again.line} lists {first.path} again{how} with another checksum (first"
            f" on line {first.line}); the manifest contradicts itself: each file must appear"
            " exactly once",
            path=name, line=again.line, expected=first.digest, found=again.digest,
        )


def checked_path(
    name: str, number: int, raw: str, v1: bool, report: Report
) -> tuple[str, str | None] | None:
    """Decode and judge one path field; None (after reporting) when it must not be used."""
    if is_plain_path(raw):
        return raw, None
    decoded, problems, alternative = decode_path(raw, v1)
    if not v1 and _LITERAL_PERCENT.search(raw):
        report.warn(
            "pre-1.0-rule",
            f"{name} line {number}: '%' in {raw!r} is read literally (before BagIt 1.0 only"
            " CR and LF were encoded); from 1.0 it must be written %25",
            path=name, line=number, found=raw,
        )
    for problem in problems:
        report.error(
            "bad-percent-encoding",
            f"{name} line {number}: {problem} in {raw!r} (RFC 8493 §2.1.3)",
            path=name, line=number, found=raw,
        )
    reason = unsafe_reason(decoded)
    if reason:
        report.error(
            "unsafe-path",
            f"{name} line {number}: {decoded!r} is refused and was not opened: {reason}",
            path=name, line=number, found=decoded,
        )
        return None
    normal, changed = normalise(decoded)
    if changed:
        report.warn(
            "non-canonical-path",
            f"{name} line {number}: {decoded!r} has empty or '.' components; read as"
            f" {normal!r}",
            path=name, line=number, found=decoded,
        )
    if alternative is not None:
        alternative = normalise(alternative)[0]
    return normal, alternative


@dataclass(frozen=True)
class FetchEntry:
    url: str
    length: int | None
    path: str
    line: int


def parse_fetch(text: str, v1: bool, report: Report) -> list[FetchEntry]:
    """RFC 8493 §2.2.3 lines ``url length path``: absolute URL, size or ``-``, payload path."""
    name = "fetch.txt"
    lines, ended = split_lines(text)
    entries: list[FetchEntry] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(lines, 1):
        where = {"path": name, "line": number}
        if not line.strip():
            report.warn("blank-line", f"fetch.txt line {number} is blank; it is ignored", **where)
            continue
        parts = _FETCH_FIELDS.split(line, maxsplit=2)
        if len(parts) != 3 or not parts[2]:
            report.error(
                "bad-fetch-line", f"fetch.txt line {number} is not 'url length path'", **where
            )
            continue
        url, length_text, raw = parts
        if not _absolute_url(url):
            report.error(
                "bad-fetch-url",
                f"fetch.txt line {number}: {url!r} is not an absolute URL (RFC 3986)",
                found=url, **where,
            )
        length: int | None = None
        if length_text != "-":
            if length_text.isdigit():
                length = int(length_text)
            else:
                report.error(
                    "bad-fetch-line",
                    f"fetch.txt line {number}: length {length_text!r} is neither a number of"
                    " octets nor '-'",
                    found=length_text, **where,
                )
        path = checked_path(name, number, raw, v1, report)
        if path is None:
            continue
        decoded = path[0]
        if not decoded.startswith("data/"):
            report.error(
                "fetch-outside-payload",
                f"fetch.txt line {number}: {decoded} is not under data/; fetch.txt must not"
                " list tag files (RFC 8493 §2.2.3)",
                found=decoded, **where,
            )
            continue
        if decoded in seen:
            report.error(
                "duplicate-entry",
                f"fetch.txt line {number} lists {decoded} again (first on line {seen[decoded]})",
                found=decoded, **where,
            )
            continue
        seen[decoded] = number
        entries.append(FetchEntry(url, length, decoded, number))
    if lines and not ended:
        report.warn(
            "missing-line-ending",
            "fetch.txt: the last line is not terminated by LF, CR or CRLF (RFC 8493 §2.3)",
            path=name, line=len(lines),
        )
    return entries


def _absolute_url(url: str) -> bool:
    """RFC 3986 absolute-URI: a scheme, something after it, no fragment, no raw spaces."""
    if not _SCHEME.match(url) or any(c.isspace() for c in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    if parts.fragment or "#" in url:
        return False
    rest = url[len(parts.scheme) + 1 :]
    return bool(rest)
