"""The compiled yes/no check agrees with jsonschema, and never lets an invalid record through."""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, FormatChecker

from stook.precheck import compile_check
from stook.record import read_record_file
from stook.schema import _validate, format_checker, record_check, record_validator, validate_record

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wilson-115179" / "record.yaml"

# Values that break one rule or another of the schema somewhere: wrong types, empty or
# padded strings, impossible and malformed dates, unknown enum members, bad language tags.
ODD_VALUES: list[Any] = [
    None, True, False, 0, -1, 1.5, 2.0, "", " ", "x", "  padded ", "1961-13-01", "1961-02-29",
    "1961-04", "196X", "April 1961", "1961-04-14/1961-04-26", "ru", "en-GB", "EN", "english",
    "url", "doi", "x-local", "X-bad", "created", "translator", "nonsense-role", "a\nb",
    "http://example.org/x", "oai:example.org:1", [], [1], ["x"], {}, {"value": "x"},
    {"type": "created"}, {"name": "A"}, {"wilson:collection": "y"}, {"Bad Key": 1},
    "0" * 128, "f" * 127, 10**20, -0.0,
]


def _paths(node: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every location in a JSON document, containers included."""
    found = [here]
    if isinstance(node, dict):
        for key, value in node.items():
            found.extend(_paths(value, (*here, key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found.extend(_paths(value, (*here, index)))
    return found


def _mutate(record: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    doc = copy.deepcopy(record)
    for _ in range(rng.randint(1, 3)):
        where = rng.choice(_paths(doc))
        if not where:
            continue
        parent = doc
        for step in where[:-1]:
            parent = parent[step]
        last = where[-1]
        action = rng.random()
        if action < 0.25 and isinstance(parent, dict):
            del parent[last]
        elif action < 0.35 and isinstance(parent, dict):
            parent[rng.choice(["colour", "extra", "Title", "identifier2"])] = "x"
        elif action < 0.45 and isinstance(parent, list) and len(parent) > 0:
            parent.append(copy.deepcopy(parent[0]))
        else:
            parent[last] = copy.deepcopy(rng.choice(ODD_VALUES))
    return doc


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return read_record_file(EXAMPLE)


def test_the_record_schema_compiles(example: dict[str, Any]) -> None:
    check = record_check()
    assert check is not None
    assert check(example) is True
    assert check({"identifier": "oai:x:1", "title": "A"}) is True
    assert check({"identifier": "oai:x:1"}) is False  # title missing


def test_agrees_with_jsonschema_on_thousands_of_mutated_records(example: dict[str, Any]) -> None:
    """Sound (accepts nothing jsonschema rejects) and, for speed, complete on valid records."""
    check = record_check()
    assert check is not None
    rng = random.Random(20261127)
    bases = [example, {"identifier": "oai:x:1", "title": "A"}]
    outcomes = {True: 0, False: 0}
    for n in range(3000):
        record = _mutate(bases[n % 2], rng)
        valid = not list(record_validator().iter_errors(record))
        fast = check(record)
        assert fast == valid, json.dumps(record, default=str)[:400]
        outcomes[valid] += 1
    # the mutations must exercise both sides, or the test proves nothing
    assert outcomes[True] > 100 and outcomes[False] > 1000


def test_validate_record_reports_errors_the_check_refused(example: dict[str, Any]) -> None:
    bad = copy.deepcopy(example)
    bad["dates"][0]["value"] = "1961-13-01"
    problems = validate_record(bad)
    assert [p.location for p in problems] == ["$.dates[0].value"]
    assert problems == _validate(bad)


@pytest.mark.parametrize(
    "schema",
    [
        {"const": 1},
        {"type": "object", "patternProperties": {"^x": {}}, "additionalProperties": False},
        {"enum": [1, "a"]},
        {"$ref": "#/$defs/x"},
        {"type": "uuid"},
        {"prefixItems": [{}], "items": False},
    ],
)
def test_keywords_it_does_not_know_leave_the_decision_to_jsonschema(schema: dict[str, Any]) -> None:
    assert compile_check(schema, FormatChecker()) is None


_OBJ: dict[str, Any] = {
    "type": "object",
    "properties": {"a": {"type": "string", "minLength": 2}},
    "required": ["a"],
    "additionalProperties": False,
}


def test_small_schemas_behave_like_jsonschema() -> None:
    fc = format_checker()
    cases: list[tuple[dict[str, Any], Any, bool]] = [
        ({"type": "integer"}, 3, True),
        ({"type": "integer"}, 3.0, True),
        ({"type": "integer"}, True, False),
        ({"type": "number"}, False, False),
        ({"type": ["string", "null"]}, None, True),
        ({"minLength": 2}, "é", False),
        ({"minLength": 2}, 5, True),  # applies to strings only
        ({"pattern": "b"}, "abc", True),  # search, not match
        ({"minimum": 0}, -1, False),
        ({"format": "edtf"}, "1961-04?", True),
        ({"format": "edtf"}, "April 1961", False),
        ({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"b": 1}, True),
        ({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]}, {"c": 1}, False),
        ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"Ab": 1}, False),
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
         {"a": "x", "b": 1}, True),
        ({"properties": {"a": {"type": "string"}}, "additionalProperties": {"type": "integer"}},
         {"a": "x", "b": "y"}, False),
        ({"items": {"enum": ["x"]}}, ["x", "y"], False),
        ({"enum": ["1"]}, 1, False),
        # the fused object, string and array closures
        (_OBJ, {"a": "xy"}, True),
        (_OBJ, {"a": "x"}, False),
        (_OBJ, {"a": "xy", "b": 1}, False),
        (_OBJ, {}, False),
        (_OBJ, ["a"], False),
        ({"type": "object", "properties": {"a": {"type": "integer"}}}, {"a": 1, "z": None}, True),
        ({"type": "array", "items": {"type": "string", "enum": ["x"]}}, ["x", "x"], True),
        ({"type": "array", "items": {"type": "string", "enum": ["x"]}}, ["x", 1], False),
        ({"type": "array", "items": {"type": "string"}}, ("x",), False),
        ({"type": "string", "maxLength": 3, "pattern": "^a"}, "abcd", False),
        ({"type": "string", "format": "edtf"}, "1961-04-31", False),
    ]
    for schema, instance, expected in cases:
        check = compile_check(schema, fc)
        assert check is not None, schema
        assert check(instance) is expected, (schema, instance)
        assert Draft202012Validator(schema, format_checker=fc).is_valid(instance) is expected
