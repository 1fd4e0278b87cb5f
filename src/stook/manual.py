"""Hand-entered records: a record file plus its text and attachments, ready to bag.

Files listed in the record's ``content`` are found relative to the record file.
``--text`` and ``--file`` add more: texts must be UTF-8 (they are the document's
words, kept as written), attachments are kept byte for byte under ``data/files/``.
"""

from __future__ import annotations

import copy
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stook.bagwriter import DEFAULT_ALGORITHMS, PayloadItem, open_source, portable_file_name
from stook.errors import ContentError, UsageError
from stook.record import load_record
from stook.store import BagRequest

TEXT_KINDS = {"text", "translation", "transcription"}
TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"


@dataclass
class ManualBagOptions:
    """What ``stook bag`` was asked to do, beyond the record file itself."""

    texts: Sequence[Path] = ()
    files: Sequence[Path] = ()
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS
    source_organization: str | None = None


def read_text_file(path: Path) -> bytes:
    """The bytes of a text file, refused unless they are UTF-8."""
    data = read_bytes(path, what="text file")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ContentError(
            f"{path}: text is not valid UTF-8 (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "convert it to UTF-8, or pass it with --file to keep it as an attachment as is",
            path=path,
        ) from exc
    return data


def read_bytes(path: Path, *, what: str) -> bytes:
    with open_source(path, what) as handle:
        return handle.read()


def check_attachment(path: Path) -> None:
    """Fail early (before anything is built) when an attachment cannot be read."""
    with open_source(path, "attachment") as handle:
        handle.read(1)


def _media_type(path: Path) -> str:
    guessed, _ = mimetypes.guess_type(path.name)
    return guessed or "application/octet-stream"


def _free_path(wanted: str, taken: set[str]) -> str:
    if wanted.casefold() not in taken:
        return wanted
    stem, dot, ext = wanted.rpartition(".")
    if not dot:
        stem, ext = wanted, ""
    n = 2
    while True:
        candidate = f"{stem}-{n}{'.' + ext if ext else ''}"
        if candidate.casefold() not in taken:
            return candidate
        n += 1


def manual_bag_request(record_path: Path, options: ManualBagOptions) -> BagRequest:
    """Load, validate and gather everything ``stook bag`` needs, before writing anything."""
    record = copy.deepcopy(load_record(record_path))
    base = record_path.parent
    content: list[dict[str, Any]] = list(record.get("content") or [])
    payload: list[PayloadItem] = []
    taken: set[str] = {"record.json"}
    for entry in content:
        rel = entry["path"]
        source = base.joinpath(*rel.split("/"))
        if entry.get("kind") in TEXT_KINDS:
            payload.append(PayloadItem(rel, data=read_text_file(source)))
        else:
            check_attachment(source)
            payload.append(PayloadItem(rel, source=source))
        taken.add(rel.casefold())
    for text in options.texts:
        rel = _free_path("text.txt", taken)
        payload.append(PayloadItem(rel, data=read_text_file(text)))
        content.append({"path": rel, "kind": "text", "media_type": TEXT_MEDIA_TYPE})
        taken.add(rel.casefold())
    for attachment in options.files:
        check_attachment(attachment)
        if not attachment.name or attachment.name in (".", ".."):
            raise UsageError(f"{attachment}: not a file name")
        rel = _free_path(f"files/{portable_file_name(attachment.name)}", taken)
        payload.append(PayloadItem(rel, source=attachment))
        entry = {"path": rel, "kind": "attachment", "media_type": _media_type(attachment)}
        if rel != f"files/{attachment.name}":
            entry["original_name"] = attachment.name
        content.append(entry)
        taken.add(rel.casefold())
    if content:
        record["content"] = content
    source_info = dict(record.get("record_source") or {"method": "manual"})
    source_info.setdefault("method", "manual")
    record["record_source"] = source_info
    if not payload and "metadata_only" not in record:
        record["metadata_only"] = True
    return BagRequest(
        record=record,
        payload=payload,
        algorithms=options.algorithms,
        source_organization=options.source_organization,
    )
