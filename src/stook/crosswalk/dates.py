"""Dates as written -> EDTF, only where the reading is certain.

Every form below has one reading; anything with two (``04/05/1961``: April or May?)
keeps only its ``display`` text. A value is given only when it (a) is EDTF by the
``edtf`` package's grammar and (b) contains every four-digit year written in the
source, so a parse can never move a date to another year.

Forms read (with ``~`` for approximate, ``?`` for uncertain, ``%`` for both):
``(1876)``/``[1876]`` -> ``1876``; ``May 2015``, ``5 May 2015``, ``May 5, 2015``,
``2015 May 5`` (English, French, German, Spanish, Italian, Portuguese, Dutch,
Russian month names) -> ``2015-05``/``2015-05-05``; ``Spring 2003`` -> ``2003-21``
(EDTF seasons 21-24); ``ca. 1870``, ``[ca. 1870]``, ``circa 1870``, ``c1870`` ->
``1870~``; ``1870?``, ``[1870?]`` -> ``1870?``; ``[19--]``, ``19uu`` -> ``19XX``;
``196-`` -> ``196X``; ``1950s``, ``1960's`` -> ``195X``, ``196X`` (not ``1900s``:
decade or century?); ``12-20-2007`` and ``20.12.2007`` -> ``2007-12-20`` (one number
above 12 settles the order); ``19610426`` -> ``1961-04-26``; ranges of any of these
with ``-``, ``/``, ``to``, ``–`` (``1945?-1950?`` -> ``1945?/1950?``, ``1961-62`` ->
``1961/1962``, ``April 26-28, 1961`` -> ``1961-04-26/1961-04-28``); ``1966-`` ->
``1966/..``. ``©1950`` is a copyright date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from stook.crosswalk.common import clean
from stook.schema import is_edtf

_MONTH_NAMES: tuple[tuple[str, ...], ...] = (
    ("january", "jan", "janvier", "janv", "januar", "jänner", "enero", "ene", "gennaio", "gen",
     "janeiro", "januari", "январь", "января", "янв"),
    ("february", "feb", "février", "fevrier", "févr", "fevr", "februar", "febrero", "febbraio",
     "fevereiro", "fev", "februari", "февраль", "февраля", "фев"),
    ("march", "mar", "mars", "märz", "maerz", "mär", "mrz", "marzo", "março", "marco", "maart",
     "март", "марта"),
    ("april", "apr", "avril", "avr", "abril", "abr", "aprile", "апрель", "апреля", "апр"),
    ("may", "mai", "mayo", "maggio", "maio", "mei", "май", "мая"),
    ("june", "jun", "juin", "juni", "junio", "giugno", "giu", "junho", "июнь", "июня", "июн"),
    ("july", "jul", "juillet", "juil", "juli", "julio", "luglio", "lug", "julho", "июль", "июля",
     "июл"),
    ("august", "aug", "août", "aout", "agosto", "ago", "augustus", "август", "августа", "авг"),
    ("september", "sep", "sept", "septembre", "septiembre", "settembre", "set", "setembro",
     "сентябрь", "сентября", "сен", "сент"),
    ("october", "oct", "octobre", "oktober", "okt", "octubre", "ottobre", "ott", "outubro", "out",
     "октябрь", "октября", "окт"),
    ("november", "nov", "novembre", "noviembre", "novembro", "ноябрь", "ноября", "ноя"),
    ("december", "dec", "décembre", "decembre", "déc", "dezember", "dez", "diciembre", "dic",
     "dicembre", "dezembro", "декабрь", "декабря", "дек"),
)
MONTHS: dict[str, int] = {name: i + 1 for i, names in enumerate(_MONTH_NAMES) for name in names}
SEASONS: dict[str, int] = {
    "spring": 21, "summer": 22, "autumn": 23, "fall": 23, "winter": 24,
    "printemps": 21, "été": 22, "automne": 23, "hiver": 24,
    "frühling": 21, "frühjahr": 21, "sommer": 22, "herbst": 23,
    "primavera": 21, "verano": 22, "otoño": 23, "invierno": 24,
    "estate": 22, "autunno": 23, "inverno": 24,
    "весна": 21, "лето": 22, "осень": 23, "зима": 24,
}

_APPROX = r"(?:ca\.?|circa|c\.|approx\.?|approximately|about|around|abt\.?|vers|um|etwa|около|ок\.?)"
_APPROX_PREFIX = re.compile(rf"^{_APPROX}\s*(.+)$", re.IGNORECASE)
_COMPACT_C = re.compile(r"^c(\d{4}s?|\d{4}'s|\d{3}-|\d{2}--)$")  # c1950: the cataloguer's mark
_COPYRIGHT = re.compile(r"^(?:©|\(c\)|copyright)\s*(\d{4})$", re.IGNORECASE)
_UNCERTAIN_SUFFIX = re.compile(r"^(.+?)\s*(?:\?|\(\?\)|\[\?\])$")
_YEAR_WORDS = re.compile(r"\s*(?:г\.|гг\.|г|года|год)$")
_SOURCE_YEARS = re.compile(r"(?<!\d)(\d{4})(?!\d)")
_UNDATED = re.compile(
    r"^(?:n\.?\s?d\.?|s\.?\s?d\.?|undated|unknown|no date|sans date|o\.\s?j\.)$", re.IGNORECASE
)

_ISO_DATE = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})$")
_NUMERIC_DMY = re.compile(r"^(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})[-.](\d{1,2})$")
_MONTH_YEAR = re.compile(r"^(\d{1,2})[/.](\d{4})$")
_COMPACT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_DECADE = re.compile(r"^(?:the\s+)?(\d{3})0'?s$", re.IGNORECASE)
_UNKNOWN_DIGITS = re.compile(r"^(\d{2})(?:--|uu|xx|XX)$|^(\d{3})(?:-|u|x|X)$")
_WORD = r"([^\W\d_]+\.?)"
_DAY = r"(\d{1,2})(?:st|nd|rd|th|er|\.)?"
_D_MONTH_Y = re.compile(rf"^{_DAY}\s+(?:de\s+)?{_WORD},?\s+(?:de\s+)?(\d{{4}})$", re.IGNORECASE)
_MONTH_D_Y = re.compile(rf"^{_WORD}\s+{_DAY},?\s+(\d{{4}})$", re.IGNORECASE)
_MONTH_Y = re.compile(rf"^{_WORD},?\s+(?:de\s+)?(\d{{4}})$", re.IGNORECASE)
_Y_MONTH_D = re.compile(rf"^(\d{{4}}),?\s+{_WORD}(?:\s+{_DAY})?$", re.IGNORECASE)
# ranges inside one month or year: "April 26-28, 1961", "26-28 April 1961", "1961 April 26-28",
# "May-June 1961"
_MONTH_DD_Y = re.compile(rf"^{_WORD}\s+(\d{{1,2}})\s*[-–]\s*(\d{{1,2}}),?\s+(\d{{4}})$")
_DD_MONTH_Y = re.compile(rf"^(\d{{1,2}})\.?\s*[-–]\s*(\d{{1,2}})\.?\s+{_WORD},?\s+(\d{{4}})$")
_Y_MONTH_DD = re.compile(rf"^(\d{{4}}),?\s+{_WORD}\s+(\d{{1,2}})\s*[-–]\s*(\d{{1,2}})$")
_MONTHS_Y = re.compile(rf"^{_WORD}\s*[-–/]\s*{_WORD},?\s+(\d{{4}})$")
_RANGE_SEPARATORS = re.compile(r"\s+(?:-|–|—|to|until|till|through|thru|bis|à|au|a|по)\s+|\s*(?:–|—|/|-)\s*")
_OPEN_END = re.compile(r"^(.+?)\s*(?:-|–|—)\s*(?:present|today|date|heute|présent)?$", re.IGNORECASE)
_BETWEEN = re.compile(r"^between\s+(.+?)\s+and\s+(.+)$", re.IGNORECASE)
# EDTF strings the grammar accepts but sources mean otherwise: "1921-24" (a season in
# EDTF, 1921 to 1924 on paper), "-1961" (1962 BC in EDTF), "0000" (a placeholder)
_MISLEADING_EDTF = re.compile(r"^\d{4}-(?:1[3-9]|[2-9]\d)$|^-|^0000")
# Only strings made of EDTF's characters are worth the grammar (~5 ms a call).
_EDTF_CHARS = re.compile(r"^[0-9XTZSEY:+\-/?~%.\[\]{},^]+$")
# A year in an EDTF value: four characters at the start of a date, X for unknown digits.
_EDTF_YEAR = re.compile(r"(?:^|(?<=[/\[{,.]))(\d{4}|\d{3}X|\d{2}XX)(?![0-9X])")


@dataclass(frozen=True)
class Point:
    """One date: its EDTF text, a sort key and the years it can fall in."""

    edtf: str
    key: tuple[int, int, int]
    lo: int
    hi: int


def _point(year: int, month: int | None = None, day: int | None = None) -> Point | None:
    if not 1000 <= year <= 2999:
        return None
    if month is None:
        return Point(f"{year:04d}", (year, 0, 0), year, year)
    if 21 <= month <= 24 and day is None:  # EDTF seasons
        return Point(f"{year:04d}-{month}", (year, month - 18, 0), year, year)
    if not 1 <= month <= 12:
        return None
    if day is None:
        return Point(f"{year:04d}-{month:02d}", (year, month, 0), year, year)
    try:
        date(year, month, day)
    except ValueError:
        return None
    return Point(f"{year:04d}-{month:02d}-{day:02d}", (year, month, day), year, year)


def _month(word: str) -> int | None:
    return MONTHS.get(word.casefold().rstrip("."))


def _qualified(point: Point | None, mark: str) -> Point | None:
    if point is None or not mark:
        return point
    if point.edtf[-1] == mark:
        return point
    if point.edtf[-1] in "?~%":  # approximate and uncertain: both
        return Point(point.edtf[:-1] + "%", point.key, point.lo, point.hi)
    return Point(point.edtf + mark, point.key, point.lo, point.hi)


def _strip(text: str) -> str:
    """Brackets, parentheses and trailing punctuation around a whole date."""
    while True:
        before = text
        text = text.strip().rstrip(".,;:").strip() if not text.endswith(("ca.", "c.")) else text.strip()
        if len(text) > 2 and text[0] + text[-1] in ("[]", "()") and text.count(text[0]) == 1:
            text = text[1:-1]
        text = _YEAR_WORDS.sub("", text)
        if text == before:
            return text


def single(text: str) -> Point | None:
    """One date (no range) as a Point, or None when there is no certain reading."""
    text = _strip(text)
    if not text:
        return None
    uncertain = _UNCERTAIN_SUFFIX.match(text)
    if uncertain:
        return _qualified(single(uncertain.group(1)), "?")
    compact = _COMPACT_C.match(text)
    if compact:
        return _qualified(single(compact.group(1)), "~")
    approx = _APPROX_PREFIX.match(text)
    if approx:
        return _qualified(single(approx.group(1)), "~")
    return _plain(text)


def _plain(text: str) -> Point | None:  # noqa: C901 - one branch per written form
    if m := _YEAR.match(text):
        return _point(int(m.group(1)))
    if m := _ISO_DATE.match(text):
        return _point(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _YEAR_MONTH.match(text):
        month = int(m.group(2))
        return _point(int(m.group(1)), month) if month <= 12 else None
    if m := _MONTH_YEAR.match(text):
        return _point(int(m.group(2)), int(m.group(1)))
    if m := _NUMERIC_DMY.match(text):
        first, second, year = int(m.group(1)), int(m.group(2)), int(m.group(3))
        if first > 12 >= second:
            return _point(year, second, first)
        if second > 12 >= first or first == second:
            return _point(year, first, second)
        return None  # 04/05/1961: April 5 or May 4
    if m := _COMPACT_DATE.match(text):
        return _point(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    if m := _DECADE.match(text):
        if m.group(1).endswith("0"):
            return None  # 1900s: the decade or the century?
        lo = int(m.group(1)) * 10
        return Point(f"{m.group(1)}X", (lo, 0, 0), lo, lo + 9) if 1000 <= lo <= 2990 else None
    if m := _UNKNOWN_DIGITS.match(text):
        if m.group(1):
            lo = int(m.group(1)) * 100
            return Point(f"{m.group(1)}XX", (lo, 0, 0), lo, lo + 99) if lo >= 1000 else None
        lo = int(m.group(2)) * 10
        return Point(f"{m.group(2)}X", (lo, 0, 0), lo, lo + 9) if lo >= 1000 else None
    return _worded(text)


def _worded(text: str) -> Point | None:
    if m := _D_MONTH_Y.match(text):
        month = _month(m.group(2))
        return _point(int(m.group(3)), month, int(m.group(1))) if month else None
    if m := _MONTH_D_Y.match(text):
        month = _month(m.group(1))
        return _point(int(m.group(3)), month, int(m.group(2))) if month else None
    if m := _MONTH_Y.match(text):
        word = m.group(1).casefold().rstrip(".")
        month = MONTHS.get(word) or SEASONS.get(word)
        return _point(int(m.group(2)), month) if month else None
    if m := _Y_MONTH_D.match(text):
        word = m.group(2).casefold().rstrip(".")
        day = int(m.group(3)) if m.group(3) else None
        month = MONTHS.get(word) or (SEASONS.get(word) if day is None else None)
        return _point(int(m.group(1)), month, day) if month else None
    return None


def _span(first: Point | None, last: Point | None) -> str | None:
    if first is None or last is None or first.key > last.key:
        return None
    if first.edtf == last.edtf:
        return first.edtf
    return f"{first.edtf}/{last.edtf}"


def _two_digit_end(first: Point, tail: str) -> Point | None:
    """``1961-62``: the end year written with two digits (never a month: above 12)."""
    if not re.fullmatch(r"\d{2}", tail) or first.edtf[:4] != str(first.lo):
        return None
    end = int(tail)
    # 1-12 would be a month, 21-24 an EDTF season: two readings, so none
    if end <= 12 or 21 <= end <= 24 or end <= first.lo % 100:
        return None
    return _point(first.lo - first.lo % 100 + end)


def _days(year: int, month: int | None, first: str, last: str) -> str | None:
    if month is None:
        return None
    return _span(_point(year, month, int(first)), _point(year, month, int(last)))


def _within(text: str) -> str | None:
    """Ranges inside one month or year, written with the month or year once."""
    if m := _MONTH_DD_Y.match(text):
        return _days(int(m.group(4)), _month(m.group(1)), m.group(2), m.group(3))
    if m := _DD_MONTH_Y.match(text):
        return _days(int(m.group(4)), _month(m.group(3)), m.group(1), m.group(2))
    if m := _Y_MONTH_DD.match(text):
        return _days(int(m.group(1)), _month(m.group(2)), m.group(3), m.group(4))
    if m := _MONTHS_Y.match(text):
        start, end, year = _month(m.group(1)), _month(m.group(2)), int(m.group(3))
        return _span(_point(year, start), _point(year, end)) if start and end else None
    return None


def _range(text: str) -> str | None:
    if m := _BETWEEN.match(text):
        return _span(single(m.group(1)), single(m.group(2)))
    found = _within(text)
    if found:
        return found
    for match in _RANGE_SEPARATORS.finditer(text):
        head, tail = text[: match.start()], text[match.end():]
        if not head or not tail:
            continue
        first = single(head)
        if first is None:
            continue
        last = single(tail) or _two_digit_end(first, tail.strip())
        if last is not None:
            return _span(first, last)
    if m := _OPEN_END.match(text):
        first = single(m.group(1))
        if first is not None and m.group(1) != text:
            return f"{first.edtf}/.."
    return None


def edtf_years(value: str) -> tuple[float, float] | None:
    """The first and last year an EDTF value can mean (open ends are infinite), or None."""
    lows: list[float] = []
    highs: list[float] = []
    for token in _EDTF_YEAR.findall(value):
        lows.append(int(token.replace("X", "0")))
        highs.append(int(token.replace("X", "9")))
    if not lows:
        return None
    lo, hi = min(lows), max(highs)
    if value.startswith("../"):
        lo = float("-inf")
    if value.endswith("/.."):
        hi = float("inf")
    return lo, hi


def _years_agree(source: str, value: str) -> bool:
    """Every four-digit year written in ``source`` falls within the value's years,
    and an interval runs forwards (the grammar accepts ``1010/1000``)."""
    span = edtf_years(value)
    if span is None:
        return False
    ends = [[int(n) for n in re.findall(r"\d+", part.replace("X", "0"))[:3]]
            for part in re.split(r"/|\.\.", value.strip("[]{}")) if part]
    if len(ends) == 2 and ends[0] > ends[1]:
        return False
    return all(span[0] <= year <= span[1] for year in source_years(source))


@lru_cache(maxsize=16384)
def to_edtf(text: str) -> str | None:
    """The EDTF value of a date as written (labels already removed), or None."""
    text = clean(text)
    if not text or _UNDATED.match(_strip(text)):
        return None
    value: str | None = None
    if _EDTF_CHARS.match(text) and not _MISLEADING_EDTF.match(text) and is_edtf(text):
        value = text
    else:
        point = single(text)
        value = point.edtf if point is not None else _range(_strip(text))
    if value is None and re.match(r"^\d{4}-\d{2}-\d{2}[T ]\d", text):
        value = text[:10]  # a timestamp EDTF cannot read: its day is certain
    if value is None or not is_edtf(value) or not _years_agree(text, value):
        return None
    return value


def checked(value: str | None, source: str = "") -> str | None:
    """``value`` if it is EDTF, runs forwards and holds every year written in ``source``; else None.

    For values a source gives ready-made (MODS ``encoding="edtf"``, MARC 008), which the
    grammar alone would let through inverted (``1990/1980``).
    """
    if not value or not is_edtf(value) or not _years_agree(source, value):
        return None
    return value


def copyright_year(text: str) -> str | None:
    """``©1950``, ``(c) 1950``, ``copyright 1950`` -> ``1950``."""
    m = _COPYRIGHT.match(clean(text))
    return m.group(1) if m else None


def source_years(text: str) -> list[int]:
    """The four-digit years written in a text (what every EDTF value must agree with)."""
    return [int(y) for y in _SOURCE_YEARS.findall(text)]


def marc_year(text: str) -> str | None:
    """A year as MARC writes it, ``u`` for each unknown digit: ``1961``, ``196u`` -> ``196X``, ``19uu``."""
    m = re.fullmatch(r"(\d{4})|(\d{3})u|(\d{2})uu", text.strip().lower())
    if m is None:
        return None
    if m.group(1):
        return m.group(1) if 1000 <= int(m.group(1)) <= 2999 else None
    if m.group(2):
        return m.group(2) + "X" if int(m.group(2)) >= 100 else None
    return m.group(3) + "XX" if int(m.group(3)) >= 10 else None
