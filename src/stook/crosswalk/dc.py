"""Dublin Core (``oai_dc``, and the ``dc`` block of qualified DC) -> record fields.

Two views of the same Dublin Core are kept: the lossless ``dc`` block (every element
in document order, repeats, ``xml:lang`` and every other attribute kept, values
exactly as written, with ``dc_order`` so the XML can be rebuilt) and the structured
fields an archivist searches and cites. A dcterms refinement (qualified DC) is kept in
the ``dc`` block under the element it refines, with its name in ``refinement``, and
decides the structured field: ``abstract`` is an abstract, ``issued`` an issue date,
``isPartOf`` an is_part_of relation, ``temporal`` a coverage date.

Coverage: a date or time span is a ``dates`` entry of type ``coverage`` (``1851-1951``,
``Time Period Covered: 1851 - 1951``, ``19th century``); an identifier (ARK, URI, DOI)
is not a place and stays in ``dc`` only, with a note; anything else is a place.
"""

from __future__ import annotations

import re
from typing import Any

from stook.crosswalk.agents import agent_entry
from stook.crosswalk.builder import RecordBuilder, coverage_label, date_entry, term
from stook.crosswalk.common import (
    DC_ELEMENTS,
    CrosswalkOptions,
    attribute_name,
    clean,
    text_of,
)
from stook.crosswalk.dates import to_edtf
from stook.crosswalk.fulltext import is_full_text
from stook.crosswalk.identifiers import TYPE_SCHEMES, is_identifier_like, parse_identifier, typed_identifier
from stook.crosswalk.languages import language_tag
from stook.xmlns import NS_DC, NS_DCTERMS, XML_LANG

DCItems = dict[str, list[dict[str, Any]]]

#: dcterms refinement -> the element of the 15 it refines.
REFINEMENTS: dict[str, str] = {
    "alternative": "title",
    "abstract": "description", "tableOfContents": "description",
    "created": "date", "issued": "date", "modified": "date", "available": "date", "dateAccepted": "date",
    "dateCopyrighted": "date", "dateSubmitted": "date", "valid": "date",
    "extent": "format", "medium": "format",
    "isPartOf": "relation", "hasPart": "relation", "isVersionOf": "relation", "hasVersion": "relation",
    "isFormatOf": "relation", "hasFormat": "relation", "isReferencedBy": "relation",
    "references": "relation", "isReplacedBy": "relation", "replaces": "relation",
    "isRequiredBy": "relation", "requires": "relation", "conformsTo": "relation",
    "spatial": "coverage", "temporal": "coverage",
    "accessRights": "rights", "license": "rights",
    "bibliographicCitation": "identifier",
}
DATE_TYPES = {
    "created": "created", "issued": "issued", "modified": "modified", "available": "available",
    "dateAccepted": "accepted", "dateCopyrighted": "copyrighted", "dateSubmitted": "submitted",
    "valid": "valid",
}
_DESCRIPTION_TYPES = {"abstract": "abstract", "tableOfContents": "table_of_contents"}
_TEMPORAL = re.compile(
    r"\b(?:\d{1,2}(?:st|nd|rd|th)\s+century|century|centuries|jahrhundert|siècle|siglo|secolo|век|"
    r"\d{3,4}s|\d{2}--|\d{3}-)\b|^\s*(?:ca\.?\s*|circa\s*)?\d{3,4}(?:\s*[-/–]\s*\d{1,4})*\s*\??\s*$",
    re.IGNORECASE,
)
_RESOURCE_ATTRIBUTES = ("rdf:resource", "xlink:href", "valueURI", "href")
# Clark tag -> (element of the 15, dcterms refinement or None)
_DC_TAGS: dict[str, tuple[str, str | None]] = {f"{{{NS_DC}}}{name}": (name, None) for name in DC_ELEMENTS}
_QDC_TAGS: dict[str, tuple[str, str | None]] = {
    **_DC_TAGS,
    **{f"{{{NS_DCTERMS}}}{name}": (name, None) for name in DC_ELEMENTS},
    **{f"{{{NS_DCTERMS}}}{name}": (parent, name) for name, parent in REFINEMENTS.items()},
}


def relation_type(refinement: str) -> str:
    """``isPartOf`` -> ``is_part_of``: the schema's name for a dcterms relation."""
    return re.sub(r"(?<!^)([A-Z])", r"_\1", refinement).lower()


def read_dc(dc_element: Any, *, qualified: bool = False) -> tuple[DCItems, list[str], list[dict[str, Any]]]:
    """The lossless view of a Dublin Core element: (dc block, dc_order, other elements).

    ``qualified`` also takes dcterms elements: the 15 under their own name, the
    refinements under the element they refine.
    """
    dc: DCItems = {}
    order: list[str] = []
    other: list[dict[str, Any]] = []
    names = _QDC_TAGS if qualified else _DC_TAGS
    for child in dc_element:
        tag = child.tag
        if not isinstance(tag, str):
            continue  # comments and processing instructions
        value = child.text or "" if len(child) == 0 else text_of(child)
        item: dict[str, Any] = {"value": value}
        attributes = child.items()
        if attributes:
            lang = child.get(XML_LANG)
            if lang is not None:
                item["lang"] = lang
            rest = {attribute_name(k): v for k, v in attributes if k != XML_LANG}
            if rest:
                item["attributes"] = rest
        found = names.get(tag)
        if found is None:
            other.append({"element": tag, **item})
            continue
        element, refinement = found
        if refinement:
            item["refinement"] = refinement
        dc.setdefault(element, []).append(item)
        order.append(element)
    return dc, order, other


def _value(item: dict[str, Any]) -> str:
    """The item's text, or the URI an empty element points to (``rdf:resource``)."""
    text = clean(item.get("value"))
    if text:
        return text
    attributes = item.get("attributes") or {}
    for name in _RESOURCE_ATTRIBUTES:
        if clean(attributes.get(name)):
            return clean(attributes[name])
    return ""


def _xsi_type(item: dict[str, Any]) -> str | None:
    found = (item.get("attributes") or {}).get("xsi:type")
    return found.rsplit(":", 1)[-1] if found else None


def dc_to_record(
    dc: DCItems, *, identifier: str, options: CrosswalkOptions | None = None
) -> tuple[dict[str, Any], str | None, list[str]]:
    """Structured fields from a dc block: (fields, full text or None, http(s) links)."""
    options = options or CrosswalkOptions()
    b = RecordBuilder()
    _titles(b, dc.get("title", []))
    b.identifier({"scheme": "oai", "value": identifier})
    for item in dc.get("identifier", []):
        if item.get("refinement") == "bibliographicCitation":
            b.citation(_value(item))
        else:
            _identifier(b, _value(item), _xsi_type(item))
    for item in dc.get("date", []):
        kind = DATE_TYPES.get(item.get("refinement") or "", "unspecified")
        b.date(date_entry(item["value"], kind))
    for element, role in (("creator", "creator"), ("contributor", "contributor"), ("publisher", "publisher")):
        for item in dc.get(element, []):
            b.agent(agent_entry(item["value"], role, organizational=True if element == "publisher" else None))
    for item in dc.get("language", []):
        b.language(item["value"], source="dc:language")
    for item in dc.get("description", []):
        refinement = item.get("refinement")
        if refinement is None and is_full_text(item["value"], options):
            b.texts.append(item["value"].strip("\n"))
        b.description(item["value"], kind=_DESCRIPTION_TYPES.get(refinement or ""),
                      lang=language_tag(item.get("lang")))
    for item in dc.get("subject", []):
        b.subject(term(_value(item), _xsi_type(item), _uri(item)))
    for item in dc.get("coverage", []):
        _coverage(b, item)
    for element in ("relation", "source"):
        for item in dc.get(element, []):
            target = _value(item)
            kind = "source" if element == "source" else relation_type(item.get("refinement") or "relation")
            b.relation(kind, target)
            if element == "relation":
                b.link(target)
    for item in dc.get("rights", []):
        b.rights(_value(item), uri=_uri(item))
    fields = b.build()
    text = "\n\n".join(b.texts) + "\n" if b.texts else None
    return fields, text, b.links


def _uri(item: dict[str, Any]) -> str | None:
    attributes = item.get("attributes") or {}
    for name in _RESOURCE_ATTRIBUTES:
        if attributes.get(name):
            return str(attributes[name]).strip()
    return None


def _titles(b: RecordBuilder, items: list[dict[str, Any]]) -> None:
    titled = [(item, clean(item["value"])) for item in items]
    titled = [(item, value) for item, value in titled if value]
    if not titled:
        return
    main_index = next((i for i, (item, _v) in enumerate(titled) if not item.get("refinement")), 0)
    main_item, main_value = titled[main_index]
    b.title(main_value)
    main_lang = language_tag(main_item.get("lang"))
    for index, (item, value) in enumerate(titled):
        if index == main_index:
            continue
        lang = language_tag(item.get("lang"))
        kind = "translated" if lang and main_lang and lang != main_lang else "alternative"
        b.title(value, kind=kind, lang=lang)


def _identifier(b: RecordBuilder, value: str, type_hint: str | None) -> None:
    if type_hint and type_hint.casefold() in TYPE_SCHEMES:
        parsed = typed_identifier(type_hint, value)
    else:
        parsed = parse_identifier(value)
    if parsed is None:
        return
    entry, link = parsed
    lowered = value.strip().lower()
    for label in ("isbn", "issn"):
        if lowered.startswith(label) and entry["scheme"] == "local":
            b.note(f"identifier {value.strip()!r} is not a valid {label.upper()} (check digit); "
                   "kept as local")
    b.identifier(entry, link)


def _coverage(b: RecordBuilder, item: dict[str, Any]) -> None:
    refinement = item.get("refinement")
    value = _value(item)
    if not value:
        return
    if refinement == "spatial":
        b.place(term(value, _xsi_type(item), _uri(item)))
        return
    if refinement == "temporal" or coverage_label(value) or _TEMPORAL.search(value) or to_edtf(value):
        b.date(date_entry(value, "coverage"))
        return
    if is_identifier_like(value):
        b.note(f"coverage {value!r} is an identifier, not a place; kept in dc only")
        return
    b.place(term(value, _xsi_type(item), _uri(item)))


def crosswalk_dc(
    root: Any, identifier: str, options: CrosswalkOptions, *, qualified: bool = False
) -> tuple[dict[str, Any], str | None, list[str]]:
    """Fields, full text and links of an ``oai_dc:dc`` (or qualified DC) root element."""
    dc, order, other = read_dc(root, qualified=qualified)
    fields, text, links = dc_to_record(dc, identifier=identifier, options=options)
    fields["dc"] = dc
    fields["dc_order"] = order
    if other:
        key = "qdc:other-elements" if qualified else "oai-dc:other-elements"
        fields.setdefault("extensions", {})[key] = other
    return fields, text, links
