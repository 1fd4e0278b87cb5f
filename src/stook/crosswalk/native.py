"""``stook``: another stook store's record.json, carried whole in a ``<stook:record>`` element."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from lxml import etree

from stook.errors import CrosswalkError
from stook.record import canonical_json

NATIVE_NS = "https://stook.dev/ns/record/v1"
NATIVE_TAG = f"{{{NATIVE_NS}}}record"


def record_from_native(element: Any) -> dict[str, Any]:
    """The record inside a ``<stook:record>`` element (``stook serve``'s lossless format).

    The element carries a record.json as JSON text and, in ``sha512``, the digest of
    those bytes; a record whose bytes do not match arrived damaged (CrosswalkError,
    a ValueError).
    """
    if isinstance(element, (bytes, str)):
        try:
            element = etree.fromstring(element.encode("utf-8") if isinstance(element, str) else element)
        except etree.XMLSyntaxError as exc:
            raise CrosswalkError(f"the stook:record element is not well-formed XML: {exc}") from exc
    try:
        data = json.loads(element.text or "")
    except json.JSONDecodeError as exc:
        raise CrosswalkError(f"the stook:record element does not hold JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise CrosswalkError("the stook:record element does not hold a JSON object")
    expected = element.get("sha512")
    if expected:
        found = hashlib.sha512(canonical_json(data)).hexdigest()
        if found != expected:
            raise CrosswalkError(
                f"the record's sha512 does not match what the provider sent "
                f"(expected {expected[:16]}..., found {found[:16]}...): damaged in transit"
            )
    return data
