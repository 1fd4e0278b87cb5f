"""Deterministic synthetic oai_dc records and a thread-safe mutable store for them.

The records are deliberately messy in the ways real archival OAI-PMH feeds are messy
(mixed date forms, mixed language codes, DOIs in two spellings, repeated and
language-tagged titles, Cyrillic and accented text, long full-text descriptions) so the
harvester and validator are exercised on realistic input, yet every value is a pure
function of ``(seed, index)`` so tests can assert on exact content.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = [
    "DC_ELEMENTS",
    "DEFAULT_SETS",
    "DCValue",
    "LazyDC",
    "RecordStore",
    "SyntheticRecord",
    "format_datestamp",
    "make_record",
    "make_records",
    "parse_datestamp",
    "record_identifier",
    "set_name",
    "to_oai_dc_xml",
    "dc_xml_fragment",
]

UTC = timezone.utc
DEFAULT_SETS: tuple[str, ...] = ("history", "diplomacy", "science")
DEFAULT_START = datetime(2020, 1, 1, tzinfo=UTC)
DEFAULT_SPREAD = timedelta(days=3 * 365)
SECONDS_GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
DAY_GRANULARITY = "YYYY-MM-DD"

NS_OAI_DC = "http://www.openarchives.org/OAI/2.0/oai_dc/"
NS_DC = "http://purl.org/dc/elements/1.1/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_DC_SCHEMA = "http://www.openarchives.org/OAI/2.0/oai_dc.xsd"

#: The 15 unqualified Dublin Core elements, in the order records list them.
DC_ELEMENTS: tuple[str, ...] = (
    "title",
    "creator",
    "contributor",
    "subject",
    "description",
    "publisher",
    "date",
    "type",
    "format",
    "identifier",
    "source",
    "language",
    "relation",
    "coverage",
    "rights",
)

#: One Dublin Core statement: (element, value, xml:lang or None).
DCValue = tuple[str, str, str | None]


@dataclass(frozen=True, slots=True)
class SyntheticRecord:
    """One OAI item. Frozen so a store can swap versions without readers seeing half-edits."""

    identifier: str
    datestamp: datetime  # timezone-aware UTC, whole seconds
    sets: tuple[str, ...] = ()
    deleted: bool = False
    dc: Sequence[DCValue] = field(default_factory=tuple)  # ordered; a LazyDC when lazy
    index: int = -1  # position in the generator; -1 for hand-made records

    def values(self, element: str) -> list[str]:
        """All values of one DC element, in order (language tags dropped)."""
        return [v for (e, v, _lang) in self.dc if e == element]

    def as_map(self) -> dict[str, list[str]]:
        """Element -> values mapping, the shape ``oaipmh.common.Metadata`` expects."""
        result: dict[str, list[str]] = {}
        for element, value, _lang in self.dc:
            result.setdefault(element, []).append(value)
        return result


# ---------------------------------------------------------------------------
# Value pools
# ---------------------------------------------------------------------------

_TITLE_EN = (
    "Memorandum of conversation on {topic}",
    "Letter concerning {topic}",
    "Report of the commission on {topic}",
    "Minutes of the meeting about {topic}",
    "Telegram regarding {topic}",
    "Notes on {topic}",
)
_TITLE_RU = (
    "Меморандум о беседе: {topic}",
    "Письмо по вопросу: {topic}",
    "Доклад комиссии: {topic}",
    "Протокол заседания: {topic}",
)
_TITLE_FR = (
    "Compte rendu de la réunion sur {topic}",
    "Lettre à propos de {topic}",
)
_TOPICS_EN = (
    "the first crewed orbital flight",
    "nuclear test ban negotiations",
    "the Berlin crisis",
    "grain deliveries",
    "scientific exchange programmes",
    "the Antarctic Treaty",
    "satellite tracking stations",
    "cultural cooperation",
)
_TOPICS_RU = (
    "первый пилотируемый полёт",
    "переговоры о запрещении испытаний",
    "берлинский кризис",
    "научный обмен",
)
_TOPICS_FR = ("la coopération scientifique", "la crise de Berlin", "l'échange culturel")
_PERSONS = (
    "Gagarin, Yuri",
    "Korolev, Sergei",
    "Королёв, Сергей",
    "Müller, Jürgen",
    "Dvořák, Antonín",
    "O'Brien, Seán",
    "Kennedy, John F.",
    "Hammarskjöld, Dag",
    "Smith, Jane",
    "García Márquez, Gabriel",
    "Łukasiewicz, Jan",
    "Tereshkova, Valentina",
    "Терешкова, Валентина",
    "Nguyễn, Văn An",
)
_SUBJECTS = (
    "Space race",
    "Cold War",
    "Diplomacy",
    "Diplomatie",
    "Дипломатия",
    "Astronautics",
    "Космонавтика",
    "Arms control",
    "Science and state",
    "Relations extérieures",
    "Agriculture -- Soviet Union",
)
_PUBLISHERS = (
    "Example Archives",
    "Archives nationales de l'Exemple",
    "Государственный архив Примера",
    "Example University Library",
)
_TYPES = ("Text", "text", "Image", "StillImage", "letter", "Sound", "Dataset")
_FORMATS = ("application/pdf", "text/plain", "image/jpeg", "image/tiff", "1 folder (3 leaves)")
_LANGUAGES = ("en", "eng", "English", "rus", "ru", "fr", "fre")
_RIGHTS = (
    "In copyright",
    "http://rightsstatements.org/vocab/InC/1.0/",
    "Public domain",
    "CC BY 4.0",
    "Все права защищены",
)
_COVERAGE = ("Moscow (Russia)", "Москва", "Genève (Suisse)", "Washington, D.C.", "1961-1962")
_SOURCES = ("Fonds 5, opis 30, delo 367", "Box 12, folder 4", "Série B, carton 7")
_SENTENCES = (
    "The delegation was received at the ministry at ten o'clock.",
    "Both parties agreed to continue the exchange of scientific data.",
    "It was noted that the launch had been observed by several tracking stations.",
    "La délégation a exprimé sa satisfaction quant aux résultats obtenus.",
    "Стороны обменялись мнениями по широкому кругу вопросов.",
    "The memorandum was circulated to the members of the commission.",
    "Further negotiations were postponed until the spring session.",
    "Der Bericht wurde am folgenden Tag an das Außenministerium übermittelt.",
    "Copies were sent to the embassies in Paris, London and Washington.",
    "Ответ был направлен в Министерство иностранных дел.",
)


def record_identifier(index: int) -> str:
    """The OAI identifier of the ``index``-th synthetic record."""
    return f"oai:example.org:rec-{index:06d}"


def set_name(spec: str) -> str:
    """Human-readable setName for a setSpec."""
    return spec.replace("-", " ").replace(":", " / ").title()


def _datestamp_for(index: int, n: int, start: datetime, spread: timedelta) -> datetime:
    # Strictly increasing with index (at least 1 s apart) so from/until tests are easy.
    step = max(1, int(spread.total_seconds()) // max(n, 1))
    return start + timedelta(seconds=index * step)


def _date_value(rng: random.Random) -> str:
    year = rng.randint(1945, 1991)
    month = rng.randint(1, 12)
    day = rng.randint(1, 28)
    form = rng.randrange(4)
    if form == 0:
        return f"{year}-{month:02d}-{day:02d}"
    if form == 1:
        return f"{year}-{month:02d}"
    if form == 2:
        return f"{year}"
    return f"ca. {year}"  # not EDTF; validators should flag or normalise it


def _full_text(rng: random.Random, index: int) -> str:
    paragraphs = []
    for p in range(rng.randint(8, 14)):
        sentences = " ".join(rng.choice(_SENTENCES) for _ in range(rng.randint(3, 6)))
        paragraphs.append(f"[{p + 1}] {sentences}")
    return f"Full text of document {index}:\n\n" + "\n\n".join(paragraphs)


def make_record(
    index: int,
    *,
    n: int = 1,
    sets: Sequence[str] = DEFAULT_SETS,
    deleted_every: int = 0,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    spread: timedelta = DEFAULT_SPREAD,
    lazy: bool = False,
) -> SyntheticRecord:
    """Build record ``index`` of an ``n``-record collection; a pure function of its arguments.

    With ``lazy=True`` the Dublin Core is regenerated on each access instead of stored,
    which keeps a 100,000-record benchmark server around 40 MB instead of ~300 MB.
    """
    set_list = [sets[index % len(sets)]] if sets else []
    if sets and len(sets) > 1 and index % 7 == 0:
        set_list.append(sets[(index + 1) % len(sets)])
    deleted = bool(deleted_every) and (index + 1) % deleted_every == 0
    dc: Sequence[DCValue] = (
        LazyDC(index, seed, set_list[0] if set_list else "")
        if lazy
        else _make_dc(index, seed, set_list[0] if set_list else "")
    )
    return SyntheticRecord(
        identifier=record_identifier(index),
        datestamp=_datestamp_for(index, n, start, spread),
        sets=tuple(set_list),
        deleted=deleted,
        dc=dc,
        index=index,
    )


class LazyDC(Sequence[DCValue]):
    """Dublin Core of a generated record, recomputed from (index, seed) on access."""

    __slots__ = ("_index", "_seed", "_first_set")

    def __init__(self, index: int, seed: int, first_set: str) -> None:
        self._index = index
        self._seed = seed
        self._first_set = first_set

    def _values(self) -> tuple[DCValue, ...]:
        return _make_dc(self._index, self._seed, self._first_set)

    def __getitem__(self, i: Any) -> Any:
        return self._values()[i]

    def __len__(self) -> int:
        return len(self._values())

    def __iter__(self) -> Iterator[DCValue]:
        return iter(self._values())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and tuple(self) == tuple(other)

    __hash__ = None  # type: ignore[assignment]


def _make_dc(index: int, seed: int, first_set: str) -> tuple[DCValue, ...]:
    rng = random.Random(f"stook-synthetic:{seed}:{index}")
    dc: list[DCValue] = []

    # title: sometimes repeated with xml:lang translations
    topic_i = rng.randrange(len(_TOPICS_EN))
    title_en = rng.choice(_TITLE_EN).format(topic=_TOPICS_EN[topic_i])
    variant = index % 5
    if variant == 0:
        dc.append(("title", title_en, "en"))
        topic_ru = _TOPICS_RU[topic_i % len(_TOPICS_RU)]
        dc.append(("title", rng.choice(_TITLE_RU).format(topic=topic_ru), "ru"))
    elif variant == 1:
        dc.append(("title", rng.choice(_TITLE_FR).format(topic=rng.choice(_TOPICS_FR)), "fr"))
    elif variant == 2:
        topic_ru = _TOPICS_RU[topic_i % len(_TOPICS_RU)]
        dc.append(("title", rng.choice(_TITLE_RU).format(topic=topic_ru), None))
    else:
        dc.append(("title", f"{title_en} (no. {index})", None))

    people = rng.sample(_PERSONS, 4)
    for person in people[: rng.randint(1, 3)]:
        dc.append(("creator", person, None))
    if rng.random() < 0.5:
        dc.append(("contributor", people[3], None))
    for subject in rng.sample(_SUBJECTS, rng.randint(1, 3)):
        lang = "ru" if any("\u0400" <= ch <= "\u04ff" for ch in subject) else None
        dc.append(("subject", subject, lang))

    dc.append(("description", " ".join(rng.choice(_SENTENCES) for _ in range(2)), None))
    if index % 10 == 3:
        dc.append(("description", _full_text(rng, index), None))

    dc.append(("publisher", rng.choice(_PUBLISHERS), None))
    dc.append(("date", _date_value(rng), None))
    dc.append(("type", rng.choice(_TYPES), None))
    dc.append(("format", rng.choice(_FORMATS), None))

    dc.append(("identifier", f"https://example.org/doc/{index}", None))
    kind = index % 6
    if kind == 1:
        dc.append(("identifier", f"doi:10.1234/abc.{index}", None))
    elif kind == 2:
        dc.append(("identifier", f"https://doi.org/10.1234/abc.{index}", None))
    elif kind == 3:
        dc.append(("identifier", f"hdl:20.500.12345/{index}", None))
    elif kind == 4:
        dc.append(("identifier", f"https://hdl.handle.net/20.500.12345/{index}", None))

    if rng.random() < 0.6:
        dc.append(("source", rng.choice(_SOURCES), None))
    for lang in rng.sample(_LANGUAGES, 1 if rng.random() < 0.8 else 2):
        dc.append(("language", lang, None))

    if first_set and rng.random() < 0.5:
        dc.append(("relation", f"https://example.org/collection/{first_set}", None))
    if rng.random() < 0.4:
        dc.append(("coverage", rng.choice(_COVERAGE), None))
    dc.append(("rights", rng.choice(_RIGHTS), None))
    return tuple(dc)


def make_records(
    n: int,
    *,
    sets: Sequence[str] = DEFAULT_SETS,
    deleted_every: int = 0,
    seed: int = 0,
    start: datetime = DEFAULT_START,
    spread: timedelta = DEFAULT_SPREAD,
    lazy: bool = False,
) -> list[SyntheticRecord]:
    """``n`` records with strictly increasing datestamps spread over ``[start, start+spread)``.

    ``deleted_every=k`` marks every k-th record (k-1, 2k-1, ...) deleted. Each record is
    in set ``sets[i % len(sets)]``; every 7th is also in the next set. ``lazy=True``
    regenerates Dublin Core on access (for 100k-record benchmarks).
    """
    return [
        make_record(
            i,
            n=n,
            sets=sets,
            deleted_every=deleted_every,
            seed=seed,
            start=start,
            spread=spread,
            lazy=lazy,
        )
        for i in range(n)
    ]


# ---------------------------------------------------------------------------
# Datestamps
# ---------------------------------------------------------------------------


def format_datestamp(dt: datetime, granularity: str = SECONDS_GRANULARITY) -> str:
    """UTC datestamp in one of the two OAI-PMH granularities."""
    if dt.tzinfo is not None:
        dt = dt.astimezone(UTC)
    if granularity == DAY_GRANULARITY:
        return dt.strftime("%Y-%m-%d")
    return dt.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_datestamp(value: str, *, end_of_day: bool = False) -> tuple[datetime, str]:
    """Parse an OAI-PMH datestamp; returns (aware UTC datetime, granularity).

    Day values become 00:00:00, or 23:59:59 when ``end_of_day`` (for inclusive ``until``).
    Raises ValueError for anything else (e.g. missing Z, fractional seconds, offsets).
    """
    if len(value) == 10:
        day = datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
        if end_of_day:
            day = day.replace(hour=23, minute=59, second=59)
        return day, DAY_GRANULARITY
    if len(value) == 20 and value.endswith("Z"):
        return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC), (SECONDS_GRANULARITY)
    raise ValueError(f"not an OAI-PMH datestamp: {value!r}")


# ---------------------------------------------------------------------------
# Serialisation
# ---------------------------------------------------------------------------


def _escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _escape_attr(value: str) -> str:
    return _escape_text(value).replace('"', "&quot;")


def dc_xml_fragment(record: SyntheticRecord, *, text_filter: Any = None) -> str:
    """The ``<oai_dc:dc>`` element as a str, built by concatenation (fast, and able to
    carry deliberately illegal characters when ``text_filter`` injects them)."""
    parts = [
        f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="{NS_DC}" xmlns:xsi="{NS_XSI}" '
        f'xsi:schemaLocation="{NS_OAI_DC} {OAI_DC_SCHEMA}">'
    ]
    for element, value, lang in record.dc:
        text = _escape_text(value)
        if text_filter is not None:
            text = text_filter(element, text)
        lang_attr = f' xml:lang="{_escape_attr(lang)}"' if lang else ""
        parts.append(f"<dc:{element}{lang_attr}>{text}</dc:{element}>")
    parts.append("</oai_dc:dc>")
    return "".join(parts)


def to_oai_dc_xml(record: SyntheticRecord, *, xml_declaration: bool = False) -> bytes:
    """Serialise a record's Dublin Core as an ``oai_dc:dc`` document (UTF-8 bytes)."""
    body = dc_xml_fragment(record)
    if xml_declaration:
        body = '<?xml version="1.0" encoding="UTF-8"?>\n' + body
    return body.encode("utf-8")


# ---------------------------------------------------------------------------
# Mutable store shared by the providers
# ---------------------------------------------------------------------------


def _utc_now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _as_dc(element: str, value: Any) -> list[DCValue]:
    """Accept "text", ("text", "lang") or a list of either for one DC element."""
    items = value if isinstance(value, list) else [value]
    out: list[DCValue] = []
    for item in items:
        if isinstance(item, tuple):
            out.append((element, str(item[0]), item[1]))
        else:
            out.append((element, str(item), None))
    return out


class RecordStore:
    """A thread-safe, mutable, insertion-ordered collection of records.

    Providers page through ``select(...)`` results by offset. The filtered view is cached
    per (set, from, until) until the next mutation, so serving page k of 100,000 records
    costs O(page) instead of a full rescan. Records keep their position when updated or
    deleted (deletion is persistent), so offsets in resumption tokens stay meaningful.
    """

    def __init__(self, records: Iterable[SyntheticRecord] = ()) -> None:
        self._lock = threading.RLock()
        self._records: list[SyntheticRecord] = []
        self._positions: dict[str, int] = {}
        self._cache: dict[tuple[Any, ...], list[SyntheticRecord]] = {}
        self._set_specs: set[str] = set()
        self.version = 0
        for record in records:
            self._append(record)

    def _append(self, record: SyntheticRecord) -> None:
        if record.identifier in self._positions:
            raise ValueError(f"duplicate identifier {record.identifier}")
        self._positions[record.identifier] = len(self._records)
        self._records.append(record)
        self._set_specs.update(record.sets)

    def _changed(self) -> None:
        self.version += 1
        self._cache.clear()

    def _next_datestamp(self) -> datetime:
        # Strictly after everything in the store, so an incremental harvest from the last
        # harvest's responseDate always sees the change.
        latest = max((r.datestamp for r in self._records), default=DEFAULT_START)
        return max(_utc_now(), latest + timedelta(seconds=1))

    def __len__(self) -> int:
        return len(self._records)

    def __iter__(self) -> Iterator[SyntheticRecord]:
        with self._lock:
            return iter(list(self._records))

    def get(self, identifier: str) -> SyntheticRecord | None:
        """The current version of a record, or None."""
        with self._lock:
            pos = self._positions.get(identifier)
            return None if pos is None else self._records[pos]

    def set_specs(self) -> list[str]:
        """All setSpecs any record (ever) belonged to, sorted."""
        with self._lock:
            return sorted(self._set_specs)

    def earliest_datestamp(self) -> datetime:
        """Earliest datestamp in the store (DEFAULT_START if empty)."""
        with self._lock:
            return min((r.datestamp for r in self._records), default=DEFAULT_START)

    def update(
        self, identifier: str, *, datestamp: datetime | None = None, **changes: Any
    ) -> SyntheticRecord:
        """Change a record and bump its datestamp.

        ``changes`` may name record fields (``sets``, ``dc``, ``deleted``) or DC elements
        (``title="New"``, ``creator=["A, B", ("Б, В", "ru")]``), which replace all values
        of that element.
        """
        with self._lock:
            pos = self._positions[identifier]
            record = self._records[pos]
            field_changes: dict[str, Any] = {}
            dc = list(record.dc)
            for key, value in changes.items():
                if key in ("sets", "dc", "deleted"):
                    field_changes[key] = tuple(value) if key in ("sets", "dc") else bool(value)
                elif key in DC_ELEMENTS:
                    first = next((i for i, d in enumerate(dc) if d[0] == key), len(dc))
                    dc = [d for d in dc if d[0] != key]
                    dc[first:first] = _as_dc(key, value)
                else:
                    raise TypeError(f"unknown record field {key!r}")
            if "dc" not in field_changes:
                field_changes["dc"] = tuple(dc)
            new = dataclasses.replace(record, datestamp=datestamp or self._next_datestamp(), **field_changes)
            self._records[pos] = new
            self._set_specs.update(new.sets)
            self._changed()
            return new

    def delete(self, identifier: str, *, datestamp: datetime | None = None) -> SyntheticRecord:
        """Mark a record deleted (persistent deletion) with a new datestamp."""
        return self.update(identifier, datestamp=datestamp, deleted=True)

    def add(self, record: SyntheticRecord | None = None, **fields: Any) -> SyntheticRecord:
        """Append a record: the given one, or a fresh synthetic one (``fields`` override).

        A fresh record gets the next free index, a new datestamp and, unless given,
        the generator's content for that index.
        """
        with self._lock:
            if record is None:
                index = len(self._records)
                while record_identifier(index) in self._positions:
                    index += 1
                base = make_record(index, n=index + 1)
                dc_changes = {k: v for k, v in fields.items() if k in DC_ELEMENTS}
                other = {k: v for k, v in fields.items() if k not in DC_ELEMENTS}
                dc = list(base.dc)
                for key, value in dc_changes.items():
                    dc = [d for d in dc if d[0] != key] + _as_dc(key, value)
                other.setdefault("datestamp", self._next_datestamp())
                if "sets" in other:
                    other["sets"] = tuple(other["sets"])
                record = dataclasses.replace(base, dc=tuple(dc), **other)
            elif fields:
                raise TypeError("pass either a record or fields, not both")
            self._append(record)
            self._changed()
            return record

    def select(
        self,
        *,
        set_spec: str | None = None,
        from_: datetime | None = None,
        until: datetime | None = None,
    ) -> Sequence[SyntheticRecord]:
        """Records matching an OAI selective-harvest request, in store order.

        Set membership is hierarchical (``a`` matches ``a:b``); ``from_``/``until`` are
        inclusive, aware UTC datetimes. The result is shared: don't mutate it.
        """
        key = (set_spec, from_, until)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                return cached
            prefix = f"{set_spec}:" if set_spec else ""
            result = [
                r
                for r in self._records
                if (set_spec is None or any(s == set_spec or s.startswith(prefix) for s in r.sets))
                and (from_ is None or r.datestamp >= from_)
                and (until is None or r.datestamp <= until)
            ]
            if len(self._cache) >= 32:
                self._cache.clear()
            self._cache[key] = result
            return result
