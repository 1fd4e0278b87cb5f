"""oai_dc <-> record: the lossless dc block, the structured fields, and the way back."""

from __future__ import annotations

from typing import Any

import pytest
from conftest import EXAMPLE_DIR
from lxml import etree
from support.oai_records import BASE, NS_OAI, WHEN, dc_doc, oai_record, walk
from support.synthetic import dc_xml_fragment, make_records
from support.xsd import oai_schema

from stook.crosswalk import (
    NS_DC,
    NS_OAI_DC,
    SOURCE_PATH,
    TEXT_PATH,
    XML_LANG,
    CrosswalkOptions,
    crosswalk_record,
    date_entry,
    identifier_with_scheme,
    normalize_language,
    record_to_oai_dc,
)
from stook.record import load_record
from stook.schema import validate_record


def dc_children(root: Any) -> list[tuple[str, str | None, str | None]]:
    return [(c.tag, c.text, c.get(XML_LANG)) for c in root]


SYNTHETIC = make_records(60)


@pytest.mark.parametrize("synthetic", SYNTHETIC, ids=lambda r: r.identifier)
def test_synthetic_records_cross_to_valid_records_and_back_exactly(synthetic: Any) -> None:
    element = oai_record(synthetic.identifier, dc_xml_fragment(synthetic))
    walked = walk(element)
    assert validate_record(walked.record) == []
    original = element.find(f".//{{{NS_OAI_DC}}}dc")
    rebuilt = record_to_oai_dc(walked.record)
    assert dc_children(rebuilt) == dc_children(original)
    assert walked.record["dc_order"] == [etree.QName(c).localname for c in original]
    assert oai_schema().validate(etree.ElementTree(rebuilt)), oai_schema().error_log


def test_structured_fields_of_a_messy_record() -> None:
    element = oai_record(
        "oai:example.org:42",
        dc_doc(
            ("title", "Memorandum of conversation", "en"),
            ("title", "Меморандум о беседе", "ru"),
            ("title", "Memo"),
            ("creator", "Gagarin, Yuri"),
            ("creator", "Example Ministry of Things"),
            ("contributor", "Gagarin, Yuri"),
            ("publisher", "Example Archives"),
            ("date", "1961-04-26"),
            ("date", "ca. 1961"),
            ("date", "spring 1961"),
            ("date", "Issued: 1962-01"),
            ("language", "eng"),
            ("language", "rus"),
            ("language", "English"),
            ("language", "Klingon dialect of the south"),
            ("identifier", "https://doi.org/10.1234/abc.42"),
            ("identifier", "hdl:20.500.12345/42"),
            ("identifier", "https://example.org/doc/42"),
            ("identifier", "ISBN 978-3-16-148410-0"),
            ("identifier", "urn:nbn:de:1234-5678"),
            ("identifier", "Box 12/4"),
            ("subject", "Space race"),
            ("subject", "Space race"),
            ("coverage", "Moscow (Russia)"),
            ("coverage", "1961-1962"),
            ("relation", "https://example.org/collection/history"),
            ("source", "Fonds 5, opis 30, delo 367"),
            ("rights", "http://rightsstatements.org/vocab/InC/1.0/"),
            ("description", "  A short   abstract. "),
        ),
    )
    record = walk(element).record
    assert validate_record(record) == []
    assert record["identifier"] == "oai:example.org:42"
    assert record["title"] == "Memorandum of conversation"
    assert record["additional_titles"] == [
        {"value": "Меморандум о беседе", "type": "translated", "lang": "ru"},
        {"value": "Memo", "type": "alternative"},
    ]
    assert record["agents"] == [
        {
            "name": "Gagarin, Yuri",
            "name_type": "personal",
            "family": "Gagarin",
            "given": "Yuri",
            "roles": ["creator", "contributor"],
        },
        {"name": "Example Ministry of Things", "name_type": "organizational", "roles": ["creator"]},
        {"name": "Example Archives", "name_type": "organizational", "roles": ["publisher"]},
    ]
    assert record["dates"] == [
        {"type": "unspecified", "value": "1961-04-26", "display": "1961-04-26"},
        {"type": "unspecified", "value": "1961~", "display": "ca. 1961"},
        {"type": "unspecified", "value": "1961-21", "display": "spring 1961"},
        {"type": "issued", "value": "1962-01", "display": "Issued: 1962-01"},
        {"type": "coverage", "value": "1961/1962", "display": "1961-1962"},
    ]
    assert record["languages"] == [{"code": "en", "label": "eng"}, {"code": "ru", "label": "rus"}]
    assert record["identifiers"] == [
        {"scheme": "oai", "value": "oai:example.org:42"},
        {"scheme": "doi", "value": "10.1234/abc.42"},
        {"scheme": "handle", "value": "20.500.12345/42"},
        {"scheme": "url", "value": "https://example.org/doc/42"},
        {"scheme": "isbn", "value": "9783161484100"},
        {"scheme": "urn", "value": "urn:nbn:de:1234-5678"},
        {"scheme": "local", "value": "Box 12/4"},
    ]
    assert record["subjects"] == [{"value": "Space race"}]
    assert record["places"] == [{"value": "Moscow (Russia)"}]
    assert record["relations"] == [
        {"type": "relation", "target": "https://example.org/collection/history"},
        {"type": "source", "target": "Fonds 5, opis 30, delo 367"},
    ]
    assert record["rights"] == [
        {
            "statement": "http://rightsstatements.org/vocab/InC/1.0/",
            "uri": "http://rightsstatements.org/vocab/InC/1.0/",
        }
    ]
    assert record["descriptions"] == [{"value": "A short abstract."}]
    # the lossless block keeps the value exactly as written, and every repeat
    assert record["dc"]["description"] == [{"value": "  A short   abstract. "}]
    assert record["dc"]["language"][3] == {"value": "Klingon dialect of the south"}
    assert record["extensions"]["stook:crosswalk-notes"] == [
        "dc:language 'Klingon dialect of the south' is not a BCP 47 language tag or a language name; "
        "not in languages"
    ]
    assert len(record["dc"]["subject"]) == 2
    assert record["record_source"] == {
        "method": "harvest",
        "base_url": BASE,
        "metadata_prefix": "oai_dc",
        "oai_identifier": "oai:example.org:42",
        "datestamp": "2021-03-04T05:06:07Z",
        "set_specs": ["history"],
        "retrieved_at": WHEN,
    }
    assert record["content"] == [
        {"path": SOURCE_PATH, "kind": "source_metadata", "media_type": "application/xml"}
    ]
    assert record["metadata_only"] is True


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("en", {"code": "en"}),
        ("eng", {"code": "en", "label": "eng"}),
        ("rus", {"code": "ru", "label": "rus"}),
        ("English", {"code": "en", "label": "English"}),
        ("Русский", {"code": "ru", "label": "Русский"}),
        ("fre", {"code": "fr", "label": "fre"}),
        ("pt-br", {"code": "pt-BR", "label": "pt-br"}),
        ("zh-hant-tw", {"code": "zh-Hant-TW", "label": "zh-hant-tw"}),
        ("Klingon dialect of the south", None),
        ("   ", None),
    ],
)
def test_languages_become_bcp47(value: str, expected: dict[str, str] | None) -> None:
    assert normalize_language(value) == expected


@pytest.mark.parametrize(
    ("value", "scheme", "normalized"),
    [
        ("doi:10.5555/xyz", "doi", "10.5555/xyz"),
        ("http://dx.doi.org/10.5555/xyz", "doi", "10.5555/xyz"),
        ("10.5555/xyz", "doi", "10.5555/xyz"),
        ("https://hdl.handle.net/1234/5", "handle", "1234/5"),
        ("ark:/13030/tf5p30086k", "ark", "ark:/13030/tf5p30086k"),
        ("ISSN 0317-8471", "issn", "0317-8471"),
        ("oai:other.org:7", "oai", "oai:other.org:7"),
        ("ftp://example.org/file.pdf", "url", "ftp://example.org/file.pdf"),
        ("inv. no. 77", "local", "inv. no. 77"),
    ],
)
def test_identifier_schemes(value: str, scheme: str, normalized: str) -> None:
    assert identifier_with_scheme(value) == {"scheme": scheme, "value": normalized}


def test_date_ranges_and_datetimes() -> None:
    assert date_entry("1961-1962") == {"type": "unspecified", "value": "1961/1962", "display": "1961-1962"}
    assert date_entry("1961-04-14/1961-04-26")["value"] == "1961-04-14/1961-04-26"
    assert date_entry("Created: 1961?") == {"type": "created", "value": "1961?", "display": "Created: 1961?"}
    assert date_entry("") is None


def test_marked_full_text_becomes_the_bags_text_and_stays_a_description() -> None:
    paragraph = "The delegation was received at the ministry at ten o'clock. " * 10
    full = f"Full text:\n\n{paragraph}\n\n{paragraph}"
    assert len(full) >= 1000
    element = oai_record(
        "oai:example.org:7",
        dc_doc(("title", "T"), ("description", "Short."), ("description", full), ("language", "en")),
    )
    walked = walk(element)
    assert walked.text == full + "\n"
    values = [d["value"] for d in walked.record["descriptions"]]
    assert values[0] == "Short." and values[1] == " ".join(full.split())  # never removed from the record
    assert walked.record["dc"]["description"][1]["value"] == full
    assert {
        "path": TEXT_PATH,
        "kind": "text",
        "media_type": "text/plain; charset=utf-8",
        "language": "en",
    } in walked.record["content"]
    assert walked.record["metadata_only"] is False
    assert validate_record(walked.record) == []


def test_paragraphed_abstracts_up_to_3400_characters_are_not_full_text() -> None:
    paragraph = "We measured the depth of the harbour at forty stations over three seasons. " * 9
    for paragraphs in (2, 3, 4, 5):
        abstract = "\n\n".join([paragraph.strip()] * paragraphs)
        assert 1000 <= len(abstract) <= 3400
        walked = walk(oai_record("oai:x:1", dc_doc(("title", "T"), ("description", abstract))))
        assert walked.text is None
        assert walked.record["descriptions"] == [{"value": " ".join(abstract.split())}]
        assert walked.record["metadata_only"] is True


def test_unmarked_full_text_by_length_and_the_threshold_option() -> None:
    line = "Line of the transcribed letter, as the clerk copied it into the register.\n"
    long_text = line * 120  # ~9,000 characters on many lines
    single_line = "x" * 9000  # long but one line: not a document's text
    element = oai_record("oai:x:2", dc_doc(("title", "T"), ("description", long_text),
                                           ("description", single_line)))
    assert walk(element).text == long_text.strip("\n") + "\n"
    # a higher threshold keeps it an abstract; a lower one takes a shorter text
    assert walk(element, options=CrosswalkOptions(full_text_min_chars=20_000)).text is None
    short = oai_record("oai:x:3", dc_doc(("title", "T"), ("description", line * 30)))
    assert walk(short).text is None
    assert walk(short, options=CrosswalkOptions(full_text_min_chars=2000)).text is not None


def test_crosswalk_options_refuse_nonsense() -> None:
    from stook.errors import UsageError

    for bad in (0, -5, 1.5, True):
        with pytest.raises(UsageError, match="full_text_min_chars"):
            CrosswalkOptions(full_text_min_chars=bad)  # type: ignore[arg-type]


def test_record_without_title_is_invalid_not_invented() -> None:
    element = oai_record("oai:example.org:8", dc_doc(("title", "   "), ("creator", "Smith, Jane")))
    record = walk(element).record
    assert "title" not in record
    problems = validate_record(record)
    assert [p.location for p in problems] == ["$"]
    assert "title" in problems[0].message


def test_unknown_format_gets_a_minimal_record() -> None:
    doc = '<thing xmlns="urn:example:things"><label><title>A thing\'s title</title></label><y>1</y></thing>'
    walked = walk(oai_record("oai:example.org:9", doc), prefix="things")
    record = walked.record
    assert validate_record(record) == []
    assert record["title"] == "A thing's title"
    assert "dc" not in record and "agents" not in record
    assert record["record_source"]["metadata_prefix"] == "things"
    assert record["metadata_only"] is True
    # nothing usable as a title: the OAI identifier stands in
    bare = walk(oai_record("oai:example.org:10", '<x xmlns="urn:x"><y>1</y></x>'), prefix="x")
    assert bare.record["title"] == "oai:example.org:10"


def test_derived_oai_dc_for_a_hand_entered_record_is_schema_valid() -> None:
    record = load_record(EXAMPLE_DIR / "record.yaml")
    root = record_to_oai_dc(record)
    assert oai_schema().validate(etree.ElementTree(root)), oai_schema().error_log
    names = [etree.QName(c).localname for c in root]
    assert names[0] == "title" and root[0].text == record["title"]
    values = [c.text for c in root]
    assert record["identifier"] in values
    order = [
        "title",
        "creator",
        "subject",
        "description",
        "publisher",
        "contributor",
        "date",
        "type",
        "format",
        "identifier",
        "source",
        "language",
        "relation",
        "coverage",
        "rights",
    ]
    assert names == sorted(names, key=order.index)


def test_lossless_rebuild_keeps_values_dc_order_does_not_cover() -> None:
    record = {
        "identifier": "x",
        "title": "T",
        "dc": {"title": [{"value": "T"}], "creator": [{"value": "A"}, {"value": "B", "lang": "de"}]},
        "dc_order": ["creator", "title"],
    }
    assert dc_children(record_to_oai_dc(record)) == [
        (f"{{{NS_DC}}}creator", "A", None),
        (f"{{{NS_DC}}}title", "T", None),
        (f"{{{NS_DC}}}creator", "B", "de"),
    ]


def test_foreign_elements_inside_oai_dc_are_kept_as_an_extension() -> None:
    metadata = (
        f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="{NS_DC}" xmlns:dcterms="http://purl.org/dc/terms/">'
        '<dc:title>T</dc:title><!-- a comment --><dcterms:abstract xml:lang="en">Abs</dcterms:abstract>'
        "</oai_dc:dc>"
    )
    record = walk(oai_record("oai:example.org:11", metadata)).record
    assert validate_record(record) == []
    assert record["dc_order"] == ["title"]
    assert record["extensions"] == {
        "oai-dc:other-elements": [
            {"element": "{http://purl.org/dc/terms/}abstract", "value": "Abs", "lang": "en"}
        ]
    }


def test_live_record_without_metadata_keeps_a_minimal_record() -> None:
    element = etree.fromstring(
        f'<record xmlns="{NS_OAI}"><header><identifier>oai:x:1</identifier>'
        "<datestamp>2021-01-01</datestamp></header></record>".encode()
    )
    record = walk(element).record
    assert validate_record(record) == []
    assert record["title"] == "oai:x:1" and "dc" not in record


def _native_record(record_json: bytes, sha512: str) -> Any:
    xml = (
        '<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>urn:stook:id:x</identifier>'
        "<datestamp>2026-01-01T00:00:00Z</datestamp></header><metadata>"
        f'<stook:record xmlns:stook="https://stook.dev/ns/record/v1" sha512="{sha512}"></stook:record>'
        "</metadata></record>"
    )
    element = etree.fromstring(xml.encode())
    native = element.find(".//{https://stook.dev/ns/record/v1}record")
    native.text = record_json.decode("utf-8")
    return element


def test_native_stook_format_keeps_record_json_exactly() -> None:
    import hashlib

    from stook.record import canonical_json

    record = load_record(EXAMPLE_DIR / "record.yaml")
    data = canonical_json(record)
    walked = crosswalk_record(
        _native_record(data, hashlib.sha512(data).hexdigest()),
        base_url="http://127.0.0.1/oai",
        metadata_prefix="stook",
        retrieved_at="2026-01-01T00:00:00Z",
    )
    assert canonical_json(walked.record) == data
    assert walked.text is None


def test_native_record_damaged_in_transit_is_refused() -> None:
    from stook.record import canonical_json

    data = canonical_json({"identifier": "x", "title": "t"})
    with pytest.raises(ValueError, match="damaged in transit"):
        crosswalk_record(
            _native_record(data, "0" * 128),
            base_url="http://127.0.0.1/oai",
            metadata_prefix="stook",
            retrieved_at="2026-01-01T00:00:00Z",
        )
