"""The record form is generated from the schema: every field is in it, a changed schema
changes it, and a record shown in the form comes back from it unchanged."""

from __future__ import annotations

import copy
from typing import Any

from conftest import EXAMPLE_DIR

from stook.errors import Problem
from stook.recordfile import read_record_file
from stook.schema import record_schema, validate_record
from stook.web.formdata import add_row, build_record, describe, remove_row, values_from_record
from stook.web.formspec import FieldSpec, build_spec, record_form


def _walk(spec: FieldSpec, schema: dict[str, Any], root: dict[str, Any]) -> list[str]:
    """Every schema property path the spec does not cover."""
    missing = []
    if "$ref" in schema:
        schema = {**root["$defs"][schema["$ref"].rsplit("/", 1)[1]], **schema}
    for key, sub in (schema.get("properties") or {}).items():
        child = spec.child(key)
        if child is None:
            missing.append(key)
            continue
        if child.kind == "list" and child.item is not None:
            missing += [f"{key}[].{m}" for m in _walk(child.item, sub.get("items", {}), root)]
        else:
            missing += [f"{key}.{m}" for m in _walk(child, sub, root)]
    return missing


def test_every_field_of_the_schema_is_in_the_form() -> None:
    schema = record_schema()
    assert _walk(record_form(), schema, schema) == []
    form = record_form()
    dates = form.child("dates")
    assert dates is not None and dates.item is not None
    date_type, value = dates.item.child("type"), dates.item.child("value")
    assert date_type is not None and date_type.kind == "select" and "declassified" in date_type.choices
    assert value is not None and value.kind == "edtf"
    extensions = form.child("extensions")
    assert extensions is not None and extensions.kind == "keyed" and extensions.advanced


def test_a_schema_change_changes_the_form() -> None:
    schema = copy.deepcopy(record_schema())
    schema["properties"]["provenance_note"] = {"description": "How the document reached the archive.",
                                               "type": "string"}
    schema["properties"]["markings"]["items"]["properties"]["type"]["enum"].append("stamp")
    spec = build_spec(schema, schema, "", "")
    added = spec.child("provenance_note")
    assert added is not None and added.label == "Provenance note"
    assert added.help.startswith("How the document")
    markings = spec.child("markings")
    assert markings is not None and markings.item is not None
    kind = markings.item.child("type")
    assert kind is not None and kind.choices[-1] == "stamp"


def _every_kind() -> dict[str, Any]:
    record = read_record_file(EXAMPLE_DIR / "record.yaml")
    record["metadata_only"] = False
    record["content"][0]["size"] = 7546
    record["extensions"] = {"wcda:collection": ["Cuban Missile Crisis"], "wcda:count": 3,
                            "wcda:note": "two\nlines"}
    record["record_source"] = {"method": "harvest", "base_url": "https://example.org/oai",
                               "set_specs": ["a", "b"], "deleted": False,
                               "retrieved_at": "2024-01-02T03:04:05Z"}
    record["dc"] = {"title": [{"value": "Record of Conversation", "lang": "en"}], "date": [{"value": "1961"}]}
    record["dc_order"] = ["title", "date"]
    record["descriptions"][1]["value"] = "A note\nover two lines"
    return record


def test_a_record_comes_back_from_the_form_unchanged() -> None:
    record = _every_kind()
    assert validate_record(record) == []
    built = build_record(values_from_record(record))
    assert built.problems == []
    assert built.record == record


def test_the_form_sends_crlf_and_the_record_keeps_lf() -> None:
    values = values_from_record({"identifier": "x", "title": "t", "citation": "line one\nline two"})
    values["citation"] = values["citation"].replace("\n", "\r\n")
    assert build_record(values).record["citation"] == "line one\nline two"


def test_typed_values_that_are_not_what_the_schema_wants_reach_the_validator() -> None:
    values = {"identifier": "x", "title": "t", "content[0].path": "a.bin", "content[0].kind": "scan",
              "content[0].size": "12 KB", "extensions[0].key": "wcda:bad", "extensions[0].value": "not json"}
    built = build_record(values)
    assert built.record["content"][0]["size"] == "12 KB"
    assert [p.location for p in built.problems] == ["$.extensions.wcda:bad"]
    assert built.field_of(built.problems[0]) == "extensions[0].value"
    problems = validate_record(built.record)
    assert [built.field_of(p) for p in problems] == ["content[0].size"]


def test_problems_find_their_field_after_blank_rows_are_dropped() -> None:
    values = {"identifier": "x", "title": "t", "agents[0].name": "", "agents[1].name": "",
              "agents[2].roles[0]": "", "agents[2].roles[1]": "ambassador"}
    built = build_record(values)
    assert built.record["agents"] == [{"roles": ["ambassador"]}]
    names = sorted(built.field_of(p) for p in validate_record(built.record))
    assert names == ["agents[2].name", "agents[2].roles[1]"]
    assert describe("agents[2].roles[1]") == "Agents › Agent 3 › Roles › Role 2"
    assert built.field_of(Problem("$", "'title' is a required property")) == "title"


def test_rows_are_added_after_the_last_and_removed_with_everything_in_them() -> None:
    values = {"agents[0].name": "A", "agents[3].name": "B", "agents[3].roles[0]": "author"}
    grown = add_row(values, "agents")
    assert grown["agents[4].name"] == "" and grown["agents[4].roles[0]"] == ""
    assert values == {"agents[0].name": "A", "agents[3].name": "B", "agents[3].roles[0]": "author"}
    assert remove_row(grown, "agents[3]") == {"agents[0].name": "A", **{k: v for k, v in grown.items()
                                                                       if k.startswith("agents[4]")}}
    assert add_row(values, "no_such_list") == values
