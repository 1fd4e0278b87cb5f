"""Reading hand-written records, the template, and the bundled example."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_DIR

from stook.errors import RecordError, RecordInvalid
from stook.record import canonical_json, load_record, parse_record_text, read_record_file, record_template
from stook.schema import validate_record


def test_yaml_dates_and_yes_no_words_stay_strings() -> None:
    text = (
        "identifier: x\ntitle: t\ndates:\n  - {type: created, value: 1961-04-26}\n"
        "languages:\n  - {code: no}\n"
    )
    record = parse_record_text(text, source="r.yaml", suffix=".yaml")
    assert record["dates"][0]["value"] == "1961-04-26"
    assert record["languages"][0]["code"] == "no"
    assert validate_record(record) == []


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("identifier: x\ntitle: [unclosed\n", encoding="utf-8")
    with pytest.raises(RecordError) as info:
        read_record_file(path)
    assert str(path) in str(info.value) and "line" in str(info.value)


def test_missing_and_wrongly_typed_files_are_clear(tmp_path: Path) -> None:
    with pytest.raises(RecordError, match="not found"):
        read_record_file(tmp_path / "nope.yaml")
    odd = tmp_path / "record.txt"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(RecordError, match=r"\.yaml, \.yml or \.json"):
        read_record_file(odd)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(RecordError, match="mapping"):
        read_record_file(listed)


def test_load_record_lists_every_error(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text('{"identifier": "x", "dates": [{"type": "created", "value": "1961-13-01"}]}', "utf-8")
    with pytest.raises(RecordInvalid) as info:
        load_record(path)
    locations = sorted(p.location for p in info.value.problems)
    assert locations == ["$", "$.dates[0].value"]
    assert info.value.exit_code == 1


def test_template_validates_as_is_and_mentions_every_field() -> None:
    text = record_template()
    record = parse_record_text(text, source="template", suffix=".yaml")
    assert validate_record(record) == []
    for field in ("dates:", "agents:", "archival_locations:", "markings:", "content:", "dc:"):
        assert f"# {field}" in text


def test_canonical_json_is_stable_and_utf8() -> None:
    record = {"title": "Запись", "identifier": "x"}
    data = canonical_json(record)
    assert data == canonical_json(dict(reversed(list(record.items()))))
    assert "Запись".encode() in data and data.endswith(b"\n")


def test_example_record_holds_every_fact_of_the_document_page() -> None:
    record = load_record(EXAMPLE_DIR / "record.yaml")
    assert record["title"] == (
        "Record of Conversation between Soviet Ambassador to Cuba Sergey Kudryavtsev and Che Guevara"
    )
    dates = {d["type"]: d["value"] for d in record["dates"]}
    assert dates == {"created": "1961-04-26", "event": "1961-04-14"}
    assert record["citation"].startswith('"Record of Conversation between Soviet Ambassador')
    assert "Fond 0104, Opis 17, Folder 118, File 3, pp. 181-184" in record["citation"]
    assert "translated by Svetlana Savranskaya (National Security Archive)" in record["citation"]
    location = record["archival_locations"][0]
    assert location["repository"]["abbreviation"] == "AVPRF"
    assert [(h["level"], h["value"]) for h in location["hierarchy"]] == [
        ("fond", "0104"),
        ("opis", "17"),
        ("papka", "118"),
        ("delo", "3"),
    ]
    assert location["pages"] == "181-184"
    agents = {a["name"]: a for a in record["agents"]}
    assert "translator" in agents["Svetlana Savranskaya"]["roles"]
    assert agents["Svetlana Savranskaya"]["affiliations"] == ["National Security Archive"]
    assert "author" in agents["Sergey Kudryavtsev"]["roles"]
    assert "Minister of Industry of the Republic of Cuba" in agents["Ernesto Guevara"]["positions"]
    assert {(lang["code"], lang["role"]) for lang in record["languages"]} == {
        ("ru", "original"),
        ("en", "translation"),
    }
    assert [m["verbatim"] for m in record["markings"]] == ["Secret", "Copy No.2", "No. 136"]
    assert record["funding"][0]["funder"] == "Leon Levy Foundation"
    summary = [d for d in record["descriptions"] if d["type"] == "summary"][0]["value"]
    assert summary.startswith("A record of a conversation between Soviet Ambassador")
    urls = [i["value"] for i in record["identifiers"] if i["scheme"] == "url"]
    assert urls == ["https://digitalarchive.umd.edu/document/115179"]
    text = (EXAMPLE_DIR / "text.txt").read_text("utf-8")
    assert text.startswith("From S.M. Kudryavtsev's Diary") and "(S. Kudryavtsev)" in text


def test_canonical_json_is_byte_for_byte_the_json_module_indented(example_record: Path) -> None:
    from collections import OrderedDict

    record = read_record_file(example_record)
    odd: dict[str, Any] = {
        "identifier": "x",
        "title": "Ünïcode \u2028 \"quotes\" \\ back\nslash\t\x01 \U0001f600",
        "empty": {},
        "nothing": [],
        "numbers": [0, -1, 1.5, 1e100, 2.0, True, False, None, 10**30],
        "nested": [{"b": [{}], "a": ([1, "two"], OrderedDict([("z", 1), ("y", 2)]))}],
        "extensions": {"wilson:collection": ["a", {"deep": {"deeper": ["x"]}}]},
    }
    for value in (record, odd):
        expected = json.dumps(value, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
        assert canonical_json(value) == expected.encode("utf-8")
    mixed_keys = {"a": {2: "two", 1: "one"}}  # non-string keys: the json module decides
    assert canonical_json(mixed_keys) == (
        json.dumps(mixed_keys, ensure_ascii=False, sort_keys=True, indent=2) + "\n"
    ).encode()
