"""What every crosswalk shares: namespaces, the result types, the options, text helpers."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any

from stook.errors import UsageError
from stook.xmlns import (
    NS_RDF,
    NS_XLINK,
    NS_XML,
    NS_XSI,
)

TEXT_PATH = "text.txt"
SOURCE_PATH = "source/record.xml"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
XML_MEDIA_TYPE = "application/xml"
NOTES_KEY = "stook:crosswalk-notes"

#: The 15 elements in the order of the DCMES (used when no document order is known).
DC_ELEMENTS: tuple[str, ...] = (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights",
)

#: Prefixes for attribute names in well-known namespaces; any other keeps its Clark name.
_ATTRIBUTE_PREFIXES = {NS_XML: "xml", NS_XSI: "xsi", NS_XLINK: "xlink", NS_RDF: "rdf"}

#: The default of :attr:`CrosswalkOptions.full_text_min_chars`: about twice the longest
#: abstracts repositories accept (theses often allow 3,500 characters).
FULL_TEXT_MIN_CHARS = 8000
#: The default of :attr:`CrosswalkOptions.marked_full_text_min_chars`.
MARKED_FULL_TEXT_MIN_CHARS = 1000


@dataclass(frozen=True)
class CrosswalkOptions:
    """Choices a harvest can make about the crosswalk.

    ``full_text_min_chars``: an unmarked description at least this long that spans
    several lines is the document's full text. ``marked_full_text_min_chars``: the
    same for a description that opens with a full-text heading ("Full text:").
    """

    full_text_min_chars: int = FULL_TEXT_MIN_CHARS
    marked_full_text_min_chars: int = MARKED_FULL_TEXT_MIN_CHARS

    def __post_init__(self) -> None:
        for name in ("full_text_min_chars", "marked_full_text_min_chars"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise UsageError(f"{name} must be a whole number of characters, at least 1, not {value!r}")


@dataclass
class Crosswalked:
    """A harvested record turned into a stook record, plus the text found in it."""

    record: dict[str, Any]
    text: str | None = None
    links: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class OAIHeader:
    """The OAI header of one harvested record."""

    identifier: str
    datestamp: str
    set_specs: tuple[str, ...] = ()
    deleted: bool = False


def clean(value: str | None) -> str:
    """A value for a structured field: whitespace collapsed, NFC."""
    if not value:
        return ""
    joined = " ".join(value.split())
    return joined if joined.isascii() else unicodedata.normalize("NFC", joined)


def local(tag: object) -> tuple[str, str]:
    """(namespace, local name) of an lxml tag; ("", "") for comments and PIs."""
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def attribute_name(clark: str) -> str:
    """``xml:lang``, ``xsi:type``, ``rdf:resource``, ``linktype``; other namespaces in Clark form."""
    ns, name = local(clark)
    if not ns:
        return name
    prefix = _ATTRIBUTE_PREFIXES.get(ns)
    return f"{prefix}:{name}" if prefix else clark


def attributes_of(element: Any, *, skip: tuple[str, ...] = ()) -> dict[str, str]:
    """Every attribute of ``element`` by :func:`attribute_name`, except the names in ``skip``."""
    out: dict[str, str] = {}
    for key, value in element.attrib.items():
        name = attribute_name(key)
        if name not in skip:
            out[name] = value
    return out


def text_of(element: Any) -> str:
    """All the text inside an element, as written."""
    return "".join(element.itertext())


def child_elements(element: Any) -> list[Any]:
    """The element children (comments and processing instructions left out)."""
    return [c for c in element if isinstance(c.tag, str)]
