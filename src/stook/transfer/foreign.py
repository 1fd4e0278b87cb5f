"""Minimal records for received bags that carry no stook record of their own.

A valid bag made by another tool (bagit-python, a partner's repository software) has
no ``data/record.json``. Publishing, listing and exporting still need a record for
it, so one is built from what the bag says about itself in ``bag-info.txt`` and kept
in the ledger beside the bag (``Ledger.keep_foreign_record``): the bag stays byte for
byte as it arrived. The mapping onto the record model:

==============================  ==================================================
bag-info                        record
==============================  ==================================================
(identifier stored under)       ``identifier``
External-Identifier             ``identifiers`` (scheme from the value's form)
Internal-Sender-Identifier      ``identifiers`` (scheme ``local``)
Title, else Internal-Sender-    ``title`` (else the identifier); the other two go
Description, else External-     to ``descriptions`` (note, summary)
Description
Bagging-Date                    ``dates`` (type unspecified, noted as the bagging date)
Source-Organization             ``agents`` (organizational, publisher)
Contact-Name                    ``agents`` (personal, position "Contact", affiliated
                                with the Source-Organization)
Bag-Group-Identifier            ``record_source.set_specs`` (the provider's sets) and
                                ``relations`` (is_part_of)
payload manifest                ``content`` (each file under data/, as an attachment,
                                with its sha512 when the bag has one)
every field, in order           ``extensions["bag-info:fields"]`` (lossless)
==============================  ==================================================

A value the record schema refuses is left out (and reported), so the record is
always valid when its identifier is.
"""

from __future__ import annotations

import contextlib
import functools
import mimetypes
import os
import re
from pathlib import Path
from typing import Any

from stook.bagspec import info_values, payload_algorithms, read_bag_info, read_manifest
from stook.errors import LedgerError, Problem
from stook.ledger import BagVersion
from stook.record import canonical_json
from stook.schema import is_edtf, record_schema, validate_record
from stook.store import RECORD_FILE, Store

__all__ = ["BAG_INFO_EXTENSION", "MAX_CONTENT", "keep_minimal_record", "lacks_own_record", "minimal_record"]

BAG_INFO_EXTENSION = "bag-info:fields"
MAX_CONTENT = 1000  # payload files listed in ``content``; a bag of more lists the first ones
_MEDIA_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_LIST_ITEM = re.compile(r"^\$\.([a-z_]+)\[(\d+)\]")
_FIELD = re.compile(r"^\$\.([a-z_]+)")
_KEEP = ("identifier",)


def _scheme(value: str) -> str:
    """The record's identifier scheme for an External-Identifier, from its form."""
    lowered = value.lower()
    if lowered.startswith(("http://", "https://")):
        return "url"
    if lowered.startswith("doi:") or re.match(r"^10\.\d{4,9}/\S+$", value):
        return "doi"
    for prefix, scheme in (("hdl:", "handle"), ("handle:", "handle"), ("ark:", "ark"), ("urn:", "urn"),
                           ("oai:", "oai")):
        if lowered.startswith(prefix):
            return scheme
    return "local"


def _values(info: list[tuple[str, str]], label: str) -> list[str]:
    """The non-empty values of ``label``, each once, in order."""
    return list(dict.fromkeys(v.strip() for v in info_values(info, label) if v.strip()))


@functools.lru_cache(maxsize=1)
def _payload_path() -> re.Pattern[str]:
    """The record schema's rule for a ``content`` path."""
    return re.compile(record_schema()["$defs"]["payloadPath"]["pattern"])


def _content(bag_dir: Path, left_out: list[Problem]) -> list[dict[str, Any]]:
    """The payload files as ``content`` entries (from the strongest manifest)."""
    algorithms = payload_algorithms(bag_dir)
    if not algorithms:
        return []
    manifest = read_manifest(bag_dir, algorithms[0])
    entries: list[dict[str, Any]] = []
    unlisted: list[str] = []
    for path in sorted(manifest):
        if not path.startswith("data/"):
            continue
        rel = path[len("data/"):]
        if not _payload_path().match(rel):
            unlisted.append(rel)
            continue
        if len(entries) >= MAX_CONTENT:
            unlisted.append(rel)
            continue
        entry: dict[str, Any] = {"path": rel, "kind": "attachment"}
        media_type, _encoding = mimetypes.guess_type(rel, strict=False)
        if media_type and _MEDIA_TYPE.match(media_type.lower()):
            entry["media_type"] = media_type.lower()
        with contextlib.suppress(OSError):
            entry["size"] = os.lstat(bag_dir / path).st_size
        if algorithms[0] == "sha512":
            entry["sha512"] = manifest[path]
        entries.append(entry)
    if unlisted:
        left_out.append(Problem(
            "bag-info.txt -> record $.content",
            f"{len(unlisted)} payload file(s) not listed in the bag's minimal record (more than "
            f"{MAX_CONTENT}, or names a record cannot carry), e.g. data/{unlisted[0]!r}; "
            "the files are in the bag",
        ))
    return entries


def _build(
    bag_dir: Path, identifier: str, info: list[tuple[str, str]], left_out: list[Problem]
) -> dict[str, Any]:
    titles = [*_values(info, "Title"), *_values(info, "Internal-Sender-Description")]
    external_descriptions = _values(info, "External-Description")
    title = titles[0] if titles else (external_descriptions[0] if external_descriptions else identifier)
    record: dict[str, Any] = {"identifier": identifier, "title": title}
    identifiers = [{"scheme": _scheme(v), "value": v} for v in _values(info, "External-Identifier")]
    identifiers += [{"scheme": "local", "value": v} for v in _values(info, "Internal-Sender-Identifier")]
    if identifiers:
        record["identifiers"] = identifiers
    descriptions = [{"type": "note", "value": v} for v in titles if v != title]
    descriptions += [{"type": "summary", "value": v} for v in external_descriptions if v != title]
    if descriptions:
        record["descriptions"] = descriptions
    dates = []
    for value in _values(info, "Bagging-Date"):
        date: dict[str, Any] = {"type": "unspecified", "display": value,
                                "note": "Bagging-Date: when the bag was made"}
        if is_edtf(value):
            date["value"] = value
        dates.append(date)
    if dates:
        record["dates"] = dates
    organizations = _values(info, "Source-Organization")
    agents: list[dict[str, Any]] = [
        {"name": name, "name_type": "organizational", "roles": ["publisher"]} for name in organizations
    ]
    for name in _values(info, "Contact-Name"):
        contact: dict[str, Any] = {"name": name, "name_type": "personal", "roles": ["other"],
                                   "positions": ["Contact"]}
        if organizations:
            contact["affiliations"] = organizations
        agents.append(contact)
    if agents:
        record["agents"] = agents
    groups = _values(info, "Bag-Group-Identifier")
    if groups:
        record["relations"] = [{"type": "is_part_of", "target": g} for g in groups]
    content = _content(bag_dir, left_out)
    if content:
        record["content"] = content
    record["metadata_only"] = not content
    source: dict[str, Any] = {"method": "received"}
    if groups:
        source["set_specs"] = groups
    record["record_source"] = source
    if info:
        record["extensions"] = {BAG_INFO_EXTENSION: [{"label": k, "value": v} for k, v in info]}
    return record


def _drop(record: dict[str, Any], location: str) -> bool:
    """Remove what a schema problem at ``location`` points to; False if it cannot be removed."""
    item = _LIST_ITEM.match(location)
    if item and isinstance(record.get(item.group(1)), list):
        field, index = item.group(1), int(item.group(2))
        values = record[field]
        if index < len(values):
            del values[index]
            if not values:
                del record[field]
            return True
    whole = _FIELD.match(location)
    if whole and whole.group(1) in record and whole.group(1) not in _KEEP:
        if whole.group(1) == "title":
            record["title"] = record["identifier"]
        else:
            del record[whole.group(1)]
        return True
    return False


def minimal_record(bag_dir: Path, identifier: str) -> tuple[dict[str, Any], list[Problem]]:
    """The record of a bag without one of its own, and what of its bag-info was left out.

    ``identifier`` is the one the bag is stored under. Values the schema refuses are
    dropped one problem at a time (each one reported), so the record is valid unless
    the identifier itself is not.
    """
    info = read_bag_info(bag_dir)
    left_out: list[Problem] = []
    record = _build(bag_dir, identifier, info, left_out)
    for _attempt in range(50):
        problems = validate_record(record)
        if not problems or not _drop(record, problems[0].location):
            left_out.extend(problems)
            break
        left_out.append(Problem(f"bag-info.txt -> record {problems[0].location}",
                                f"left out of the bag's minimal record: {problems[0].message}"))
    return record, left_out


def lacks_own_record(bag_dir: Path) -> bool:
    """True for a bag that has no ``data/record.json`` and whose manifests list none either
    (a foreign bag), False for a stook bag, even one whose record.json has gone missing."""
    if (bag_dir / "data" / RECORD_FILE).exists():
        return False
    try:
        algorithms = payload_algorithms(bag_dir)
        return not any(f"data/{RECORD_FILE}" in read_manifest(bag_dir, a) for a in algorithms)
    except OSError:
        return False


def keep_minimal_record(store: Store, bag: BagVersion) -> list[Problem]:
    """Build the minimal record of a stored bag and keep it in the ledger (once per bag).

    Returns notes for the receiver's report: that a record was kept, bag-info values
    left out, or why the record could not be kept (the bag is stored all the same;
    the provider then builds the record itself).
    """
    record, left_out = minimal_record(store.root / bag.path, bag.identifier)
    try:
        store.ledger.keep_foreign_record(bag.path, canonical_json(record))
    except LedgerError as exc:
        left_out.append(Problem(bag.path, f"its minimal record could not be kept in the ledger: {exc}"))
    else:
        kept = Problem(f"data/{RECORD_FILE}", "no stook record in the bag: a minimal record built from "
                       "bag-info.txt is kept in the ledger to publish it (the bag is unchanged)")
        left_out.insert(0, kept)
    return left_out
