"""Names as catalogues write them -> agents: persons split only on evidence, organizations kept whole."""

from __future__ import annotations

from typing import Any

import pytest
from support.oai_records import dc_doc, oai_record, walk

from stook.crosswalk import agent_entry
from stook.schema import validate_record

CASES: list[tuple[str, dict[str, Any]]] = [
    # corporate names are never split as persons
    ("University of Westbrook, Extension Service", {"name_type": "organizational"}),
    ("United States. Congress", {"name_type": "organizational"}),
    ("United States. Congress. House. Committee on Rivers", {"name_type": "organizational"}),
    ("Great Britain. Admiralty", {"name_type": "organizational"}),
    ("France. Assemblée nationale", {"name_type": "organizational"}),
    ("Helsingin yliopisto, Kirjasto", {"name_type": "organizational"}),
    ("Helsingin yliopisto, Maatalous-metsätieteellinen tiedekunta", {"name_type": "organizational"}),
    ("Kansalliskirjasto", {"name_type": "organizational"}),
    ("Staatsbibliothek zu Berlin, Handschriftenabteilung", {"name_type": "organizational"}),
    ("Universidad de Salamanca, Facultad de Derecho", {"name_type": "organizational"}),
    ("Государственный архив, Отдел рукописей", {"name_type": "organizational"}),
    ("Smith, Example Company", {"name_type": "organizational"}),
    ("Gemeente Amsterdam, Stadsarchief", {"name_type": "organizational"}),
    ("Harbour Press (Firm)", {"name_type": "organizational", "name": "Harbour Press (Firm)"}),
    # persons: family, given, and what is neither
    ("Gagarin, Yuri", {"name_type": "personal", "family": "Gagarin", "given": "Yuri"}),
    ("García Márquez, Gabriel", {"name_type": "personal", "family": "García Márquez", "given": "Gabriel"}),
    ("Church, Alonzo", {"name_type": "personal", "family": "Church", "given": "Alonzo"}),
    ("Doe, John B., III", {"name_type": "personal", "family": "Doe", "given": "John B.", "suffix": "III"}),
    ("King, Martin Luther, Jr., 1929-1968",
     {"family": "King", "given": "Martin Luther", "suffix": "Jr.", "dates": "1929-1968"}),
    ("Roe, Anna, 1966-", {"family": "Roe", "given": "Anna", "dates": "1966-"}),
    ("King, Martin Luther Jr.", {"family": "King", "given": "Martin Luther", "suffix": "Jr."}),
    ("Doe, John B. III", {"family": "Doe", "given": "John B.", "suffix": "III"}),
    ("Doe, Jane V", {"family": "Doe", "given": "Jane V"}),
    ("Poe, E. (Edgar), 1809-1849",
     {"family": "Poe", "given": "E.", "fuller_form": "Edgar", "dates": "1809-1849"}),
    ("Marsh, Edith, b. 1871", {"family": "Marsh", "given": "Edith", "dates": "b. 1871"}),
    # roles in parentheses or after the name go to roles
    ("Finch, Joyce (Interviewer)", {"name": "Finch, Joyce", "family": "Finch", "given": "Joyce",
                                    "roles": ["creator", "interviewer"]}),
    ("Quill, Peter, 1950-, editor.", {"name": "Quill, Peter, 1950-", "dates": "1950-", "family": "Quill",
                                      "roles": ["creator", "editor"]}),
    ("Lane, Lois (ed.)", {"name": "Lane, Lois", "family": "Lane", "roles": ["creator", "editor"]}),
    ("Wren, Kit (Photographer)", {"name": "Wren, Kit", "family": "Wren", "roles": ["creator", "other"],
                                  "role_terms": ["Photographer"]}),
    # no evidence either way: kept as written, no type
    ("John F. Kennedy", {"name": "John F. Kennedy"}),
    ("Dr. Smith", {"name": "Dr. Smith"}),
]


@pytest.mark.parametrize(("written", "expected"), CASES)
def test_names(written: str, expected: dict[str, Any]) -> None:
    entry = agent_entry(written, "creator")
    assert entry is not None
    for key, value in expected.items():
        assert entry.get(key) == value, (key, entry)
    if expected.get("name_type") == "organizational":
        assert "family" not in entry and "given" not in entry
    if "name_type" not in expected and "family" not in expected:
        assert "name_type" not in entry and "family" not in entry
    assert entry["name"] == expected.get("name", entry["name"])
    for part in ("suffix", "dates"):
        if part in entry:
            assert entry[part] not in entry.get("given", "")


def test_source_says_what_a_name_is() -> None:
    assert agent_entry("Smith, Jane", "publisher", organizational=True)["name_type"] == "organizational"
    plato = agent_entry("Plato", "creator", organizational=False)
    assert plato == {"name": "Plato", "name_type": "personal", "roles": ["creator"]}
    assert agent_entry("   ", "creator") is None


def test_agents_merge_across_elements_and_validate() -> None:
    element = oai_record("oai:x:1", dc_doc(
        ("title", "T"),
        ("creator", "Finch, Joyce (Interviewer)"),
        ("contributor", "Finch, Joyce"),
        ("creator", "Poe, E. (Edgar), 1809-1849"),
        ("publisher", "Helsingin yliopisto, Kirjasto"),
        ("contributor", "Wren, Kit (Photographer)"),
    ))
    record = walk(element).record
    assert validate_record(record) == []
    finch, poe, wren, helsinki = record["agents"]
    assert finch["roles"] == ["creator", "interviewer", "contributor"]
    assert poe["dates"] == "1809-1849" and poe["fuller_form"] == "Edgar"
    assert helsinki == {"name": "Helsingin yliopisto, Kirjasto", "name_type": "organizational",
                        "roles": ["publisher"]}
    assert wren["role_terms"] == ["Photographer"]
    # the dc block keeps every name exactly as written
    assert [c["value"] for c in record["dc"]["creator"]] == [
        "Finch, Joyce (Interviewer)", "Poe, E. (Edgar), 1809-1849"]
