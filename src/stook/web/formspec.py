"""The record form, generated from ``schemas/record.schema.json``.

The web form is never written by hand: every field of the schema becomes a field of
the form (a changed schema changes the form), with the schema's own words as help.
A :class:`FieldSpec` says how one schema node is entered: a text input, a text area,
a select (enumerations), an EDTF date, a whole number, yes/no, a JSON value (the
free-form ``extensions``), a group of fields (an object) or repeating rows (an array).

Form field names are the record's JSON paths without the ``$.``: ``title``,
``dates[0].value``, ``agents[1].roles[0]``, so a validator's error location names the
field it belongs to.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any, Literal

from stook.schema import record_schema

Kind = Literal["text", "textarea", "select", "edtf", "integer", "boolean", "json", "object", "list", "keyed"]

#: Top-level fields most people entering a document by hand leave alone: shown folded.
ADVANCED = frozenset({"record_source", "dc", "dc_order", "extensions", "metadata_only"})
#: Fields whose values run to sentences or paragraphs: a text area instead of one line.
LONG_TEXT = frozenset({"citation", "statement", "note", "reference", "descriptions.value"})
#: How one row of a repeating group is called, where dropping a final "s" would not do.
ROW_NAMES = {
    "rights": "rights statement",
    "funding": "funding",
    "hierarchy": "level",
    "content": "file",
    "dc_order": "element",
    "set_specs": "set",
    "additional_titles": "additional title",
    "archival_locations": "archival location",
}
#: Labels that read better than the field name.
LABELS = {
    "dc": "Dublin Core (as harvested)",
    "dc_order": "Dublin Core element order",
    "name_type": "Name type",
    "uri": "URI",
    "base_url": "Base URL",
    "source_url": "Source URL",
    "media_type": "Media type",
    "lang": "Language",
    "sha512": "SHA-512",
    "sha256": "SHA-256",
    "set_specs": "Sets",
    "retrieved_at": "Retrieved at",
    "oai_identifier": "OAI identifier",
    "metadata_prefix": "Metadata prefix",
    "metadata_only": "Metadata only",
    "original_name": "Original name",
}
#: What an EDTF date may look like, shown beside every EDTF input.
EDTF_FORMS = (
    ("1961-04-26", "a day"),
    ("1961-04", "a month"),
    ("1961", "a year"),
    ("1961?", "uncertain"),
    ("1961~", "approximate"),
    ("196X", "a decade"),
    ("1961-04-14/1961-04-26", "a range"),
    ("1961-04-14/..", "open end"),
)


@dataclass(frozen=True)
class FieldSpec:
    """How one node of the record schema is entered in the form."""

    key: str  # the property name ("" for the rows of a list)
    label: str
    kind: Kind
    required: bool = False
    help: str = ""
    choices: tuple[str, ...] = ()
    children: tuple[FieldSpec, ...] = ()  # object: its properties, in schema order
    item: FieldSpec | None = None  # list: what one row holds
    row_name: str = ""  # list: how one row is called ("date", "agent")
    advanced: bool = False
    files: bool = False  # list rows that carry a file (the record's content)

    @property
    def is_group(self) -> bool:
        return self.kind in ("object", "list", "keyed")

    def child(self, key: str) -> FieldSpec | None:
        for child in self.children:
            if child.key == key:
                return child
        return None


def humanize(key: str) -> str:
    """``archival_locations`` -> ``Archival locations``."""
    if key in LABELS:
        return LABELS[key]
    text = key.replace("_", " ").strip()
    return text[:1].upper() + text[1:]


def row_name(key: str) -> str:
    """What one row of the list ``key`` is called: ``dates`` -> ``date``."""
    if key in ROW_NAMES:
        return ROW_NAMES[key]
    words = key.replace("_", " ")
    if words.endswith("ies"):
        return words[:-3] + "y"
    if words.endswith("s") and not words.endswith("ss"):
        return words[:-1]
    return words


def _resolve(node: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a local ``$ref`` replaced by its target (sibling keys win)."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = _resolve(root["$defs"][ref.rsplit("/", 1)[1]], root)
        return {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return node


def _help(node: dict[str, Any], raw: dict[str, Any]) -> str:
    described = raw.get("description") or node.get("description") or ""
    return str(described)


def build_spec(node: dict[str, Any], root: dict[str, Any], key: str, trail: str, *,
               required: bool = False, label: str | None = None) -> FieldSpec:
    """The :class:`FieldSpec` of one schema node; ``trail`` is its dotted name path
    without list indexes (``descriptions.value``), used for presentation choices."""
    raw = node
    node = _resolve(node, root)
    kind = node.get("type")
    text = label or humanize(key)
    help_text = _help(node, raw)
    if kind == "object":
        props = node.get("properties")
        if not props:
            return FieldSpec(key, text, "keyed", required, help_text)
        needed = set(node.get("required", []))
        children = tuple(
            build_spec(sub, root, name, f"{trail}.{name}" if trail else name, required=name in needed)
            for name, sub in props.items()
        )
        return FieldSpec(key, text, "object", required, help_text, children=children)
    if kind == "array":
        rows = row_name(key)
        item = build_spec(node.get("items", {}), root, "", trail, label=rows[:1].upper() + rows[1:])
        return FieldSpec(key, text, "list", required, help_text, item=item, row_name=rows)
    if "enum" in node:
        return FieldSpec(key, text, "select", required, help_text, choices=tuple(map(str, node["enum"])))
    if node.get("format") == "edtf":
        return FieldSpec(key, text, "edtf", required, help_text)
    if kind == "integer":
        return FieldSpec(key, text, "integer", required, help_text)
    if kind == "boolean":
        return FieldSpec(key, text, "boolean", required, help_text)
    if kind is None:
        return FieldSpec(key, text, "json", required, help_text)
    leaf = trail.rsplit(".", 1)[-1]
    long_text = trail in LONG_TEXT or leaf in LONG_TEXT
    return FieldSpec(key, text, "textarea" if long_text else "text", required, help_text)


@lru_cache(maxsize=1)
def record_form() -> FieldSpec:
    """The whole record form: an object whose children are the schema's top-level fields."""
    schema = record_schema()
    spec = build_spec(schema, schema, "", "")
    marked = tuple(
        _with(child, advanced=child.key in ADVANCED, files=child.key == "content") for child in spec.children
    )
    return _with(spec, children=marked)


def _with(spec: FieldSpec, **changes: Any) -> FieldSpec:
    return replace(spec, **changes)


# -- names ----------------------------------------------------------------------------

_SEGMENT = re.compile(r"\[(\d+)\]|\.?([^.\[\]]+)")


def child_name(parent: str, key: str | int) -> str:
    """The form name of a child: ``dates`` + 0 -> ``dates[0]``; ``dates[0]`` + ``value``
    -> ``dates[0].value``."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    return f"{parent}.{key}" if parent else key


def name_to_id(name: str) -> str:
    """An HTML id for a form name (letters, digits and dashes only)."""
    return "f-" + re.sub(r"[^A-Za-z0-9_]+", "-", name).strip("-")


def location_name(location: str) -> str:
    """The form name a JSON path location points at: ``$.dates[0].value`` -> ``dates[0].value``."""
    if location.startswith("$."):
        return location[2:]
    if location.startswith("$"):
        return location[1:]
    return location
