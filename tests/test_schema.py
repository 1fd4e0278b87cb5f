"""The record schema: a valid Draft 2020-12 schema whose refs resolve, with EDTF dates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from stook.schema import record_schema, validate_record

ROOT = Path(__file__).resolve().parent.parent


def _refs(node: Any) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                found.append(value)
            else:
                found.extend(_refs(value))
    elif isinstance(node, list):
        for value in node:
            found.extend(_refs(value))
    return found


def test_schema_is_valid_against_its_metaschema() -> None:
    Draft202012Validator.check_schema(record_schema())


def test_top_level_schemas_dir_holds_the_shipped_schema() -> None:
    on_disk = json.loads((ROOT / "schemas" / "record.schema.json").read_text("utf-8"))
    assert on_disk == record_schema()
    assert on_disk["$id"].startswith("https://")
    assert on_disk["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_ref_resolves() -> None:
    schema = record_schema()
    refs = _refs(schema)
    assert len(refs) > 10
    registry = Registry().with_resource(schema["$id"], Resource.from_contents(schema))
    resolver = registry.resolver(base_uri=schema["$id"])
    for ref in refs:
        resolved = resolver.lookup(ref)
        assert isinstance(resolved.contents, dict), ref


def test_design_fields_are_all_present() -> None:
    fields = set(record_schema()["properties"])
    expected = {
        "identifier",
        "identifiers",
        "title",
        "additional_titles",
        "dates",
        "agents",
        "languages",
        "descriptions",
        "citation",
        "archival_locations",
        "markings",
        "subjects",
        "places",
        "rights",
        "funding",
        "relations",
        "content",
        "record_source",
        "dc",
        "extensions",
    }
    assert expected <= fields
    assert record_schema()["required"] == ["identifier", "title"]
    assert set(record_schema()["properties"]["dc"]["properties"]) == {
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
    }


def _with_date(value: str) -> dict[str, Any]:
    return {"identifier": "x", "title": "t", "dates": [{"type": "created", "value": value}]}


@pytest.mark.parametrize(
    "value", ["1961-04", "1961-04?", "1961-04-14/1961-04-26", "196X", "1961", "1961-04-26", "1961?", "19XX"]
)
def test_edtf_dates_accepted(value: str) -> None:
    assert validate_record(_with_date(value)) == []


@pytest.mark.parametrize("value", ["1961-13-01", "April 1961", "26/04/1961", "", " 1961"])
def test_non_edtf_dates_rejected_with_path(value: str) -> None:
    problems = validate_record(_with_date(value))
    assert [p.location for p in problems] == ["$.dates[0].value"]
    assert "EDTF" in (problems[0].expected or "")


def test_minimal_record_is_valid_and_required_fields_are_reported() -> None:
    assert validate_record({"identifier": "oai:x:1", "title": "A"}) == []
    problems = validate_record({})
    assert len(problems) == 2
    assert all(p.location == "$" for p in problems)
    assert {("identifier" in p.message, "title" in p.message) for p in problems} == {
        (True, False),
        (False, True),
    }


def test_unknown_top_level_key_rejected_but_namespaced_extension_allowed() -> None:
    problems = validate_record({"identifier": "x", "title": "t", "colour": "red"})
    assert len(problems) == 1 and "colour" in problems[0].message
    ok = {"identifier": "x", "title": "t", "extensions": {"wcda:collection": "Cuban Missile Crisis"}}
    assert validate_record(ok) == []
    bad = {"identifier": "x", "title": "t", "extensions": {"collection": "x"}}
    assert [p.location for p in validate_record(bad)] == ["$.extensions"]


def test_every_error_is_listed_with_path_value_and_expectation() -> None:
    record = {
        "identifier": "x",
        "title": "t",
        "dates": [{"type": "created", "value": "April 1961"}, {"type": "when", "value": "1961"}],
        "languages": [{"code": "Russian", "role": "original"}],
        "content": [{"path": "../../etc/passwd", "kind": "text"}],
    }
    problems = validate_record(record)
    by_path = {p.location: p for p in problems}
    assert set(by_path) == {"$.dates[0].value", "$.dates[1].type", "$.languages[0].code", "$.content[0].path"}
    assert by_path["$.dates[1].type"].found == "when"
    assert "created" in (by_path["$.dates[1].type"].expected or "")
    assert by_path["$.content[0].path"].found == "../../etc/passwd"


@pytest.mark.parametrize("identifier", ["a\x00b", "line\nbreak", "   "])
def test_identifiers_with_control_characters_or_blank_are_invalid(identifier: str) -> None:
    problems = validate_record({"identifier": identifier, "title": "t"})
    assert [p.location for p in problems] == ["$.identifier"]
