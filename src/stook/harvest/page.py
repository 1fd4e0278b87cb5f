"""Reading one OAI-PMH page: whole when it can be, record by record when it cannot.

A page is parsed strictly, once, in the common case. When that fails, or when the page
holds characters XML 1.0 forbids, it is split at the byte level into the envelope
(responseDate, request, resumptionToken...) and its ``<record>`` elements, and each
part is parsed on its own. So one record with invalid UTF-8 or a broken element is set
apart (with its bytes as received and the reason) while the records beside it are
stored, and the resumption token is still read from the envelope. Only a page whose
envelope is broken is a broken page (retried, then reported).

Identifiers are never changed: characters XML 1.0 forbids are removed from the page
(and counted) except inside an ``identifier`` element, where they make the record set
apart instead, since removing them (``a<NUL>b`` -> ``ab``) would merge two identities.
:func:`record_problem` refuses identifiers no archive can use (empty, control or format
characters).

Entities: internal DTD entities (``<!ENTITY pub "...">`` used as ``&pub;``) are expanded,
so the record kept in the bag parses on its own; external entities and the network are
never touched, and libxml2's amplification limit refuses a "billion laughs" page.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from lxml import etree

from stook.xmlns import NS_OAI

LISTS = ("ListRecords", "GetRecord")
XML_SPACE = " \t\r\n"
# re-parsing the prologue once per record must stay cheap: prologue bytes x records
MAX_RECOVERY_WORK = 512 * 1024 * 1024

# XML 1.0 (section 2.2) forbids C0 controls other than TAB, LF and CR, and U+FFFE/U+FFFF,
# whether as raw characters or as character references. Raw C0 bytes never occur inside
# a UTF-8 multi-byte sequence, so they can be removed from the bytes directly.
ILLEGAL = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]"
    rb"|\xef\xbf[\xbe\xbf]"
    rb"|&#(?:[xX]0*(?:[0-8bBcCeE]|1[0-9a-fA-F]|[fF]{4}|[fF]{3}[eE])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45]));"
)
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_IDENTIFIER_ELEMENT = re.compile(rb"<((?:[^\s<>/:!?]+:)?identifier)(?:\s[^>]*)?>(.*?)</\1\s*>", re.S)
_NAME = re.compile(rb"[^\s/>!?<\"'=]+")
_TAG_REST = re.compile(rb"[^\"'>]*(?:(?:\"[^\"]*\"|'[^']*')[^\"'>]*)*>")
_SUBSET_TOKEN = re.compile(rb"\"[^\"]*\"|'[^']*'|<!--.*?-->|\]", re.S)


@dataclass
class PageRecord:
    """One ``<record>`` of a page: parsed, or set apart with its bytes and the reason."""

    element: Any | None
    raw: bytes | None = None
    problem: str | None = None


@dataclass
class ParsedPage:
    root: Any  # the OAI-PMH element (without its records when it was read record by record)
    records: list[PageRecord]
    illegal_chars_removed: int


class BrokenPage(Exception):
    """The page cannot be read even record by record (its envelope is broken)."""


def make_parser() -> Any:
    """Strict, no network, no external entities; internal entities expanded (bounded by libxml2)."""
    return etree.XMLParser(resolve_entities="internal", no_network=True, load_dtd=False, huge_tree=True)


def strip_illegal_chars(body: bytes) -> tuple[bytes, int]:
    """``body`` without XML 1.0 illegal characters, and how many were removed.

    UTF-16 bodies (with a byte order mark) are left alone: their NUL bytes are legal.
    """
    if body[:2] in _UTF16_BOMS:
        return body, 0
    cleaned, count = ILLEGAL.subn(b"", body)
    return cleaned, count


def parse_page(body: bytes) -> ParsedPage:
    """The page's root and records; :class:`BrokenPage` when even its envelope cannot be read."""
    first_error: Exception | None = None
    if body[:2] in _UTF16_BOMS or ILLEGAL.search(body) is None:
        try:
            root = etree.fromstring(body, make_parser())
        except etree.XMLSyntaxError as exc:
            if body[:2] in _UTF16_BOMS:
                raise BrokenPage(str(exc)) from exc
            first_error = exc
        else:
            return ParsedPage(root, [PageRecord(e) for e in records_of(root)], 0)
    return _parse_by_record(body, first_error)


def records_of(root: Any) -> list[Any]:
    """The ``<record>`` elements of a ListRecords or GetRecord answer, in order."""
    found: list[Any] = []
    for name in LISTS:
        found.extend(root.iterfind(f"{{{NS_OAI}}}{name}/{{{NS_OAI}}}record"))
    return found


def _parse_by_record(body: bytes, first_error: Exception | None) -> ParsedPage:
    split = split_records(body)
    if not split.spans:  # nothing to set apart: remove illegal characters and read it whole
        cleaned, removed = strip_illegal_chars(body)
        try:
            root = etree.fromstring(cleaned, make_parser())
        except etree.XMLSyntaxError as exc:
            raise BrokenPage(str(first_error or exc)) from exc
        return ParsedPage(root, [PageRecord(e) for e in records_of(root)], removed)
    envelope, removed = strip_illegal_chars(split.envelope())
    try:
        root = etree.fromstring(envelope, make_parser())
    except etree.XMLSyntaxError as exc:
        raise BrokenPage(str(exc)) from exc
    prefix, _ = strip_illegal_chars(split.prefix)
    if len(prefix) * len(split.spans) > MAX_RECOVERY_WORK:
        raise BrokenPage(
            f"{first_error}; the page's prologue ({len(prefix)} bytes) is too large to read its "
            f"{len(split.spans)} records one by one"
        )
    records: list[PageRecord] = []
    for start, end in split.spans:
        raw = body[start:end]
        taint = identifier_taint(raw)
        if taint is not None:
            records.append(PageRecord(None, raw, taint))
            continue
        cleaned, count = strip_illegal_chars(raw)
        try:
            doc = etree.fromstring(prefix + cleaned + split.suffix, make_parser())
        except etree.XMLSyntaxError as exc:
            records.append(PageRecord(None, raw, f"the record is not well-formed XML ({exc})"))
            continue
        found = records_of(doc)
        if len(found) != 1:
            records.append(PageRecord(None, raw, "the record is not an OAI-PMH <record> element"))
            continue
        removed += count
        records.append(PageRecord(found[0]))
    return ParsedPage(root, records, removed)


# -- the byte-level split ---------------------------------------------------------------


@dataclass
class Split:
    body: bytes
    spans: list[tuple[int, int]]  # [start, end) of each record directly inside the list element
    suffix: bytes  # end tags closing what is open before the first record

    @property
    def prefix(self) -> bytes:
        """Everything before the first record: prologue, DTD, root and list start tags."""
        return self.body[: self.spans[0][0]]

    def envelope(self) -> bytes:
        """The page with its records cut out."""
        pieces = []
        last = 0
        for start, end in self.spans:
            pieces.append(self.body[last:start])
            last = end
        pieces.append(self.body[last:])
        return b"".join(pieces)


def _local(name: bytes) -> bytes:
    return name.rpartition(b":")[2]


def split_records(body: bytes) -> Split:
    """Find the records of a page by its markup alone, tolerating broken text and bytes.

    Comments, CDATA sections, processing instructions and the DOCTYPE (internal subset
    included) are skipped; an end tag closes back to the element it names, so a record
    with an unclosed element inside still ends at its ``</record>``.
    """
    stack: list[bytes] = []
    spans: list[tuple[int, int]] = []
    suffix: bytes | None = None
    start: int | None = None
    pos = 0
    while True:
        lt = body.find(b"<", pos)
        if lt < 0:
            break
        skip = _skip_special(body, lt)
        if skip is not None:
            if skip < 0:
                break
            pos = skip
            continue
        closing = body.startswith(b"</", lt)
        name_match = _NAME.match(body, lt + (2 if closing else 1))
        if name_match is None:
            pos = lt + 1  # a stray '<' in text
            continue
        name = name_match.group()
        rest = _TAG_REST.match(body, name_match.end())
        if rest is None:
            break
        end = rest.end()
        if closing:
            if name in stack:
                del stack[len(stack) - 1 - stack[::-1].index(name):]
                if start is not None and len(stack) <= 2:
                    spans.append((start, end if len(stack) == 2 else lt))
                    start = None
            pos = end
            continue
        empty = body[end - 2 : end - 1] == b"/"
        if (start is None and len(stack) == 2 and _local(stack[1]) in (b"ListRecords", b"GetRecord")
                and _local(name) == b"record"):
            if suffix is None:
                suffix = b"".join(b"</" + n + b">" for n in reversed(stack))
            if empty:
                spans.append((lt, end))
            else:
                start = lt
        if not empty:
            stack.append(name)
        pos = end
    return Split(body, spans, suffix or b"")


def _skip_special(body: bytes, lt: int) -> int | None:
    """Where markup other than a tag ends (-1: never), or None when ``lt`` starts a tag."""
    for opening, closing in ((b"<!--", b"-->"), (b"<![CDATA[", b"]]>"), (b"<?", b"?>")):
        if body.startswith(opening, lt):
            end = body.find(closing, lt + len(opening))
            return -1 if end < 0 else end + len(closing)
    if not body.startswith(b"<!", lt):
        return None
    close = body.find(b">", lt)
    bracket = body.find(b"[", lt)
    if close < 0:
        return -1
    if bracket < 0 or bracket > close or not body.startswith(b"<!DOCTYPE", lt):
        return close + 1
    for token in _SUBSET_TOKEN.finditer(body, bracket + 1):
        if token.group() == b"]":
            close = body.find(b">", token.end())
            return -1 if close < 0 else close + 1
    return -1


# -- identifiers ---------------------------------------------------------------------


def _describe_illegal(found: bytes) -> str:
    if found.startswith(b"&#"):
        digits = found[2:-1]
        code = int(digits[1:], 16) if digits[:1] in (b"x", b"X") else int(digits)
        return f"U+{code:04X} (written {found.decode('ascii')})"
    return f"U+{ord(found.decode('utf-8')):04X}"


def identifier_taint(raw: bytes) -> str | None:
    """Why a record cannot be read without changing an identifier in it, or None."""
    for match in _IDENTIFIER_ELEMENT.finditer(raw):
        bad = ILLEGAL.search(match.group(2))
        if bad is not None:
            name = match.group(1).decode("utf-8", "replace")
            return (
                f"its <{name}> contains {_describe_illegal(bad.group())}, a character XML 1.0 forbids; "
                "removing it would change the identifier, so the record is set apart instead"
            )
    return None


def identifier_problem(text: str) -> str | None:
    """Why ``text`` (an OAI identifier as sent) cannot be a record's identifier, or None.

    White space around it (space, TAB, CR, LF) is insignificant, as in XML Schema's
    ``anyURI``; anything else is kept exactly, so it must hold no control or format
    characters and no other white space at its ends.
    """
    value = text.strip(XML_SPACE)
    if not value:
        return "its identifier is empty" if not text else f"its identifier {text!r} is only white space"
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cc", "Cf", "Zl", "Zp", "Cs"):
            kind = "a control character" if category == "Cc" else "an invisible format or separator character"
            return (
                f"its identifier {value!r} contains U+{ord(ch):04X}, {kind}; identifiers are kept "
                "exactly as sent, so the record is set apart instead"
            )
    if value != value.strip():
        return f"its identifier {value!r} begins or ends with a white-space character other than a space"
    return None


def record_problem(element: Any) -> str | None:
    """Why a parsed ``<record>`` cannot be stored as it is, or None.

    Checked here: the header and its one identifier, and entity references left
    unexpanded (the kept XML would not parse on its own).
    """
    header = element.find(f"{{{NS_OAI}}}header")
    if header is None:
        return "the record has no <header>"
    identifiers = header.findall(f"{{{NS_OAI}}}identifier")
    if len(identifiers) != 1:
        return f"its header has {len(identifiers)} <identifier> elements instead of one"
    if len(identifiers[0]):
        return "its <identifier> holds markup, not just text"
    problem = identifier_problem(identifiers[0].text or "")
    if problem is not None:
        return problem
    for entity in element.iter(etree.Entity):
        return (f"it refers to the entity {entity.text}, which stook does not expand (external entities "
                "are never read)")
    return None
