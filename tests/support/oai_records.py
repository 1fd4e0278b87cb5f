"""Hand-written OAI records for the crosswalk tests, and a provider that serves any format.

:class:`FormatsProvider` is the ``oaipmh`` (pyoai) provider of :mod:`.pyoai_provider`
taught to serve metadata formats besides oai_dc: each record is given as a metadata
document per prefix, written into the response by a pyoai metadata writer, so every
protocol byte still comes from the third-party server.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

from lxml import etree
from oaipmh import error
from oaipmh.metadata import MetadataRegistry
from oaipmh.server import BatchingServer

from stook.crosswalk import Crosswalked, CrosswalkOptions, crosswalk_record

from .pyoai_provider import PyoaiProvider
from .synthetic import SyntheticRecord

NS_OAI = "http://www.openarchives.org/OAI/2.0/"
NS_OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_DCTERMS = "http://purl.org/dc/terms/"
NS_MODS = "http://www.loc.gov/mods/v3"
NS_MARC = "http://www.loc.gov/MARC21/slim"
NS_DATACITE = "http://datacite.org/schema/kernel-4"
NS_OAI_DATACITE = "http://schema.datacite.org/oai/oai-1.1/"
BASE = "http://127.0.0.1:9/oai"
WHEN = "2024-05-01T12:00:00.000000Z"


def oai_record(identifier: str, metadata: str, *, sets: Sequence[str] = ("history",)) -> Any:
    """An OAI ``<record>`` element with a header and ``metadata`` (an XML string) inside."""
    specs = "".join(f"<setSpec>{s}</setSpec>" for s in sets)
    xml = (
        f'<record xmlns="{NS_OAI}"><header><identifier>{identifier}</identifier>'
        f"<datestamp>2021-03-04T05:06:07Z</datestamp>{specs}</header>"
        f"<metadata>{metadata}</metadata></record>"
    )
    return etree.fromstring(xml.encode("utf-8"))


def dc_doc(*elements: tuple[str, str] | tuple[str, str, str]) -> str:
    """An oai_dc document from (element, value[, xml:lang]) tuples (values already escaped)."""
    parts = []
    for item in elements:
        name, value = item[0], item[1]
        lang = f' xml:lang="{item[2]}"' if len(item) == 3 else ""
        parts.append(f"<dc:{name}{lang}>{value}</dc:{name}>")
    return f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="{NS_DC}">{"".join(parts)}</oai_dc:dc>'


def walk(element: Any, prefix: str = "oai_dc", options: CrosswalkOptions | None = None) -> Crosswalked:
    return crosswalk_record(
        element, base_url=BASE, metadata_prefix=prefix, retrieved_at=WHEN, options=options
    )


def walk_metadata(metadata: str, prefix: str, identifier: str = "oai:example.org:1") -> dict[str, Any]:
    """The record crosswalked from one metadata document."""
    return walk(oai_record(identifier, metadata), prefix).record


def all_text(value: Any) -> str:
    """Every string inside a JSON-like value, joined (to prove a source value was kept)."""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return "\n".join(all_text(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(all_text(v) for v in value)
    return ""


def source_texts(metadata: str) -> list[str]:
    """The whitespace-collapsed text of every element of a metadata document."""
    root = etree.fromstring(metadata.encode("utf-8"))
    texts = []
    for element in root.iter():
        if isinstance(element.tag, str):
            own = " ".join(((element.text or "") + "".join(c.tail or "" for c in element)).split())
            if own:
                texts.append(own)
    return texts


class FormatsProvider(PyoaiProvider):
    """A pyoai provider serving hand-written records in several metadata formats.

    ``documents`` maps each OAI identifier to {metadataPrefix: metadata XML};
    ``formats`` lists (prefix, schema URL, namespace) as ListMetadataFormats says them.
    """

    def __init__(
        self,
        documents: Mapping[str, Mapping[str, str]],
        formats: Sequence[tuple[str, str, str]],
        **kwargs: Any,
    ) -> None:
        start = datetime(2021, 1, 1, tzinfo=timezone.utc)
        records = [
            SyntheticRecord(identifier=identifier, datestamp=start + timedelta(minutes=i), sets=("history",))
            for i, identifier in enumerate(documents)
        ]
        super().__init__(records, **kwargs)
        self.documents = {k: dict(v) for k, v in documents.items()}
        self.formats = list(formats)
        registry = MetadataRegistry()
        for prefix, _schema, _ns in self.formats:
            registry.registerWriter(prefix, self._writer(prefix))
        self.server = BatchingServer(self, metadata_registry=registry, resumption_batch_size=self.batch_size)

    def _writer(self, prefix: str) -> Any:
        def write(element: Any, metadata: Any) -> None:
            element.append(etree.fromstring(self.documents[metadata.record.identifier][prefix].encode("utf-8")))

        return write

    def listMetadataFormats(self, identifier: str | None = None) -> list[tuple[str, str, str]]:  # noqa: N802
        if identifier is not None and self.store.get(identifier) is None:
            raise error.IdDoesNotExistError(f"Unknown identifier: {identifier}")
        return list(self.formats)

    def _page(
        self,
        metadataPrefix: str,  # noqa: N803 - pyoai's names
        set: str | None,  # noqa: A002
        from_: datetime | None,
        until: datetime | None,
        cursor: int,
        batch_size: int,
    ) -> Sequence[SyntheticRecord]:
        if metadataPrefix not in {f[0] for f in self.formats}:
            raise error.CannotDisseminateFormatError(f"Unsupported format: {metadataPrefix}")
        selected = self.store.select(set_spec=set, from_=from_ and from_.replace(tzinfo=timezone.utc),
                                     until=until and until.replace(tzinfo=timezone.utc))
        return selected[int(cursor): int(cursor) + int(batch_size)]


def iter_records(xml: bytes) -> Iterator[Any]:
    """The ``<record>`` elements of an OAI-PMH response."""
    root = etree.fromstring(xml)
    yield from root.iter(f"{{{NS_OAI}}}record")
