"""record -> ``oai_dc``, for the OAI-PMH provider.

A harvested record (with a ``dc`` block) is rebuilt exactly: ``dc_order`` gives the
element sequence, values and ``xml:lang`` come from ``dc`` (a dcterms refinement of
qualified DC is written as the element it refines). Other attributes are not
written: the oai_dc schema allows ``xml:lang`` only. Any other record's Dublin Core
is derived from its structured fields.
"""

from __future__ import annotations

from typing import Any

from lxml import etree

from stook.crosswalk.common import (
    DC_ELEMENTS,
)
from stook.xmlns import NS_DC, NS_OAI_DC, NS_XSI, OAI_DC_SCHEMA, XML_LANG

_CREATOR_ROLES = {"author", "creator", "signatory", "compiler", "interviewer"}


def link_of(identifier: dict[str, str]) -> str:
    """The resolver URL of a DOI or handle; any other identifier's value."""
    if identifier["scheme"] == "doi":
        return "https://doi.org/" + identifier["value"]
    if identifier["scheme"] == "handle":
        return "https://hdl.handle.net/" + identifier["value"]
    return identifier["value"]


def record_to_oai_dc(record: dict[str, Any]) -> Any:
    """An ``oai_dc:dc`` lxml element for ``record`` (see the module docstring)."""
    root = etree.Element(f"{{{NS_OAI_DC}}}dc", nsmap={"oai_dc": NS_OAI_DC, "dc": NS_DC, "xsi": NS_XSI})
    root.set(f"{{{NS_XSI}}}schemaLocation", f"{NS_OAI_DC} {OAI_DC_SCHEMA}")
    dc = record.get("dc")
    items = _dc_items_lossless(dc, record.get("dc_order")) if dc else _dc_items_derived(record)
    for name, value, lang in items:
        element = etree.SubElement(root, f"{{{NS_DC}}}{name}")
        element.text = value
        if lang:
            element.set(XML_LANG, lang)
    return root


def _dc_items_lossless(
    dc: dict[str, list[dict[str, Any]]], order: list[str] | None
) -> list[tuple[str, str, str | None]]:
    cursors = {name: 0 for name in dc}
    items: list[tuple[str, str, str | None]] = []
    for name in order or []:
        values = dc.get(name) or []
        index = cursors.get(name, 0)
        if index < len(values):
            items.append((name, values[index]["value"], values[index].get("lang")))
            cursors[name] = index + 1
    for name in DC_ELEMENTS:  # values dc_order does not account for, in canonical order
        for value in (dc.get(name) or [])[cursors.get(name, 0):]:
            items.append((name, value["value"], value.get("lang")))
    return items


def _dc_items_derived(record: dict[str, Any]) -> list[tuple[str, str, str | None]]:
    items: list[tuple[str, str, str | None]] = [("title", record["title"], None)]
    for title in record.get("additional_titles") or []:
        items.append(("title", title["value"], title.get("lang")))
    agents = record.get("agents") or []
    for agent in agents:
        roles = set(agent.get("roles") or [])
        if roles & _CREATOR_ROLES or not roles:
            items.append(("creator", agent["name"], None))
    for term in record.get("subjects") or []:
        items.append(("subject", term["value"], None))
    for desc in record.get("descriptions") or []:
        items.append(("description", desc["value"], desc.get("lang")))
    for agent in agents:
        if "publisher" in (agent.get("roles") or []):
            items.append(("publisher", agent["name"], None))
    for agent in agents:
        roles = set(agent.get("roles") or [])
        if roles and not roles & _CREATOR_ROLES and roles != {"publisher"}:
            items.append(("contributor", agent["name"], None))
    for date in record.get("dates") or []:
        value = date.get("value") or date.get("display")
        if value:
            items.append(("coverage" if date.get("type") == "coverage" else "date", value, None))
    items.append(("identifier", record["identifier"], None))
    for ident in record.get("identifiers") or []:
        value = link_of(ident) if ident["scheme"] in ("doi", "handle") else ident["value"]
        if value != record["identifier"]:
            items.append(("identifier", value, None))
    for lang in record.get("languages") or []:
        items.append(("language", lang["code"], None))
    for relation in record.get("relations") or []:
        element = "source" if relation["type"] == "source" else "relation"
        items.append((element, relation["target"], None))
    for place in record.get("places") or []:
        items.append(("coverage", place["value"], None))
    for right in record.get("rights") or []:
        items.append(("rights", right["statement"], None))
    order = {name: i for i, name in enumerate(DC_ELEMENTS)}
    return sorted(items, key=lambda item: order[item[0]])
