"""DataCite kernel-4 (bare and in oai_datacite) -> record."""

from __future__ import annotations

from support.oai_records import NS_DATACITE, NS_OAI_DATACITE, walk_metadata

from stook.schema import validate_record

RESOURCE = f"""<resource xmlns="{NS_DATACITE}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
    xsi:schemaLocation="{NS_DATACITE} http://schema.datacite.org/meta/kernel-4/metadata.xsd">
  <identifier identifierType="DOI">10.5555/TIDES.2020</identifier>
  <creators>
    <creator>
      <creatorName nameType="Personal">Marsh, Edith</creatorName>
      <givenName>Edith</givenName><familyName>Marsh</familyName>
      <nameIdentifier nameIdentifierScheme="ORCID" schemeURI="https://orcid.org">0000-0002-1825-0097</nameIdentifier>
      <affiliation affiliationIdentifier="https://ror.org/02mhbdp94"
        affiliationIdentifierScheme="ROR">Harbour University</affiliation>
    </creator>
    <creator>
      <creatorName nameType="Organizational">Harbour Survey Consortium</creatorName>
      <nameIdentifier nameIdentifierScheme="ROR">https://ror.org/03yrm5c26</nameIdentifier>
    </creator>
  </creators>
  <titles>
    <title xml:lang="en">Tide gauge readings</title>
    <title titleType="Subtitle" xml:lang="en">Portsmouth, 1990-2020</title>
    <title titleType="TranslatedTitle" xml:lang="fr">Relevés marégraphiques</title>
  </titles>
  <publisher>Harbour Data Repository</publisher>
  <publicationYear>2020</publicationYear>
  <resourceType resourceTypeGeneral="Dataset">Tide gauge time series</resourceType>
  <subjects>
    <subject subjectScheme="GCMD"
      valueURI="https://gcmd.earthdata.nasa.gov/kms/concept/1">Ocean tides</subject>
    <subject>sea level</subject>
  </subjects>
  <contributors>
    <contributor contributorType="Editor"><contributorName>Quill, Peter</contributorName></contributor>
    <contributor contributorType="DataCollector"><contributorName>Finch, Joyce</contributorName></contributor>
    <contributor contributorType="HostingInstitution">
      <contributorName>Harbour Data Centre</contributorName></contributor>
  </contributors>
  <dates>
    <date dateType="Collected">1990-01-01/2020-12-31</date>
    <date dateType="Updated" dateInformation="corrected gauge 3">2021-03</date>
    <date dateType="Available">Spring 2021</date>
  </dates>
  <language>en-GB</language>
  <alternateIdentifiers>
    <alternateIdentifier alternateIdentifierType="URL">https://data.example.org/tides</alternateIdentifier>
    <alternateIdentifier alternateIdentifierType="Local accession">ACC-77</alternateIdentifier>
  </alternateIdentifiers>
  <relatedIdentifiers>
    <relatedIdentifier relatedIdentifierType="DOI" relationType="IsPartOf">10.5555/HARBOUR</relatedIdentifier>
    <relatedIdentifier relatedIdentifierType="URL" relationType="IsDocumentedBy">https://example.org/methods</relatedIdentifier>
    <relatedIdentifier relatedIdentifierType="arXiv" relationType="IsCitedBy">2101.00001</relatedIdentifier>
  </relatedIdentifiers>
  <sizes><size>12 MB</size></sizes>
  <formats><format>text/csv</format></formats>
  <version>2.1</version>
  <rightsList>
    <rights rightsURI="https://creativecommons.org/licenses/by/4.0/"
      rightsIdentifier="CC-BY-4.0">Creative Commons Attribution 4.0</rights>
    <rights rightsURI="info:eu-repo/semantics/openAccess"/>
  </rightsList>
  <descriptions>
    <description descriptionType="Abstract"
      xml:lang="en">Hourly readings.<br/>Gauge 3 was moved in 2005.</description>
    <description descriptionType="Methods">Float gauges.</description>
  </descriptions>
  <geoLocations><geoLocation><geoLocationPlace>Portsmouth Harbour</geoLocationPlace>
    <geoLocationPoint><pointLongitude>-1.1</pointLongitude><pointLatitude>50.8</pointLatitude></geoLocationPoint>
  </geoLocation></geoLocations>
  <fundingReferences><fundingReference>
    <funderName>Harbour Trust</funderName>
    <funderIdentifier funderIdentifierType="Crossref Funder ID">https://doi.org/10.13039/501100000000</funderIdentifier>
    <awardNumber awardURI="https://example.org/awards/42">HT-42</awardNumber>
    <awardTitle>Tides of the harbour</awardTitle>
  </fundingReference></fundingReferences>
</resource>"""


def test_full_datacite_record() -> None:
    record = walk_metadata(RESOURCE, "datacite")
    assert validate_record(record) == []
    assert record["title"] == "Tide gauge readings"
    assert record["additional_titles"] == [
        {"value": "Portsmouth, 1990-2020", "type": "subtitle", "lang": "en"},
        {"value": "Relevés marégraphiques", "type": "translated", "lang": "fr"},
    ]
    assert record["identifiers"] == [
        {"scheme": "oai", "value": "oai:example.org:1"},
        {"scheme": "doi", "value": "10.5555/TIDES.2020"},
        {"scheme": "url", "value": "https://data.example.org/tides"},
        {"scheme": "x-local-accession", "value": "ACC-77"},
    ]
    marsh, consortium, press, quill, finch, centre = record["agents"]
    assert marsh == {
        "name": "Marsh, Edith", "name_type": "personal", "family": "Marsh", "given": "Edith",
        "roles": ["creator"], "identifiers": [{"scheme": "orcid", "value": "0000-0002-1825-0097"}],
        "affiliations": ["Harbour University"],
    }
    assert consortium == {"name": "Harbour Survey Consortium", "name_type": "organizational",
                          "roles": ["creator"],
                          "identifiers": [{"scheme": "ror", "value": "https://ror.org/03yrm5c26"}]}
    assert press["roles"] == ["publisher"]
    assert quill["roles"] == ["editor"] and "role_terms" not in quill
    assert finch["roles"] == ["other"] and finch["role_terms"] == ["DataCollector"]
    assert centre["name_type"] == "organizational" and centre["role_terms"] == ["HostingInstitution"]
    assert record["dates"] == [
        {"type": "issued", "value": "2020", "display": "2020"},
        {"type": "collected", "value": "1990-01-01/2020-12-31", "display": "1990-01-01/2020-12-31"},
        {"type": "modified", "value": "2021-03", "display": "2021-03", "note": "corrected gauge 3"},
        {"type": "available", "value": "2021-21", "display": "Spring 2021"},
    ]
    assert record["languages"] == [{"code": "en-GB"}]
    assert record["subjects"] == [
        {"value": "Ocean tides", "scheme": "GCMD", "uri": "https://gcmd.earthdata.nasa.gov/kms/concept/1"},
        {"value": "sea level"},
    ]
    assert record["relations"] == [
        {"type": "is_part_of", "target": "https://doi.org/10.5555/HARBOUR"},
        {"type": "relation", "target": "https://example.org/methods"},
        {"type": "relation", "target": "arXiv:2101.00001"},
    ]
    assert record["rights"] == [
        {"statement": "Creative Commons Attribution 4.0", "uri": "https://creativecommons.org/licenses/by/4.0/"},
        {"statement": "info:eu-repo/semantics/openAccess"},
    ]
    assert record["descriptions"] == [
        {"value": "Hourly readings. Gauge 3 was moved in 2005.", "type": "abstract", "lang": "en"},
        {"value": "Float gauges.", "type": "other"},
    ]
    assert record["places"] == [{"value": "Portsmouth Harbour"}]
    assert record["funding"] == [{"statement": "Harbour Trust, Tides of the harbour, award HT-42",
                                  "funder": "Harbour Trust", "award": "HT-42"}]
    unmapped = {e["path"]: e for e in record["extensions"]["datacite:unmapped"]}
    assert unmapped["resourceType"] == {"path": "resourceType", "value": "Tide gauge time series",
                                        "attributes": {"resourceTypeGeneral": "Dataset"}}
    relation_types = [e["attributes"] for e in record["extensions"]["datacite:unmapped"]
                      if e["path"] == "relatedIdentifiers/relatedIdentifier"]
    assert relation_types == [{"relationType": "IsDocumentedBy"}, {"relationType": "IsCitedBy"}]
    assert unmapped["version"]["value"] == "2.1"
    assert unmapped["sizes/size"]["value"] == "12 MB"
    assert unmapped["geoLocations/geoLocation/geoLocationPoint/pointLatitude"]["value"] == "50.8"
    assert unmapped["fundingReferences/fundingReference/funderIdentifier"]["value"] == \
        "https://doi.org/10.13039/501100000000"
    assert "resource" not in unmapped  # xsi:schemaLocation describes the XML, not the record


def test_oai_datacite_wrapper_is_unwrapped() -> None:
    wrapped = (f'<oai_datacite xmlns="{NS_OAI_DATACITE}"><schemaVersion>4</schemaVersion>'
               f"<datacentreSymbol>EX.HARBOUR</datacentreSymbol><payload>{RESOURCE}</payload></oai_datacite>")
    record = walk_metadata(wrapped, "oai_datacite")
    assert validate_record(record) == []
    assert record["title"] == "Tide gauge readings"
    unmapped = {e["path"]: e.get("value") for e in record["extensions"]["datacite:unmapped"]}
    assert unmapped["datacentreSymbol"] == "EX.HARBOUR"


def test_kernel3_funder_contributor_is_funding() -> None:
    doc = ('<resource xmlns="http://datacite.org/schema/kernel-3">'
           '<identifier identifierType="DOI">10.5555/k3</identifier>'
           "<titles><title>Kernel three</title></titles>"
           '<contributors><contributor contributorType="Funder">'
           "<contributorName>Harbour Trust</contributorName>"
           "</contributor></contributors></resource>")
    record = walk_metadata(doc, "datacite3")
    assert validate_record(record) == []
    assert record["funding"] == [{"statement": "Harbour Trust", "funder": "Harbour Trust"}]
    assert "agents" not in record
