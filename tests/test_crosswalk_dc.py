"""Dublin Core rules: coverage (place, time span or identifier), attributes kept, qualified DC."""

from __future__ import annotations

from lxml import etree
from support.oai_records import NS_DC, NS_DCTERMS, NS_OAI_DC, dc_doc, oai_record, walk
from support.xsd import oai_schema

from stook.crosswalk import record_to_oai_dc
from stook.schema import validate_record


def test_coverage_places_time_spans_and_identifiers() -> None:
    element = oai_record("oai:x:1", dc_doc(
        ("title", "T"),
        ("coverage", "Portsmouth (England)"),
        ("coverage", "ark:/13030/tf5p30086k"),
        ("coverage", "https://n2t.net/ark:/13030/tf5p30086k"),
        ("coverage", "http://sws.geonames.org/2639996/"),
        ("coverage", "Time Period Covered: 1851 - 1951"),
        ("coverage", "1851-1951"),
        ("coverage", "19th century"),
        ("coverage", "1950s"),
    ))
    record = walk(element).record
    assert validate_record(record) == []
    assert record["places"] == [{"value": "Portsmouth (England)"}]
    assert record["dates"] == [
        {"type": "coverage", "value": "1851/1951", "display": "Time Period Covered: 1851 - 1951"},
        {"type": "coverage", "value": "1851/1951", "display": "1851-1951"},
        {"type": "coverage", "display": "19th century"},
        {"type": "coverage", "value": "195X", "display": "1950s"},
    ]
    notes = record["extensions"]["stook:crosswalk-notes"]
    assert len(notes) == 3 and all("is an identifier, not a place" in n for n in notes)
    assert len(record["dc"]["coverage"]) == 8  # every value still in dc


ATTRIBUTED = (
    f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="{NS_DC}" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:x="urn:example:x">'
    "<dc:title>T</dc:title>"
    '<dc:identifier xsi:type="dcterms:URI" linktype="fulltext">https://example.org/12.pdf</dc:identifier>'
    '<dc:relation rdf:resource="https://example.org/collection/7"/>'
    '<dc:subject xsi:type="dcterms:LCSH" xml:lang="en">Harbors</dc:subject>'
    '<dc:rights x:kind="licence" rdf:resource="https://creativecommons.org/licenses/by/4.0/"/>'
    "</oai_dc:dc>"
)


def test_attributes_on_dc_elements_are_kept_and_used() -> None:
    walked = walk(oai_record("oai:x:2", ATTRIBUTED))
    record = walked.record
    assert validate_record(record) == []
    dc = record["dc"]
    assert dc["identifier"] == [{"value": "https://example.org/12.pdf",
                                 "attributes": {"xsi:type": "dcterms:URI", "linktype": "fulltext"}}]
    assert dc["relation"] == [{"value": "", "attributes": {"rdf:resource": "https://example.org/collection/7"}}]
    assert dc["subject"] == [{"value": "Harbors", "lang": "en", "attributes": {"xsi:type": "dcterms:LCSH"}}]
    assert dc["rights"] == [{"value": "", "attributes": {
        "{urn:example:x}kind": "licence", "rdf:resource": "https://creativecommons.org/licenses/by/4.0/"}}]
    # an empty element pointing somewhere is read through its attribute
    assert record["relations"] == [{"type": "relation", "target": "https://example.org/collection/7"}]
    assert record["subjects"] == [{"value": "Harbors", "scheme": "LCSH"}]
    assert record["rights"] == [{"statement": "https://creativecommons.org/licenses/by/4.0/",
                                 "uri": "https://creativecommons.org/licenses/by/4.0/"}]
    assert "https://example.org/collection/7" in walked.links
    # the provider's oai_dc stays valid against the oai_dc schema (xml:lang is all it allows)
    rebuilt = record_to_oai_dc(record)
    assert oai_schema().validate(etree.ElementTree(rebuilt)), oai_schema().error_log
    assert [c.text or "" for c in rebuilt] == ["T", "https://example.org/12.pdf", "", "Harbors", ""]


QUALIFIED = (
    f'<qdc:qualifieddc xmlns:qdc="http://dspace.org/qualifieddc/" xmlns:dc="{NS_DC}" '
    f'xmlns:dcterms="{NS_DCTERMS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
    "<dc:title>The harbour survey</dc:title>"
    '<dcterms:alternative xml:lang="fr">Le levé du port</dcterms:alternative>'
    "<dc:creator>Marsh, Edith, 1871-1938</dc:creator>"
    "<dcterms:abstract>Depths measured in spring.</dcterms:abstract>"
    "<dcterms:tableOfContents>Depths -- Currents</dcterms:tableOfContents>"
    '<dcterms:created xsi:type="dcterms:W3CDTF">1911</dcterms:created>'
    "<dcterms:issued>1912-06</dcterms:issued>"
    "<dcterms:dateCopyrighted>1912</dcterms:dateCopyrighted>"
    "<dcterms:modified>2020-01-05</dcterms:modified>"
    "<dcterms:isPartOf>https://example.org/collection/7</dcterms:isPartOf>"
    "<dcterms:hasVersion>https://example.org/items/12-v2</dcterms:hasVersion>"
    "<dcterms:spatial>Portsmouth (England)</dcterms:spatial>"
    "<dcterms:temporal>1900-1920</dcterms:temporal>"
    "<dcterms:license>https://creativecommons.org/licenses/by/4.0/</dcterms:license>"
    "<dcterms:accessRights>Open access</dcterms:accessRights>"
    "<dcterms:bibliographicCitation>Marsh, The harbour survey (1912).</dcterms:bibliographicCitation>"
    "<dcterms:extent>340 p.</dcterms:extent>"
    '<dcterms:identifier xsi:type="dcterms:URI">https://example.org/items/12</dcterms:identifier>'
    "<dcterms:rightsHolder>Harbour Trust</dcterms:rightsHolder>"
    "<dc:language>eng</dc:language>"
    "</qdc:qualifieddc>"
)


def test_qualified_dc_refinements() -> None:
    record = walk(oai_record("oai:x:3", QUALIFIED), prefix="qdc").record
    assert validate_record(record) == []
    assert record["title"] == "The harbour survey"
    assert record["additional_titles"] == [{"value": "Le levé du port", "type": "alternative", "lang": "fr"}]
    assert record["descriptions"] == [
        {"value": "Depths measured in spring.", "type": "abstract"},
        {"value": "Depths -- Currents", "type": "table_of_contents"},
    ]
    assert [(d["type"], d.get("value")) for d in record["dates"]] == [
        ("created", "1911"), ("issued", "1912-06"), ("copyrighted", "1912"), ("modified", "2020-01-05"),
        ("coverage", "1900/1920"),
    ]
    assert record["relations"] == [
        {"type": "is_part_of", "target": "https://example.org/collection/7"},
        {"type": "has_version", "target": "https://example.org/items/12-v2"},
    ]
    assert record["places"] == [{"value": "Portsmouth (England)"}]
    assert record["rights"] == [
        {"statement": "https://creativecommons.org/licenses/by/4.0/",
         "uri": "https://creativecommons.org/licenses/by/4.0/"},
        {"statement": "Open access"},
    ]
    assert record["citation"] == "Marsh, The harbour survey (1912)."
    assert {"scheme": "url", "value": "https://example.org/items/12"} in record["identifiers"]
    assert record["agents"][0]["dates"] == "1871-1938"
    # the dc block: every element under the one it refines, the refinement named
    assert record["dc"]["description"] == [
        {"value": "Depths measured in spring.", "refinement": "abstract"},
        {"value": "Depths -- Currents", "refinement": "tableOfContents"},
    ]
    assert record["dc"]["format"] == [{"value": "340 p.", "refinement": "extent"}]
    assert record["dc_order"][:3] == ["title", "title", "creator"]
    assert record["extensions"]["qdc:other-elements"] == [
        {"element": f"{{{NS_DCTERMS}}}rightsHolder", "value": "Harbour Trust"}]
    # dumbed down to simple DC for the provider, still schema-valid oai_dc
    rebuilt = record_to_oai_dc(record)
    assert oai_schema().validate(etree.ElementTree(rebuilt)), oai_schema().error_log
    assert [etree.QName(c).localname for c in rebuilt][:4] == ["title", "title", "creator", "description"]


def test_simple_dc_under_another_wrapper_is_dublin_core() -> None:
    doc = (f'<record xmlns="urn:example:wrapper" xmlns:dc="{NS_DC}"><dc:title>Wrapped</dc:title>'
           "<dc:date>May 2015</dc:date></record>")
    record = walk(oai_record("oai:x:4", doc), prefix="dc_wrapped").record
    assert validate_record(record) == []
    assert record["title"] == "Wrapped" and record["dates"][0]["value"] == "2015-05"
    assert record["dc_order"] == ["title", "date"]
