"""MARC 21 in MARCXML (http://www.loc.gov/MARC21/slim) -> record fields.

Mapped: 245 (``$a $b $n $p``, ISBD punctuation at the end removed) is the title;
246/240/130/242 further titles; 100/110/111 and 700/710/711 agents with ``$e``
relator terms and ``$4`` codes as roles (``$d`` dates, ``$q`` fuller form, ``$c``
suffix or title, ``$u`` affiliation); 260/264 ``$b`` publishers and ``$c`` dates
(``c1950`` is a copyright date); 008 dates (by its date type) and language; 041
languages (``$h`` original, ``$a`` translation when the item is one); 001, 010, 020,
022, 024, 035 identifiers (ISBN and ISSN with their check digits); 5XX notes (520
abstract, 505 contents, 506/540 rights, 524 citation, 536 funding, the rest as
notes); 6XX subjects with their thesaurus (651 also a place, 648 a coverage date);
76X-78X, 490 and 830 relations; 856 links. Every other field and subfield is listed
in ``extensions["marc:unmapped"]`` by tag (``300$a``).
"""

from __future__ import annotations

import re
from typing import Any

from stook.crosswalk.agents import ROLE_WORDS, agent_entry, role_of
from stook.crosswalk.builder import RecordBuilder, date_entry, term
from stook.crosswalk.common import (
    child_elements,
    clean,
    local,
)
from stook.crosswalk.dates import checked, marc_year
from stook.crosswalk.identifiers import scheme_for_type, typed_identifier
from stook.crosswalk.languages import language_tag
from stook.crosswalk.leftovers import Tracker
from stook.schema import is_edtf
from stook.xmlns import NS_MARC

__all__ = ["NS_MARC", "MarcCrosswalk", "crosswalk_marc", "fixed_dates", "strip_isbd"]
_THESAURI = {"0": "lcsh", "1": "lcshac", "2": "mesh", "3": "nal", "5": "cash", "6": "rvm"}
_LINKS = {"773": "is_part_of", "774": "has_part", "775": "has_version", "776": "has_format",
          "780": "replaces", "785": "is_replaced_by", "765": "is_translation_of", "767": "has_translation"}
_NOTE_KINDS = {"505": "table_of_contents"}
_264_KINDS = {"0": "created", "1": "issued", "2": "event", "3": "event", "4": "copyrighted"}
_264_ROLES = {"0": "producer", "2": "distributor", "3": "manufacturer"}
_COPY_MARK = re.compile(r"^(?:c|©|p|℗)\s?(\d{4})\.?$")
_END_PUNCT = re.compile(r"\s*[/:;=,]\s*$")


def marc_path(element: Any, ancestors: list[Any]) -> str:
    """``245``, ``245$c``, ``leader``: where an unmapped value sits in the record."""
    name = local(element.tag)[1]
    if name in ("datafield", "controlfield"):
        return str(element.get("tag") or name)
    if name == "subfield" and ancestors:
        return f"{ancestors[-1].get('tag') or ''}${element.get('code') or ''}"
    return name


def strip_isbd(text: str) -> str:
    """A value without the ISBD punctuation that ends it (`` /``, `` :``, a final period)."""
    text = _END_PUNCT.sub("", clean(text))
    if text.endswith(".") and not text.endswith(".."):
        last = text[:-1].split()[-1] if text[:-1].split() else ""
        if len(last) >= 4 or last.isdigit():
            text = text[:-1]
    return text.strip()


class MarcReader:
    """Reads fields and subfields of a MARC record, marking each one read in a :class:`Tracker`."""

    def __init__(self) -> None:
        self.t = Tracker(ignore=frozenset({"tag", "code"}), ignore_blank=True)

    def subfields(self, field: Any, codes: str) -> list[tuple[str, Any]]:
        return [(sf.get("code") or "", sf) for sf in child_elements(field)
                if local(sf.tag)[1] == "subfield" and (sf.get("code") or "") in codes]

    def take(self, subfield: Any) -> str:
        self.t.used(subfield)
        return clean(self.t.own(subfield))

    def values(self, field: Any, codes: str) -> list[str]:
        return [v for v in (self.take(sf) for _c, sf in self.subfields(field, codes)) if v]

    def joined(self, field: Any, codes: str) -> str:
        return " ".join(self.values(field, codes))

    def open_field(self, field: Any) -> str:
        """Mark the field (tag, indicators) as read; return its indicators."""
        self.t.used(field)
        return (field.get("ind1") or " ") + (field.get("ind2") or " ")

    def person(self, field: Any, ind: str) -> dict[str, Any] | None:
        """A personal name from 100/700: $a split by the first indicator, $b $c $d $q."""
        name = strip_isbd(self.joined(field, "a")).rstrip(",")
        if not name:
            return None
        entry: dict[str, Any] = {"name": name}
        if ind[0] == "1" and "," in name:
            family, _, given = name.partition(",")
            entry.update(name_type="personal", family=family.strip(), given=given.strip())
        elif ind[0] == "0":
            entry.update(name_type="personal", given=name)
        for number in self.values(field, "b"):
            entry["suffix"] = strip_isbd(number).rstrip(",")
        for title in self.values(field, "c"):
            title = strip_isbd(title).rstrip(",")
            if re.fullmatch(r"(?i)(jr|sr|[ivx]+)\.?", title):
                entry["suffix"] = title
            elif title:
                entry.setdefault("positions", []).append(title)
        for fuller in self.values(field, "q"):
            entry["fuller_form"] = fuller.strip("(),. ")
        for dates in self.values(field, "d"):
            entry["dates"] = dates.rstrip(",. ")
        heading = [name]
        if entry.get("dates"):
            heading.append(entry["dates"])
        entry["name"] = ", ".join(heading)
        return entry


class MarcCrosswalk(MarcReader):
    """One MARC record read into a :class:`RecordBuilder`."""

    def __init__(self, root: Any) -> None:
        super().__init__()
        self.root = root
        self.b = RecordBuilder()
        self.fields: dict[str, list[Any]] = {}

    def run(self, identifier: str) -> dict[str, Any]:
        record = self.root
        if local(record.tag)[1] == "collection":
            record = next((c for c in child_elements(record) if local(c.tag)[1] == "record"), None)
            if record is None:
                return {}
        for child in child_elements(record):
            if local(child.tag)[1] in ("datafield", "controlfield"):
                self.fields.setdefault(child.get("tag") or "", []).append(child)
        self.b.identifier({"scheme": "oai", "value": identifier})
        self.titles()
        for tag in ("100", "110", "111", "700", "710", "711", "720"):
            for field in self.fields.get(tag, []):
                self.agent(field, tag)
        for tag in ("260", "264"):
            for field in self.fields.get(tag, []):
                self.publication(field, tag)
        for field in self.fields.get("041", []):
            self.languages(field)
        self.fixed_field()
        self.identifiers()
        for tag, fields in self.fields.items():
            if tag.startswith("5"):
                for field in fields:
                    self.note(field, tag)
            elif tag.startswith("6"):
                for field in fields:
                    self.subject(field, tag)
        self.relations()
        for field in self.fields.get("856", []):
            self.link(field)
        unmapped = self.t.leftovers(self.root, marc_path)
        if unmapped:
            self.b.extensions["marc:unmapped"] = unmapped
        return self.b.build()

    # -- titles and agents ----------------------------------------------------------------

    def titles(self) -> None:
        for tag, default in (("245", None), ("130", "uniform"), ("240", "uniform"), ("246", "alternative"),
                             ("242", "translated")):
            for field in self.fields.get(tag, []):
                ind = self.open_field(field)
                title = strip_isbd(self.joined(field, "abnp"))
                kind = "translated" if tag == "246" and ind[1] == "1" else default
                if kind is None and "title" in self.b.fields:
                    kind = "alternative"
                codes = self.values(field, "y") if tag == "242" else []
                self.b.title(title, kind=kind, lang=language_tag(codes[0]) if codes else None)

    def agent(self, field: Any, tag: str) -> None:
        ind = self.open_field(field)
        role = "creator" if tag.startswith("1") else "contributor"
        if tag.endswith("00") or tag == "720":
            entry = self.person(field, ind)
        else:
            parts = [strip_isbd(v) for v in self.values(field, "ab")]
            entry = agent_entry(". ".join(p for p in parts if p), None, organizational=True)
        if entry is None:
            return
        roles, terms = [], []
        for _code, sf in self.subfields(field, "e4j"):
            word = self.take(sf).rstrip(",.")
            word = word.rsplit("/", 1)[-1] if word.startswith("http") else word
            found = role_of(word)
            roles.append(found or "other")
            if not found or ROLE_WORDS.get(word.casefold()) == "other":
                terms.append(word)
        entry["roles"] = list(dict.fromkeys(roles or [role]))
        if terms:
            entry["role_terms"] = list(dict.fromkeys(terms))
        for affiliation in self.values(field, "u"):
            entry.setdefault("affiliations", []).append(strip_isbd(affiliation))
        for _code, sf in self.subfields(field, "01"):
            value = self.take(sf)
            parsed = typed_identifier(None, value)
            if parsed is not None:
                entry.setdefault("identifiers", []).append(parsed[0])
        self.b.agent(entry)

    # -- publication, dates, languages ------------------------------------------------------

    def publication(self, field: Any, tag: str) -> None:
        ind = self.open_field(field)
        kind = _264_KINDS.get(ind[1], "issued") if tag == "264" else "issued"
        for publisher in self.values(field, "b"):
            name = strip_isbd(publisher).rstrip(",").strip("[]")
            if tag == "264" and ind[1] in _264_ROLES:
                entry = agent_entry(name, "other", organizational=True)
                if entry is not None:
                    entry["role_terms"] = [_264_ROLES[ind[1]]]
            else:
                entry = agent_entry(name, "publisher", organizational=True)
            self.b.agent(entry)
        for written in self.values(field, "c"):
            for part in (p for p in re.split(r"\s*[,;]\s*", written) if p.strip()):
                mark = _COPY_MARK.match(part.strip())
                if mark:
                    self.b.date({"type": "copyrighted", "value": mark.group(1), "display": part.strip()})
                    continue
                note = {"2": "distribution", "3": "manufacture"}.get(ind[1]) if tag == "264" else None
                self.b.date(date_entry(part, kind, note=note))

    def fixed_field(self) -> None:
        field = (self.fields.get("008") or [None])[0]
        if field is None:
            return
        data = self.t.own(field)
        self.t.used(field)
        if len(data) >= 15:
            taken = {d.get("value") for d in self.b.fields.get("dates", [])}
            for entry in fixed_dates(data[6], data[7:11], data[11:15]):
                if entry["value"] not in taken:
                    self.b.date(entry)
        if len(data) >= 38:
            code = data[35:38].strip()
            known = {e["code"] for e in self.b.fields.get("languages", [])}
            if code and code not in ("|||", "zxx", "und", "mul") and not known:
                self.b.language(code, source="MARC 008/35-37")

    def languages(self, field: Any) -> None:
        ind = self.open_field(field)
        self.values(field, "2")
        for code_letter, role in (("a", "translation" if ind[0] == "1" else None), ("h", "original")):
            for value in self.values(field, code_letter):
                codes = [value[i:i + 3] for i in range(0, len(value), 3)] \
                    if len(value) > 3 and len(value) % 3 == 0 and value.isalpha() else [value]
                for code in codes:
                    self.b.language(code, role=role, source=f"MARC 041${code_letter}")

    # -- identifiers ----------------------------------------------------------------------------

    def identifiers(self) -> None:
        for field in self.fields.get("001", []):
            self.t.used(field)
            self.b.identifier(*(typed_identifier("local", self.t.own(field)) or (None, None)))
        for tag, kind, codes in (("010", "lccn", "a"), ("020", "isbn", "a"), ("022", "issn", "al")):
            for field in self.fields.get(tag, []):
                self.open_field(field)
                for value in self.values(field, codes):
                    self.typed(kind, value, tag)
        for field in self.fields.get("024", []):
            ind = self.open_field(field)
            sources = self.values(field, "2")
            source = {"0": "isrc", "1": "upc", "2": "ismn", "3": "ean", "4": "sici"}.get(ind[0], "local")
            source = sources[0] if ind[0] == "7" and sources else source
            for value in self.values(field, "a"):
                self.typed(source, value, "024")
        for field in self.fields.get("035", []):
            self.open_field(field)
            for value in self.values(field, "a"):
                m = re.match(r"^\(([^)]+)\)\s*(.+)$", value)
                self.typed(m.group(1) if m else "local", m.group(2) if m else value, "035")

    def typed(self, kind: str, value: str, tag: str) -> None:
        parsed = typed_identifier(kind, value)
        if parsed is None:
            return
        wanted = scheme_for_type(kind)
        if wanted in ("isbn", "issn") and parsed[0]["scheme"] != wanted:
            self.b.note(f"MARC {tag} {value!r} is not a valid {wanted.upper()} (check digit); kept as "
                        f"{parsed[0]['scheme']}")
        self.b.identifier(*parsed)

    # -- notes and subjects -------------------------------------------------------------------

    def note(self, field: Any, tag: str) -> None:
        ind = self.open_field(field)
        self.values(field, "68")  # linkage: says nothing of its own
        if tag in ("506", "540"):
            uris = self.values(field, "u")
            self.b.rights(self.joined(field, "abcdefgq3"), uri=uris[0] if uris else None)
        elif tag == "524" and self.b.citation(self.joined(field, "a23")):
            return
        elif tag == "536":
            text = self.joined(field, "abcdefgh")
            self.b.funding(text, award=" ".join(self.values(field, "cdefg")) or None)
        elif tag == "520":
            self.b.description(self.joined(field, "abc3"), kind="abstract" if ind[0] == "3" else "summary")
        else:
            text = self.joined(field, "abcdefghijklmnopqrstuvwxyz0123459")
            self.b.description(text, kind=_NOTE_KINDS.get(tag, "note"))

    def subject(self, field: Any, tag: str) -> None:
        ind = self.open_field(field)
        scheme = _THESAURI.get(ind[1])
        sources = self.values(field, "2")
        if ind[1] == "7" and sources:
            scheme = sources[0]
        uris = [v for v in self.values(field, "01") if v.startswith("http")]
        self.values(field, "68")
        if tag == "653":
            for value in self.values(field, "a"):
                self.b.subject(term(strip_isbd(value)))
            return
        main = strip_isbd(self.joined(field, "abcdefghjklmnopqrstu"))
        subdivisions = [strip_isbd(v) for v in self.values(field, "vxyz")]
        value = " -- ".join(p for p in (main, *subdivisions) if p)
        if tag == "648":
            self.b.date(date_entry(value, "coverage"))
            return
        self.b.subject(term(value, scheme, uris[0] if uris else None))
        if tag == "651":
            self.b.place(term(main, scheme, uris[0] if uris else None))

    # -- relations and links --------------------------------------------------------------------

    def relations(self) -> None:
        for tag in ("760", "762", *sorted(_LINKS), "770", "772", "777", "786", "787"):
            for field in self.fields.get(tag, []):
                target = next((self.take(sf) for code, sf in self.subfields(field, "txzwo")
                               if clean(sf.text)), "")
                if target:
                    self.open_field(field)
                    self.b.relation(_LINKS.get(tag, "relation"), strip_isbd(target))
        for tag in ("440", "490", "830"):
            for field in self.fields.get(tag, []):
                self.open_field(field)
                series = strip_isbd(" ".join(self.values(field, "av")))
                self.b.relation("is_part_of", series)

    def link(self, field: Any) -> None:
        ind = self.open_field(field)
        for url in self.values(field, "u"):
            if ind[1] == "2":
                self.b.relation("relation", url)
                self.b.link(url)
                continue
            parsed = typed_identifier("uri", url)
            if parsed is not None:
                self.b.identifier(*parsed)


def fixed_dates(kind: str, first: str, second: str) -> list[dict[str, str]]:
    """``dates`` entries from 008/06 (date type), 07-10 and 11-14 (the two dates)."""
    one, two = marc_year(first), marc_year(second)
    note = f"MARC 008 date type {kind!r}"
    entries: list[tuple[str, str | None]] = []
    if kind == "s":
        entries = [("issued", one)]
    elif kind == "e":
        full = f"{one}-{second[:2]}-{second[2:]}" if re.fullmatch(r"\d{4}", second) else None
        entries = [("issued", full if full and is_edtf(full) else one)]
    elif kind == "r":
        entries = [("issued", one), ("created", two)]
    elif kind == "t":
        entries = [("issued", one), ("copyrighted", two)]
    elif kind in "mikcd" and one:
        end = ".." if second.strip() == "9999" else two
        kinds = {"i": "created", "k": "created"}
        entries = [(kinds.get(kind, "issued"), f"{one}/{end}" if end else None)]
        note += " (bulk dates)" if kind == "k" else ""
    elif kind == "q" and one and two:
        entries = [("issued", f"[{one.replace('X', '0')}..{two.replace('X', '9')}]")]
        note += " (questionable: one year in this range)"
    return [{"type": date_kind, "value": found, "note": note}
            for date_kind, value in entries if (found := checked(value))]


def crosswalk_marc(root: Any, identifier: str) -> dict[str, Any]:
    """The record fields of a MARCXML ``record`` (or ``collection``) root element."""
    return MarcCrosswalk(root).run(identifier)
