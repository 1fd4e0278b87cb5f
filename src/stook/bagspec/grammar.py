"""The line rules of BagIt tag files (RFC 8493), shared by every reader and writer of bags.

The verify engine, its fast path, transfer, the profile check and the bag writer read
and write bags by these rules alone, so they can never drift apart.
"""

from __future__ import annotations

import codecs
import re

#: BagIt versions stook reads (RFC 8493 and the drafts before it).
KNOWN_VERSIONS = ("0.93", "0.94", "0.95", "0.96", "0.97", "1.0")
#: The bagit.txt stook writes, and the only one its fast path vouches for.
DECLARATION = b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
BOM = codecs.BOM_UTF8
#: A manifest or tag manifest name with a normalised algorithm name (RFC 8493 \u00a72.4).
MANIFEST_NAME = re.compile(r"^(tag)?manifest-([a-z0-9]+)\.txt$")
#: A manifest name as found on disk, its algorithm not yet normalised (``manifest-SHA-256.txt``).
ANY_MANIFEST_NAME = re.compile(r"^(tag)?manifest-(.+)\.txt$")
#: What normalising an algorithm name (RFC 8493 \u00a72.4) removes, after lower-casing.
NOT_ALGORITHM_CHAR = re.compile(r"[^a-z0-9]")
#: One manifest line: a checksum, whitespace, a path (which may itself hold spaces).
MANIFEST_LINE = re.compile(r"^(\S+)[ \t]+(.*)$", re.DOTALL)
HEX = re.compile(r"^[0-9A-Fa-f]+$")
#: Payload-Oxum: octets.streams.
OXUM = re.compile(r"^(\d+)\.(\d+)$")
#: Reserved bag-info elements that should not be repeated (a repeat is a warning).
SINGLE_VALUED = ("bagging-date", "bag-size", "bag-group-identifier", "bag-count")
#: Elements that must appear at most once: the above, and Payload-Oxum (a repeat is an error).
ONCE = frozenset((*SINGLE_VALUED, "payload-oxum"))


def parse_oxum(value: str) -> tuple[int, int] | None:
    """``(bytes, files)`` of a Payload-Oxum value, or None when it is not one."""
    match = OXUM.match(value.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None
