"""The record schema: loading it, checking records against it, EDTF dates included.

JSON Schema has no EDTF format, so the maintained ``edtf`` package is registered as
the ``edtf`` format checker, with format assertion on. Validation reports every
error, each with its JSON path, the offending value and what was expected.

jsonschema and edtf cost ~0.1 s to import, more than a command's whole start-up
budget, so they are imported only when needed: a record the compiled check
accepts with plain dates needs neither.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime
from functools import lru_cache
from importlib import resources
from typing import TYPE_CHECKING, Any

from stook.errors import Problem
from stook.precheck import Check, compile_check

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator, FormatChecker
    from jsonschema.exceptions import ValidationError

SCHEMA_RESOURCE = "record.schema.json"


@lru_cache(maxsize=1)
def record_schema() -> dict[str, Any]:
    """The record schema shipped with the package (``schemas/record.schema.json``)."""
    text = resources.files("stook").joinpath("schemas").joinpath(SCHEMA_RESOURCE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def schema_id() -> str:
    return str(record_schema()["$id"])


# Months 01-12 only: YYYY-21 to YYYY-41 are EDTF seasons (1961-21 is spring 1961), for edtf.
_PLAIN_DATE = re.compile(r"^([0-9]{4})(?:-(0[1-9]|1[0-2])(?:-([0-9]{2}))?)?$")
# The same, qualified as a whole (EDTF level 1: 1961?, 1961-04~, 1961-04-26%).
_QUALIFIED = re.compile(r"^([0-9]{4}(?:-(?:0[1-9]|1[0-2])(?:-[0-9]{2})?)?)[?~%]$")


def is_edtf(value: object) -> bool:
    """True for a string the ``edtf`` package parses (levels 0 to 2)."""
    if not isinstance(value, str):
        return True
    return _is_edtf_text(value)


def _calendar_date(text: str) -> tuple[int, int, int] | None:
    """``(year, month, day)`` of a plain date that the calendar has (missing parts: 1), or
    None when ``text`` is not one (a season such as 2003-21 is not: the grammar decides)."""
    plain = _PLAIN_DATE.match(text)
    if plain is None or int(plain.group(1)) == 0:
        return None
    year, month, day = (int(g) if g is not None else 1 for g in plain.groups())
    try:
        date(year, month, day)  # stricter than edtf, which accepts 1961-02-29
    except ValueError:
        return None
    return year, month, day


def fast_edtf(value: str) -> bool | None:
    """The answer for the forms most archives use, checked with the calendar instead of the
    edtf grammar: plain dates, plain dates qualified as a whole (``1961~``), and intervals
    of those in order (``1961-04-14/1961-04-26``). None: the grammar decides. Sound against
    edtf (tests compare them on random values): True only where edtf accepts."""
    plain = _PLAIN_DATE.match(value)
    if plain is not None:
        season = plain.group(3) is None and (plain.group(2) or "") > "12"
        if season or int(plain.group(1)) == 0:  # 2003-21 is spring 2003; year 0: the grammar
            return None
        return _calendar_date(value) is not None
    if "/" in value:
        start, _, end = value.partition("/")
        first, last = _endpoint(start), _endpoint(end)
        if first is not None and last is not None and first <= last:
            return True
        return None
    return True if _endpoint(value) is not None and _QUALIFIED.match(value) else None


def _endpoint(text: str) -> tuple[int, int, int] | None:
    qualified = _QUALIFIED.match(text)
    return _calendar_date(qualified.group(1) if qualified else text)


@lru_cache(maxsize=65536)
def _is_edtf_text(value: str) -> bool:
    # The edtf grammar costs ~1-20 ms a call; the forms above are decided without it.
    fast = fast_edtf(value)
    if fast is not None:
        return fast
    if value != value.strip() or not value:
        return False
    import edtf  # ~75 ms to import (pyparsing): only for the forms above do without it

    try:
        edtf.parse_edtf(value)
    except Exception:  # the edtf parser raises several unrelated types
        return False
    return True


def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if "T" not in value and "t" not in value:
        return False
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return parsed.tzinfo is not None


# The formats stook defines itself; jsonschema's checker has the same two registered.
_OWN_FORMATS = {"edtf": is_edtf, "date-time": _is_datetime}


def format_checker() -> FormatChecker:
    from jsonschema import FormatChecker

    checker = FormatChecker()
    checker.checks("edtf")(is_edtf)
    checker.checks("date-time")(_is_datetime)
    return checker


class _Formats:
    """The answers of :func:`format_checker` without importing jsonschema for stook's own
    formats; any other format (``uri``) is left to jsonschema, imported on first use."""

    def conforms(self, instance: object, format: str) -> bool:
        own = _OWN_FORMATS.get(format)
        if own is not None:
            return own(instance)
        return _library_formats().conforms(instance, format)


@lru_cache(maxsize=1)
def _library_formats() -> FormatChecker:
    return format_checker()


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local ``$ref`` replaced by its target (the schema has no cycles)."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = _inline_refs(defs[ref.rsplit("/", 1)[1]], defs)
            rest = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$ref"}
            return {**target, **rest}
        return {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    return node


@lru_cache(maxsize=1)
def record_validator() -> Draft202012Validator:
    """A validator over the schema with refs inlined: ref lookups were 40% of validation time."""
    from jsonschema import Draft202012Validator

    return Draft202012Validator(_inlined_schema(), format_checker=format_checker())


@lru_cache(maxsize=1)
def _inlined_schema() -> dict[str, Any]:
    schema = record_schema()
    inlined: dict[str, Any] = _inline_refs(schema, schema.get("$defs", {}))
    return inlined


def json_path(error: ValidationError) -> str:
    """``$.dates[0].value`` style path of the failing instance."""
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _expected(error: ValidationError) -> str:
    validator = str(error.validator)
    value: Any = error.validator_value
    if validator == "format":
        if value == "edtf":
            return "an EDTF date such as 1961-04-26, 1961-04, 1961?, 196X or 1961-04-14/1961-04-26"
        return f"a valid {value}"
    if validator == "enum":
        return "one of " + ", ".join(map(str, value))
    if validator == "required":
        return "the required field(s) " + ", ".join(map(str, value))
    if validator == "additionalProperties":
        return "only the fields the schema defines (extensions go under 'extensions')"
    if validator == "type":
        return f"a value of type {value}"
    if validator == "pattern":
        described = error.schema.get("description") if isinstance(error.schema, dict) else None
        return str(described) if described else f"a string matching {value}"
    if validator in ("minLength", "maxLength", "minimum", "maximum", "minItems"):
        return f"{validator} {value}"
    return f"{validator}: {value}"


def _flatten(error: ValidationError) -> list[ValidationError]:
    """anyOf/oneOf failures are explained by their most specific sub-errors."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        best: list[ValidationError] = []
        for sub in error.context:
            best.extend(_flatten(sub))
        return best or [error]
    return [error]


def validate_record(record: Any) -> list[Problem]:
    """Every schema error of ``record`` (empty list when valid), in document order.

    A record the compiled check accepts is valid without asking jsonschema (tens of
    microseconds instead of ~1.6 ms); anything else gets jsonschema's full report.
    """
    check = record_check()
    if check is not None and check(record):
        return []
    return _validate(record)


@lru_cache(maxsize=1)
def record_check() -> Check | None:
    """The schema (refs inlined) compiled to a yes/no check; None if it cannot be.

    Built without jsonschema, which a valid record then never needs.
    """
    return compile_check(_inlined_schema(), _Formats())


def _validate(record: Any) -> list[Problem]:
    problems: list[Problem] = []
    seen_paths: set[str] = set()
    errors = sorted(record_validator().iter_errors(record), key=lambda e: list(map(str, e.absolute_path)))
    for error in errors:
        for leaf in _flatten(error):
            found: Any = leaf.instance
            if isinstance(found, (dict, list)):
                found = None if leaf.validator in ("required", "additionalProperties") else found
            where = json_path(leaf)
            message = leaf.message
            if leaf.validator == "format" and leaf.validator_value == "edtf":
                message = f"{leaf.instance!r} is not an EDTF date"
            elif leaf.validator == "pattern":
                if where in seen_paths:  # an empty string already reported by minLength
                    continue
                message = f"{leaf.instance!r} is not allowed here"
            seen_paths.add(where)
            problems.append(Problem(where, message, found, _expected(leaf)))
    return problems
