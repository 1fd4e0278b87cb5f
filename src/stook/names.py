"""Bag names derived from record identifiers.

A name is ``<slug>-<digest>``: the slug keeps the name readable (lower-case ASCII
letters, digits and single hyphens, at most 60 characters), the digest (first 16 hex
digits of SHA-256 of the NFC-normalized identifier) keeps it unique. So names are
portable under RFC 8493 §6.1.2 (no reserved Windows names or characters, bounded
length, no traversal), two identifiers that differ only in case never share a name
on a case-insensitive filesystem, and the name is computed from the identifier alone.
Identifiers that differ only in Unicode normalization are the same identifier.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

from stook.errors import UsageError

#: The record's file in a bag's payload (``data/record.json``).
RECORD_FILE = "record.json"

SLUG_MAX = 60
DIGEST_HEX = 16
_NON_SLUG = re.compile(r"[^a-z0-9]+")
_VERSION_DIR = re.compile(r"^v([1-9][0-9]*)$")


def identifier_key(identifier: str) -> str:
    """The form identifiers are compared in: NFC, exactly as typed otherwise."""
    if not isinstance(identifier, str) or not identifier.strip():
        raise UsageError("a record identifier must be a non-empty string")
    if identifier.isascii() and identifier.isprintable():
        return identifier  # the usual case: no control characters, already NFC
    if any(unicodedata.category(ch) == "Cc" for ch in identifier):
        raise UsageError(
            f"identifier {identifier!r} contains control characters (such as NUL); "
            "remove them from the record's identifier"
        )
    return unicodedata.normalize("NFC", identifier)


def slug(identifier: str) -> str:
    """Readable ASCII part of the name: letters kept without accents, the rest hyphens."""
    ascii_text = unicodedata.normalize("NFKD", identifier).encode("ascii", "ignore").decode("ascii").lower()
    text = _NON_SLUG.sub("-", ascii_text).strip("-")
    text = text[:SLUG_MAX].rstrip("-")
    return text or "record"


def bag_name(identifier: str) -> str:
    """The directory name of every version of ``identifier`` in a store."""
    key = identifier_key(identifier)
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:DIGEST_HEX]
    return f"{slug(key)}-{digest}"


def version_dir(version: int) -> str:
    return f"v{version}"


def parse_version_dir(name: str) -> int | None:
    match = _VERSION_DIR.match(name)
    return int(match.group(1)) if match else None


def bag_label(identifier: str, version: int, name: str | None = None) -> str:
    """Name of one bag version outside the store (export archives, bag-info); ``name`` is
    ``bag_name(identifier)`` when the caller has it already."""
    return f"{name or bag_name(identifier)}.v{version}"
