"""Offline validation of OAI-PMH responses against the official XSDs in tests/data/xsd.

The schemas import each other by their publishers' URLs and there is no network in
tests, so an lxml resolver maps those URLs to the local copies. ``<metadata>`` and
``<description>`` are strict wildcards, so the oai_dc and oai-identifier schemas are
loaded alongside OAI-PMH.xsd through one in-memory wrapper schema.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lxml import etree

__all__ = ["XSD_DIR", "oai_schema", "validate_oai_response"]

XSD_DIR = Path(__file__).resolve().parents[1] / "data" / "xsd"

_LOCAL_COPIES = {
    "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd": "OAI-PMH.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd": "oai_dc.xsd",
    "http://www.openarchives.org/OAI/2.0/oai-identifier.xsd": "oai-identifier.xsd",
    "http://dublincore.org/schemas/xmls/simpledc20021212.xsd": "simpledc20021212.xsd",
    "http://www.w3.org/2001/03/xml.xsd": "xml.xsd",
    "http://www.w3.org/2001/xml.xsd": "xml.xsd",
}

_WRAPPER = b"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/"
             schemaLocation="http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/oai_dc/"
             schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc.xsd"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/oai-identifier"
             schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier.xsd"/>
</xs:schema>
"""


class _LocalXsdResolver(etree.Resolver):
    """Serve the publishers' schema URLs from tests/data/xsd; refuse everything else."""

    def resolve(self, system_url: str, public_id: str | None, context: Any) -> Any:
        name = _LOCAL_COPIES.get(system_url) or _LOCAL_COPIES.get(
            (system_url or "").replace("https://", "http://")
        )
        if name is None and system_url and Path(system_url).name in _LOCAL_COPIES.values():
            name = Path(system_url).name
        if name is None:
            raise OSError(f"refusing to fetch schema {system_url!r} (no network in tests)")
        return self.resolve_filename(str(XSD_DIR / name), context)


@functools.lru_cache(maxsize=1)
def oai_schema() -> etree.XMLSchema:
    """The combined OAI-PMH + oai_dc + oai-identifier schema (built once, then cached)."""
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_LocalXsdResolver())
    doc = etree.fromstring(_WRAPPER, parser, base_url=str(XSD_DIR / "_wrapper.xsd"))
    return etree.XMLSchema(doc)


def validate_oai_response(xml_bytes: bytes) -> list[str]:
    """Schema errors of one OAI-PMH response (``[]`` if valid).

    A body that is not well-formed XML yields a single ``not well-formed: ...`` entry.
    """
    parser = etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True)
    try:
        doc = etree.fromstring(xml_bytes, parser)
    except etree.XMLSyntaxError as exc:
        return [f"not well-formed: {exc}"]
    schema = oai_schema()
    if schema.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in schema.error_log]
