"""Records: reading hand-written YAML or JSON files, canonical JSON, and the template.

A record is a plain ``dict`` that satisfies ``schemas/record.schema.json``. YAML is
read with a loader that keeps dates and words such as ``no`` as the strings the
archivist typed (PyYAML would otherwise turn ``1961-04-26`` into a date object and
``no`` into ``False``).
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from json.encoder import encode_basestring as _encode_string
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stook.errors import Problem, RecordError, RecordInvalid
from stook.schema import record_schema, validate_record

if TYPE_CHECKING:
    import yaml

RECORD_SUFFIXES = {".yaml", ".yml", ".json"}


@lru_cache(maxsize=1)
def _literal_loader() -> type[yaml.SafeLoader]:
    """SafeLoader without timestamp resolution and with YAML 1.2 booleans only.

    Built on first use: PyYAML costs ~10 ms to import, which listing, verifying or
    auditing a store never needs.
    """
    import yaml

    class LiteralLoader(yaml.SafeLoader):
        pass

    LiteralLoader.yaml_implicit_resolvers = {
        first: [
            (tag, regexp)
            for tag, regexp in resolvers
            if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
        ]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }
    for first in "tTfF":
        LiteralLoader.yaml_implicit_resolvers.setdefault(first, []).append(
            (
                "tag:yaml.org,2002:bool",
                __import__("re").compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
            )
        )
    return LiteralLoader


def parse_record_text(text: str, *, source: str, suffix: str) -> dict[str, Any]:
    """Parse YAML or JSON text into a record dict; ``source`` names it in errors."""
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RecordError(
                f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                path=source,
            ) from exc
    else:
        data = _parse_yaml(text, source)
    if not isinstance(data, dict):
        raise RecordError(
            f"{source}: a record must be a mapping of fields (identifier, title, ...), "
            f"found {type(data).__name__}",
            path=source,
        )
    return data


def _parse_yaml(text: str, source: str) -> Any:
    import yaml

    try:
        # the loader is a SafeLoader subclass: no arbitrary objects are built.
        return yaml.load(text, Loader=_literal_loader())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecordError(f"{source}: not valid YAML{where}: {problem}", path=source) from exc


def read_record_file(path: Path) -> dict[str, Any]:
    """Read a record file without validating it."""
    suffix = path.suffix.lower()
    if suffix not in RECORD_SUFFIXES:
        raise RecordError(
            f"{path}: unknown record file type {suffix or '(none)'!r}; use .yaml, .yml or .json",
            path=path,
        )
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise RecordError(f"{path}: record file not found", path=path) from exc
    except OSError as exc:
        raise RecordError(f"{path}: cannot read record file: {exc.strerror}", path=path) from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise RecordError(
            f"{path}: record file is not UTF-8 (bad byte at offset {exc.start}); save it as UTF-8",
            path=path,
        ) from exc
    return parse_record_text(text, source=str(path), suffix=suffix)


def load_record(path: Path) -> dict[str, Any]:
    """Read and validate a record file; raise :class:`RecordInvalid` listing every error."""
    record = read_record_file(path)
    ensure_valid(record, source=str(path))
    return record


def ensure_valid(record: dict[str, Any], *, source: str) -> None:
    problems = validate_record(record)
    if problems:
        raise record_invalid(record, problems, source=source)


def record_invalid(record: Any, problems: list[Problem], *, source: str) -> RecordInvalid:
    """The error for a record that failed validation, naming where it came from."""
    identifier = record.get("identifier") if isinstance(record, dict) else None
    return RecordInvalid(
        f"{source}: record is invalid ({len(problems)} error{'s' if len(problems) != 1 else ''})",
        problems,
        path=source,
        record_id=identifier if isinstance(identifier, str) else None,
    )


def canonical_json(record: dict[str, Any]) -> bytes:
    """The bytes of ``data/record.json``: sorted keys, UTF-8, two-space indent, final newline.

    Byte for byte what ``json.dumps(record, ensure_ascii=False, sort_keys=True,
    indent=2)`` writes, several times faster: with an indent, the json module
    leaves its C encoder aside, and this is written for every record bagged.
    """
    out: list[str] = []
    try:
        _write_json(record, "", out)
    except _Unusual:
        return (json.dumps(record, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")
    out.append("\n")
    return "".join(out).encode("utf-8")


class _Unusual(Exception):
    """A key that is not a string, or a subclass of str, dict or list: left to the json
    module, which knows its rules."""


# '"key": ' for the field names records use, encoded once (bounded: keys come from data)
_ENCODED_KEYS: dict[str, str] = {}


def _encoded_key(key: str) -> str:
    text = _encode_string(key) + ": "
    if len(_ENCODED_KEYS) < 4096:
        _ENCODED_KEYS[key] = text
    return text


def _write_json(value: Any, pad: str, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_encode_string(value))
    elif kind is dict:
        if not value:
            out.append("{}")
            return
        inner = pad + "  "
        try:
            keys = sorted(value)
        except TypeError:
            raise _Unusual from None
        head = "{\n" + inner
        separator = ",\n" + inner
        for key in keys:
            if type(key) is not str:
                raise _Unusual
            item = value[key]
            encoded = _ENCODED_KEYS.get(key) or _encoded_key(key)
            if type(item) is str:  # most values: written with their key in one piece
                out.append(head + encoded + _encode_string(item))
            else:
                out.append(head + encoded)
                _write_json(item, inner, out)
            head = separator
        out.append("\n" + pad + "}")
    elif kind is list or kind is tuple:
        if not value:
            out.append("[]")
            return
        inner = pad + "  "
        head = "[\n" + inner
        separator = ",\n" + inner
        for item in value:
            if type(item) is str:
                out.append(head + _encode_string(item))
            else:
                out.append(head)
                _write_json(item, inner, out)
            head = separator
        out.append("\n" + pad + "]")
    elif isinstance(value, (str, dict, list, tuple)):
        raise _Unusual
    else:  # numbers, booleans, null; anything else raises TypeError as json.dumps does
        out.append(json.dumps(value))


def with_changes(record: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A deep copy of ``record`` with ``fields`` replaced; the caller's dict is never touched."""
    changed = copy.deepcopy(record)
    changed.update(copy.deepcopy(fields))
    return changed


# --- template -----------------------------------------------------------------------

_PLACEHOLDERS = {"identifier": "local:CHANGE-ME", "title": "Title of the document"}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        resolved: dict[str, Any] = root["$defs"][ref.split("/")[-1]]
        return {**resolved, **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def _example(schema: dict[str, Any], root: dict[str, Any], indent: int) -> list[str]:
    """YAML lines showing the shape of ``schema`` (used commented out)."""
    schema = _resolve(schema, root)
    pad = " " * indent
    kind = schema.get("type")
    if kind == "array":
        item = _resolve(schema.get("items", {}), root)
        if item.get("type") == "object":
            lines = _object_lines(item, root, indent + 2)
            first = lines[0].lstrip() if lines else "{}"
            return [f"{pad}- {first}"] + lines[1:]
        return [f"{pad}- {_scalar(item)}"]
    if kind == "object":
        return _object_lines(schema, root, indent)
    return [f"{pad}{_scalar(schema)}"]


def _scalar(schema: dict[str, Any]) -> str:
    if "enum" in schema:
        return str(schema["enum"][0]) + "   # " + " | ".join(map(str, schema["enum"]))
    if schema.get("format") == "edtf":
        return '"1961-04-26"   # EDTF: 1961-04, 1961?, 196X, 1961-04-14/1961-04-26'
    if schema.get("type") == "boolean":
        return "false"
    if schema.get("type") == "integer":
        return "0"
    return '""'


def _object_lines(schema: dict[str, Any], root: dict[str, Any], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for name, sub in schema.get("properties", {}).items():
        sub = _resolve(sub, root)
        kind = sub.get("type")
        if kind in ("array", "object") and (sub.get("items") or sub.get("properties")):
            lines.append(f"{pad}{name}:")
            lines.extend(_example(sub, root, indent + 2))
        elif kind == "object":
            lines.append(f"{pad}{name}: {{}}")
        else:
            lines.append(f"{pad}{name}: {_scalar(sub)}")
    return lines


def record_template() -> str:
    """A commented YAML skeleton of the record, generated from the schema.

    Required fields are filled with placeholders (so the template validates as is);
    every optional field is shown commented out with its description and shape.
    """
    schema = record_schema()
    required = set(schema.get("required", []))
    out = [
        "# stook record: edit, then check with `stook validate FILE` and bag with `stook bag FILE`.",
        f"# Schema: {schema['$id']}",
        "# Required: " + ", ".join(sorted(required)) + ". Everything else is optional;",
        "# uncomment what you need. Dates are EDTF (1961-04-26, 1961-04, 1961?, 196X).",
        "",
    ]
    for name, sub in schema["properties"].items():
        resolved = _resolve(sub, schema)
        description = sub.get("description") or resolved.get("description")
        if description:
            out.append(f"# {description}")
        if name in required:
            out.append(f"{name}: {json.dumps(_PLACEHOLDERS.get(name, 'CHANGE-ME'))}")
        else:
            body = _object_lines({"properties": {name: sub}}, schema, 0)
            out.extend("# " + line for line in body)
        out.append("")
    return "\n".join(out)
