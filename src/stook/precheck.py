"""A compiled yes/no check of a record against the schema, for the common case.

jsonschema walks the schema afresh for every record, building a validator object at
every node: about 1.6 ms for the example record, most of the cost of bagging it. A
valid record needs no error messages, so the schema is compiled once into plain
closures that answer only "is it certainly valid?". When the answer is no, or the
schema uses a keyword this module does not know, jsonschema decides and produces the
errors: it stays the authority, and a test checks that the two agree on thousands of
generated records.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Callable
from typing import Any, Protocol

Check = Callable[[Any], bool]


class FormatRules(Protocol):
    """What the check needs of a format checker: a ``jsonschema.FormatChecker`` will do."""

    def conforms(self, instance: object, format: str) -> bool: ...


# Keywords that never change the outcome of validation.
_ANNOTATIONS = frozenset({
    "$schema", "$id", "$comment", "title", "description", "examples", "default",
    "deprecated", "readOnly", "writeOnly",
})


_FUSED_OBJECT = frozenset(
    {"type", "properties", "required", "additionalProperties", "anyOf", "propertyNames"}
)
_FUSED_STRING = frozenset({"type", "minLength", "maxLength", "pattern", "enum", "format"})


class Unsupported(Exception):
    """The schema uses a keyword this compiler does not handle; jsonschema must decide alone."""


def compile_check(schema: Any, format_checker: FormatRules) -> Check | None:
    """A check that returns True only for instances jsonschema would accept, or None."""
    try:
        return _Compiler(format_checker).compile(schema)
    except Unsupported:
        return None


def _always(_value: Any) -> bool:
    return True


def _never(_value: Any) -> bool:
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, float):
        return value.is_integer()
    return isinstance(value, int)


_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    "integer": _is_integer,
}


def _all_of(checks: list[Check]) -> Check:
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]

    def check(value: Any) -> bool:
        for one in checks:  # noqa: SIM110 - a plain loop: all() over a generator is slower
            if not one(value):
                return False
        return True

    return check


class _Compiler:
    def __init__(self, format_checker: FormatRules) -> None:
        self.format_checker = format_checker

    def compile(self, node: Any) -> Check:
        if node is True:
            return _always
        if node is False:
            return _never
        if not isinstance(node, dict):
            raise Unsupported(repr(node))
        fused = self._fused(node)
        if fused is not None:
            return fused
        checks: list[Check] = []
        for keyword, value in node.items():
            if keyword in _ANNOTATIONS:
                continue
            if keyword == "additionalProperties":
                continue  # compiled with properties, which it depends on
            build = getattr(self, "_kw_" + keyword, None)
            if build is None:
                raise Unsupported(keyword)
            checks.append(build(value, node))
        if "additionalProperties" in node:
            checks.append(self._additional(node))
        return _all_of(checks)

    def _fused(self, node: dict[str, Any]) -> Check | None:
        """One closure for the common object, string and array nodes, or None.

        The generic path composes a closure per keyword; these nodes are most of the
        schema, and one closure each makes the check about twice as fast.
        """
        kind = node.get("type")
        keys = set(node) - _ANNOTATIONS
        if kind == "object" and keys <= _FUSED_OBJECT:
            return self._object(node)
        if kind == "string" and keys <= _FUSED_STRING:
            return self._string(node)
        if kind == "array" and keys <= {"type", "items"} and isinstance(node.get("items", True), dict):
            item = self.compile(node.get("items", True))

            def array(v: Any) -> bool:
                if not isinstance(v, list):
                    return False
                for one in v:  # noqa: SIM110 - faster than all() over a generator
                    if not item(one):
                        return False
                return True

            return array
        return None

    def _object(self, node: dict[str, Any]) -> Check:
        props = {key: self.compile(sub) for key, sub in node.get("properties", {}).items()}
        required = tuple(node.get("required", ()))
        extra = self.compile(node["additionalProperties"]) if "additionalProperties" in node else None
        others = [self._kw_anyOf(node["anyOf"], node)] if "anyOf" in node else []
        if "propertyNames" in node:
            others.append(self._kw_propertyNames(node["propertyNames"], node))

        def obj(v: Any) -> bool:
            if not isinstance(v, dict):
                return False
            for name in required:
                if name not in v:
                    return False
            for key, item in v.items():
                sub = props.get(key)
                if sub is None:
                    if extra is not None and not extra(item):
                        return False
                elif not sub(item):
                    return False
            for other in others:  # noqa: SIM110 - faster than all() over a generator
                if not other(v):
                    return False
            return True

        return obj

    def _string(self, node: dict[str, Any]) -> Check:
        low = node.get("minLength", 0)
        high = node.get("maxLength")
        search = re.compile(node["pattern"]).search if "pattern" in node else None
        members: frozenset[str] | None = None
        if "enum" in node:
            if not all(isinstance(member, str) for member in node["enum"]):
                raise Unsupported("enum with values other than strings")
            members = frozenset(node["enum"])
        fmt = node.get("format")
        conforms = self.format_checker.conforms

        def string(v: Any) -> bool:
            if not isinstance(v, str):
                return False
            if len(v) < low or (high is not None and len(v) > high):
                return False
            if search is not None and search(v) is None:
                return False
            if members is not None and v not in members:
                return False
            return fmt is None or conforms(v, fmt)

        return string

    def _kw_type(self, value: Any, _node: dict[str, Any]) -> Check:
        names = [value] if isinstance(value, str) else list(value)
        if any(name not in _TYPES for name in names):
            raise Unsupported(f"type {value!r}")
        if len(names) == 1:
            return _TYPES[names[0]]
        tests = [_TYPES[name] for name in names]
        return lambda v: any(test(v) for test in tests)

    def _kw_properties(self, value: dict[str, Any], _node: dict[str, Any]) -> Check:
        compiled = [(key, self.compile(sub)) for key, sub in value.items()]

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            for key, sub in compiled:  # noqa: SIM110 - faster than all() over a generator
                if key in v and not sub(v[key]):
                    return False
            return True

        return check

    def _additional(self, node: dict[str, Any]) -> Check:
        if "patternProperties" in node:
            raise Unsupported("patternProperties")
        known = frozenset(node.get("properties", {}))
        extra = self.compile(node["additionalProperties"])
        if extra is _always:
            return _always
        if extra is _never:
            return lambda v: not isinstance(v, dict) or known.issuperset(v)

        def check(v: Any) -> bool:
            if not isinstance(v, dict):
                return True
            return all(extra(item) for key, item in v.items() if key not in known)

        return check

    def _kw_required(self, value: list[str], _node: dict[str, Any]) -> Check:
        names = tuple(value)
        return lambda v: not isinstance(v, dict) or all(name in v for name in names)

    def _kw_items(self, value: Any, node: dict[str, Any]) -> Check:
        if "prefixItems" in node or not isinstance(value, (dict, bool)):
            raise Unsupported("items with prefixItems or as a list")
        sub = self.compile(value)
        return lambda v: not isinstance(v, list) or all(sub(item) for item in v)

    def _kw_enum(self, value: list[Any], _node: dict[str, Any]) -> Check:
        if not all(isinstance(member, str) for member in value):
            raise Unsupported("enum with values other than strings")
        members = frozenset(value)
        # jsonschema compares a string only with strings, so nothing else is a member.
        return lambda v: isinstance(v, str) and v in members

    def _kw_pattern(self, value: str, _node: dict[str, Any]) -> Check:
        search = re.compile(value).search
        return lambda v: not isinstance(v, str) or search(v) is not None

    def _kw_minLength(self, value: int, _node: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) >= value

    def _kw_maxLength(self, value: int, _node: dict[str, Any]) -> Check:
        return lambda v: not isinstance(v, str) or len(v) <= value

    def _kw_minimum(self, value: float, _node: dict[str, Any]) -> Check:
        return lambda v: not _is_number(v) or v >= value

    def _kw_format(self, value: str, _node: dict[str, Any]) -> Check:
        conforms = self.format_checker.conforms
        return lambda v: conforms(v, value)

    def _kw_anyOf(self, value: list[Any], _node: dict[str, Any]) -> Check:
        subs = [self.compile(sub) for sub in value]
        return lambda v: any(sub(v) for sub in subs)

    def _kw_propertyNames(self, value: Any, _node: dict[str, Any]) -> Check:
        sub = self.compile(value)
        return lambda v: not isinstance(v, dict) or all(sub(key) for key in v)
