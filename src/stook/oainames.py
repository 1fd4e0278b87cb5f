"""How store identifiers and bag groups become OAI-PMH identifiers and setSpecs.

Both mappings are reversible and leave the common case untouched:

* **Identifiers.** An OAI identifier must be a URI (``xsd:anyURI``); a stook record
  identifier may be any string. An identifier that is already a plain URI reference
  (RFC 3986 characters, ``%`` only in ``%XX`` escapes, at most one ``#``, no brackets
  or whitespace; non-ASCII letters allowed, as in IRIs) is served unchanged. Any
  other identifier is served as ``urn:stook:id:`` followed by its UTF-8 bytes
  percent-encoded (every byte except ``A-Z a-z 0-9 - . _ ~``). Identifiers that
  themselves start with ``urn:stook:id:`` are always encoded, so the mapping cannot
  collide.
* **Sets.** A group (``Bag-Group-Identifier``, taken from the record's
  ``record_source.set_specs``) is split on ``:`` into hierarchy levels. Within each
  level, ``A-Z a-z 0-9 - _ . ~ * ' ( )`` are kept and every other UTF-8 byte is
  written ``!XX`` (``!`` and two upper-case hex digits); an empty level is written
  ``!``. So an OAI setSpec harvested from elsewhere comes back unchanged (unless it
  contains ``!``), and ``Космос`` becomes ``!D0!9A!D0!BE...``.
"""

from __future__ import annotations

import functools
import re
from urllib.parse import quote, unquote

__all__ = [
    "ENCODED_ID_PREFIX",
    "group_for_set_spec",
    "is_valid_oai_identifier",
    "is_valid_set_spec",
    "oai_identifier",
    "record_identifier",
    "set_spec_for_group",
    "xml_safe",
]

ENCODED_ID_PREFIX = "urn:stook:id:"

# One character of an RFC 3986 URI reference outside the fragment, or a non-ASCII
# character that XML allows and that is not whitespace (IRI-style).
_URI_CHAR = (
    r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@/?]|%[0-9A-Fa-f]{2}"
    r"|[^\x00-\x7f\s\ud800-\udfff\ufffe\uffff\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000])"
)
_URI_RE = re.compile(rf"{_URI_CHAR}+(?:#{_URI_CHAR}*)?")

_SET_SAFE = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~*'()")
_SET_SPEC_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+(?::[A-Za-z0-9\-_.!~*'()]+)*")
_ESCAPE_RE = re.compile(r"!([0-9A-F]{2})")

# Characters XML 1.0 does not allow at all.
_XML_ILLEGAL = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


@functools.lru_cache(maxsize=65536)
def oai_identifier(identifier: str) -> str:
    """The OAI identifier a record is served under (see the module docstring)."""
    if _URI_RE.fullmatch(identifier) and not identifier.startswith(ENCODED_ID_PREFIX):
        return identifier
    return ENCODED_ID_PREFIX + quote(identifier, safe="")


def is_valid_oai_identifier(value: str) -> bool:
    """True when ``value`` could be an OAI identifier this provider serves (a URI reference)."""
    return _URI_RE.fullmatch(value) is not None


def record_identifier(oai_id: str) -> str:
    """The store identifier behind an OAI identifier (inverse of :func:`oai_identifier`)."""
    if oai_id.startswith(ENCODED_ID_PREFIX):
        return unquote(oai_id[len(ENCODED_ID_PREFIX):], errors="strict")
    return oai_id


def _encode_level(level: str) -> str:
    if not level:
        return "!"
    out: list[str] = []
    for byte in level.encode("utf-8", "surrogatepass"):
        out.append(chr(byte) if byte in _SET_SAFE else f"!{byte:02X}")
    return "".join(out)


@functools.lru_cache(maxsize=65536)
def set_spec_for_group(group: str) -> str:
    """The setSpec of a bag group (see the module docstring)."""
    return ":".join(_encode_level(level) for level in group.split(":"))


def group_for_set_spec(spec: str) -> str:
    """The group behind a setSpec (inverse of :func:`set_spec_for_group`)."""
    levels: list[str] = []
    for level in spec.split(":"):
        if level == "!":
            levels.append("")
            continue
        raw = _ESCAPE_RE.sub(lambda m: "\x00" + m.group(1), level)
        data = bytearray()
        i = 0
        while i < len(raw):
            if raw[i] == "\x00":
                data.append(int(raw[i + 1 : i + 3], 16))
                i += 3
            else:
                data.extend(raw[i].encode("ascii"))
                i += 1
        levels.append(data.decode("utf-8", "replace"))
    return ":".join(levels)


def is_valid_set_spec(spec: str) -> bool:
    """True when ``spec`` has the syntax the OAI-PMH schema requires of a setSpec."""
    return _SET_SPEC_RE.fullmatch(spec) is not None


def xml_safe(text: str) -> str:
    """``text`` with characters XML cannot carry replaced by U+FFFD (for display fields)."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def has_xml_illegal(text: str) -> bool:
    return _XML_ILLEGAL.search(text) is not None
