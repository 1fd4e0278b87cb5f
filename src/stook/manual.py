"""Hand-entered records: a record (file or dict) plus its texts and attachments, bagged.

Files listed in the record's ``content`` are found relative to the record file (or the
``base`` directory given with a dict); a size, sha512 or sha256 declared there must
match the file. ``texts`` and ``files`` add more: texts must be UTF-8 (they are the
document's words, kept as written), attachments are kept byte for byte under
``data/files/``. A new version must keep every file of the previous one unless told
(see :mod:`stook.drops`). :func:`bag_manual_record` is the one way to do all of it:
``stook bag`` calls it, and so can any other front end.
"""

from __future__ import annotations

import copy
import mimetypes
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from stook.bagwriter import DEFAULT_ALGORITHMS, PayloadItem, open_source, portable_file_name
from stook.drops import plan_drops
from stook.errors import ContentError, ContentMismatch, Problem, UsageError
from stook.ledger import LEDGER_FILE
from stook.payloadcheck import (
    CONTENT_TEXT_ADVICE,
    TEXT_KINDS,
    declared_algorithms,
    declared_problems,
    declares_anything,
    measure_bytes,
    measure_file,
    not_utf8_message,
)
from stook.record import ensure_valid, load_record
from stook.recordfile import check_record_value
from stook.store import AddResult, BagRequest, Store

TEXT_MEDIA_TYPE = "text/plain; charset=utf-8"
__all__ = [
    "TEXT_KINDS",
    "TEXT_MEDIA_TYPE",
    "ManualBagOptions",
    "ManualBagResult",
    "bag_manual_record",
    "manual_bag_request",
    "read_text_file",
]


@dataclass
class ManualBagOptions:
    """What ``stook bag`` was asked to do, beyond the record itself.

    ``drop`` names payload files of the previous version to leave out on purpose (their
    ``data/`` path or their path under data/); ``drop_missing`` leaves out every file the
    new version lacks. Either way each one is recorded as a deletion event.
    ``as_new_version`` stores a record that another source (a harvest, a receive)
    supplied as its next version; the record keeps its source.
    """

    texts: Sequence[Path] = ()
    files: Sequence[Path] = ()
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS
    source_organization: str | None = None
    drop: Sequence[str] = ()
    drop_missing: bool = False
    as_new_version: bool = False


@dataclass
class ManualBagResult(AddResult):
    """The stored result, with the files of the previous version left out on purpose."""

    dropped: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["dropped"] = list(self.dropped)
        return data


def read_text_file(path: Path) -> bytes:
    """The bytes of a text file, refused unless they are UTF-8."""
    data = read_bytes(path, what="text file")
    measured = measure_bytes(data, (), utf8=True)
    if measured.bad_utf8 is not None:
        advice = "convert it to UTF-8, or add it as an attachment to keep it as is"
        raise ContentError(not_utf8_message(path, measured.bad_utf8, advice), path=path, option="files")
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


def _loaded(record: Path | Mapping[str, Any], base: Path | None) -> tuple[dict[str, Any], Path | None, str]:
    """The validated record (a copy: the caller's dict is never changed), its base
    directory and how to name it in errors."""
    if isinstance(record, Mapping):
        data = copy.deepcopy(dict(record))
        source = f"record {data.get('identifier')!r}"
        check_record_value(data, source=source)
        ensure_valid(data, source=source)
        if data.get("content") and base is None:
            raise UsageError(
                f"{source}: its content lists files, but no base directory was given to find them in",
                record_id=data["identifier"],
            )
        return data, base, source
    return copy.deepcopy(load_record(record)), base or record.parent, str(record)


def manual_bag_request(
    record: Path | Mapping[str, Any], options: ManualBagOptions, *, base: Path | None = None
) -> BagRequest:
    """Load, validate and gather everything a hand-entered record needs, before writing anything.

    ``record`` is a record file or a record dict; files its ``content`` lists are found
    under ``base`` (default: the record file's directory). Declared sizes and digests
    are checked against the files: :class:`ContentMismatch` lists every difference.
    """
    data, root, source = _loaded(record, base)
    content: list[dict[str, Any]] = list(data.get("content") or [])
    payload: list[PayloadItem] = []
    taken: set[str] = {"record.json"}
    mismatches: list[Problem] = []
    for index, entry in enumerate(content):
        assert root is not None  # _loaded insists on a base when content lists files
        rel = entry["path"]
        source_file = root.joinpath(*rel.split("/"))
        algorithms = declared_algorithms(entry)
        measured = None
        if entry.get("kind") in TEXT_KINDS:
            text = read_bytes(source_file, what="text file")
            measured = measure_bytes(text, algorithms, utf8=True)
            if measured.bad_utf8 is not None:
                message = not_utf8_message(source_file, measured.bad_utf8, CONTENT_TEXT_ADVICE)
                raise ContentError(message, path=source_file)
            payload.append(PayloadItem(rel, data=text))
        else:
            if declares_anything(entry):
                measured = measure_file(source_file, algorithms, what="attachment")
            else:
                check_attachment(source_file)
            payload.append(PayloadItem(rel, source=source_file))
        if measured is not None and declares_anything(entry):
            shown = str(source_file)
            mismatches.extend(declared_problems(entry, measured, shown=shown, location=f"$.content[{index}]"))
        taken.add(rel.casefold())
    if mismatches:
        many = len(mismatches) != 1
        raise ContentMismatch(
            f"{source}: {len(mismatches)} declared size{'s or digests' if many else ' or digest'} of"
            f" listed files {'do' if many else 'does'} not match the files; correct the record or use"
            " the right file",
            mismatches,
            path=source,
            record_id=data["identifier"],
        )
    for text_path in options.texts:
        rel = _free_path("text.txt", taken)
        payload.append(PayloadItem(rel, data=read_text_file(text_path)))
        content.append({"path": rel, "kind": "text", "media_type": TEXT_MEDIA_TYPE})
        taken.add(rel.casefold())
    for attachment in options.files:
        check_attachment(attachment)
        if not attachment.name or attachment.name in (".", ".."):
            raise UsageError(f"{attachment}: not a file name")
        rel = _free_path(f"files/{portable_file_name(attachment.name)}", taken)
        payload.append(PayloadItem(rel, source=attachment))
        added = {"path": rel, "kind": "attachment", "media_type": _media_type(attachment)}
        if rel != f"files/{attachment.name}":
            added["original_name"] = attachment.name
        content.append(added)
        taken.add(rel.casefold())
    if content:
        data["content"] = content
    source_info = dict(data.get("record_source") or {"method": "manual"})
    source_info.setdefault("method", "manual")
    data["record_source"] = source_info
    if not payload and "metadata_only" not in data:
        data["metadata_only"] = True
    return BagRequest(
        record=data,
        payload=payload,
        algorithms=options.algorithms,
        source_organization=options.source_organization,
        as_new_version=options.as_new_version,
    )


def bag_manual_record(
    store: Store | str | os.PathLike[str],
    record: Path | Mapping[str, Any],
    options: ManualBagOptions | None = None,
    *,
    base: Path | None = None,
) -> ManualBagResult:
    """Check, gather and store a hand-entered record as ``stook bag`` does.

    ``store`` is an open :class:`Store` or the path of one (created when missing, only
    once the record and its files have passed every check). Nothing is written when
    anything is refused: an invalid record, a missing or non-UTF-8 text, a declared
    size or digest that does not match, or a file of the previous version left out
    without being named in ``options.drop`` (or ``options.drop_missing``).
    """
    options = options or ManualBagOptions()
    request = manual_bag_request(record, options, base=base)
    if isinstance(store, Store):
        return _add(store, request, options)
    if options.drop and not (Path(store) / LEDGER_FILE).exists():
        raise UsageError(
            f"record {request.record['identifier']!r}: nothing to drop: {store} holds no earlier version",
            record_id=request.record["identifier"],
        )
    with Store.open(store, create=True) as opened:
        return _add(opened, request, options)


def _add(store: Store, request: BagRequest, options: ManualBagOptions) -> ManualBagResult:
    with store.writing():  # the latest version cannot change between the check and the add
        store.check_supplier(request)  # a record of another source: say so before anything else
        plan = plan_drops(store, request, drop=options.drop, drop_missing=options.drop_missing)
        if plan.events:
            request = replace(request, events=[*request.events, *plan.events])
        added = store.add(request)
    dropped = plan.dropped if added.status != "unchanged" else ()
    return ManualBagResult(added.status, added.bag, added.path, dropped)
