"""Reading hand-written records, the template, and the bundled example."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_DIR

from stook.errors import RecordError, RecordInvalid, RecordParseError
from stook.record import canonical_json, load_record, parse_record_text, read_record_file, record_template
from stook.recordfile import check_record_value
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


def test_template_suggests_no_size_or_digest_a_file_could_be_held_to() -> None:
    text = record_template()
    fields = ("size:", "sha512:", "sha256:")
    declared = [line for line in text.splitlines() if line.lstrip("# ").startswith(fields)]
    assert len(declared) == 3
    for line in declared:
        value = line.split(":", 1)[1].split("#", 1)[0]
        assert value.strip() == "", line  # uncommented as is, the field is null: invalid, never a fake value
    # the whole content block, uncommented as it stands, is refused rather than passing a made-up size
    block = text[text.index("# content:") :].split("\n\n", 1)[0]
    record = parse_record_text(
        "identifier: x\ntitle: t\n" + "\n".join(line[2:] for line in block.splitlines()),
        source="template",
        suffix=".yaml",
    )
    locations = {p.location for p in validate_record(record)}
    assert {"$.content[0].size", "$.content[0].sha512", "$.content[0].sha256"} <= locations


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


# --- records are JSON: YAML as the JSON subset ------------------------------------------


def _refusal(text: str, suffix: str) -> RecordParseError:
    with pytest.raises(RecordParseError) as info:
        parse_record_text(text, source=f"r{suffix}", suffix=suffix)
    assert "r" + suffix in str(info.value)
    return info.value


def test_plain_yaml_scalars_stay_text_unless_written_as_json_numbers() -> None:
    text = (
        "identifier: x\ntitle: t\n"
        "date: 1961-04-26\nstamp: 2001-12-14t21:59:43.10-05:00\nfond: 0104\ntime: 10:30\n"
        "hex: 0x1F\nunderscored: 1_000\nword: no\nyes_word: on\nplus: +1\n"
        "int: -3\nfloat: 1.5\nexp: 1e3\ntrue_: true\nnull_: ~\nempty:\n"
    )
    record = parse_record_text(text, source="r.yaml", suffix=".yaml")
    assert record == {
        "identifier": "x", "title": "t",
        "date": "1961-04-26", "stamp": "2001-12-14t21:59:43.10-05:00", "fond": "0104",
        "time": "10:30", "hex": "0x1F", "underscored": "1_000", "word": "no", "yes_word": "on",
        "plus": "+1", "int": -3, "float": 1.5, "exp": 1000.0, "true_": True, "null_": None,
        "empty": None,
    }
    assert [type(record[k]) for k in ("int", "float", "true_")] == [int, float, bool]


@pytest.mark.parametrize(
    ("text", "line", "location", "words"),
    [
        ("identifier: x\ntitle: !!binary aGVsbG8=\n", 2, "$.title", "!!binary"),
        ("identifier: x\nsubjects: !!set {a, b}\n", 2, "$.subjects", "!!set"),
        ("identifier: x\ndates:\n  - value: !!timestamp 2001-12-14\n", 3, "$.dates[0].value", "!!timestamp"),
        ("identifier: x\nx: !!python/object/apply:os.system ['true']\n", 2, "$.x", "!!python/object/apply"),
        ("identifier: x\nx: !custom 3\n", 2, "$.x", "!custom"),
        ("identifier: x\nx: !!str 3\n", 2, "$.x", "!!str"),
        ("identifier: x\nlist:\n  - 1\n  - .nan\n", 4, "$.list[1]", ".nan"),
        ("identifier: x\nv: -.inf\n", 2, "$.v", "-.inf"),
        ("identifier: x\ntitle: a\nother: b\ntitle: c\n", 4, "$.title", "given twice (lines 2 and 4)"),
        ("identifier: x\n1961: a\n", 2, "$", "the key 1961 is a number"),
        ("identifier: x\ntrue: a\n", 2, "$", "the key true is a boolean"),
        ("identifier: x\nnull: a\n", 2, "$", "the key null is null"),
        ("identifier: x\n? [a, b]\n: c\n", 2, "$", "the key is a list"),
        ("a: &anchor [1]\nb: *anchor\n", 2, "$.b", "alias *anchor"),
        ("base: {x: 1}\nrecord:\n  <<: {y: 2}\n", 3, "$.record", "merge keys"),
        ("identifier: x\n---\ntitle: t\n", 2, "$", "second YAML document"),
        ("identifier: x\nn: " + "9" * 5000 + "\n", 2, "$.n", "5,000 digits"),
        ("identifier: x\nd: " + "[" * 100 + "]" * 100 + "\n", 2, "$.d" + "[0]" * 63, "deeper than 64"),
    ],
)
def test_yaml_outside_the_json_subset_is_refused_with_line_and_path(
    text: str, line: int, location: str, words: str
) -> None:
    error = _refusal(text, ".yaml")
    assert error.line == line and error.location == location
    assert f"line {line}" in str(error) and words in str(error)
    assert error.exit_code == 2


@pytest.mark.parametrize(
    ("text", "line", "location", "words"),
    [
        ('{"identifier": "x",\n "title": "a",\n "title": "b"}', 3, "$.title", "given twice (lines 2 and 3)"),
        ('{"identifier": "x",\n "dc": {"title": [],\n   "title": []}}', 3, "$.dc.title", "given twice"),
        ('{"identifier": "x",\n "v": [1, NaN]}', 2, "$.v[1]", "NaN is not a JSON number"),
        ('{"identifier": "x",\n "v": -Infinity}', 2, "$.v", "-Infinity is not a JSON number"),
        ('{"identifier": "x",\n "v": 1e400}', 2, "$.v", "1e400 is not a JSON number"),
        ('{"identifier": "x",\n "v": ' + "9" * 5000 + "}", 2, "$.v", "5,000 digits"),
        ('{"identifier": "x",\n "v": "\\ud800"}', 2, "$.v", "lone surrogate"),
        ('{"identifier": "x",\n "d":\n' + "[" * 900 + "]" * 900 + "}", 3, "$.d" + "[0]" * 63, "deeper"),
        ('{"identifier": "x",\n "d":\n' + "[" * 10**5 + "]" * 10**5 + "}", 3, "$.d" + "[0]" * 63, "deeper"),
    ],
)
def test_json_duplicates_non_finite_numbers_and_deep_nesting_are_refused(
    text: str, line: int, location: str, words: str
) -> None:
    error = _refusal(text, ".json")
    assert error.line == line and error.location == location
    assert words in str(error)


def test_too_many_values_are_refused_in_both_syntaxes() -> None:
    items = ",".join(["1"] * 100_001)
    assert "more than 100,000 values" in str(_refusal('{"a": [' + items + "]}", ".json"))
    assert "more than 100,000 values" in str(_refusal("a: [" + items + "]\n", ".yaml"))


def test_record_file_size_is_bounded_before_it_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    path.write_bytes(b'{"identifier": "x", "title": "' + b"a" * (9 * 1024 * 1024) + b'"}')
    with pytest.raises(RecordError, match=r"larger than 8,388,608 bytes"):
        read_record_file(path)
    small = tmp_path / "small.json"
    small.write_text('{"identifier": "x", "title": "abcdef"}', "utf-8")
    with pytest.raises(RecordError, match="larger than 10 bytes"):
        read_record_file(small, max_bytes=10)
    assert read_record_file(small, max_bytes=100)["title"] == "abcdef"


def test_record_file_that_never_ends_is_refused_unread(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    with pytest.raises(RecordError, match="not a regular file"):
        read_record_file(fifo)  # opening it would wait for a writer forever
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(RecordError, match="is a directory"):
        read_record_file(tmp_path / "dir.yaml")


def test_record_file_that_is_not_utf8_names_offset_and_line(tmp_path: Path) -> None:
    path = tmp_path / "r.yaml"
    path.write_bytes(b"identifier: x\ntitle: caf\xe9\n")
    with pytest.raises(RecordParseError, match=r"byte 0xe9 at offset 24, line 2") as info:
        read_record_file(path)
    assert info.value.line == 2


def test_records_built_in_python_are_held_to_the_same_rules() -> None:
    check_record_value({"identifier": "x", "title": "t", "n": [1, 2.5, None, True]}, source="form")
    bad: list[tuple[Any, str]] = [
        ({"identifier": "x", "v": float("nan")}, "$.v"),
        ({"identifier": "x", "dc": {1: "a"}}, "$.dc"),
        ({"identifier": "x", "when": __import__("datetime").date(1961, 4, 26)}, "$.when"),
        ({"identifier": "x", "v": "\udc00"}, "$.v"),
        ({"identifier": "x", "d": json.loads("[" * 70 + "]" * 70)}, "$.d" + "[0]" * 63),
    ]
    for record, location in bad:
        with pytest.raises(RecordParseError) as info:
            check_record_value(record, source="form")
        assert info.value.location == location and str(info.value).startswith("form: ")
