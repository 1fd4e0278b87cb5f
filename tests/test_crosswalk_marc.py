"""MARCXML -> record: 245 is the title (never the OAI identifier), and every field class mapped."""

from __future__ import annotations

from support.oai_records import NS_MARC, all_text, walk_metadata

from stook.schema import validate_record


def marc(*fields: str, leader: str = "00000cam a2200000 a 4500") -> str:
    return f'<record xmlns="{NS_MARC}"><leader>{leader}</leader>{"".join(fields)}</record>'


def control(tag: str, value: str) -> str:
    return f'<controlfield tag="{tag}">{value}</controlfield>'


def data(tag: str, ind: str, *subfields: tuple[str, str]) -> str:
    subs = "".join(f'<subfield code="{code}">{value}</subfield>' for code, value in subfields)
    return f'<datafield tag="{tag}" ind1="{ind[0]}" ind2="{ind[1]}">{subs}</datafield>'


#         0123456789012345678901234567890123456789
F008 = "850423s1912    enk           000 0 eng d"
BOOK = marc(
    control("001", "ocm12345"),
    control("008", F008),
    data("010", "  ", ("a", "   12004567 ")),
    data("020", "  ", ("a", "0306406152 (pbk.)"), ("z", "0306406153")),
    data("020", "  ", ("a", "9783161484109")),
    data("022", "0 ", ("a", "0317-8471"), ("l", "0317-8471")),
    data("024", "7 ", ("a", "10.5555/harbour.1912"), ("2", "doi")),
    data("035", "  ", ("a", "(OCoLC)12345")),
    data("041", "1 ", ("a", "engfre"), ("h", "ger")),
    data("100", "1 ", ("a", "Marsh, Edith,"), ("q", "(Edith Anne),"), ("c", "Jr.,"), ("d", "1871-1938,"),
         ("e", "author."), ("u", "Port Survey Office.")),
    data("245", "14", ("a", "The harbour survey :"), ("b", "depths and currents /"), ("n", "Part 2,"),
         ("p", "Soundings."), ("c", "by Edith Marsh.")),
    data("246", "31", ("a", "Relevé du port")),
    data("260", "  ", ("a", "Portsmouth :"), ("b", "Harbour Press,"), ("c", "1912, c1911.")),
    data("264", " 4", ("c", "©1911")),
    data("300", "  ", ("a", "xii, 340 p. :"), ("b", "maps ;"), ("c", "24 cm.")),
    data("490", "1 ", ("a", "Survey reports ;"), ("v", "no. 4")),
    data("500", "  ", ("a", "Signed in ink.")),
    data("505", "0 ", ("a", "Depths -- Currents -- Costs.")),
    data("506", "  ", ("a", "Open for research.")),
    data("520", "3 ", ("a", "Reports the harbour depths measured in spring.")),
    data("524", "  ", ("a", "Marsh, The harbour survey, 1912.")),
    data("536", "  ", ("a", "Digitised with support from the Harbour Trust"), ("c", "HT-42")),
    data("540", "  ", ("a", "No known copyright restrictions."), ("u", "http://rightsstatements.org/vocab/NoC-US/1.0/")),
    data("600", "10", ("a", "Nelson, Horatio,"), ("d", "1758-1805.")),
    data("650", " 0", ("a", "Harbors"), ("z", "England"), ("x", "Surveys."),
         ("0", "http://id.loc.gov/authorities/subjects/sh85058751")),
    data("650", " 7", ("a", "Hydrography."), ("2", "fast")),
    data("651", " 0", ("a", "Portsmouth (England)"), ("x", "History.")),
    data("648", " 7", ("a", "1900-1920"), ("2", "fast")),
    data("653", "  ", ("a", "soundings"), ("a", "tides")),
    data("655", " 7", ("a", "Reports."), ("2", "lcgft")),
    data("700", "1 ", ("a", "Quill, Peter,"), ("d", "1950-"), ("e", "editor,"), ("e", "translator."),
         ("4", "edt")),
    data("700", "1 ", ("a", "Finch, Joyce."), ("4", "http://id.loc.gov/vocabulary/relators/pht")),
    data("710", "2 ", ("a", "United States."), ("b", "Congress."), ("b", "House."), ("e", "sponsor.")),
    data("773", "0 ", ("t", "Harbour Papers, 1890-1930"), ("g", "Box 4")),
    data("856", "40", ("u", "https://archive.example.org/items/12"), ("z", "Full text")),
    data("856", "42", ("u", "https://archive.example.org/finding-aid")),
    data("901", "  ", ("a", "local stuff")),
)


def test_full_marc_record() -> None:
    record = walk_metadata(BOOK, "marc21")
    assert validate_record(record) == []
    assert record["title"] == "The harbour survey : depths and currents / Part 2, Soundings"
    assert record["additional_titles"] == [{"value": "Relevé du port", "type": "translated"}]
    marsh, quill, finch, house, press = record["agents"]
    assert marsh == {
        "name": "Marsh, Edith, 1871-1938", "name_type": "personal", "family": "Marsh", "given": "Edith",
        "suffix": "Jr.", "fuller_form": "Edith Anne", "dates": "1871-1938", "roles": ["author"],
        "affiliations": ["Port Survey Office"],
    }
    assert press == {"name": "Harbour Press", "name_type": "organizational", "roles": ["publisher"]}
    assert quill["roles"] == ["editor", "translator"] and quill["dates"] == "1950-"
    assert finch["roles"] == ["other"] and finch["role_terms"] == ["pht"]
    assert house == {"name": "United States. Congress. House", "name_type": "organizational",
                     "roles": ["other"], "role_terms": ["sponsor"]}
    assert record["dates"] == [
        {"type": "issued", "value": "1912", "display": "1912"},
        {"type": "copyrighted", "value": "1911", "display": "c1911."},
        {"type": "copyrighted", "value": "1911", "display": "©1911"},
        {"type": "coverage", "value": "1900/1920", "display": "1900-1920"},
    ]
    assert record["languages"] == [
        {"code": "en", "label": "eng", "role": "translation"},
        {"code": "fr", "label": "fre", "role": "translation"},
        {"code": "de", "label": "ger", "role": "original"},
    ]
    assert record["identifiers"] == [
        {"scheme": "oai", "value": "oai:example.org:1"},
        {"scheme": "local", "value": "ocm12345"},
        {"scheme": "x-lccn", "value": "12004567"},
        {"scheme": "isbn", "value": "0306406152"},
        {"scheme": "local", "value": "9783161484109"},
        {"scheme": "issn", "value": "0317-8471"},
        {"scheme": "doi", "value": "10.5555/harbour.1912"},
        {"scheme": "x-ocolc", "value": "12345"},
        {"scheme": "url", "value": "https://archive.example.org/items/12"},
    ]
    notes = record["extensions"]["stook:crosswalk-notes"]
    assert any("9783161484109" in n and "ISBN" in n for n in notes)
    assert record["descriptions"] == [
        {"value": "Signed in ink.", "type": "note"},
        {"value": "Depths -- Currents -- Costs.", "type": "table_of_contents"},
        {"value": "Reports the harbour depths measured in spring.", "type": "abstract"},
    ]
    assert record["citation"] == "Marsh, The harbour survey, 1912."
    assert record["funding"] == [{"statement": "Digitised with support from the Harbour Trust HT-42",
                                  "award": "HT-42"}]
    assert record["rights"] == [
        {"statement": "Open for research."},
        {"statement": "No known copyright restrictions.", "uri": "http://rightsstatements.org/vocab/NoC-US/1.0/"},
    ]
    assert record["subjects"] == [
        {"value": "Nelson, Horatio, 1758-1805", "scheme": "lcsh"},
        {"value": "Harbors -- England -- Surveys", "scheme": "lcsh",
         "uri": "http://id.loc.gov/authorities/subjects/sh85058751"},
        {"value": "Hydrography", "scheme": "fast"},
        {"value": "Portsmouth (England) -- History", "scheme": "lcsh"},
        {"value": "soundings"},
        {"value": "tides"},
        {"value": "Reports", "scheme": "lcgft"},
    ]
    assert record["places"] == [{"value": "Portsmouth (England)", "scheme": "lcsh"}]
    assert record["relations"] == [
        {"type": "is_part_of", "target": "Harbour Papers, 1890-1930"},
        {"type": "is_part_of", "target": "Survey reports ; no. 4"},
        {"type": "relation", "target": "https://archive.example.org/finding-aid"},
    ]
    unmapped = {(e["path"], e.get("value")) for e in record["extensions"]["marc:unmapped"]}
    assert {("leader", "00000cam a2200000 a 4500"), ("245$c", "by Edith Marsh."), ("300$a", "xii, 340 p. :"),
            ("260$a", "Portsmouth :"), ("020$z", "0306406153"), ("773$g", "Box 4"), ("856$z", "Full text"),
            ("901$a", "local stuff")} <= unmapped


def test_every_subfield_is_kept_somewhere() -> None:
    record = walk_metadata(BOOK, "marc21")
    unmapped = record["extensions"]["marc:unmapped"]
    assert all(set(e) <= {"path", "value", "attributes"} for e in unmapped)
    kept = all_text(record)
    for word in ("24 cm.", "maps ;", "xii, 340 p. :", "by Edith Marsh.", "Box 4"):
        assert word in kept


def test_fixed_field_dates_by_type() -> None:
    def dates_of(f008: str) -> list[dict[str, str]]:
        record = walk_metadata(marc(control("008", f008), data("245", "00", ("a", "T"))), "marcxml")
        assert validate_record(record) == []
        return record.get("dates", [])

    base = "850423{}{}{}enk           000 0 eng d"
    assert dates_of(base.format("s", "1961", "    ")) == [
        {"type": "issued", "value": "1961", "note": "MARC 008 date type 's'"}]
    assert dates_of(base.format("i", "1851", "1951"))[0]["value"] == "1851/1951"
    assert dates_of(base.format("q", "195u", "196u"))[0]["value"] == "[1950..1969]"
    assert dates_of(base.format("c", "1966", "9999"))[0]["value"] == "1966/.."
    assert dates_of(base.format("e", "1961", "0426"))[0]["value"] == "1961-04-26"
    assert dates_of(base.format("t", "1950", "1949")) == [
        {"type": "issued", "value": "1950", "note": "MARC 008 date type 't'"},
        {"type": "copyrighted", "value": "1949", "note": "MARC 008 date type 't'"},
    ]
    assert dates_of(base.format("n", "uuuu", "uuuu")) == []
    assert dates_of(base.format("s", "19uu", "    "))[0]["value"] == "19XX"


def test_no_245_means_no_title_not_the_oai_identifier() -> None:
    record = walk_metadata(marc(data("100", "1 ", ("a", "Marsh, Edith."))), "marc21", "oai:x:9")
    assert "title" not in record
    assert record["agents"][0]["family"] == "Marsh"


def test_collection_wrapper_and_meetings() -> None:
    doc = (f'<collection xmlns="{NS_MARC}"><record>{data("245", "00", ("a", "Proceedings."))}'
           f'{data("111", "2 ", ("a", "Harbour Conference"), ("n", "(3rd :"), ("d", "1912)"))}'
           "</record></collection>")
    record = walk_metadata(doc, "marcxml")
    assert record["title"] == "Proceedings"
    assert record["agents"][0]["name_type"] == "organizational"


def test_inverted_fixed_field_range_gets_no_value() -> None:
    record = walk_metadata(marc(control("008", "850423m19701960enk           000 0 eng d"),
                                data("245", "00", ("a", "T"))), "marcxml")
    assert "dates" not in record
