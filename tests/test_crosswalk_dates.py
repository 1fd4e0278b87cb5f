"""Dates as archives write them -> EDTF where the reading is certain, never a wrong value.

Every value is checked with the ``edtf`` package itself: it must parse, and its
bounds must hold every four-digit year written in the source.
"""

from __future__ import annotations

import math
import re

import edtf
import pytest
from support.oai_records import dc_doc, oai_record, walk

from stook.crosswalk import date_entry
from stook.crosswalk.dates import marc_year, to_edtf
from stook.schema import validate_record

CERTAIN = [
    ("(1876)", "1876"),
    ("[1876]", "1876"),
    ("1876.", "1876"),
    ("May 2015", "2015-05"),
    ("Sept. 1961", "1961-09"),
    ("5 May 2015", "2015-05-05"),
    ("5th May 2015", "2015-05-05"),
    ("May 5, 2015", "2015-05-05"),
    ("1961 April 26", "1961-04-26"),
    ("26 avril 1961", "1961-04-26"),
    ("26. April 1961", "1961-04-26"),
    ("26 de abril de 1961", "1961-04-26"),
    ("26 апреля 1961 г.", "1961-04-26"),
    ("Spring 2003", "2003-21"),
    ("summer 1961", "1961-22"),
    ("Fall 2004", "2004-23"),
    ("Winter, 1999", "1999-24"),
    ("[ca. 1870]", "1870~"),
    ("ca. 1870", "1870~"),
    ("circa 1870", "1870~"),
    ("c. 1870", "1870~"),
    ("c1950", "1950~"),
    ("ca. 1870?", "1870%"),
    ("1870?", "1870?"),
    ("[1870?]", "1870?"),
    ("1870 (?)", "1870?"),
    ("[19--]", "19XX"),
    ("19uu", "19XX"),
    ("196-", "196X"),
    ("[196-?]", "196X?"),
    ("1950s", "195X"),
    ("1960's", "196X"),
    ("the 1960s", "196X"),
    ("c. 1950s", "195X~"),
    ("1945?-1950?", "1945?/1950?"),
    ("1961-1962", "1961/1962"),
    ("1961 - 1962", "1961/1962"),
    ("1961 to 1962", "1961/1962"),
    ("between 1950 and 1960", "1950/1960"),
    ("1961-62", "1961/1962"),
    ("1998-99", "1998/1999"),
    ("April 26-28, 1961", "1961-04-26/1961-04-28"),
    ("26-28 April 1961", "1961-04-26/1961-04-28"),
    ("May-June 1961", "1961-05/1961-06"),
    ("Spring 2003 - Fall 2004", "2003-21/2004-23"),
    ("1966-", "1966/.."),
    ("1966 - present", "1966/.."),
    ("12-20-2007", "2007-12-20"),
    ("20-12-2007", "2007-12-20"),
    ("20.12.2007", "2007-12-20"),
    ("05/05/1961", "1961-05-05"),
    ("4/1961", "1961-04"),
    ("1961-4-26", "1961-04-26"),
    ("19610426", "1961-04-26"),
    ("1961-04-26", "1961-04-26"),
    ("1961-04-14/1961-04-26", "1961-04-14/1961-04-26"),
    ("196X", "196X"),
    ("2007-12-20T10:00:00Z", "2007-12-20T10:00:00Z"),
    ("2007-12-20 10:00", "2007-12-20"),
]
# Two readings (or none): display only, never a guess.
UNCERTAIN = [
    "04/05/1961",  # April 5 or May 4
    "1900s",  # the decade or the century
    "1921-24",  # 1921 to 1924, or winter 1921 in EDTF
    "2003-21",  # written as EDTF season, or 2003 to 2021
    "-1961",  # until 1961, or 1962 BC in EDTF
    "0000",
    "n.d.",
    "[n.d.]",
    "undated",
    "19th century",
    "1962-1961",  # backwards
    "Spring",
    "May 32, 2015",
    "1961-02-29",
    "1961, 1965 and 1970",
    "before 1870",
    "12/13/14",
    "sometime in 1961 or 1962",
]


def years_agree(source: str, value: str) -> bool:
    """The ``edtf`` package's own bounds hold every year written in the source."""
    parsed = edtf.parse_edtf(value)
    low, high = parsed.lower_strict(), parsed.upper_strict()
    low_year = low.tm_year if hasattr(low, "tm_year") else -math.inf
    high_year = high.tm_year if hasattr(high, "tm_year") else math.inf
    return all(low_year <= int(y) <= high_year for y in re.findall(r"(?<!\d)\d{4}(?!\d)", source))


@pytest.mark.parametrize(("written", "expected"), CERTAIN)
def test_certain_forms_get_their_edtf_value(written: str, expected: str) -> None:
    assert to_edtf(written) == expected
    assert years_agree(written, expected)
    assert date_entry(written) == {"type": "unspecified", "value": expected, "display": written}


@pytest.mark.parametrize("written", UNCERTAIN)
def test_uncertain_forms_keep_display_only(written: str) -> None:
    assert to_edtf(written) is None
    assert date_entry(written) == {"type": "unspecified", "display": written}


def test_labels_say_the_kind_and_stay_in_display() -> None:
    assert date_entry("Issued: 1962-01") == {
        "type": "issued", "value": "1962-01", "display": "Issued: 1962-01"}
    assert date_entry("Created: 1961?") == {"type": "created", "value": "1961?", "display": "Created: 1961?"}
    assert date_entry("Time Period Covered: 1851 - 1951", "coverage") == {
        "type": "coverage", "value": "1851/1951", "display": "Time Period Covered: 1851 - 1951"}
    assert date_entry("©1950") == {"type": "copyrighted", "value": "1950", "display": "©1950"}
    assert date_entry("") is None


def test_marc_years_with_unknown_digits() -> None:
    assert [marc_year(v) for v in ("1961", "196u", "19uu", "1uuu", "uuuu", "19u5", "    ")] == [
        "1961", "196X", "19XX", None, None, None, None]


def test_dates_in_a_record_validate_and_agree_with_the_source() -> None:
    element = oai_record("oai:x:1", dc_doc(("title", "T"), *(("date", w) for w, _ in CERTAIN),
                                            *(("date", w) for w in UNCERTAIN)))
    record = walk(element).record
    assert validate_record(record) == []
    for entry in record["dates"]:
        if "value" in entry:
            assert years_agree(entry["display"], entry["value"]), entry
