"""One harvested OAI ``<record>`` -> a stook record, by the crosswalk its metadata's namespace picks.

The crosswalk is chosen by the namespace of the metadata's root element, never by
the metadataPrefix, which each repository names as it likes (``mods``, ``MODS``,
``marc21``, ``marcxml``, ``oai_datacite``, ``datacite4``...). Metadata in no known
namespace is kept raw with a minimal record (identifier, the first ``title``
element found or else the OAI identifier, record_source).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from stook.crosswalk.common import (
    SOURCE_PATH,
    TEXT_MEDIA_TYPE,
    TEXT_PATH,
    XML_MEDIA_TYPE,
    Crosswalked,
    CrosswalkOptions,
    OAIHeader,
    child_elements,
    clean,
    local,
)
from stook.crosswalk.dc import crosswalk_dc
from stook.crosswalk.native import NATIVE_NS, NATIVE_TAG, record_from_native
from stook.crosswalk.qdc import QDC_NAMESPACES, is_qualified_dc
from stook.errors import CrosswalkError
from stook.xmlns import NS_DATACITE_KERNELS, NS_DC, NS_MARC, NS_MODS, NS_OAI, NS_OAI_DATACITE, NS_OAI_DC

if TYPE_CHECKING:
    import requests

    from stook.harvest.client import RetryPolicy

#: Crosswalk name -> (what it is, the namespaces of its root element).
CROSSWALKS: dict[str, tuple[str, tuple[str, ...]]] = {
    "oai_dc": ("Dublin Core", (NS_OAI_DC,)),
    "qdc": ("qualified Dublin Core", QDC_NAMESPACES),
    "mods": ("MODS", (NS_MODS,)),
    "marcxml": ("MARC 21 in MARCXML", (NS_MARC,)),
    "datacite": ("DataCite", (*NS_DATACITE_KERNELS, *NS_OAI_DATACITE)),
    "stook": ("stook record.json (lossless)", (NATIVE_NS,)),
}
_BY_NAMESPACE = {ns: name for name, (_label, spaces) in CROSSWALKS.items() for ns in spaces}
# Any error a crosswalk could meet on metadata it cannot make sense of: the record is
# quarantined with the message instead of stopping the harvest.
_READ_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError)


def crosswalk_of(root: Any) -> str | None:
    """The name of the crosswalk for a metadata root element, or None for none."""
    if root.tag == NATIVE_TAG:
        return "stook"
    if root.tag == f"{{{NS_OAI_DC}}}dc":
        return "oai_dc"
    ns = local(root.tag)[0]
    found = _BY_NAMESPACE.get(ns)
    if found in ("mods", "marcxml", "datacite"):
        return found
    if is_qualified_dc(root):
        return "qdc"
    children = child_elements(root)
    if children and all(local(c.tag)[0] == NS_DC for c in children):
        return "oai_dc"  # simple Dublin Core under another wrapper
    return None


def read_header(header: Any) -> OAIHeader:
    """The OAI header element's identifier, datestamp, setSpecs and deleted status."""
    identifier = header.findtext(f"{{{NS_OAI}}}identifier") or ""
    datestamp = header.findtext(f"{{{NS_OAI}}}datestamp") or ""
    specs = tuple(s.text.strip() for s in header.findall(f"{{{NS_OAI}}}setSpec") if s.text and s.text.strip())
    return OAIHeader(identifier.strip(), datestamp.strip(), specs, header.get("status") == "deleted")


def record_source(
    header: OAIHeader, *, base_url: str, metadata_prefix: str, retrieved_at: str
) -> dict[str, Any]:
    """The record's provenance: where, in which format, when."""
    return {
        "method": "harvest",
        "base_url": base_url,
        "metadata_prefix": metadata_prefix,
        "oai_identifier": header.identifier,
        "datestamp": header.datestamp,
        "set_specs": list(header.set_specs),
        "retrieved_at": retrieved_at,
    }


def _walk(
    name: str, root: Any, identifier: str, options: CrosswalkOptions
) -> tuple[dict[str, Any], str | None, list[str]]:
    if name in ("oai_dc", "qdc"):
        return crosswalk_dc(root, identifier, options, qualified=name == "qdc")
    # each format's module is loaded the first time a record in it arrives
    if name == "mods":
        from stook.crosswalk.mods import crosswalk_mods

        fields = crosswalk_mods(root, identifier)
    elif name == "marcxml":
        from stook.crosswalk.marc import crosswalk_marc

        fields = crosswalk_marc(root, identifier)
    else:
        from stook.crosswalk.datacite import crosswalk_datacite

        fields = crosswalk_datacite(root, identifier)
    return fields, None, _links(fields)


def _links(fields: dict[str, Any]) -> list[str]:
    from stook.crosswalk.todc import link_of

    links = [link_of(i) for i in fields.get("identifiers", []) if i["scheme"] in ("doi", "handle", "url")]
    links += [r["target"] for r in fields.get("relations", [])]
    return [link for link in dict.fromkeys(links) if link.lower().startswith(("http://", "https://"))]


def crosswalk_record(
    record_element: Any,
    *,
    base_url: str,
    metadata_prefix: str,
    retrieved_at: str,
    options: CrosswalkOptions | None = None,
    header: OAIHeader | None = None,
) -> Crosswalked:
    """A stook record from one OAI ``<record>`` element (not deleted).

    ``header`` is the element's header when the caller has read it already (a harvest
    reads it first, to tell deletions apart); otherwise it is read here.

    ``content`` lists ``source/record.xml`` (the caller stores the XML there) and, when
    the full-text rule finds a text, ``text.txt``. Metadata a crosswalk cannot read at
    all raises :class:`~stook.errors.CrosswalkError` (a ValueError).
    """
    options = options or CrosswalkOptions()
    if header is None:
        header_el = record_element.find(f"{{{NS_OAI}}}header")
        header = read_header(header_el if header_el is not None else etree.Element("header"))
    metadata = record_element.find(f"{{{NS_OAI}}}metadata")
    root = next((c for c in metadata if isinstance(c.tag, str)), None) if metadata is not None else None
    name = crosswalk_of(root) if root is not None else None
    if name == "stook":
        # Another stook store's record.json, kept exactly as it was there.
        return Crosswalked(record=record_from_native(root), text=None, links=[])
    record: dict[str, Any] = {"identifier": header.identifier}
    text: str | None = None
    links: list[str] = []
    if name is not None:
        try:
            fields, text, links = _walk(name, root, header.identifier, options)
        except _READ_ERRORS as exc:
            raise CrosswalkError(
                f"record {header.identifier!r}: its {CROSSWALKS[name][0]} metadata cannot be read ({exc})",
                record_id=header.identifier,
            ) from exc
        record.update(fields)
    else:
        record["title"] = (_first_title(root) if root is not None else None) or header.identifier
        record["identifiers"] = [{"scheme": "oai", "value": header.identifier}]
    content: list[dict[str, Any]] = [
        {"path": SOURCE_PATH, "kind": "source_metadata", "media_type": XML_MEDIA_TYPE}
    ]
    if text is not None:
        entry: dict[str, Any] = {"path": TEXT_PATH, "kind": "text", "media_type": TEXT_MEDIA_TYPE}
        languages = record.get("languages") or []
        if len(languages) == 1:
            entry["language"] = languages[0]["code"]
        content.append(entry)
    record["content"] = content
    record["metadata_only"] = text is None
    record["record_source"] = record_source(
        header, base_url=base_url, metadata_prefix=metadata_prefix, retrieved_at=retrieved_at
    )
    return Crosswalked(record=record, text=text, links=links)


def _first_title(root: Any) -> str | None:
    for element in root.iter():
        if local(element.tag)[1].lower() == "title":
            value = clean("".join(element.itertext()))
            if value:
                return value
    return None


@dataclass(frozen=True)
class OfferedFormat:
    """One metadata format a repository offers, and what stook does with it."""

    prefix: str
    namespace: str
    schema: str
    crosswalk: str | None
    support: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def support_of(namespace: str) -> tuple[str | None, str]:
    """(crosswalk name or None, what stook does) for records in ``namespace``."""
    name = _BY_NAMESPACE.get(namespace.strip())
    if name is None:
        return None, "kept raw with a minimal record (no crosswalk for this namespace)"
    if name == "stook":
        return name, "lossless: another stook store's record.json"
    return name, f"full crosswalk ({CROSSWALKS[name][0]})"


def offered_formats(
    base_url: str, *, policy: RetryPolicy | None = None, session: requests.Session | None = None
) -> list[OfferedFormat]:
    """What ``base_url`` offers (ListMetadataFormats) and which of it stook crosswalks fully."""
    from stook.harvest.client import OAIClient

    client = OAIClient(base_url, policy, session=session)
    try:
        formats = client.list_metadata_formats()
    finally:
        client.close()
    out = []
    for found in formats:
        name, support = support_of(found.namespace)
        out.append(OfferedFormat(found.prefix, found.namespace, found.schema, name, support))
    return out
