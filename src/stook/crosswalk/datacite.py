"""DataCite metadata (kernel-2.2 to kernel-4, bare or in an ``oai_datacite`` wrapper) -> record fields.

Mapped: ``identifier`` and ``alternateIdentifiers`` (by their type); ``creators``
and ``contributors`` with ``nameType``, given and family names, ``nameIdentifier``
(ORCID, ISNI, ROR checked) and ``affiliation`` (a contributor's ``contributorType``
is its role, kept in ``role_terms`` when the schema has no such role; a kernel-3
``Funder`` is funding); ``titles`` with ``titleType`` and ``xml:lang``;
``publisher``; ``publicationYear`` (issued); ``dates`` with ``dateType`` (Updated is
``modified``) and ``dateInformation`` as the note; ``language``; ``subjects`` with
``subjectScheme`` and ``valueURI``; ``relatedIdentifiers`` as relations (the
``relationType`` when the schema names it, else ``relation``); ``rightsList``;
``descriptions`` by ``descriptionType``; ``geoLocationPlace`` as places;
``fundingReferences``. Everything else (``resourceType``, sizes, formats, version,
geometry, every attribute not used) is listed in ``extensions["datacite:unmapped"]``.
"""

from __future__ import annotations

from typing import Any

from stook.crosswalk.agents import agent_entry, role_of
from stook.crosswalk.builder import RecordBuilder, date_entry, term
from stook.crosswalk.common import child_elements, clean, local
from stook.crosswalk.identifiers import typed_identifier, typed_prefixed
from stook.crosswalk.languages import language_tag
from stook.crosswalk.leftovers import Tracker
from stook.xmlns import NS_DATACITE_KERNELS as NS_KERNELS
from stook.xmlns import NS_OAI_DATACITE

__all__ = ["NS_KERNELS", "NS_OAI_DATACITE", "DataCiteCrosswalk", "crosswalk_datacite", "resource_of"]
_TITLE_TYPES = {"AlternativeTitle": "alternative", "Subtitle": "subtitle", "TranslatedTitle": "translated",
                "Other": "other"}
_DATE_TYPES = {
    "Accepted": "accepted", "Available": "available", "Copyrighted": "copyrighted", "Collected": "collected",
    "Created": "created", "Issued": "issued", "Submitted": "submitted", "Updated": "modified",
    "Valid": "valid", "Withdrawn": "withdrawn", "Other": "other", "Coverage": "coverage",
}
_DESCRIPTION_TYPES = {"Abstract": "abstract", "TableOfContents": "table_of_contents", "Other": "other",
                      "Methods": "other", "SeriesInformation": "other", "TechnicalInfo": "other"}
_RELATIONS = {
    "IsPartOf": "is_part_of", "HasPart": "has_part", "IsVersionOf": "is_version_of",
    "HasVersion": "has_version", "IsFormatOf": "is_format_of", "HasFormat": "has_format",
    "IsReferencedBy": "is_referenced_by", "References": "references", "IsRequiredBy": "is_required_by",
    "Requires": "requires", "IsNewVersionOf": "replaces", "IsPreviousVersionOf": "is_replaced_by",
    "Obsoletes": "replaces", "IsObsoletedBy": "is_replaced_by", "IsDerivedFrom": "source",
    "IsTranslationOf": "is_translation_of", "HasTranslation": "has_translation",
}
_CONTRIBUTOR_ROLES = {"Editor": "editor", "Researcher": "other", "Producer": "other",
                      "ContactPerson": "other"}
_AS_WRITTEN = ("URL", "URN", "ARK", "PURL", "LSID")
_ORGANIZATIONS = ("HostingInstitution", "RegistrationAgency", "RegistrationAuthority", "ResearchGroup",
                  "Distributor", "Sponsor")


def _children(element: Any, name: str) -> list[Any]:
    return [c for c in child_elements(element) if local(c.tag)[1] == name]


def _first(element: Any, name: str) -> Any | None:
    found = _children(element, name)
    return found[0] if found else None


def resource_of(root: Any) -> Any | None:
    """The kernel ``resource`` element of a DataCite root, unwrapping ``oai_datacite``."""
    ns, name = local(root.tag)
    if ns in NS_KERNELS:
        return root
    payload = _first(root, "payload")
    if payload is None:
        return None
    return next((c for c in child_elements(payload) if local(c.tag)[0] in NS_KERNELS), None)


class DataCiteCrosswalk:
    """One DataCite resource read into a :class:`RecordBuilder` through a :class:`Tracker`."""

    def __init__(self, root: Any) -> None:
        self.root = root
        self.t = Tracker()
        self.b = RecordBuilder()

    def run(self, identifier: str) -> dict[str, Any]:
        resource = resource_of(self.root)
        self.b.identifier({"scheme": "oai", "value": identifier})
        if resource is None:
            return self.b.build()
        handlers = {
            "identifier": self.identifier, "alternateIdentifiers": self.alternate_identifiers,
            "creators": self.creators, "titles": self.titles, "publisher": self.publisher,
            "publicationYear": self.publication_year, "subjects": self.subjects,
            "contributors": self.contributors, "dates": self.dates, "language": self.language,
            "relatedIdentifiers": self.related, "rightsList": self.rights, "descriptions": self.descriptions,
            "geoLocations": self.geo_locations, "fundingReferences": self.funding,
        }
        for child in child_elements(resource):
            handler = handlers.get(local(child.tag)[1])
            if handler is not None:
                handler(child)
        unmapped = self.t.leftovers(self.root)
        if unmapped:
            self.b.extensions["datacite:unmapped"] = unmapped
        return self.b.build()

    # -- identifiers ----------------------------------------------------------------------

    def identifier(self, element: Any) -> None:
        kind = self.t.attr(element, "identifierType")
        value = self.t.text(element)
        parsed = typed_prefixed("doi", value) if (kind or "").upper() == "DOI" else None
        self.b.identifier(*(parsed or typed_identifier(kind, value) or (None, None)))

    def alternate_identifiers(self, element: Any) -> None:
        for alt in _children(element, "alternateIdentifier"):
            kind = self.t.attr(alt, "alternateIdentifierType")
            self.b.identifier(*(typed_identifier(kind, self.t.text(alt)) or (None, None)))

    # -- agents ------------------------------------------------------------------------------

    def person(self, element: Any, name_element: str, role: str, *, organizational: bool | None = None) -> \
            dict[str, Any] | None:
        t = self.t
        name_el = _first(element, name_element)
        kind = t.attr(name_el, "nameType") if name_el is not None else None
        t.lang(name_el)
        if kind == "Organizational":
            organizational = True
        elif kind == "Personal":
            organizational = False
        given = clean(t.text(_first(element, "givenName")))
        family = clean(t.text(_first(element, "familyName")))
        name = clean(t.text(name_el)) or ", ".join(p for p in (family, given) if p)
        entry = agent_entry(name, role, organizational=organizational)
        if entry is None:
            return None
        if given or family:
            entry["name_type"] = "personal"
            entry.pop("given", None)
            entry.pop("family", None)
            if family:
                entry["family"] = family
            if given:
                entry["given"] = given
        for name_id in _children(element, "nameIdentifier"):
            scheme = t.attr(name_id, "nameIdentifierScheme")
            t.attr(name_id, "schemeURI")
            parsed = typed_identifier(scheme, t.text(name_id))
            if parsed is not None:
                entry.setdefault("identifiers", []).append(parsed[0])
        for affiliation in _children(element, "affiliation"):
            for attr in ("affiliationIdentifier", "affiliationIdentifierScheme", "schemeURI"):
                t.attr(affiliation, attr)
            value = clean(t.text(affiliation))
            if value:
                entry.setdefault("affiliations", []).append(value)
        return entry

    def creators(self, element: Any) -> None:
        for creator in _children(element, "creator"):
            self.b.agent(self.person(creator, "creatorName", "creator"))

    def contributors(self, element: Any) -> None:
        for contributor in _children(element, "contributor"):
            kind = self.t.attr(contributor, "contributorType") or "Other"
            if kind == "Funder":  # kernel 3: funders were contributors
                name = clean(self.t.text(_first(contributor, "contributorName")))
                self.b.funding(name, funder=name)
                continue
            role = _CONTRIBUTOR_ROLES.get(kind) or role_of(kind) or "other"
            entry = self.person(contributor, "contributorName", role,
                                organizational=True if kind in _ORGANIZATIONS else None)
            if entry is not None:
                if kind != "Editor":
                    entry["role_terms"] = [kind]
                self.b.agent(entry)

    def publisher(self, element: Any) -> None:
        for attr in ("publisherIdentifier", "publisherIdentifierScheme", "schemeURI"):
            self.t.attr(element, attr)
        self.t.lang(element)
        self.b.agent(agent_entry(self.t.text(element), "publisher", organizational=True))

    # -- titles, dates, languages ----------------------------------------------------------------

    def titles(self, element: Any) -> None:
        for title in _children(element, "title"):
            kind = self.t.attr(title, "titleType")
            mapped = _TITLE_TYPES.get(kind or "", "other") if kind else None
            self.b.title(self.t.text(title), kind=mapped, lang=language_tag(self.t.lang(title)))

    def publication_year(self, element: Any) -> None:
        self.b.date(date_entry(self.t.text(element), "issued"))

    def dates(self, element: Any) -> None:
        for date_el in _children(element, "date"):
            kind = _DATE_TYPES.get(self.t.attr(date_el, "dateType") or "", "unspecified")
            note = self.t.attr(date_el, "dateInformation")
            self.b.date(date_entry(self.t.text(date_el), kind, note=note))

    def language(self, element: Any) -> None:
        self.b.language(self.t.text(element), source="datacite:language")

    # -- subjects, relations, rights, descriptions ---------------------------------------------

    def subjects(self, element: Any) -> None:
        for subject in _children(element, "subject"):
            scheme = self.t.attr(subject, "subjectScheme")
            self.t.attr(subject, "schemeURI")
            self.t.attr(subject, "classificationCode")
            self.t.lang(subject)
            self.b.subject(term(self.t.text(subject), scheme, self.t.attr(subject, "valueURI")))

    def related(self, element: Any) -> None:
        for related in _children(element, "relatedIdentifier"):
            kind = self.t.attr(related, "relatedIdentifierType") or ""
            relation = related.get("relationType") or ""
            mapped = _RELATIONS.get(relation)
            if mapped is not None:
                self.t.attr(related, "relationType")
            value = clean(self.t.text(related))
            if not value:
                continue
            parsed = typed_prefixed(kind.lower(), value) if kind in ("DOI", "Handle") else None
            if parsed is not None and parsed[1]:
                target = parsed[1]
            elif kind in _AS_WRITTEN or value.lower().startswith(("http", "urn:", "ark:")):
                target = value
            else:
                target = f"{kind}:{value}" if kind else value
            self.b.relation(mapped or "relation", target)

    def rights(self, element: Any) -> None:
        for rights in _children(element, "rights"):
            for attr in ("rightsIdentifier", "rightsIdentifierScheme", "schemeURI"):
                self.t.attr(rights, attr)
            self.t.lang(rights)
            text = clean(self.t.text(rights)) or clean(rights.get("rightsIdentifier"))
            self.b.rights(text, uri=self.t.attr(rights, "rightsURI"))

    def descriptions(self, element: Any) -> None:
        for description in _children(element, "description"):
            kind = self.t.attr(description, "descriptionType")
            text = (description.text or "") + "".join(
                "\n" + (c.tail or "") if local(c.tag)[1] == "br" else (c.tail or "")
                for c in description
            )
            self.t.subtree(description, attributes=False)
            self.b.description(text, kind=_DESCRIPTION_TYPES.get(kind or "", "other" if kind else None),
                               lang=language_tag(self.t.lang(description)))

    def geo_locations(self, element: Any) -> None:
        for location in _children(element, "geoLocation"):
            for place in _children(location, "geoLocationPlace"):
                self.b.place(term(self.t.text(place)))

    def funding(self, element: Any) -> None:
        for reference in _children(element, "fundingReference"):
            funder = clean(self.t.text(_first(reference, "funderName")))
            award_el = _first(reference, "awardNumber")
            award = clean(self.t.text(award_el))
            self.t.attr(award_el, "awardURI")
            title = clean(self.t.text(_first(reference, "awardTitle")))
            statement = ", ".join(p for p in (funder, title, f"award {award}" if award else "") if p)
            self.b.funding(statement, funder=funder or None, award=award or None)


def crosswalk_datacite(root: Any, identifier: str) -> dict[str, Any]:
    """The record fields of a DataCite ``resource`` (or ``oai_datacite``) root element."""
    return DataCiteCrosswalk(root).run(identifier)
