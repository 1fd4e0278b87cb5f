"""Structured record fields collected from any metadata format, the same way for all.

Every crosswalk feeds a :class:`RecordBuilder`: it keeps the first title as
``title``, merges agents named twice (their roles joined), drops repeated
identifiers, languages and terms, and collects the notes a crosswalk makes about
values it could not place (``stook:crosswalk-notes``). The fields come out in a
fixed order, only when they hold something.
"""

from __future__ import annotations

import re
from typing import Any

from stook.crosswalk.common import NOTES_KEY, clean
from stook.crosswalk.dates import copyright_year, to_edtf
from stook.crosswalk.languages import language_entries

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$")
_HTTP = re.compile(r"^https?://\S+$", re.IGNORECASE)
_DATE_KINDS = {
    "issued": "issued", "published": "issued", "publication": "issued", "created": "created",
    "creation": "created", "modified": "modified", "copyright": "copyrighted",
}
_DATE_LABEL = re.compile(
    r"^(issued|published|publication|created|creation|modified|copyright)\s*[:\-]\s*(.+)$", re.IGNORECASE
)
_ANY_LABEL = re.compile(r"^([^\d:]{2,60}):\s*(.+)$")
_COVERAGE_LABEL = re.compile(r"cover|period|span|time|temporal|zeitraum|période|periodo", re.IGNORECASE)


def date_entry(value: str, kind: str = "unspecified", *, note: str | None = None) -> dict[str, str] | None:
    """One ``dates`` entry: EDTF ``value`` when certain, the text as written in ``display``.

    A leading label names the kind (``Issued: 1962``) or, for coverage labels such as
    ``Time Period Covered:``, is kept in ``display`` while the rest is read.
    """
    text = clean(value)
    if not text:
        return None
    body = text
    labelled = _DATE_LABEL.match(text)
    if labelled:
        kind = _DATE_KINDS[labelled.group(1).lower()] if kind == "unspecified" else kind
        body = labelled.group(2).strip()
    else:
        other = _ANY_LABEL.match(text)
        if other and to_edtf(other.group(2)) is not None:
            body = other.group(2)
    entry: dict[str, str] = {"type": kind}
    year = copyright_year(body)
    if year is not None:
        entry["type"] = "copyrighted" if kind == "unspecified" else kind
        entry["value"] = year
    else:
        found = to_edtf(body)
        if found is not None:
            entry["value"] = found
    entry["display"] = text
    if note:
        entry["note"] = note
    return entry


def coverage_label(text: str) -> bool:
    """True for a label that says a date is a time span covered (``Time Period Covered:``)."""
    labelled = _ANY_LABEL.match(clean(text))
    return bool(labelled and _COVERAGE_LABEL.search(labelled.group(1)))


def term(value: str, scheme: str | None = None, uri: str | None = None) -> dict[str, str] | None:
    """A subjects/places entry; ``uri`` only when it is a URI."""
    text = clean(value)
    if not text:
        return None
    entry = {"value": text}
    if scheme and clean(scheme):
        entry["scheme"] = clean(scheme)
    if uri and _URI.match(uri.strip()):
        entry["uri"] = uri.strip()
    return entry


class RecordBuilder:
    """The structured fields of one record, built up value by value."""

    _ORDER = (
        "title", "additional_titles", "identifiers", "dates", "agents", "languages", "descriptions",
        "citation", "subjects", "places", "relations", "rights", "funding", "archival_locations",
    )

    def __init__(self) -> None:
        self.fields: dict[str, Any] = {}
        self.notes: list[str] = []
        self.links: list[str] = []
        self.texts: list[str] = []
        self.extensions: dict[str, Any] = {}
        self._agents: dict[str, dict[str, Any]] = {}
        self._seen: set[tuple[str, ...]] = set()

    def _add(self, field: str, entry: dict[str, Any], key: tuple[str, ...] | None = None) -> bool:
        if key is not None:
            if (field, *key) in self._seen:
                return False
            self._seen.add((field, *key))
        self.fields.setdefault(field, []).append(entry)
        return True

    # -- titles, identifiers, links ------------------------------------------------------

    def title(self, value: str, *, kind: str | None = None, lang: str | None = None) -> None:
        text = clean(value)
        if not text:
            return
        if "title" not in self.fields and kind in (None, "main"):
            self.fields["title"] = text
            return
        entry: dict[str, str] = {"value": text, "type": kind if kind not in (None, "main") else "alternative"}
        if lang:
            entry["lang"] = lang
        self._add("additional_titles", entry, (text, entry["type"]))

    def identifier(self, entry: dict[str, str] | None, link: str | None = None) -> None:
        if entry is None:
            return
        self._add("identifiers", entry, (entry["scheme"], entry["value"]))
        if link:
            self.link(link)

    def link(self, url: str) -> None:
        if _HTTP.match(url) and url not in self.links:
            self.links.append(url)

    # -- dates, agents, languages ----------------------------------------------------------

    def date(self, entry: dict[str, str] | None) -> None:
        if entry is None:
            return
        key = (entry["type"], entry.get("value", ""), entry.get("display", ""))
        self._add("dates", entry, key)

    def agent(self, entry: dict[str, Any] | None) -> None:
        if entry is None:
            return
        known = self._agents.get(entry["name"])
        if known is None:
            self._agents[entry["name"]] = entry
            self.fields.setdefault("agents", []).append(entry)
            return
        for key in ("roles", "role_terms", "affiliations", "positions", "identifiers"):
            for value in entry.get(key, []):
                bucket = known.setdefault(key, [])
                if value not in bucket:
                    bucket.append(value)
        for key, value in entry.items():
            known.setdefault(key, value)

    def language(
        self, value: str, *, role: str | None = None, source: str = "language", label: str | None = None
    ) -> None:
        """Languages in ``value``; ``label`` is the source's own wording when it gives one beside a code."""
        entries, rest = language_entries(value)
        for entry in entries:
            if role:
                entry["role"] = role
            if label and clean(label):
                entry["label"] = clean(label)
            self._add("languages", entry, (entry["code"], role or ""))
        for text in rest:
            self.note(f"{source} {text!r} is not a BCP 47 language tag or a language name; not in languages")

    # -- text fields ------------------------------------------------------------------------

    def description(self, value: str, *, kind: str | None = None, lang: str | None = None) -> None:
        text = clean(value)
        if not text:
            return
        entry: dict[str, str] = {"value": text}
        if kind:
            entry["type"] = kind
        if lang:
            entry["lang"] = lang
        self._add("descriptions", entry, (text, kind or ""))

    def citation(self, value: str) -> bool:
        text = clean(value)
        if not text or "citation" in self.fields:
            return False
        self.fields["citation"] = text
        return True

    def subject(self, entry: dict[str, str] | None) -> None:
        if entry is not None:
            self._add("subjects", entry, (entry["value"], entry.get("scheme", "")))

    def place(self, entry: dict[str, str] | None) -> None:
        if entry is not None:
            self._add("places", entry, (entry["value"], entry.get("scheme", "")))

    def relation(self, kind: str, target: str) -> None:
        text = clean(target)
        if text:
            self._add("relations", {"type": kind, "target": text}, (kind, text))

    def rights(self, statement: str, *, uri: str | None = None, holder: str | None = None) -> None:
        text = clean(statement) or clean(uri)
        if not text:
            return
        entry = {"statement": text}
        link = clean(uri) or (text if _HTTP.match(text) else "")
        if link and _HTTP.match(link):
            entry["uri"] = link
        if holder and clean(holder):
            entry["holder"] = clean(holder)
        self._add("rights", entry, (text,))

    def funding(self, statement: str, *, funder: str | None = None, award: str | None = None) -> None:
        text = clean(statement)
        if not text:
            return
        entry = {"statement": text}
        if funder and clean(funder):
            entry["funder"] = clean(funder)
        if award and clean(award):
            entry["award"] = clean(award)
        self._add("funding", entry, (text,))

    def location(self, entry: dict[str, Any]) -> None:
        if entry:
            self.fields.setdefault("archival_locations", []).append(entry)

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    # -- the result ---------------------------------------------------------------------------

    def build(self) -> dict[str, Any]:
        """The fields in schema order, plus ``extensions`` (notes included) when there are any."""
        out = {key: self.fields[key] for key in self._ORDER if self.fields.get(key)}
        extensions = dict(self.extensions)
        if self.notes:
            extensions[NOTES_KEY] = list(self.notes)
        if extensions:
            out["extensions"] = extensions
        return out
