"""MODS -> record: every element class the crosswalk maps, and nothing of the source lost."""

from __future__ import annotations

from support.oai_records import NS_MODS, all_text, source_texts, walk_metadata

from stook.crosswalk.agents import role_of
from stook.crosswalk.identifiers import identifier_with_scheme
from stook.schema import validate_record

LETTER = f"""<mods xmlns="{NS_MODS}" xmlns:xlink="http://www.w3.org/1999/xlink" version="3.7">
  <titleInfo><nonSort>The </nonSort><title>letter on the harbour survey</title>
    <subTitle>a draft</subTitle><partNumber>Part 2</partNumber></titleInfo>
  <titleInfo type="translated" lang="fre"><title>Lettre sur le levé du port</title></titleInfo>
  <titleInfo type="alternative"><title>Harbour letter</title></titleInfo>
  <name type="personal" usage="primary">
    <namePart type="family">Marsh</namePart><namePart type="given">Edith</namePart>
    <namePart type="date">1871-1938</namePart><namePart type="termsOfAddress">Jr.</namePart>
    <role><roleTerm type="text" authority="marcrelator">author</roleTerm></role>
    <affiliation>Port Survey Office</affiliation>
    <nameIdentifier type="orcid">https://orcid.org/0000-0002-1825-0097</nameIdentifier>
  </name>
  <name type="corporate">
    <namePart>Maritime Board</namePart><namePart>Survey Division</namePart>
    <role><roleTerm type="code" authority="marcrelator">rcp</roleTerm></role>
  </name>
  <name type="personal">
    <namePart>Quill, Peter, 1950-</namePart>
    <role><roleTerm type="text">Photographer</roleTerm></role>
  </name>
  <typeOfResource>text</typeOfResource>
  <genre authority="aat">letters (correspondence)</genre>
  <originInfo eventType="publication">
    <publisher>Harbour Press</publisher>
    <place><placeTerm type="text">Portsmouth</placeTerm></place>
    <dateIssued encoding="w3cdtf" keyDate="yes">1912-06-03</dateIssued>
    <dateCreated encoding="w3cdtf" point="start" qualifier="approximate">1910</dateCreated>
    <dateCreated encoding="w3cdtf" point="end" qualifier="approximate">1911</dateCreated>
    <dateCaptured encoding="marc">19uu</dateCaptured>
    <dateOther type="received">[ca. 1912]</dateOther>
    <copyrightDate encoding="iso8601" qualifier="inferred">1912</copyrightDate>
  </originInfo>
  <language><languageTerm type="code" authority="iso639-2b">ger</languageTerm>
    <languageTerm type="text">German</languageTerm></language>
  <language><languageTerm type="code" authority="rfc3066">GE</languageTerm></language>
  <physicalDescription><form authority="marcform">print</form><extent>3 leaves</extent>
    <internetMediaType>image/tiff</internetMediaType><digitalOrigin>reformatted digital</digitalOrigin>
    <note>Water damage on leaf 2.</note></physicalDescription>
  <abstract>Reports the harbour depths measured in spring.</abstract>
  <tableOfContents>Depths -- Currents -- Costs</tableOfContents>
  <note>Signed in ink.</note>
  <note type="preferred citation">Marsh to the Maritime Board, 3 June 1912, Harbour Papers.</note>
  <note type="funding">Digitised with support from the Harbour Trust.</note>
  <subject authority="lcsh" valueURI="http://id.loc.gov/authorities/subjects/sh85058751">
    <topic>Harbors</topic><geographic>Portsmouth (England)</geographic><temporal>1900-1920</temporal>
  </subject>
  <subject><name type="personal"><namePart>Nelson, Horatio</namePart></name></subject>
  <subject><hierarchicalGeographic><country>England</country><city>Portsmouth</city></hierarchicalGeographic>
  </subject>
  <subject><cartographics><coordinates>50.8N 1.1W</coordinates></cartographics></subject>
  <classification authority="lcc">VK369</classification>
  <relatedItem type="host"><titleInfo><title>Harbour Papers, 1890-1930</title></titleInfo>
    <identifier type="hdl">20.500.12345/77</identifier></relatedItem>
  <relatedItem type="series"><titleInfo><title>Survey correspondence</title></titleInfo></relatedItem>
  <identifier type="doi">info:doi/10.5555/harbour.12</identifier>
  <identifier type="hdl">https://hdl.handle.net/20.500.12345/12?locatt=view:master</identifier>
  <identifier type="isbn">0-306-40615-2</identifier>
  <identifier type="isbn">0-306-40615-3</identifier>
  <identifier type="lccn">12004567</identifier>
  <identifier type="uri" invalid="yes">http://old.example.org/12</identifier>
  <location><physicalLocation>Harbour Archives</physicalLocation><shelfLocator>Box 4, Folder 2</shelfLocator>
    <url access="object in context" usage="primary display">https://archive.example.org/items/12</url>
  </location>
  <accessCondition type="use and reproduction"
    xlink:href="http://rightsstatements.org/vocab/NoC-US/1.0/"
    >No known copyright restrictions.</accessCondition>
  <recordInfo><recordIdentifier source="local">rec-12</recordIdentifier></recordInfo>
</mods>"""


def test_full_mods_record() -> None:
    record = walk_metadata(LETTER, "mods")
    assert validate_record(record) == []
    assert record["title"] == "The letter on the harbour survey: a draft. Part 2"
    assert record["additional_titles"] == [
        {"value": "Lettre sur le levé du port", "type": "translated", "lang": "fr"},
        {"value": "Harbour letter", "type": "alternative"},
    ]
    marsh, board, quill, press = record["agents"]
    assert marsh == {
        "name": "Marsh, Edith", "name_type": "personal", "family": "Marsh", "given": "Edith",
        "dates": "1871-1938", "suffix": "Jr.", "roles": ["author"], "affiliations": ["Port Survey Office"],
        "identifiers": [{"scheme": "orcid", "value": "0000-0002-1825-0097"}],
    }
    assert board == {"name": "Maritime Board. Survey Division", "name_type": "organizational",
                     "roles": ["recipient"]}
    assert quill["family"] == "Quill" and quill["dates"] == "1950-"
    assert quill["roles"] == ["other"] and quill["role_terms"] == ["Photographer"]
    assert press == {"name": "Harbour Press", "name_type": "organizational", "roles": ["publisher"]}
    assert record["dates"] == [
        {"type": "issued", "value": "1912-06-03", "display": "1912-06-03"},
        {"type": "created", "value": "1910~/1911~", "display": "1910 - 1911"},
        {"type": "captured", "value": "19XX", "display": "19uu"},
        {"type": "unspecified", "value": "1912~", "display": "[ca. 1912]", "note": "received"},
        {"type": "copyrighted", "value": "1912", "display": "1912", "note": "inferred"},
        {"type": "coverage", "value": "1900/1920", "display": "1900-1920"},
    ]
    assert record["languages"] == [{"code": "de", "label": "German"}]
    assert any("'GE'" in note for note in record["extensions"]["stook:crosswalk-notes"])
    abstract = {"value": "Reports the harbour depths measured in spring.", "type": "abstract"}
    assert abstract in record["descriptions"]
    assert {"value": "Depths -- Currents -- Costs", "type": "table_of_contents"} in record["descriptions"]
    assert {"value": "Signed in ink.", "type": "note"} in record["descriptions"]
    assert {"value": "Water damage on leaf 2.", "type": "note"} in record["descriptions"]
    assert record["citation"] == "Marsh to the Maritime Board, 3 June 1912, Harbour Papers."
    assert record["funding"] == [{"statement": "Digitised with support from the Harbour Trust."}]
    assert record["subjects"] == [
        {"value": "Harbors", "scheme": "lcsh", "uri": "http://id.loc.gov/authorities/subjects/sh85058751"},
        {"value": "Nelson, Horatio"},
        {"value": "VK369", "scheme": "lcc"},
    ]
    assert record["places"] == [
        {"value": "Portsmouth (England)", "scheme": "lcsh",
         "uri": "http://id.loc.gov/authorities/subjects/sh85058751"},
        {"value": "England -- Portsmouth"},
    ]
    assert record["relations"] == [
        {"type": "is_part_of", "target": "https://hdl.handle.net/20.500.12345/77"},
        {"type": "is_part_of", "target": "Survey correspondence"},
    ]
    assert record["identifiers"] == [
        {"scheme": "oai", "value": "oai:example.org:1"},
        {"scheme": "doi", "value": "10.5555/harbour.12"},
        {"scheme": "handle", "value": "20.500.12345/12"},
        {"scheme": "isbn", "value": "0306406152"},
        {"scheme": "local", "value": "0-306-40615-3"},
        {"scheme": "x-lccn", "value": "12004567"},
        {"scheme": "url", "value": "https://archive.example.org/items/12"},
    ]
    assert record["archival_locations"] == [
        {"repository": {"name": "Harbour Archives"}, "reference": "Box 4, Folder 2"}
    ]
    assert record["rights"] == [{"statement": "No known copyright restrictions.",
                                 "uri": "http://rightsstatements.org/vocab/NoC-US/1.0/"}]
    extensions = record["extensions"]
    assert extensions["mods:physicalDescription"] == {
        "form": ["print"], "extent": ["3 leaves"], "internetMediaType": ["image/tiff"],
        "digitalOrigin": ["reformatted digital"],
    }
    unmapped = {entry["path"]: entry for entry in extensions["mods:unmapped"]}
    assert unmapped["typeOfResource"]["value"] == "text"
    assert unmapped["genre"] == {"path": "genre", "value": "letters (correspondence)",
                                 "attributes": {"authority": "aat"}}
    assert unmapped["originInfo/place/placeTerm"]["value"] == "Portsmouth"
    assert unmapped["identifier"] == {"path": "identifier", "value": "http://old.example.org/12",
                                      "attributes": {"type": "uri", "invalid": "yes"}}
    assert unmapped["recordInfo/recordIdentifier"]["value"] == "rec-12"
    assert unmapped["subject/cartographics/coordinates"]["value"] == "50.8N 1.1W"
    assert unmapped["mods"]["attributes"] == {"version": "3.7"}


def test_every_source_text_is_kept_somewhere_in_the_record() -> None:
    record = walk_metadata(LETTER, "mods")
    kept = all_text(record)
    missing = [text for text in source_texts(LETTER) if not kept_in(text, kept)]
    assert missing == []


def kept_in(text: str, kept: str) -> bool:
    """Kept as written, or as its normalized identifier (bare DOI, ISBN digits) or schema role."""
    identifier = identifier_with_scheme(text)
    normalized = identifier["value"] if identifier is not None else "-"
    return text in kept or text.strip(" .") in kept or normalized in kept or (role_of(text) or "-") in kept


def test_a_related_items_title_is_never_the_title() -> None:
    mods = f"""<mods xmlns="{NS_MODS}">
      <relatedItem type="host"><titleInfo><title>The Collection</title></titleInfo></relatedItem>
      <titleInfo><title>The item itself</title></titleInfo></mods>"""
    record = walk_metadata(mods, "mods")
    assert record["title"] == "The item itself"
    assert record["relations"] == [{"type": "is_part_of", "target": "The Collection"}]
    # with no title of its own the record has none (and is quarantined by the harvest)
    bare = walk_metadata(f'<mods xmlns="{NS_MODS}"><relatedItem><titleInfo><title>Host</title>'
                         "</titleInfo></relatedItem></mods>", "mods")
    assert "title" not in bare
    assert [p.location for p in validate_record(bare)] == ["$"]


def test_mods_collection_and_any_prefix_name() -> None:
    doc = (f'<modsCollection xmlns="{NS_MODS}"><mods><titleInfo><title>Only one</title></titleInfo></mods>'
           "</modsCollection>")
    for prefix in ("mods", "MODS", "mods3", "whatever"):
        record = walk_metadata(doc, prefix)
        assert record["title"] == "Only one"
        assert record["record_source"]["metadata_prefix"] == prefix


def test_edtf_encoded_dates_and_open_ranges() -> None:
    mods = f"""<mods xmlns="{NS_MODS}"><titleInfo><title>T</title></titleInfo><originInfo>
      <dateCreated encoding="edtf">2003-21</dateCreated>
      <dateCreated encoding="edtf">not-a-date</dateCreated>
      <dateIssued point="start">1966</dateIssued>
      <dateIssued>04/05/1961</dateIssued></originInfo></mods>"""
    record = walk_metadata(mods, "mods")
    assert validate_record(record) == []
    assert record["dates"] == [
        {"type": "created", "value": "2003-21", "display": "2003-21"},
        {"type": "created", "display": "not-a-date"},
        {"type": "issued", "display": "04/05/1961"},
        {"type": "issued", "value": "1966/..", "display": "1966"},
    ]


def test_deeply_nested_extension_is_kept_not_a_crash() -> None:
    depth = 1500  # beyond Python's recursion limit, within what libxml2 parses
    nested = "<x>" * depth + "deep value" + "</x>" * depth
    mods = (f'<mods xmlns="{NS_MODS}"><titleInfo><title>Deep</title></titleInfo>'
            f'<extension><data xmlns="">{nested}</data></extension></mods>')
    from lxml import etree
    from support.oai_records import oai_record, walk

    element = oai_record("oai:x:deep", "")
    element.find("{http://www.openarchives.org/OAI/2.0/}metadata").append(
        etree.fromstring(mods, etree.XMLParser(huge_tree=True)))
    record = walk(element, "mods").record
    assert record["title"] == "Deep"
    (entry,) = [e for e in record["extensions"]["mods:unmapped"] if e.get("value") == "deep value"]
    assert entry["path"].count("/") == depth + 1


def test_ready_made_edtf_is_still_checked() -> None:
    mods = f"""<mods xmlns="{NS_MODS}"><titleInfo><title>T</title></titleInfo><originInfo>
      <dateCreated encoding="edtf">1990/1980</dateCreated>
      <dateIssued encoding="w3cdtf" point="start">1970</dateIssued>
      <dateIssued encoding="w3cdtf" point="end">1960</dateIssued></originInfo></mods>"""
    record = walk_metadata(mods, "mods")
    assert validate_record(record) == []
    assert record["dates"] == [{"type": "created", "display": "1990/1980"},
                               {"type": "issued", "display": "1970 - 1960"}]


def test_a_mods_record_gives_schema_valid_oai_dc_to_the_provider() -> None:
    from lxml import etree
    from support.xsd import oai_schema

    from stook.crosswalk import record_to_oai_dc

    rebuilt = record_to_oai_dc(walk_metadata(LETTER, "mods"))
    assert oai_schema().validate(etree.ElementTree(rebuilt)), oai_schema().error_log
    pairs = [(etree.QName(c).localname, c.text) for c in rebuilt]
    assert ("title", "The letter on the harbour survey: a draft. Part 2") in pairs
    assert ("creator", "Marsh, Edith") in pairs and ("publisher", "Harbour Press") in pairs
    assert ("coverage", "1900/1920") in pairs and ("language", "de") in pairs
