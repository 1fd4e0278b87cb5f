"""Property: for any Dublin Core record, nothing is lost and no EDTF value contradicts the source.

Hypothesis writes random oai_dc records (any element, any order, repeats, xml:lang,
attributes, text with every Unicode character XML allows, and date-like strings made
of the pieces archives use); each is serialized and parsed back as a harvest would.
Then: the ``dc`` block holds every element exactly (value, lang, attributes, order);
every EDTF value parses with the ``edtf`` package and its bounds hold every
four-digit year written in the source; the record is schema-valid whenever it has
a title.
"""

from __future__ import annotations

import math
import re
from typing import Any

import edtf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree
from support.oai_records import NS_DC, NS_OAI, NS_OAI_DC, walk

from stook.crosswalk import DC_ELEMENTS, XML_LANG
from stook.schema import validate_record

ATTRIBUTES = {
    "linktype": "linktype",
    "{http://www.w3.org/2001/XMLSchema-instance}type": "xsi:type",
    "{http://www.w3.org/1999/02/22-rdf-syntax-ns#}resource": "rdf:resource",
    "{urn:example:x}kind": "{urn:example:x}kind",
}
# Every character XML 1.0 can carry except CR (parsers turn it into LF).
xml_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc", "Cn"), blacklist_characters="\ufffe\uffff")
    | st.sampled_from(["\n", "\t", " "]),
    max_size=40,
)
date_piece = st.one_of(
    st.integers(1000, 2100).map(str),
    st.integers(1, 31).map(str),
    st.integers(0, 99).map(lambda n: f"{n:02d}"),
    st.sampled_from([
        "ca.", "c", "c.", "circa", "?", "[", "]", "(", ")", "-", "--", "/", " - ", " to ", "s", "'s", "u",
        "uu", "May", "Sept.", "April", "Spring", "winter", "mai", "апреля", "de", ",", ".", " ", "between",
        "and", "present", "T10:00:00Z", "©", "X",
    ]),
)
date_like = st.lists(date_piece, min_size=1, max_size=6).map(lambda parts: "".join(parts))
value = st.one_of(xml_text, date_like, st.sampled_from([
    "Marsh, Edith, 1871-1938", "Time Period Covered: 1851 - 1951", "eng; fre", "GE", "info:doi/10.5555/x",
    "ark:/13030/x1",
]))
attributes = st.dictionaries(st.sampled_from(sorted(ATTRIBUTES)), xml_text, max_size=2)
languages = st.one_of(st.none(), st.sampled_from(["en", "ru", "xx"]))
statement = st.tuples(st.sampled_from(DC_ELEMENTS), value, languages, attributes)


def build(statements: list[tuple[str, str, str | None, dict[str, str]]]) -> Any:
    record = etree.Element(f"{{{NS_OAI}}}record")
    header = etree.SubElement(record, f"{{{NS_OAI}}}header")
    etree.SubElement(header, f"{{{NS_OAI}}}identifier").text = "oai:example.org:prop"
    etree.SubElement(header, f"{{{NS_OAI}}}datestamp").text = "2024-01-01"
    metadata = etree.SubElement(record, f"{{{NS_OAI}}}metadata")
    dc = etree.SubElement(metadata, f"{{{NS_OAI_DC}}}dc", nsmap={"oai_dc": NS_OAI_DC, "dc": NS_DC})
    for name, text, lang, attrs in statements:
        element = etree.SubElement(dc, f"{{{NS_DC}}}{name}")
        element.text = text
        if lang:
            element.set(XML_LANG, lang)
        for key, attr_value in attrs.items():
            element.set(key, attr_value)
    return etree.fromstring(etree.tostring(record))  # as received: serialized and parsed again


def bounds(value: str) -> tuple[float, float]:
    parsed = edtf.parse_edtf(value)
    low, high = parsed.lower_strict(), parsed.upper_strict()
    return (low.tm_year if hasattr(low, "tm_year") else -math.inf,
            high.tm_year if hasattr(high, "tm_year") else math.inf)


@settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(statement, max_size=12))
def test_dc_is_kept_and_edtf_never_contradicts_the_source(
    statements: list[tuple[str, str, str | None, dict[str, str]]],
) -> None:
    record = walk(build(statements)).record
    dc = record.get("dc", {})
    assert record.get("dc_order", []) == [s[0] for s in statements]
    seen: dict[str, int] = {}
    for name, text, lang, attrs in statements:
        index = seen.get(name, 0)
        seen[name] = index + 1
        item = dc[name][index]
        assert item["value"] == text
        assert item.get("lang") == lang
        assert item.get("attributes", {}) == {ATTRIBUTES[k]: v for k, v in attrs.items()}
    for entry in record.get("dates", []):
        if "value" not in entry:
            continue
        low, high = bounds(entry["value"])
        for year in re.findall(r"(?<!\d)\d{4}(?!\d)", entry["display"]):
            assert low <= int(year) <= high, entry
    problems = validate_record(record)
    has_title = any(n == "title" and t.strip() for n, t, _l, _a in statements)
    assert problems == [] if has_title else [p.location for p in problems] == ["$"]
