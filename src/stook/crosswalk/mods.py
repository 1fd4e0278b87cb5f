"""MODS 3 (http://www.loc.gov/mods/v3) -> record fields.

Mapped: ``titleInfo`` (only the record's own, never a ``relatedItem``'s: the first
untyped one is the title), ``name`` with ``namePart`` types, ``role``, affiliation
and ``nameIdentifier``; ``originInfo`` dates with ``encoding``, ``point``
(start/end -> a range) and ``qualifier`` (approximate ``~``, questionable ``?``,
inferred as a note), and its publisher; ``language``; ``identifier`` by ``type``
(``invalid="yes"`` ones are left out); ``subject`` (topics, names, titles and genres
to ``subjects``, geographic terms to ``places``, temporal ones to coverage dates, with
``authority`` and ``valueURI``); ``classification``; ``abstract``,
``tableOfContents`` and ``note`` (a ``preferred citation`` note is the citation, a
``funding`` note the funding); ``accessCondition`` to ``rights``; ``location``
(physicalLocation and shelfLocator to ``archival_locations``, ``url`` to
identifiers); ``relatedItem`` to ``relations``; ``physicalDescription`` (its note to
``descriptions``, extent, form, media type and digital origin to
``extensions["mods:physicalDescription"]``). Everything else, and every attribute not
used, is listed in ``extensions["mods:unmapped"]``.
"""

from __future__ import annotations

from typing import Any

from stook.crosswalk.agents import ROLE_WORDS, agent_entry, role_of
from stook.crosswalk.builder import RecordBuilder, date_entry, term
from stook.crosswalk.common import (
    child_elements,
    clean,
    local,
)
from stook.crosswalk.dates import checked, marc_year, to_edtf
from stook.crosswalk.identifiers import scheme_for_type, typed_identifier
from stook.crosswalk.languages import language_tag
from stook.crosswalk.leftovers import Tracker
from stook.schema import is_edtf
from stook.xmlns import NS_MODS, NS_XLINK

__all__ = ["NS_MODS", "ModsCrosswalk", "crosswalk_mods"]
_HREF = f"{{{NS_XLINK}}}href"
_TITLE_TYPES = {"translated": "translated", "alternative": "alternative", "uniform": "uniform",
                "abbreviated": "other"}
_DATE_ELEMENTS = {
    "dateIssued": "issued", "dateCreated": "created", "dateCaptured": "captured", "dateValid": "valid",
    "dateModified": "modified", "copyrightDate": "copyrighted", "dateOther": "unspecified",
}
_RELATED = {
    "host": "is_part_of", "series": "is_part_of", "constituent": "has_part", "otherVersion": "has_version",
    "otherFormat": "has_format", "isReferencedBy": "is_referenced_by", "references": "references",
    "original": "source", "preceding": "relation", "succeeding": "relation", "reviewOf": "relation",
}
_QUALIFIERS = {"approximate": "~", "questionable": "?"}


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in child_elements(element) if local(c.tag)[1] == name]


def _first(element: Any, name: str) -> Any | None:
    found = _children(element, name)
    return found[0] if found else None


def read_agent(t: Tracker, element: Any, default_role: str | None = None) -> dict[str, Any] | None:
    """An agents entry from a MODS ``name`` (namePart types, roles, affiliation, nameIdentifier)."""
    kind = t.attr(element, "type")
    primary = t.attr(element, "usage") == "primary"
    typed: dict[str, list[str]] = {}
    plain: list[str] = []
    for part in _children(element, "namePart"):
        part_type = t.attr(part, "type")
        value = clean(t.text(part))
        if value:
            (typed.setdefault(part_type, []) if part_type else plain).append(value)
    display = clean(t.text(_first(element, "displayForm")))
    organizational = {"corporate": True, "conference": True, "personal": False}.get(kind or "")
    if "family" in typed or "given" in typed:
        family, given = " ".join(typed.get("family", [])), " ".join(typed.get("given", []))
        entry: dict[str, Any] = {"name": display or ", ".join(p for p in (family, given) if p)}
        entry["name_type"] = "personal"
        if family:
            entry["family"] = family
        if given:
            entry["given"] = given
    else:
        joined = display or (". " if organizational else ", ").join(plain)
        found = agent_entry(joined, None, organizational=organizational)
        if found is None:
            return None
        entry = found
    if typed.get("date"):
        entry["dates"] = ", ".join(typed["date"])
    for address in typed.get("termsOfAddress", []):
        if address.rstrip(".").casefold() in ("jr", "sr", "ii", "iii", "iv", "v"):
            entry["suffix"] = address
        else:
            entry.setdefault("positions", []).append(address)
    roles, terms = read_roles(t, element)
    if not roles:
        roles = ["creator"] if primary else [default_role or "contributor"]
    entry["roles"] = list(dict.fromkeys([*(entry.get("roles") or []), *roles]))
    if terms:
        entry["role_terms"] = list(dict.fromkeys([*(entry.get("role_terms") or []), *terms]))
    for affiliation in _children(element, "affiliation"):
        value = clean(t.text(affiliation))
        if value:
            entry.setdefault("affiliations", []).append(value)
    for description in _children(element, "description"):
        value = clean(t.text(description))
        if value:
            entry.setdefault("positions", []).append(value)
    for name_id in _children(element, "nameIdentifier"):
        parsed = typed_identifier(t.attr(name_id, "type"), t.text(name_id))
        if parsed is not None:
            entry.setdefault("identifiers", []).append(parsed[0])
    return entry

def read_roles(t: Tracker, element: Any) -> tuple[list[str], list[str]]:
    """Schema roles and, where the schema has none, the role terms as written."""
    roles: list[str] = []
    terms: list[str] = []
    for role in _children(element, "role"):
        for role_term in _children(role, "roleTerm"):
            t.attr(role_term, "type")
            t.attr(role_term, "authority")
            word = clean(t.text(role_term))
            found = role_of(word)
            if found:
                roles.append(found)
                if ROLE_WORDS.get(word.casefold().rstrip(".")) == "other":
                    terms.append(word)
            elif word:
                roles.append("other")
                terms.append(word)
    return list(dict.fromkeys(roles)), list(dict.fromkeys(terms))


def date_value(t: Tracker, element: Any, text: str) -> tuple[str | None, str | None]:
    """(EDTF value or None, note) of a MODS date, by its encoding and qualifier."""
    encoding = (t.attr(element, "encoding") or "").casefold()
    qualifier = t.attr(element, "qualifier")
    if encoding == "edtf" and is_edtf(text):
        value: str | None = text
    elif encoding == "marc" and marc_year(text):
        value = marc_year(text)
    else:
        value = to_edtf(text)
    note = "inferred" if qualifier == "inferred" else None
    mark = _QUALIFIERS.get(qualifier or "")
    if value and mark and value[-1] not in "?~%" and "/" not in value:
        value += mark
    return checked(value, text), note


class ModsCrosswalk:
    """One MODS record read into a :class:`RecordBuilder` through a :class:`Tracker`."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.t = Tracker()
        self.b = RecordBuilder()
        self.physical: dict[str, list[str]] = {}

    def run(self, identifier: str) -> dict[str, Any]:
        mods = self.root
        if local(mods.tag)[1] == "modsCollection":
            mods = _first(mods, "mods")
            if mods is None:
                return {}
        self.b.identifier({"scheme": "oai", "value": identifier})
        handlers = {
            "titleInfo": self.title_info, "name": self.name, "originInfo": self.origin_info,
            "language": self.language, "identifier": self.identifier, "subject": self.subject,
            "classification": self.classification, "abstract": self.abstract,
            "tableOfContents": self.table_of_contents, "note": self.note,
            "accessCondition": self.access_condition, "location": self.location,
            "relatedItem": self.related_item, "physicalDescription": self.physical_description,
        }
        for child in child_elements(mods):
            handler = handlers.get(local(child.tag)[1])
            if handler is not None:
                handler(child)
        if self.physical:
            self.b.extensions["mods:physicalDescription"] = self.physical
        unmapped = self.t.leftovers(self.root)
        if unmapped:
            self.b.extensions["mods:unmapped"] = unmapped
        return self.b.build()

    # -- titles and names ---------------------------------------------------------------

    def title_text(self, info: Any) -> str:
        t = self.t
        non_sort = t.text(_first(info, "nonSort"))
        title = clean(t.text(_first(info, "title")))
        if non_sort and title:
            title = (non_sort if non_sort.endswith((" ", "'", "’")) else non_sort + " ") + title
        for name, joiner in (("subTitle", ": "), ("partNumber", ". "), ("partName", ", ")):
            for part in _children(info, name):
                value = clean(t.text(part))
                if value:
                    title = f"{title}{joiner}{value}" if title else value
        return clean(title)

    def title_info(self, info: Any) -> None:
        kind = self.t.attr(info, "type")
        self.t.attr(info, "usage")
        lang = language_tag(self.t.lang(info))
        mapped = _TITLE_TYPES.get(kind or "")
        if kind and mapped is None:
            mapped = "other"
        self.b.title(self.title_text(info), kind=mapped, lang=lang)

    def name(self, element: Any) -> None:
        entry = read_agent(self.t, element)
        if entry is not None:
            self.b.agent(entry)

    # -- dates ----------------------------------------------------------------------------

    def origin_info(self, info: Any) -> None:
        t = self.t
        event = t.attr(info, "eventType")
        starts: dict[str, tuple[str, str | None]] = {}
        for child in child_elements(info):
            name = local(child.tag)[1]
            if name == "publisher":
                self.b.agent(agent_entry(t.text(child), "publisher", organizational=True))
                continue
            kind = _DATE_ELEMENTS.get(name)
            if kind is None:
                continue
            if event == "copyright" and kind == "issued":
                kind = "copyrighted"
            text = clean(t.text(child))
            if not text:
                continue
            value, note = date_value(t, child, text)
            point = t.attr(child, "point")
            t.attr(child, "keyDate")
            if name == "dateOther":
                other = t.attr(child, "type")
                note = "; ".join(n for n in (note, other) if n) or None
            if point == "start":
                starts[name] = (text, value)
                continue
            if point == "end" and name in starts:
                start_text, start_value = starts.pop(name)
                span = None
                if start_value and value:
                    span = checked(f"{start_value}/{value}", f"{start_text} {text}")
                self.add_date(kind, f"{start_text} - {text}", span, note)
                continue
            self.add_date(kind, text, value, note)
        for name, (text, value) in starts.items():
            self.add_date(_DATE_ELEMENTS[name], text, f"{value}/.." if value else None, None)

    def add_date(self, kind: str, display: str, value: str | None, note: str | None) -> None:
        entry = date_entry(display, kind, note=note)
        if entry is not None and value:
            entry["value"] = value
        self.b.date(entry)

    # -- languages, identifiers, subjects -----------------------------------------------------

    def language(self, element: Any) -> None:
        terms = _children(element, "languageTerm")
        codes = [c for c in terms if self.t.attr(c, "type") == "code"]
        words = [clean(self.t.text(c)) for c in terms if c not in codes]
        label = words[0] if len(codes) == 1 and len(words) == 1 else None
        for term_el in codes or terms:
            self.t.attr(term_el, "authority")
            self.b.language(self.t.text(term_el), source="mods:languageTerm", label=label)

    def identifier(self, element: Any) -> None:
        t = self.t
        if element.get("invalid") == "yes":
            return
        kind = t.attr(element, "type")
        value = t.text(element)
        parsed = typed_identifier(kind, value)
        if parsed is None:
            return
        wanted = scheme_for_type(kind)
        if wanted in ("isbn", "issn") and parsed[0]["scheme"] != wanted:
            self.b.note(f"mods:identifier type={kind} {clean(value)!r} has an invalid check digit; kept as "
                        f"{parsed[0]['scheme']}")
        self.b.identifier(*parsed)

    def subject(self, subject: Any) -> None:
        t = self.t
        authority = t.attr(subject, "authority")
        uri = t.attr(subject, "valueURI")
        for child in child_elements(subject):
            name = local(child.tag)[1]
            scheme = t.attr(child, "authority") or authority
            child_uri = t.attr(child, "valueURI") or uri
            if name in ("topic", "genre", "occupation"):
                self.b.subject(term(t.text(child), scheme, child_uri))
            elif name == "geographic":
                self.b.place(term(t.text(child), scheme, child_uri))
            elif name == "hierarchicalGeographic":
                parts = [clean(t.text(c)) for c in child_elements(child)]
                self.b.place(term(" -- ".join(p for p in parts if p), scheme, child_uri))
            elif name == "temporal":
                value, _note = date_value(t, child, clean(t.text(child)))
                entry = date_entry(t.text(child), "coverage")
                if entry is not None and value:
                    entry["value"] = value
                self.b.date(entry)
            elif name == "name":
                entry = read_agent(t, child, "mentioned")
                if entry is not None:
                    self.b.subject(term(entry["name"], scheme, child_uri))
            elif name == "titleInfo":
                self.b.subject(term(self.title_text(child), scheme, child_uri))
        if not child_elements(subject) and clean(subject.text):
            self.b.subject(term(t.own(subject), authority, uri))

    def classification(self, element: Any) -> None:
        self.b.subject(term(self.t.text(element), self.t.attr(element, "authority")))

    # -- descriptions, rights, locations, relations -----------------------------------------------

    def abstract(self, element: Any) -> None:
        kind = (self.t.attr(element, "type") or "").casefold()
        self.b.description(self.t.text(element), kind="summary" if kind == "summary" else "abstract",
                           lang=language_tag(self.t.lang(element)))

    def table_of_contents(self, element: Any) -> None:
        lang = language_tag(self.t.lang(element))
        self.b.description(self.t.text(element), kind="table_of_contents", lang=lang)

    def note(self, element: Any) -> None:
        kind = (element.get("type") or "").casefold()
        text = clean(element.xpath("string()"))
        if kind == "preferred citation" and self.b.citation(text):
            self.t.text(element)
            self.t.attr(element, "type")
        elif kind == "funding":
            self.t.attr(element, "type")
            self.b.funding(self.t.text(element))
        else:
            self.b.description(self.t.text(element), kind="note", lang=language_tag(self.t.lang(element)))

    def access_condition(self, element: Any) -> None:
        self.t.attr(element, "type")
        self.b.rights(self.t.text(element), uri=self.t.attr(element, _HREF))

    def location(self, element: Any) -> None:
        t = self.t
        entry: dict[str, Any] = {}
        physical = _first(element, "physicalLocation")
        if physical is not None and clean(physical.xpath("string()")):
            entry["repository"] = {"name": clean(t.text(physical))}
        shelf = _first(element, "shelfLocator")
        for holding in _children(element, "holdingSimple"):
            for copy in _children(holding, "copyInformation"):
                shelf = shelf if shelf is not None else _first(copy, "shelfLocator")
        if shelf is not None and clean(shelf.xpath("string()")):
            entry["reference"] = clean(t.text(shelf))
        self.b.location(entry)
        for url in _children(element, "url"):
            for name in ("access", "usage", "displayLabel", "note", "dateLastAccessed"):
                t.attr(url, name)
            parsed = typed_identifier("uri", t.text(url))
            if parsed is not None:
                self.b.identifier(*parsed)

    def related_item(self, element: Any) -> None:
        t = self.t
        kind = _RELATED.get(element.get("type") or "", "relation")
        target = ""
        for ident in _children(element, "identifier"):
            if clean(ident.xpath("string()")):
                parsed = typed_identifier(t.attr(ident, "type"), t.text(ident))
                target = (parsed[1] if parsed and parsed[1] else None) or clean(ident.xpath("string()"))
                break
        if not target:
            for loc in _children(element, "location"):
                url = _first(loc, "url")
                if url is not None and clean(url.xpath("string()")):
                    target = clean(t.text(url))
                    break
        if not target:
            info = _first(element, "titleInfo")
            target = self.title_text(info) if info is not None else ""
        if target:
            t.attr(element, "type")
            self.b.relation(kind, target)

    def physical_description(self, element: Any) -> None:
        for child in child_elements(element):
            name = local(child.tag)[1]
            if name == "note":
                self.b.description(self.t.text(child), kind="note")
            elif name in ("extent", "form", "internetMediaType", "digitalOrigin", "reformattingQuality"):
                value = clean(self.t.text(child))
                if value:
                    self.physical.setdefault(name, []).append(value)


def crosswalk_mods(root: Any, identifier: str) -> dict[str, Any]:
    """The record fields of a ``mods`` (or ``modsCollection``) root element."""
    return ModsCrosswalk(root).run(identifier)
