"""Parsers for the manifests and fetch.txt: every line read, every problem recorded.

Like :mod:`stook.verify.tagfiles` (bagit.txt and bag-info.txt), each parser records
every problem with its file and line in a :class:`~stook.verify.model.Report` and
returns what it could make of the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from stook.bagspec import (
    HEX,
    MANIFEST_LINE,
    decode_path,
    digest_size,
    is_plain_path,
    normalise,
    unsafe_reason,
)
from stook.verify.model import Report
from stook.verify.tagfiles import split_lines

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_LITERAL_PERCENT = re.compile(r"%(?!0[AaDd])")
_FETCH_FIELDS = re.compile(r"[ \t]+")


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
