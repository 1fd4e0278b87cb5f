"""Between the form and the record: what was typed becomes a record dict, a record
becomes what the form shows, and each validation problem finds the field it is about.

The form's values are kept as typed (a flat ``{name: text}`` mapping), so a refused
submit shows exactly what the person entered. Empty inputs are left out of the record;
rows whose inputs are all empty are dropped, so the form can offer blank rows freely.
Because dropped rows shift list positions, building the record also notes which form
field each JSON path came from.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from stook.errors import Problem
from stook.web.formspec import FieldSpec, child_name, location_name, record_form

Values = dict[str, str]
_INTEGER = re.compile(r"^-?[0-9]{1,18}$")
_REQUIRED = re.compile(r"^'(.+)' is a required property$")


@dataclass
class Built:
    """A record built from the form, the problems met building it, and where each JSON
    path (``$.dates[0].value``) came from in the form (``dates[1].value``)."""

    record: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)
    names: dict[str, str] = field(default_factory=dict)

    def field_of(self, problem: Problem) -> str:
        """The form name the problem belongs beside ("" for the record as a whole)."""
        location = problem.location
        missing = _REQUIRED.match(problem.message)
        while True:
            if location in self.names:
                name = self.names[location]
                if missing and location == problem.location:
                    return child_name(name, missing.group(1))
                return name
            if location in ("$", ""):
                if missing and problem.location == "$":
                    return missing.group(1)
                return location_name(location)
            location = _parent(location)


def _parent(location: str) -> str:
    """``$.a[0].b`` -> ``$.a[0]`` -> ``$.a`` -> ``$``."""
    if location.endswith("]"):
        return location[: location.rindex("[")]
    cut = location.rfind(".")
    return location[:cut] if cut > 0 else "$"


def row_indexes(values: Mapping[str, str], list_name: str) -> list[int]:
    """The row numbers of the list ``list_name`` present in the form, in order."""
    prefix = list_name + "["
    found: set[int] = set()
    for key in values:
        if key.startswith(prefix):
            end = key.find("]", len(prefix))
            digits = key[len(prefix):end]
            if end > 0 and digits.isdigit() and len(digits) < 6:
                found.add(int(digits))
    return sorted(found)


def build_record(values: Mapping[str, str], spec: FieldSpec | None = None) -> Built:
    """The record the form's values describe (problems for values that cannot be read)."""
    spec = spec or record_form()
    built = Built({})
    record = _build(spec, "", "$", values, built)
    built.record = record if isinstance(record, dict) else {}
    return built


def _build(spec: FieldSpec, name: str, location: str, values: Mapping[str, str], built: Built) -> Any:
    built.names[location] = name
    if spec.kind == "object":
        out: dict[str, Any] = {}
        for child in spec.children:
            value = _build(child, child_name(name, child.key), f"{location}.{child.key}", values, built)
            if value is not None:
                out[child.key] = value
        return out or None
    if spec.kind == "list":
        assert spec.item is not None
        items: list[Any] = []
        for index in row_indexes(values, name):
            value = _build(spec.item, child_name(name, index), f"{location}[{len(items)}]", values, built)
            if value is not None:
                items.append(value)
        return items or None
    if spec.kind == "keyed":
        return _build_keyed(name, location, values, built)
    return _scalar(spec, values.get(name), location, built)


def _scalar(spec: FieldSpec, raw: str | None, location: str, built: Built) -> Any:
    if raw is None or raw == "":
        return None
    if spec.kind == "textarea" or "\r" in raw:
        raw = raw.replace("\r\n", "\n")  # browsers send every line break of a text area as CRLF
    if spec.kind == "integer":
        stripped = raw.strip()
        return int(stripped) if _INTEGER.match(stripped) else raw  # the schema names a non-number
    if spec.kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if spec.kind == "json":
        return _json(raw, location, built)
    return raw


def _json(raw: str, location: str, built: Built) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        built.problems.append(Problem(
            location, f"is not JSON ({exc.msg} at character {exc.pos})", raw,
            'a JSON value: text in double quotes ("Cold War"), a number, true, false, a list or an object',
        ))
        return None


def _build_keyed(name: str, location: str, values: Mapping[str, str], built: Built) -> dict[str, Any] | None:
    """A free-form object (``extensions``): rows of a key and a JSON value."""
    out: dict[str, Any] = {}
    for index in row_indexes(values, name):
        row = child_name(name, index)
        key = values.get(f"{row}.key", "")
        raw = values.get(f"{row}.value", "")
        if not key and not raw:
            continue
        if not key or key in out:
            where = f"{location}[{index}]"
            built.names[where] = f"{row}.key"
            said = "has a value but no key" if not key else f"the key {key!r} is given twice"
            expected = "a namespaced key such as wcda:collection, once"
            built.problems.append(Problem(where, said, key or None, expected))
            continue
        where = f"{location}.{key}"
        built.names[where] = f"{row}.value"
        if not raw:
            built.problems.append(Problem(where, "has a key but no value", None, "a JSON value"))
            continue
        before = len(built.problems)
        value = _json(raw, where, built)
        if len(built.problems) == before:
            out[key] = value
    return out or None


# -- from a record to the form ----------------------------------------------------------


def values_from_record(record: Mapping[str, Any], spec: FieldSpec | None = None) -> Values:
    """What the form shows for ``record`` (an edit starts from the latest version)."""
    spec = spec or record_form()
    values: Values = {}
    _fill(spec, "", record, values)
    return values


def _fill(spec: FieldSpec, name: str, value: Any, values: Values) -> None:
    if value is None:
        return
    if spec.kind == "object" and isinstance(value, Mapping):
        for child in spec.children:
            if child.key in value:
                _fill(child, child_name(name, child.key), value[child.key], values)
        return
    if spec.kind == "list" and isinstance(value, list):
        assert spec.item is not None
        for index, item in enumerate(value):
            _fill(spec.item, child_name(name, index), item, values)
        return
    if spec.kind == "keyed" and isinstance(value, Mapping):
        for index, (key, item) in enumerate(value.items()):
            values[f"{child_name(name, index)}.key"] = str(key)
            values[f"{child_name(name, index)}.value"] = json.dumps(item, ensure_ascii=False)
        return
    if spec.kind == "json" or isinstance(value, (dict, list)):
        values[name] = json.dumps(value, ensure_ascii=False)
    elif isinstance(value, bool):
        values[name] = "true" if value else "false"
    else:
        values[name] = str(value)


def blank_values(spec: FieldSpec, name: str) -> Values:
    """Empty inputs for a new row (or a new form): one blank row in each list within."""
    values: Values = {}
    if spec.kind == "object":
        for child in spec.children:
            if not child.advanced:
                values.update(blank_values(child, child_name(name, child.key)))
    elif spec.kind == "list":
        assert spec.item is not None
        values.update(blank_values(spec.item, child_name(name, 0)))
    elif spec.kind == "keyed":
        values[f"{child_name(name, 0)}.key"] = ""
        values[f"{child_name(name, 0)}.value"] = ""
    else:
        values[name] = ""
    return values


def find_spec(name: str, spec: FieldSpec | None = None) -> FieldSpec | None:
    """The spec of the form field ``name`` (``agents[0].roles``), or None."""
    node = spec or record_form()
    for part in _parts(name):
        if isinstance(part, int):
            if node.kind == "list" and node.item is not None:
                node = node.item
            elif node.kind != "keyed":
                return None
        elif node.kind == "object":
            found = node.child(part)
            if found is None:
                return None
            node = found
        elif node.kind == "keyed" and part in ("key", "value"):
            return FieldSpec(part, part.capitalize(), "text" if part == "key" else "json")
        else:
            return None
    return node


def describe(name: str, spec: FieldSpec | None = None) -> str:
    """A person's name for the field ``dates[1].value``: ``Dates › Date 2 › Value``."""
    node = spec or record_form()
    words: list[str] = []
    for part in _parts(name):
        if isinstance(part, int):
            words.append(f"{node.row_name.capitalize() or 'Row'} {part + 1}")
            if node.item is not None:
                node = node.item
            continue
        child = node.child(part) if node.kind == "object" else None
        if child is None:
            words.append(part)
            continue
        words.append(child.label)
        node = child
    return " › ".join(words) or "The record"


def _parts(name: str) -> Iterable[str | int]:
    for match in re.finditer(r"\[(\d+)\]|([^.\[\]]+)", name):
        yield int(match.group(1)) if match.group(1) is not None else match.group(2)


def add_row(values: Values, list_name: str) -> Values:
    """The values with one more blank row at the end of the list ``list_name``."""
    spec = find_spec(list_name)
    changed = dict(values)
    if spec is None or spec.kind not in ("list", "keyed"):
        return changed
    present = row_indexes(values, list_name)
    row = child_name(list_name, (present[-1] + 1) if present else 0)
    if spec.kind == "keyed":
        changed[f"{row}.key"] = ""
        changed[f"{row}.value"] = ""
    else:
        assert spec.item is not None
        changed.update(blank_values(spec.item, row))
    return changed


def remove_row(values: Values, row: str) -> Values:
    """The values without the row ``row`` (``agents[1]``) and everything in it."""
    return {
        key: value for key, value in values.items()
        if not (key == row or key.startswith(row + ".") or key.startswith(row + "["))
    }
