"""The store's quarantine: harvested records set apart instead of bagged, with the reason.

``<store>/quarantine/<bag name>/<UTC time>/`` holds ``record.xml`` (the record's bytes,
as received when it could not be parsed, else as lxml serialized it) and
``errors.json`` (what is wrong, where it came from). An entry is written in a hidden
temporary directory and renamed into place, so a crash leaves no half entry that
looks whole; :func:`clear_partial_quarantine` removes what a crash left.
"""

from __future__ import annotations

import errno
import json
import os
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from lxml import etree

from stook.bagwriter import remove_tree
from stook.durable import no_space
from stook.errors import StoreError, UsageError
from stook.harvest.page import PageRecord, identifier_problem
from stook.harvest.provenance import Collision
from stook.ledger import BagVersion, Event, Source, utc_now
from stook.names import bag_name
from stook.schema import schema_id
from stook.xmlns import NS_OAI

_HEADER_IDENTIFIER = re.compile(
    rb"<(?:[^\s<>/:!?]+:)?header\b[^>]*>.*?<((?:[^\s<>/:!?]+:)?identifier)(?:\s[^>]*)?>(.*?)</\1\s*>", re.S
)


def quarantine_name(identifier: str) -> str:
    """The entry's directory name: the bag name the identifier would have, even if unusable."""
    try:
        return bag_name(identifier)
    except UsageError:
        cleaned = "".join(ch if ch.isprintable() else "_" for ch in identifier).strip() or "no-identifier"
        return bag_name(cleaned)


def identifier_in(raw: bytes) -> str:
    """The header identifier of a record that could not be parsed, as well as it can be read."""
    match = _HEADER_IDENTIFIER.search(raw)
    if match is None:
        return ""
    return match.group(2).decode("utf-8", "replace").strip(" \t\r\n")


def write_quarantine(root: Path, identifier: str, raw: bytes, report: dict[str, Any]) -> Path:
    """``<quarantine>/<bag name>/<timestamp>/`` with record.xml and errors.json, made atomically."""
    try:
        return _write_quarantine(root, identifier, raw, report)
    except OSError as exc:
        if exc.errno == errno.ENOSPC:
            raise no_space(root, f"setting record {identifier!r} apart in the quarantine",
                           len(raw) + 64 * 1024) from exc
        raise StoreError(f"{exc.filename or root}: cannot write to the quarantine: {exc.strerror}",
                         path=root) from exc


def _write_quarantine(root: Path, identifier: str, raw: bytes, report: dict[str, Any]) -> Path:
    parent = root / quarantine_name(identifier)
    parent.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    tmp = parent / f".{stamp}.{uuid.uuid4().hex[:8]}.partial"
    tmp.mkdir()
    try:
        for name, data in (
            ("record.xml", raw),
            ("errors.json", (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")),
        ):
            with open(tmp / name, "xb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        final = parent / stamp
        os.rename(tmp, final)
    except BaseException:
        remove_tree(tmp)
        raise
    fd = os.open(parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    return final


def clear_partial_quarantine(root: Path) -> None:
    """Remove quarantine entries a crash left half-written."""
    if not root.is_dir():
        return
    for partial in root.glob("*/.*.partial"):
        remove_tree(partial)


@dataclass
class Quarantine:
    """Where one harvest sets records apart, and the ``val`` failure event that says so."""

    store_root: Path
    directory: Path
    base_url: str
    metadata_prefix: str
    listed: list[str]  # where entries went, for the summary (at most ``limit``)
    limit: int = 100

    def _put(self, identifier: str, raw: bytes, report: dict[str, Any]) -> str:
        where = write_quarantine(self.directory, identifier, raw, report)
        rel = where.relative_to(self.store_root).as_posix()
        if len(self.listed) < self.limit:
            self.listed.append(rel)
        return rel

    def invalid(self, url: str, record: dict[str, Any], raw: bytes, problems: list[Any]) -> Event:
        """A record that is not valid against the schema (every problem listed)."""
        identifier = record.get("identifier") or ""
        source = record.get("record_source") or {}
        report = {
            "identifier": identifier,
            "base_url": self.base_url,
            "url": url,
            "metadata_prefix": self.metadata_prefix,
            "datestamp": source.get("datestamp"),
            "schema": schema_id(),
            "quarantined_at": utc_now(),
            "problems": [p.to_dict() for p in problems],
            "record": record,
        }
        rel = self._put(identifier, raw, report)
        first = "; ".join(str(p) for p in problems[:3])
        return Event(
            "val",
            "fai",
            identifier=identifier or None,
            detail=f"record {identifier!r} from {url} is invalid against {schema_id()} "
            f"({len(problems)} error{'s' if len(problems) != 1 else ''}: {first}); not bagged, "
            f"quarantined in {rel}",
            data={"url": url, "quarantine": rel, "problems": [p.to_dict() for p in problems]},
        )

    def unreadable(self, url: str, item: PageRecord, message: str, *, final_url: str | None = None) -> Event:
        """A record that cannot be read as one: kept as received (bytes) or as parsed, with why."""
        if item.raw is not None or item.element is None:
            raw = item.raw or b""
            identifier = identifier_in(raw)
        else:
            raw = etree.tostring(item.element, encoding="UTF-8", xml_declaration=True)
            identifier = item.element.findtext(f"{{{NS_OAI}}}header/{{{NS_OAI}}}identifier") or ""
        report: dict[str, Any] = {
            "identifier": identifier,
            "base_url": self.base_url,
            "url": url,
            "metadata_prefix": self.metadata_prefix,
            "quarantined_at": utc_now(),
            "problems": [{"location": "record", "message": message}],
        }
        if final_url and final_url != url:
            report["final_url"] = final_url
        rel = self._put(identifier, raw, report)
        usable = identifier.strip() if identifier_problem(identifier) is None else None
        shown = f"record {identifier!r}" if identifier else "a record"
        return Event(
            "val",
            "fai",
            identifier=usable,
            detail=f"{shown} on {url} cannot be stored: {message}; not bagged, quarantined in {rel}",
            data={"url": url, "quarantine": rel, "reason": message, "oai_identifier": identifier},
        )

    def collision(self, url: str, collision: Collision, source: Source, raw: bytes,
                  latest: BagVersion | None) -> Event:
        """A record (or a deletion) whose identifier another source supplied: set apart, never
        bagged over that record or tombstoned (see :mod:`stook.harvest.provenance`)."""
        reason = collision.reason(source)
        report = {
            "identifier": collision.identifier,
            "base_url": self.base_url,
            "url": url,
            "metadata_prefix": self.metadata_prefix,
            "quarantined_at": utc_now(),
            "problems": [{"location": "header/identifier", "message": reason}],
            "owner": collision.owner.to_dict(),
            "source": source.to_dict(),
            "what_to_do": "if this repository should supply these records, harvest again adopting "
            "existing records (they move to this source); otherwise ask the repository why it "
            "sends this identifier",
        }
        rel = self._put(collision.identifier, raw, report)
        return Event(
            "qua", "war", identifier=collision.identifier,
            version=latest.version if latest else None, bag=latest.path if latest else None,
            detail=f"{reason}; quarantined in {rel}",
            data={"url": url, "quarantine": rel, "owner": collision.owner.to_dict(),
                  "source": source.to_dict(), "deleted": collision.deleted},
        )
