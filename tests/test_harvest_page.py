"""Reading one OAI-PMH page record by record (stook.harvest.page), on hand-made pages.

The byte-level split must find exactly the records a parser would, whatever markup the
metadata holds, and must not be fooled by markup-like text.
"""

from __future__ import annotations

import pytest
from lxml import etree

from stook.harvest.page import parse_page, records_of, split_records

HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z</responseDate>'
    b'<request verb="ListRecords">http://example.org/oai</request><ListRecords>'
)
TAIL = b'<resumptionToken cursor="0">next-page</resumptionToken></ListRecords></OAI-PMH>'


def record(identifier: str, metadata: bytes = b"<x>ok</x>") -> bytes:
    return (
        f"<record><header><identifier>{identifier}</identifier><datestamp>2024-01-01</datestamp></header>"
        "<metadata>"
    ).encode() + metadata + b"</metadata></record>"


def identifiers(page: bytes) -> list[str | None]:
    parsed = parse_page(page)
    return [
        None if r.element is None else r.element.findtext("{*}header/{*}identifier") for r in parsed.records
    ]


def test_a_sound_page_is_parsed_whole_and_agrees_with_the_split() -> None:
    tricky = [
        record("a", b"<!-- <record><header> --><x>1</x>"),
        record("b", b"<x><![CDATA[</record><record>]]></x>"),
        record("c", b'<x note="a > b &amp; /record>">2</x>'),
        record("d", b'<marc:record xmlns:marc="http://www.loc.gov/MARC21/slim"><marc:f>3</marc:f></marc:record>'),
        record("e", b'<record xmlns="http://www.loc.gov/MARC21/slim"><f>4</f></record>'),
        record("f", b"<?pi </record>?><x/>"),
    ]
    page = HEAD + b"\n".join(tricky) + TAIL
    whole = parse_page(page)
    assert len(whole.records) == 6 and all(r.element is not None for r in whole.records)
    split = split_records(page)
    assert [page[s:e] for s, e in split.spans] == tricky
    root = etree.fromstring(split.envelope())
    assert records_of(root) == [] and root.findtext("{*}ListRecords/{*}resumptionToken") == "next-page"


def test_the_split_survives_a_dtd_with_brackets_and_an_empty_record() -> None:
    page = (
        b'<?xml version="1.0"?>\n<!DOCTYPE OAI-PMH [<!ENTITY br "a ] b > c"><!-- ] -->]>'
        + HEAD.split(b"\n", 1)[1] + record("a", b"<x>&br;</x>") + b"<record/>" + TAIL
    )
    split = split_records(page)
    assert len(split.spans) == 2 and page[split.spans[1][0] : split.spans[1][1]] == b"<record/>"
    parsed = parse_page(page)
    assert parsed.records[0].element.findtext("{*}metadata/{*}x") == "a ] b > c"


def test_one_broken_record_is_set_apart_with_its_bytes() -> None:
    bad = record("bad", b"<x>\xff\xfe</x>")
    unclosed = record("unclosed", b"<x><y>never closed</x>")
    page = HEAD + record("a") + bad + record("b") + unclosed + record("c") + TAIL
    parsed = parse_page(page)
    assert identifiers(page) == ["a", None, "b", None, "c"]
    assert parsed.records[1].raw == bad and "not well-formed XML" in (parsed.records[1].problem or "")
    assert parsed.records[3].raw == unclosed
    assert parsed.root.findtext("{*}ListRecords/{*}resumptionToken") == "next-page"


def test_an_external_entity_is_never_read() -> None:
    page = (
        b'<?xml version="1.0"?>\n<!DOCTYPE OAI-PMH [<!ENTITY ext SYSTEM "file:///etc/hostname">]>'
        + HEAD.split(b"\n", 1)[1] + record("a") + record("b", b"<x>&ext;</x>") + TAIL
    )
    parsed = parse_page(page)
    assert identifiers(page) == ["a", None]
    assert parsed.records[1].problem and "ext" in parsed.records[1].problem
    assert b"&ext;" in (parsed.records[1].raw or b"")


@pytest.mark.parametrize("written", [b"\x00", b"&#0;", b"&#x1;", b"\x1b", b"\xef\xbf\xbf"])
def test_a_forbidden_character_in_any_identifier_element_is_not_removed(written: bytes) -> None:
    in_dc = record("dc", b'<dc:identifier xmlns:dc="http://purl.org/dc/elements/1.1/">x' + written
                   + b"y</dc:identifier>")
    in_header = record("h").replace(b">h<", b">h" + written + b"h<")
    elsewhere = record("t", b"<title>x" + written + b"y</title>")
    parsed = parse_page(HEAD + in_dc + in_header + elsewhere + TAIL)
    assert [r.raw for r in parsed.records[:2]] == [in_dc, in_header]
    assert all("XML 1.0 forbids" in (r.problem or "") for r in parsed.records[:2])
    assert parsed.records[2].element.findtext("{*}metadata/{*}title") == "xy"
    assert parsed.illegal_chars_removed == 1


def test_a_page_broken_outside_its_records_is_broken() -> None:
    from stook.harvest.page import BrokenPage

    with pytest.raises(BrokenPage):
        parse_page(HEAD + record("a") + b"<resumptionToken>\xff</resumptionToken></ListRecords>")
