"""Crosswalks from harvested metadata to stook records, and from records back to ``oai_dc``.

One module per concern: :mod:`~stook.crosswalk.dispatch` picks the crosswalk by the
namespace of the metadata (``oai_dc``, qualified DC, MODS, MARCXML, DataCite, or
another stook store's lossless ``stook`` format); :mod:`~stook.crosswalk.dc`,
:mod:`~stook.crosswalk.qdc`, :mod:`~stook.crosswalk.mods`, :mod:`~stook.crosswalk.marc`
and :mod:`~stook.crosswalk.datacite` map each format to the same record model; the
rules they share live in :mod:`~stook.crosswalk.agents` (names),
:mod:`~stook.crosswalk.dates` (EDTF), :mod:`~stook.crosswalk.identifiers`,
:mod:`~stook.crosswalk.languages` (BCP 47), :mod:`~stook.crosswalk.fulltext` and
:mod:`~stook.crosswalk.builder`; :mod:`~stook.crosswalk.todc` goes back to ``oai_dc``
for the provider.

Every crosswalk is lossless: the raw XML goes into the bag, Dublin Core is kept
element by element in the record's ``dc`` block, and what other formats hold that
the record model cannot is listed under a namespaced key in ``extensions``.
Nothing is guessed into a structured field that would be wrong.
"""

from __future__ import annotations

from stook.crosswalk.agents import agent_entry
from stook.crosswalk.builder import date_entry
from stook.crosswalk.common import (
    DC_ELEMENTS,
    FULL_TEXT_MIN_CHARS,
    MARKED_FULL_TEXT_MIN_CHARS,
    SOURCE_PATH,
    TEXT_PATH,
    Crosswalked,
    CrosswalkOptions,
    OAIHeader,
)
from stook.crosswalk.dc import dc_to_record, read_dc
from stook.crosswalk.dispatch import (
    CROSSWALKS,
    OfferedFormat,
    crosswalk_of,
    crosswalk_record,
    offered_formats,
    read_header,
    record_source,
    support_of,
)
from stook.crosswalk.fulltext import is_full_text
from stook.crosswalk.identifiers import identifier_with_scheme
from stook.crosswalk.languages import language_tag, normalize_language
from stook.crosswalk.native import NATIVE_NS, NATIVE_TAG, record_from_native
from stook.crosswalk.todc import record_to_oai_dc
from stook.xmlns import NS_DC, NS_OAI, NS_OAI_DC, XML_LANG

__all__ = [
    "CROSSWALKS",
    "DC_ELEMENTS",
    "FULL_TEXT_MIN_CHARS",
    "MARKED_FULL_TEXT_MIN_CHARS",
    "NATIVE_NS",
    "NATIVE_TAG",
    "NS_DC",
    "NS_OAI",
    "NS_OAI_DC",
    "SOURCE_PATH",
    "TEXT_PATH",
    "XML_LANG",
    "CrosswalkOptions",
    "Crosswalked",
    "OAIHeader",
    "OfferedFormat",
    "agent_entry",
    "crosswalk_of",
    "crosswalk_record",
    "date_entry",
    "dc_to_record",
    "identifier_with_scheme",
    "is_full_text",
    "language_tag",
    "normalize_language",
    "offered_formats",
    "read_dc",
    "read_header",
    "record_from_native",
    "record_source",
    "record_to_oai_dc",
    "support_of",
]
