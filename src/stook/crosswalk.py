"""Crosswalk between OAI-PMH ``oai_dc`` and stook records, in both directions.

Harvesting keeps two views of the same Dublin Core: the lossless ``dc`` block (every
element in document order, repeats and ``xml:lang`` kept, values exactly as written,
with ``dc_order`` so the XML can be rebuilt) and the structured fields an archivist
searches and cites (title, dates as EDTF, agents with roles, BCP 47 languages,
identifiers with schemes). Nothing is guessed into a structured field that would be
wrong: a date that is not EDTF keeps only its ``display`` text, a language that
cannot be mapped to a BCP 47 tag stays in ``dc`` only.

Full text rule: oai_dc has no element for a document's text, but repositories put it
in ``dc:description``. A description is taken as the full text when it has at least
:data:`FULL_TEXT_MIN_CHARS` characters and at least one paragraph break (a blank
line). It is stored as the bag's ``data/text.txt`` (several such descriptions are
joined by a blank line) and not repeated in ``descriptions``; the ``dc`` block keeps it
as received.

Only ``oai_dc`` gets a full crosswalk. Any other metadata prefix makes a minimal
record (identifier, title from the first ``title`` element found in the metadata or
else the OAI identifier, record_source) and the XML is kept raw in the bag.

:func:`record_to_oai_dc` goes the other way, for the OAI-PMH provider.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from stook.record import canonical_json
from stook.schema import is_edtf

NS_OAI = "http://www.openarchives.org/OAI/2.0/"
NS_OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: The 15 elements in the order of the DCMES (used when no document order is known).
DC_ELEMENTS: tuple[str, ...] = (
    "title", "creator", "subject", "description", "publisher", "contributor", "date", "type",
    "format", "identifier", "source", "language", "relation", "coverage", "rights",
)
FULL_CROSSWALK_PREFIXES = ("oai_dc",)
FULL_TEXT_MIN_CHARS = 1000
TEXT_PATH = "text.txt"
SOURCE_PATH = "source/record.xml"
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
XML_MEDIA_TYPE = "application/xml"

_LANGUAGE_TAG = re.compile(
    r"^[A-Za-z]{2,3}(-[A-Za-z]{3}){0,3}(-[A-Za-z]{4})?(-([A-Za-z]{2}|[0-9]{3}))?"
    r"(-([A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*$"
)

# ISO 639-1 code: (ISO 639-2/B, ISO 639-2/T, English name, endonyms ...).
_LANGUAGES: dict[str, tuple[str, ...]] = {
    "en": ("eng", "eng", "english"),
    "ru": ("rus", "rus", "russian", "русский", "русский язык"),
    "fr": ("fre", "fra", "french", "français", "francais"),
    "de": ("ger", "deu", "german", "deutsch"),
    "es": ("spa", "spa", "spanish", "español", "espanol", "castellano"),
    "it": ("ita", "ita", "italian", "italiano"),
    "pt": ("por", "por", "portuguese", "português", "portugues"),
    "nl": ("dut", "nld", "dutch", "nederlands", "flemish"),
    "pl": ("pol", "pol", "polish", "polski"),
    "cs": ("cze", "ces", "czech", "čeština", "cestina"),
    "sk": ("slo", "slk", "slovak", "slovenčina"),
    "uk": ("ukr", "ukr", "ukrainian", "українська"),
    "be": ("bel", "bel", "belarusian", "беларуская"),
    "bg": ("bul", "bul", "bulgarian", "български"),
    "sr": ("srp", "srp", "serbian", "српски"),
    "hr": ("hrv", "hrv", "croatian", "hrvatski"),
    "sl": ("slv", "slv", "slovenian", "slovene", "slovenščina"),
    "ro": ("rum", "ron", "romanian", "română"),
    "hu": ("hun", "hun", "hungarian", "magyar"),
    "fi": ("fin", "fin", "finnish", "suomi"),
    "sv": ("swe", "swe", "swedish", "svenska"),
    "da": ("dan", "dan", "danish", "dansk"),
    "no": ("nor", "nor", "norwegian", "norsk"),
    "is": ("ice", "isl", "icelandic", "íslenska"),
    "et": ("est", "est", "estonian", "eesti"),
    "lv": ("lav", "lav", "latvian", "latviešu"),
    "lt": ("lit", "lit", "lithuanian", "lietuvių"),
    "el": ("gre", "ell", "greek", "modern greek", "ελληνικά"),
    "tr": ("tur", "tur", "turkish", "türkçe"),
    "ar": ("ara", "ara", "arabic", "العربية"),
    "he": ("heb", "heb", "hebrew", "עברית"),
    "fa": ("per", "fas", "persian", "farsi"),
    "hi": ("hin", "hin", "hindi"),
    "zh": ("chi", "zho", "chinese", "中文"),
    "ja": ("jpn", "jpn", "japanese", "日本語"),
    "ko": ("kor", "kor", "korean", "한국어"),
    "vi": ("vie", "vie", "vietnamese", "tiếng việt"),
    "ka": ("geo", "kat", "georgian", "ქართული"),
    "hy": ("arm", "hye", "armenian", "հայերեն"),
    "kk": ("kaz", "kaz", "kazakh"),
    "uz": ("uzb", "uzb", "uzbek"),
    "la": ("lat", "lat", "latin", "latina"),
    "ga": ("gle", "gle", "irish"),
    "cy": ("wel", "cym", "welsh", "cymraeg"),
    "eo": ("epo", "epo", "esperanto"),
    "yi": ("yid", "yid", "yiddish"),
}
_LANGUAGE_LOOKUP: dict[str, str] = {}
for _code, _names in _LANGUAGES.items():
    _LANGUAGE_LOOKUP[_code] = _code
    for _name in _names:
        _LANGUAGE_LOOKUP[_name.casefold()] = _code

_DOI_URL = re.compile(r"^https?://(?:dx\.)?doi\.org/(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_DOI_PREFIXED = re.compile(r"^doi:\s*(10\.\d{4,9}/\S+)$", re.IGNORECASE)
_DOI_BARE = re.compile(r"^10\.\d{4,9}/\S+$")
_HANDLE_URL = re.compile(r"^https?://hdl\.handle\.net/(\S+)$", re.IGNORECASE)
_HANDLE_PREFIXED = re.compile(r"^hdl:\s*(\S+)$", re.IGNORECASE)
_ARK = re.compile(r"^(?:https?://n2t\.net/)?(ark:/?\S+)$", re.IGNORECASE)
_ISBN = re.compile(r"^isbn[:\s]*([0-9][0-9\- ]{8,16}[0-9Xx])$", re.IGNORECASE)
_ISSN = re.compile(r"^(?:issn[:\s]*)?([0-9]{4}-[0-9]{3}[0-9Xx])$", re.IGNORECASE)
_URL = re.compile(r"^(https?|ftp)://\S+$", re.IGNORECASE)
_CIRCA = re.compile(
    r"^(?:ca\.?|circa|c\.|approx\.?|около|ок\.)\s*(\d{4}(?:-\d{2}(?:-\d{2})?)?)$", re.IGNORECASE
)
_YEAR_RANGE = re.compile(r"^(\d{4}(?:-\d{2}(?:-\d{2})?)?)\s*(?:--|–|—|/)\s*(\d{4}(?:-\d{2}(?:-\d{2})?)?)$")
_PLAIN_YEAR_RANGE = re.compile(r"^(\d{4})-(\d{4})$")
_DATE_KIND = re.compile(r"^(issued|published|created|creation|modified)\s*[:\-]?\s*(.+)$", re.IGNORECASE)
_DATE_LIKE = re.compile(r"^\s*(?:ca\.?\s*|circa\s*)?\d{3,4}(?:[-/–]\d{1,4})*\s*\??\s*$")
_PERSON = re.compile(r"^([^,\d]+),\s*([^,\d]+)$")


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


# -- small normalizers ---------------------------------------------------------------


def _clean(value: str | None) -> str:
    """A value for a structured field: whitespace collapsed, NFC."""
    if not value:
        return ""
    return unicodedata.normalize("NFC", " ".join(value.split()))


def normalize_language(value: str) -> dict[str, str] | None:
    """A languages entry (code in BCP 47, the text as written in ``label``) or None.

    ISO 639-2 codes become their ISO 639-1 form (eng -> en, rus -> ru, fre -> fr), and
    English or native names of common languages map to their code (English -> en).
    A tag already in BCP 47 form is kept with its case normalized (pt-br -> pt-BR).
    """
    text = _clean(value)
    if not text:
        return None
    folded = text.casefold()
    code = _LANGUAGE_LOOKUP.get(folded)
    if code is None and _LANGUAGE_TAG.match(text):
        code = _bcp47_case(text.replace("_", "-"))
        primary = code.split("-")[0]
        mapped = _LANGUAGE_LOOKUP.get(primary)
        if mapped and len(primary) == 3:
            code = "-".join([mapped, *code.split("-")[1:]])
    elif code is None and _LANGUAGE_TAG.match(text.replace("_", "-")):
        code = _bcp47_case(text.replace("_", "-"))
    if code is None:
        return None
    entry = {"code": code}
    if text != code:
        entry["label"] = text
    return entry


def _bcp47_case(tag: str) -> str:
    parts = tag.split("-")
    out = [parts[0].lower()]
    for part in parts[1:]:
        if len(part) == 4 and part.isalpha():
            out.append(part.title())
        elif len(part) == 2 and part.isalpha():
            out.append(part.upper())
        else:
            out.append(part.lower())
    return "-".join(out)


def language_tag(value: str | None) -> str | None:
    """A valid BCP 47 tag from an xml:lang value, or None."""
    if not value:
        return None
    entry = normalize_language(value)
    return entry["code"] if entry else None


def identifier_with_scheme(value: str) -> dict[str, str] | None:
    """``{"scheme", "value"}`` for one dc:identifier: doi, handle, ark, urn, isbn, issn, oai, url, local."""
    text = _clean(value)
    if not text:
        return None
    for pattern, scheme in ((_DOI_URL, "doi"), (_DOI_PREFIXED, "doi"), (_HANDLE_URL, "handle"),
                            (_HANDLE_PREFIXED, "handle"), (_ISBN, "isbn"), (_ISSN, "issn")):
        match = pattern.match(text)
        if match:
            found = match.group(1)
            if scheme == "isbn":
                found = found.replace(" ", "").replace("-", "")
            return {"scheme": scheme, "value": found}
    if _DOI_BARE.match(text):
        return {"scheme": "doi", "value": text}
    ark = _ARK.match(text)
    if ark:
        return {"scheme": "ark", "value": ark.group(1)}
    lowered = text.lower()
    if lowered.startswith("urn:"):
        return {"scheme": "urn", "value": text}
    if lowered.startswith("oai:"):
        return {"scheme": "oai", "value": text}
    if _URL.match(text):
        return {"scheme": "url", "value": text}
    return {"scheme": "local", "value": text}


def date_entry(value: str) -> dict[str, str] | None:
    """One ``dates`` entry: EDTF ``value`` when it parses (after light normalization), ``display`` always."""
    text = _clean(value)
    if not text:
        return None
    kind = "unspecified"
    body = text
    prefixed = _DATE_KIND.match(text)
    if prefixed:
        word = prefixed.group(1).lower()
        kind = {"issued": "issued", "published": "issued", "created": "created",
                "creation": "created", "modified": "modified"}[word]
        body = prefixed.group(2).strip()
    entry: dict[str, str] = {"type": kind}
    edtf_value = _to_edtf(body)
    if edtf_value is not None:
        entry["value"] = edtf_value
    entry["display"] = text
    return entry


def _to_edtf(text: str) -> str | None:
    candidates = [text]
    circa = _CIRCA.match(text)
    if circa:
        candidates.append(circa.group(1) + "~")
    span = _YEAR_RANGE.match(text)
    if span:
        candidates.append(f"{span.group(1)}/{span.group(2)}")
    years = _PLAIN_YEAR_RANGE.match(text)
    if years and years.group(1) < years.group(2):
        candidates.append(f"{years.group(1)}/{years.group(2)}")
    if text.endswith("Z") and "T" in text:
        candidates.append(text[:-1])
    for candidate in candidates:
        if is_edtf(candidate):
            return candidate
    return None


def agent_entry(name: str, role: str, *, organizational: bool = False) -> dict[str, Any] | None:
    """An ``agents`` entry; "Family, Given" names are split and marked personal."""
    text = _clean(name)
    if not text:
        return None
    entry: dict[str, Any] = {"name": text}
    person = _PERSON.match(text)
    if person and not organizational and len(person.group(2).split()) <= 4:
        entry["name_type"] = "personal"
        entry["family"] = person.group(1).strip()
        entry["given"] = person.group(2).strip()
    elif organizational:
        entry["name_type"] = "organizational"
    entry["roles"] = [role]
    return entry


def is_full_text(value: str) -> bool:
    """The documented full-text rule for a dc:description (see the module docstring)."""
    return len(value) >= FULL_TEXT_MIN_CHARS and bool(re.search(r"\n[ \t]*\n", value))


# -- oai_dc -> record -----------------------------------------------------------------


def _local(tag: object) -> tuple[str, str]:
    if not isinstance(tag, str):
        return "", ""
    if tag.startswith("{"):
        ns, _, name = tag[1:].partition("}")
        return ns, name
    return "", tag


def read_dc(dc_element: Any) -> tuple[dict[str, list[dict[str, str]]], list[str], list[dict[str, Any]]]:
    """The lossless view of an ``oai_dc:dc`` element: (dc block, dc_order, other elements)."""
    dc: dict[str, list[dict[str, str]]] = {}
    order: list[str] = []
    other: list[dict[str, Any]] = []
    for child in dc_element:
        ns, name = _local(child.tag)
        if not name:
            continue  # comments and processing instructions
        value = "".join(child.itertext())
        lang = child.get(XML_LANG)
        if ns == NS_DC and name in DC_ELEMENTS:
            item = {"value": value}
            if lang is not None:
                item["lang"] = lang
            dc.setdefault(name, []).append(item)
            order.append(name)
        else:
            extra: dict[str, Any] = {"element": child.tag, "value": value}
            if lang is not None:
                extra["lang"] = lang
            other.append(extra)
    return dc, order, other


def dc_to_record(
    dc: dict[str, list[dict[str, str]]],
    *,
    identifier: str,
) -> tuple[dict[str, Any], str | None, list[str]]:
    """Structured fields from a dc block: (fields, full text or None, http(s) links)."""
    out: dict[str, Any] = {}
    texts: list[str] = []

    titles = [(t, _clean(t["value"])) for t in dc.get("title", [])]
    titles = [(t, v) for t, v in titles if v]
    if titles:
        first, main = titles[0]
        out["title"] = main
        main_lang = language_tag(first.get("lang"))
        extra_titles = []
        for item, value in titles[1:]:
            lang = language_tag(item.get("lang"))
            kind = "translated" if lang and main_lang and lang != main_lang else "alternative"
            entry: dict[str, str] = {"value": value, "type": kind}
            if lang:
                entry["lang"] = lang
            extra_titles.append(entry)
        if extra_titles:
            out["additional_titles"] = extra_titles

    identifiers: list[dict[str, str]] = [{"scheme": "oai", "value": identifier}]
    seen_ids = {("oai", identifier)}
    links: list[str] = []
    for item in dc.get("identifier", []):
        found = identifier_with_scheme(item["value"])
        if found and (found["scheme"], found["value"]) not in seen_ids:
            identifiers.append(found)
            seen_ids.add((found["scheme"], found["value"]))
        if found:
            links.append(_link_of(found))
    out["identifiers"] = identifiers

    dates = [d for d in (date_entry(i["value"]) for i in dc.get("date", [])) if d]
    if dates:
        out["dates"] = dates

    agents: list[dict[str, Any]] = []
    by_name: dict[str, dict[str, Any]] = {}
    for element, role in (("creator", "creator"), ("contributor", "contributor"), ("publisher", "publisher")):
        for item in dc.get(element, []):
            agent = agent_entry(item["value"], role, organizational=element == "publisher")
            if agent is None:
                continue
            known = by_name.get(agent["name"])
            if known is not None:
                if role not in known["roles"]:
                    known["roles"].append(role)
                continue
            by_name[agent["name"]] = agent
            agents.append(agent)
    if agents:
        out["agents"] = agents

    languages: list[dict[str, str]] = []
    for item in dc.get("language", []):
        lang_entry = normalize_language(item["value"])
        if lang_entry and all(lang_entry["code"] != e["code"] for e in languages):
            languages.append(lang_entry)
    if languages:
        out["languages"] = languages

    descriptions: list[dict[str, str]] = []
    for item in dc.get("description", []):
        raw = item["value"]
        if is_full_text(raw):
            texts.append(raw.strip("\n"))
            continue
        value = _clean(raw)
        if value:
            entry = {"value": value}
            lang = language_tag(item.get("lang"))
            if lang:
                entry["lang"] = lang
            descriptions.append(entry)
    if descriptions:
        out["descriptions"] = descriptions

    subjects = _terms(dc.get("subject", []))
    if subjects:
        out["subjects"] = subjects
    places = _terms([i for i in dc.get("coverage", []) if not _DATE_LIKE.match(i["value"])])
    if places:
        out["places"] = places

    relations: list[dict[str, str]] = []
    for element, kind in (("relation", "relation"), ("source", "source")):
        for item in dc.get(element, []):
            value = _clean(item["value"])
            if value:
                relations.append({"type": kind, "target": value})
                if element == "relation" and _URL.match(value):
                    links.append(value)
    if relations:
        out["relations"] = relations

    rights: list[dict[str, str]] = []
    for item in dc.get("rights", []):
        value = _clean(item["value"])
        if value:
            entry = {"statement": value}
            if re.match(r"^https?://\S+$", value):
                entry["uri"] = value
            rights.append(entry)
    if rights:
        out["rights"] = rights

    text = "\n\n".join(texts) + "\n" if texts else None
    return out, text, [link for link in dict.fromkeys(links) if link.lower().startswith(("http://", "https://"))]


def _link_of(found: dict[str, str]) -> str:
    if found["scheme"] == "doi":
        return "https://doi.org/" + found["value"]
    if found["scheme"] == "handle":
        return "https://hdl.handle.net/" + found["value"]
    return found["value"]


def _terms(items: Iterable[dict[str, str]]) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    seen: set[str] = set()
    for item in items:
        value = _clean(item["value"])
        if value and value not in seen:
            seen.add(value)
            out.append({"value": value})
    return out


def read_header(header: Any) -> OAIHeader:
    """The OAI header element's identifier, datestamp, setSpecs and deleted status."""
    identifier = header.findtext(f"{{{NS_OAI}}}identifier") or ""
    datestamp = header.findtext(f"{{{NS_OAI}}}datestamp") or ""
    specs = tuple(s.text.strip() for s in header.findall(f"{{{NS_OAI}}}setSpec") if s.text and s.text.strip())
    return OAIHeader(identifier.strip(), datestamp.strip(), specs, header.get("status") == "deleted")


def record_source(
    header: OAIHeader, *, base_url: str, metadata_prefix: str, retrieved_at: str
) -> dict[str, Any]:
    source: dict[str, Any] = {
        "method": "harvest",
        "base_url": base_url,
        "metadata_prefix": metadata_prefix,
        "oai_identifier": header.identifier,
        "datestamp": header.datestamp,
        "set_specs": list(header.set_specs),
        "retrieved_at": retrieved_at,
    }
    return source


NATIVE_NS = "https://stook.dev/ns/record/v1"
NATIVE_TAG = f"{{{NATIVE_NS}}}record"


def record_from_native(element: Any) -> dict[str, Any]:
    """The record inside a ``<stook:record>`` element (``stook serve``'s lossless format).

    The element carries a record.json as JSON text and, in ``sha512``, the digest of
    those bytes; a record whose bytes do not match arrived damaged (ValueError).
    """
    if isinstance(element, (bytes, str)):
        element = etree.fromstring(element.encode("utf-8") if isinstance(element, str) else element)
    try:
        data = json.loads(element.text or "")
    except json.JSONDecodeError as exc:
        raise ValueError(f"the stook:record element does not hold JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("the stook:record element does not hold a JSON object")
    expected = element.get("sha512")
    if expected:
        found = hashlib.sha512(canonical_json(data)).hexdigest()
        if found != expected:
            raise ValueError(
                f"the record's sha512 does not match what the provider sent "
                f"(expected {expected[:16]}..., found {found[:16]}...): damaged in transit"
            )
    return data


def crosswalk_record(
    record_element: Any,
    *,
    base_url: str,
    metadata_prefix: str,
    retrieved_at: str,
) -> Crosswalked:
    """A stook record from one OAI ``<record>`` element (not deleted).

    ``content`` lists ``source/record.xml`` (the caller stores the XML there) and, when
    the full-text rule finds a text, ``text.txt``.
    """
    header_el = record_element.find(f"{{{NS_OAI}}}header")
    header = read_header(header_el if header_el is not None else etree.Element("header"))
    metadata = record_element.find(f"{{{NS_OAI}}}metadata")
    payload_root = None
    if metadata is not None:
        payload_root = next((c for c in metadata if isinstance(c.tag, str)), None)
    if payload_root is not None and payload_root.tag == NATIVE_TAG:
        # Another stook store's record.json, kept exactly as it was there.
        return Crosswalked(record=record_from_native(payload_root), text=None, links=[])
    record: dict[str, Any] = {"identifier": header.identifier}
    text: str | None = None
    links: list[str] = []
    dc_root = payload_root if payload_root is not None and payload_root.tag == f"{{{NS_OAI_DC}}}dc" else None
    if metadata_prefix in FULL_CROSSWALK_PREFIXES and dc_root is not None:
        dc, order, other = read_dc(dc_root)
        fields, text, links = dc_to_record(dc, identifier=header.identifier)
        record.update(fields)
        record["dc"] = dc
        record["dc_order"] = order
        if other:
            record["extensions"] = {"oai-dc:other-elements": other}
    else:
        title = _first_title(payload_root) if payload_root is not None else None
        record["title"] = title or header.identifier
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
        _ns, name = _local(element.tag)
        if name.lower() == "title":
            value = _clean("".join(element.itertext()))
            if value:
                return value
    return None


# -- record -> oai_dc ----------------------------------------------------------------


def record_to_oai_dc(record: dict[str, Any]) -> Any:
    """An ``oai_dc:dc`` lxml element for ``record``.

    A harvested record (with a ``dc`` block) is rebuilt exactly: ``dc_order`` gives the
    element sequence, values and ``xml:lang`` come from ``dc``. Any other record's
    Dublin Core is derived from its structured fields.
    """
    root = etree.Element(
        f"{{{NS_OAI_DC}}}dc", nsmap={"oai_dc": NS_OAI_DC, "dc": NS_DC, "xsi": NS_XSI}
    )
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
    dc: dict[str, list[dict[str, str]]], order: list[str] | None
) -> list[tuple[str, str, str | None]]:
    cursors = {name: 0 for name in dc}
    items: list[tuple[str, str, str | None]] = []
    sequence = list(order or [])
    for name in sequence:
        values = dc.get(name) or []
        index = cursors.get(name, 0)
        if index < len(values):
            items.append((name, values[index]["value"], values[index].get("lang")))
            cursors[name] = index + 1
    for name in DC_ELEMENTS:  # values dc_order does not account for, in canonical order
        values = dc.get(name) or []
        for value in values[cursors.get(name, 0):]:
            items.append((name, value["value"], value.get("lang")))
    return items


_CREATOR_ROLES = {"author", "creator", "signatory", "compiler", "interviewer"}


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
            items.append(("date", value, None))
    items.append(("identifier", record["identifier"], None))
    for ident in record.get("identifiers") or []:
        value = _link_of(ident) if ident["scheme"] in ("doi", "handle") else ident["value"]
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
