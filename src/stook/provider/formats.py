"""The metadata formats a stook provider disseminates, rendered from the bags.

* ``oai_dc``: when the bag holds ``data/source/record.xml`` from an oai_dc harvest,
  its ``<oai_dc:dc>`` element is served unchanged; otherwise Dublin Core is made
  from ``data/record.json`` by :func:`stook.crosswalk.record_to_oai_dc` (the
  harvested ``dc`` block in ``dc_order`` when there is one, else the structured fields).
* ``stook``: ``data/record.json`` itself, losslessly, as the text of one
  ``<stook:record>`` element (schema ``stook-record-v1.xsd``). Its ``sha512``
  attribute is the digest of the record.json bytes in the bag, so a harvester can
  prove it rebuilt the file exactly (``canonical_json(json.loads(text))``).

A received bag without a record of its own (made by another tool) is served from
the minimal record the ledger keeps for it (:mod:`stook.transfer.foreign`), in both
formats. Bag versions never change once stored, so rendered fragments are cached by
bag path.
"""

from __future__ import annotations

import copy
import functools
import hashlib
import json
import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from stook.crosswalk import NATIVE_NS, record_from_native, record_to_oai_dc
from stook.errors import StoreError
from stook.record import canonical_json
from stook.schema import schema_id
from stook.store import RECORD_FILE
from stook.transfer.foreign import lacks_own_record, minimal_record
from stook.xmlns import NS_DC, NS_OAI_DC, NS_XSI, OAI_DC_SCHEMA

__all__ = [
    "FORMATS",
    "BagUnreadable",
    "NATIVE_NS",
    "NATIVE_PREFIX",
    "NATIVE_SCHEMA_URL",
    "MetadataFormat",
    "MetadataRenderer",
    "native_schema_path",
    "record_from_native",
]

OAI_DC_NS = NS_OAI_DC
DC_NS = NS_DC
XSI_NS = NS_XSI
NATIVE_PREFIX = "stook"
NATIVE_SCHEMA_URL = "https://stook.dev/ns/record/v1/stook-record-v1.xsd"
NATIVE_SCHEMA_FILE = "stook-record-v1.xsd"
SOURCE_RECORD = "source/record.xml"  # the OAI <record> a harvested bag keeps, under data/



@dataclass(frozen=True)
class MetadataFormat:
    prefix: str
    schema: str
    namespace: str


FORMATS: tuple[MetadataFormat, ...] = (
    MetadataFormat("oai_dc", OAI_DC_SCHEMA, OAI_DC_NS),
    MetadataFormat(NATIVE_PREFIX, NATIVE_SCHEMA_URL, NATIVE_NS),
)
FORMAT_BY_PREFIX = {f.prefix: f for f in FORMATS}

# Characters XML 1.0 cannot carry; in the JSON text they are written as \uXXXX escapes,
# which json.loads reads back to the same string.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def native_schema_path() -> Path:
    """The XSD of the ``stook`` format, shipped in the package."""
    return Path(__file__).resolve().parent.parent / "schemas" / NATIVE_SCHEMA_FILE


def _json_escape(match: re.Match[str]) -> str:
    return "".join(f"\\u{unit:04x}" for unit in _utf16_units(match.group(0)))


def _utf16_units(char: str) -> list[int]:
    data = char.encode("utf-16-be", "surrogatepass")
    return [int.from_bytes(data[i : i + 2], "big") for i in range(0, len(data), 2)]


def native_fragment(record_json: bytes) -> str:
    """The ``<stook:record>`` element carrying the bytes of one record.json."""
    text = record_json.decode("utf-8")
    text = _XML_ILLEGAL.sub(_json_escape, text)
    digest = hashlib.sha512(record_json).hexdigest()
    return (
        f'<stook:record xmlns:stook="{NATIVE_NS}" xmlns:xsi="{XSI_NS}"'
        f' xsi:schemaLocation="{NATIVE_NS} {NATIVE_SCHEMA_URL}"'
        f" schema={quoteattr(schema_id())} media-type=\"application/json\" sha512=\"{digest}\">"
        f"{escape(text)}</stook:record>"
    )



# -- Dublin Core -----------------------------------------------------------------


def _xml_clean(value: Any) -> Any:
    """A copy of a JSON value with characters XML cannot carry replaced by U+FFFD."""
    if isinstance(value, str):
        return _XML_ILLEGAL.sub("\ufffd", value)
    if isinstance(value, list):
        return [_xml_clean(v) for v in value]
    if isinstance(value, dict):
        return {k: _xml_clean(v) for k, v in value.items()}
    return value


def oai_dc_fragment(record: dict[str, Any]) -> str:
    """An ``<oai_dc:dc>`` element made from a record (by :func:`stook.crosswalk.record_to_oai_dc`)."""
    try:
        element = record_to_oai_dc(record)
    except ValueError:  # a value XML 1.0 cannot carry (lxml refuses it): show it as U+FFFD
        element = record_to_oai_dc(_xml_clean(record))
    return str(etree.tostring(element, encoding="unicode"))


@functools.lru_cache(maxsize=1)
def _xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True, remove_blank_text=False)


def harvested_oai_dc(record_xml: bytes) -> str | None:
    """The ``<oai_dc:dc>`` element of a harvested OAI ``<record>``, serialized unchanged."""
    root = etree.fromstring(record_xml, _xml_parser())
    tag = f"{{{OAI_DC_NS}}}dc"
    found = root if root.tag == tag else next(root.iter(tag), None)
    if found is None:
        return None
    element = copy.deepcopy(found)  # standalone: carries the namespaces it inherited
    etree.cleanup_namespaces(element)  # ... minus those it does not use (the OAI envelope's)
    return str(etree.tostring(element, encoding="unicode", with_tail=False))


class BagUnreadable(StoreError):
    """A stored bag whose metadata cannot be served (missing, unreadable, not a record)."""


class MetadataRenderer:
    """Renders (and caches) the metadata fragment of a bag version in a format.

    The record comes from the ledger when one is kept there for the bag (a received
    bag without a record of its own), else from the bag's ``data/record.json``; a
    foreign bag received before records were kept gets one built from its bag-info
    (:mod:`stook.transfer.foreign`). Failures are not cached: a bag being restored
    is served again as soon as it can be read.
    """

    def __init__(self, root: Path, cache_size: int = 4096) -> None:
        self.root = root
        self._root = str(root)
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def render(self, bag_path: str, prefix: str, *, identifier: str, kept: bytes | None = None) -> str:
        """The ``<metadata>`` content of the bag at ``bag_path``; :class:`BagUnreadable` if it has none."""
        key = (bag_path, prefix)
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
        fragment = self._render(bag_path, prefix, identifier, kept)
        with self._lock:
            self._cache[key] = fragment
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return fragment

    def _read(self, bag_path: str, name: str) -> bytes | None:
        path = os.path.join(self._root, bag_path, "data", name)
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise BagUnreadable(f"{path}: cannot read: {exc.strerror or exc}", path=path) from exc

    def _record_bytes(self, bag_path: str, identifier: str) -> bytes:
        raw = self._read(bag_path, RECORD_FILE)
        if raw is not None:
            return raw
        bag_dir = self.root / bag_path
        if not bag_dir.is_dir():
            raise BagUnreadable(f"{bag_dir}: the bag directory is missing; check the store with "
                                "`stook audit`", path=bag_dir)
        if not lacks_own_record(bag_dir):
            raise BagUnreadable(f"{bag_dir / 'data' / RECORD_FILE}: missing from a stored bag; "
                                f"check it with `stook verify {bag_dir}`", path=bag_dir)
        record, _left_out = minimal_record(bag_dir, identifier)  # a foreign bag received earlier
        return canonical_json(record)

    def _unreadable(self, bag_path: str, kept: bytes | None, what: str) -> BagUnreadable:
        where = f"{self._root}/{bag_path}/data/{RECORD_FILE}" if kept is None else (
            f"the ledger's record of {bag_path}")
        return BagUnreadable(f"{where}: {what}", path=os.path.join(self._root, bag_path))

    def _render(self, bag_path: str, prefix: str, identifier: str, kept: bytes | None) -> str:
        raw = kept if kept is not None else self._record_bytes(bag_path, identifier)
        try:
            record = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise self._unreadable(bag_path, kept, f"not a JSON record ({exc}); check the bag with "
                                   "`stook verify`") from exc
        if not (isinstance(record, dict) and isinstance(record.get("identifier"), str)
                and isinstance(record.get("title"), str)):
            raise self._unreadable(bag_path, kept, "not a stook record (no identifier or title)")
        if prefix == NATIVE_PREFIX:
            return native_fragment(raw)
        record_xml = None
        source = record.get("record_source")
        content = record.get("content")
        if (isinstance(source, dict) and source.get("method") == "harvest") or (
            isinstance(content, list) and any(isinstance(c, dict) and c.get("path") == SOURCE_RECORD
                                              for c in content)
        ):
            record_xml = self._read(bag_path, SOURCE_RECORD)
        if record_xml is not None:
            try:
                harvested = harvested_oai_dc(record_xml)
            except etree.XMLSyntaxError:
                harvested = None
            if harvested is not None:
                return harvested
        return oai_dc_fragment(record)
