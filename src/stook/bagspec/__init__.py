"""The BagIt grammar (RFC 8493) in one public place.

``grammar``: the tag-file line rules, bagit.txt declaration, Payload-Oxum and the
single-valued elements; ``paths``: how manifest paths are decoded, judged and
normalised (the plain-path rule); ``hashing``: algorithms and one-read hashing;
``readers``: values read out of a bag already verified. The verify engine, its fast
path, transfer, the profile check, the store and the writer all use these.
"""

from __future__ import annotations

from stook.bagspec.grammar import (
    ANY_MANIFEST_NAME,
    BOM,
    DECLARATION,
    HEX,
    KNOWN_VERSIONS,
    MANIFEST_LINE,
    MANIFEST_NAME,
    NOT_ALGORITHM_CHAR,
    ONCE,
    OXUM,
    SINGLE_VALUED,
    parse_oxum,
)
from stook.bagspec.hashing import CHUNK, HASHLIB_NAMES, OPEN_FLAGS, STRENGTH, digest_size, hash_chunks
from stook.bagspec.paths import (
    collisions,
    decode_path,
    is_plain_path,
    name_findings,
    nfc,
    normalise,
    unsafe_reason,
    windows_problem,
)
from stook.bagspec.readers import (
    bagging_timestamp,
    decode_manifest_path,
    first_value,
    info_values,
    payload_algorithms,
    read_bag_info,
    read_manifest,
)

__all__ = [
    "ANY_MANIFEST_NAME",
    "BOM",
    "CHUNK",
    "DECLARATION",
    "HASHLIB_NAMES",
    "HEX",
    "KNOWN_VERSIONS",
    "MANIFEST_LINE",
    "MANIFEST_NAME",
    "NOT_ALGORITHM_CHAR",
    "ONCE",
    "OPEN_FLAGS",
    "OXUM",
    "SINGLE_VALUED",
    "STRENGTH",
    "bagging_timestamp",
    "collisions",
    "decode_manifest_path",
    "decode_path",
    "digest_size",
    "first_value",
    "hash_chunks",
    "info_values",
    "is_plain_path",
    "name_findings",
    "nfc",
    "normalise",
    "parse_oxum",
    "payload_algorithms",
    "read_bag_info",
    "read_manifest",
    "unsafe_reason",
    "windows_problem",
]
