"""Names of people and organizations as catalogues write them -> ``agents`` entries.

A heading is read from the end: role designations (``(Interviewer)``, ``, editor``)
go to ``roles``; life dates (``1966-``, ``1809-1849``, ``b. 1920``) to ``dates``;
suffixes (``Jr.``, ``III``) to ``suffix``; a fuller form in parentheses
(``Poe, E. (Edgar)``) to ``fuller_form``. What is left is split into family and given
name only when the evidence says it is a person: "Family, Given" with a short given
part that is no organization word. It is an organization when the evidence says so:
an organization word in any of several languages (``University``, ``yliopisto``,
``Ministerium``, ``Bibliothek``...), a hierarchy written with periods
(``United States. Congress``), or the source says so (a publisher, MODS
``type="corporate"``, MARC 110/710, DataCite ``Organizational``). Otherwise the
name is kept as written with no type: a wrong guess would be worse than none.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from stook.crosswalk.common import clean

#: Role words (lower case, any language the catalogues use) -> schema role.
ROLE_WORDS: dict[str, str] = {
    "author": "author", "aut": "author", "auteur": "author", "autor": "author", "verfasser": "author",
    "creator": "creator", "cre": "creator",
    "contributor": "contributor", "ctb": "contributor",
    "editor": "editor", "ed": "editor", "eds": "editor", "edt": "editor", "ed.": "editor",
    "eds.": "editor", "hrsg": "editor", "hrsg.": "editor", "herausgeber": "editor", "éditeur": "editor",
    "translator": "translator", "trl": "translator", "tr": "translator", "tr.": "translator",
    "trans": "translator", "trans.": "translator", "übersetzer": "translator", "traducteur": "translator",
    "compiler": "compiler", "com": "compiler", "comp": "compiler", "comp.": "compiler",
    "interviewer": "interviewer", "ivr": "interviewer",
    "interviewee": "interviewee", "ive": "interviewee",
    "recipient": "recipient", "rcp": "recipient", "addressee": "recipient",
    "publisher": "publisher", "pbl": "publisher",
    "signer": "signatory", "sgn": "signatory", "signatory": "signatory",
    "participant": "participant",
    "illustrator": "other", "ill": "other", "photographer": "other", "pht": "other",
    "narrator": "other", "nrt": "other", "speaker": "other", "spk": "other",
    "director": "other", "drt": "other", "producer": "other", "pro": "other",
    "thesis advisor": "other", "ths": "other", "advisor": "other", "degree supervisor": "other",
    "dgs": "other", "performer": "other", "prf": "other", "composer": "other", "cmp": "other",
    "artist": "other", "art": "other", "cartographer": "other", "ctg": "other",
    "donor": "other", "dnr": "other", "former owner": "other", "fmo": "other",
    "funder": "other", "fnd": "other", "honoree": "other", "hnr": "other", "host": "other",
    "correspondent": "other", "crp": "other", "depicted": "other", "dpc": "other",
    "editor of compilation": "editor", "edc": "editor", "writer of introduction": "other",
    "win": "other", "writer of preface": "other", "wpr": "other", "reviewer": "other",
    "researcher": "other", "res": "other", "sponsor": "other", "spn": "other",
}

# Organization words, matched as whole words (casefolded).
_ORG_WORDS = frozenset({
    "university", "universities", "universität", "universitat", "universidad", "universidade",
    "università", "universita", "université", "universite", "universiteit", "universitet",
    "uniwersytet", "univerzita", "univerzitet", "yliopisto", "yliopiston", "korkeakoulu", "högskola",
    "hogskola", "hochschule", "politechnika", "college", "colleges", "school", "schools", "institute",
    "institut", "instituto", "istituto", "institutet", "instituut", "academy", "akademie", "akademia",
    "academia", "académie", "akademi", "society", "societies", "gesellschaft", "société", "societe",
    "sociedad", "società", "societa", "association", "associação", "asociación", "associazione",
    "verein", "vereniging", "förening", "forening", "yhdistys", "seura", "library", "libraries",
    "bibliothek", "bibliothèque", "bibliotheque", "biblioteca", "bibliotheek", "bibliotek",
    "biblioteka", "kirjasto", "knihovna", "archive", "archives", "archiv", "archivo", "archivio",
    "arkiv", "arkisto", "archiwum", "museum", "museums", "musée", "musee", "museo", "muzeum",
    "department", "dept", "dept.", "departement", "departamento", "dipartimento", "ministry",
    "ministère", "ministere", "ministerio", "ministero", "ministerium", "ministerstvo", "ministerstwo",
    "office", "bureau", "agency", "agencies", "service", "services", "commission", "committee",
    "council", "board", "congress", "parliament", "senate", "government", "corporation", "corp",
    "corp.", "company", "inc", "inc.", "ltd", "ltd.", "llc", "gmbh", "press", "publishing",
    "publishers", "publisher", "verlag", "éditions", "editions", "foundation", "stiftung", "fondation",
    "fundación", "fundacion", "fondazione", "center", "centre", "zentrum", "centro", "centrum",
    "laboratory", "laboratories", "laboratorium", "laboratoire", "laboratorio", "hospital", "church",
    "diocese", "parish", "group", "team", "network", "project", "consortium", "union", "federation",
    "league", "club", "orchestra", "theatre", "theater", "division", "section", "branch", "unit",
    "faculty", "fakultät", "faculté", "facultad", "facoltà", "tiedekunta", "laitos", "osasto",
    "virasto", "kommun", "kunta", "kaupunki", "survey", "court", "tribunal", "army", "navy", "police",
    "embassy", "consulate", "party", "firm", "университет", "институт", "академия", "министерство",
    "комитет", "архив", "библиотека", "общество", "управление", "совет", "партия", "музей",
    "archief", "ministerie", "gemeente", "hogeschool", "stichting", "conseil", "consiglio", "ayuntamiento",
    "comune",
})
# Organization words that end compounds (German, Nordic, Finnish, Dutch): Staatsbibliothek.
_ORG_SUFFIXES = (
    "bibliothek", "archiv", "archivet", "arkivet", "museum", "museet", "kirjasto", "arkisto", "laitos",
    "virasto", "ministeriö", "yliopisto", "universität", "hochschule", "gesellschaft", "verein",
    "ministerium", "kommune", "kommun", "institut", "instituut", "akademie", "stiftung", "biblioteket",
)
_ABBREVIATIONS = frozenset({
    "mr", "mrs", "ms", "dr", "prof", "st", "sr", "jr", "rev", "hon", "sir", "gen", "col", "capt", "lt",
    "sgt", "mme", "mlle", "hr", "fr"
})
_SUFFIX = re.compile(
    r"^(?:jr|sr|jun|sen|esq|[ivx]{1,4}|\d(?:st|nd|rd|th)|ph\.?\s?d|m\.?\s?d)\.?$", re.IGNORECASE
)
_LIFE_DATES = re.compile(
    r"^(?:(?:b|born|d|died|fl|active|ca|approximately)\.?\s*)?\d{3,4}\??(?:\s*[-–]\s*(?:\d{3,4}\??)?)?\.?$"
    r"|^(?:b|d|fl)\.\s*\d{3,4}.*|^\d{1,2}(?:st|nd|rd|th) cent\.?.*$",
    re.IGNORECASE,
)
_PAREN_TAIL = re.compile(r"^(.*?)\s*[(\[]([^()\[\]]+)[)\]]\s*$")


def role_of(word: str) -> str | None:
    """The schema role for a relator term or code (``editor``, ``edt``, ``Interviewer``), or None."""
    key = clean(word).casefold().rstrip(",;:")
    return ROLE_WORDS.get(key) or ROLE_WORDS.get(key.rstrip("."))


def _words(text: str) -> list[str]:
    return [w.strip("().,;:[]\"'") for w in text.casefold().split()]


def has_org_word(text: str) -> bool:
    """True when ``text`` holds a word (or compound ending) that names an organization."""
    return any(
        word in _ORG_WORDS or (len(word) > 8 and word.endswith(_ORG_SUFFIXES)) for word in _words(text)
    )


def looks_organizational(text: str) -> bool:
    """The evidence that a heading names an organization (see the module docstring)."""
    parts = [p.strip() for p in text.split(",")]
    if len(parts) == 2 and _personal_parts(parts[0], parts[1]):
        return False
    return has_org_word(text) or _jurisdiction(text)


def _jurisdiction(text: str) -> bool:
    """``United States. Congress. Senate``: a body under its jurisdiction, joined by periods.

    Not ``John F. Kennedy`` or ``Dr. Smith``: a segment ending in an initial or a title
    of address is a person's name.
    """
    if "," in text:
        return False
    segments = [s.strip() for s in text.rstrip(".").split(". ")]
    if len(segments) < 2 or any(not s for s in segments):
        return False
    for segment in segments[:-1]:
        last = segment.split()[-1].casefold()
        if len(last) < 3 or last in _ABBREVIATIONS or "." in last:
            return False
    return True


def _personal_parts(family: str, given: str) -> bool:
    """A "Family, Given" split that reads as a person's name."""
    if not family or not given or len(given.split()) > 4 or len(family.split()) > 3:
        return False
    if any(ch.isdigit() for ch in family + given):
        return False
    if has_org_word(given):
        return False
    # one organization word alone is a surname (Church, Alonzo; Hall, Stuart)
    return len(family.split()) == 1 or not has_org_word(family)


def _given_suffix(word: str) -> bool:
    """``Jr.``, ``III`` at the end of a given name; not a single initial (``Jane V``)."""
    bare = word.rstrip(".")
    if bare.casefold() in ("jr", "sr"):
        return True
    return len(bare) >= 2 and bare.isupper() and bool(_SUFFIX.match(word))


@lru_cache(maxsize=16384)
def _parse(text: str, organizational: bool | None) -> tuple[tuple[str, Any], ...]:
    name = text
    roles: list[str] = []
    terms: list[str] = []
    fields: dict[str, Any] = {}
    # role designations at the end, in parentheses or after the last comma
    while True:
        paren = _PAREN_TAIL.match(name)
        if paren and all(role_of(w) for w in re.split(r"\s*(?:,|;|\band\b|&)\s*", paren.group(2)) if w):
            for word in (w for w in re.split(r"\s*(?:,|;|\band\b|&)\s*", paren.group(2)) if w):
                roles.append(role_of(word) or "other")
                terms.append(word)
            name = paren.group(1).rstrip(" ,")
            continue
        head, sep, last = name.rpartition(",")
        if sep and head.count(",") >= 1 and role_of(last):
            roles.append(role_of(last) or "other")
            terms.append(last.strip().rstrip("."))
            name = head.rstrip(" ,")
            continue
        break
    parts = [p.strip() for p in name.split(",")]
    personal = organizational is not True and len(parts) >= 2
    if personal:
        for part in reversed(parts[2:]):
            if _LIFE_DATES.match(part) and "dates" not in fields:
                fields["dates"] = part.rstrip(".")
            elif _SUFFIX.match(part) and "suffix" not in fields:
                fields["suffix"] = part
            else:
                personal = False
                break
    if personal:
        family, given = parts[0], parts[1]
        fuller = _PAREN_TAIL.match(given)
        if fuller and not role_of(fuller.group(2)):
            given, fields["fuller_form"] = fuller.group(1), fuller.group(2).strip()
        words = given.split()
        if "suffix" not in fields and len(words) > 1 and _given_suffix(words[-1]):
            fields["suffix"], given = words[-1], " ".join(words[:-1])
        if organizational is None and not _personal_parts(family, given):
            personal = False
        else:
            fields.update(name_type="personal", family=family, given=given)
    if not personal:
        fields = {k: v for k, v in fields.items() if k not in ("dates", "suffix", "fuller_form")}
        if organizational or (organizational is None and looks_organizational(name)):
            fields["name_type"] = "organizational"
    return (("name", name), ("roles", tuple(roles)), ("role_terms", tuple(terms)), *fields.items())


def agent_entry(
    name: str, role: str | None = None, *, organizational: bool | None = None
) -> dict[str, Any] | None:
    """An ``agents`` entry from a heading as written, with ``role`` from the source element.

    ``organizational`` is what the source says about the name: True (a corporate
    name), False (a person) or None (nothing; decide from the name).
    """
    text = clean(name)
    if not text:
        return None
    parsed = dict(_parse(text, organizational))
    entry: dict[str, Any] = {"name": parsed.pop("name") or text}
    roles: list[str] = [role] if role else []
    for found in parsed.pop("roles"):
        if found not in roles:
            roles.append(found)
    terms = list(parsed.pop("role_terms"))
    if organizational is False and "name_type" not in parsed:
        parsed["name_type"] = "personal"
    entry.update(parsed)
    if roles:
        entry["roles"] = roles
    if terms and any(ROLE_WORDS.get(t.casefold().rstrip(".")) == "other" for t in terms):
        entry["role_terms"] = terms
    return entry
