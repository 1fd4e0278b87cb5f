"""One submit of the record form: what was typed and uploaded, checked as ``stook
validate`` checks, then bagged as ``stook bag`` bags.

Checking: the record built from the form is checked with the same functions as a
record file (:func:`stook.recordfile.check_record_value`,
:func:`stook.schema.validate_record`); each row of ``content`` must have a file (an
upload, or for an edit the stored version's file it started from) and a text must be
UTF-8 (the byte offset is named otherwise). Bagging: the files are copied into a folder
of the store's ``.tmp`` while the store's writer lock is held (so no other opening of
the store clears it), and :func:`stook.manual.bag_manual_record` does the rest, with
its texts, attachments and drop rule; the folder is removed afterwards.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stook.bagwriter import portable_file_name, remove_tree
from stook.errors import Problem, RecordParseError
from stook.ledger import BagVersion
from stook.manual import TEXT_KINDS, ManualBagOptions, ManualBagResult, bag_manual_record
from stook.payloadcheck import not_utf8_message
from stook.recordfile import check_record_value
from stook.schema import validate_record
from stook.store import Store
from stook.web.bagview import stored_file
from stook.web.formdata import Built, Values, build_record, row_indexes
from stook.web.uploads import Staged, UploadStash, copy_into

FILE_SUFFIX = ".__file"
STASH_SUFFIX = ".__stash"
FROM_SUFFIX = ".__from"
TEXT_ADVICE = "convert it to UTF-8, or give this file the kind attachment to keep it byte for byte"
QUICK_TEXT_ADVICE = "convert it to UTF-8, or add it as an attachment to keep it byte for byte"


@dataclass
class Submission:
    """A checked submit: the record, where each of its files comes from, and every problem."""

    built: Built
    problems: list[Problem] = field(default_factory=list)
    sources: list[tuple[str, Path]] = field(default_factory=list)  # (content path, file to copy)
    texts: list[Staged] = field(default_factory=list)
    files: list[Staged] = field(default_factory=list)
    extra: dict[str, list[str]] = field(default_factory=dict)  # errors of inputs outside the record

    @property
    def record(self) -> dict[str, Any]:
        return self.built.record

    @property
    def ok(self) -> bool:
        return not self.problems and not self.extra


def default_paths(values: Values, stash: UploadStash) -> Values:
    """Each content row with a new upload and no path gets one: ``text.txt`` for a text,
    ``files/<name>`` otherwise (made portable, as ``stook bag --file`` does)."""
    changed = dict(values)
    taken = {
        v.casefold() for k, v in values.items() if k.startswith("content[") and k.endswith("].path") and v
    }
    for index in row_indexes(values, "content"):
        row = f"content[{index}]"
        staged = stash.get(values.get(row + STASH_SUFFIX))
        if staged is None or values.get(row + ".path"):
            continue
        if values.get(row + ".kind") in TEXT_KINDS:
            wanted = "text.txt"
        else:
            wanted = f"files/{portable_file_name(staged.name)}"
        path = _free(wanted, taken)
        changed[row + ".path"] = path
        taken.add(path.casefold())
    return changed


def _free(wanted: str, taken: set[str]) -> str:
    if wanted.casefold() not in taken:
        return wanted
    stem, dot, ext = wanted.rpartition(".")
    if not dot or "/" in ext:
        stem, ext = wanted, ""
    n = 2
    while f"{stem}-{n}{'.' + ext if ext else ''}".casefold() in taken:
        n += 1
    return f"{stem}-{n}{'.' + ext if ext else ''}"


def check_submission(
    values: Values,
    stash: UploadStash,
    *,
    store: Store,
    previous: BagVersion | None,
    texts: list[Staged],
    files: list[Staged],
) -> Submission:
    """Build the record from the form and check it and its files; nothing is written."""
    built = build_record(values)
    sub = Submission(built, list(built.problems), texts=texts, files=files)
    record = built.record
    if not sub.problems:
        try:
            check_record_value(record, source="the form")
        except RecordParseError as exc:
            sub.problems.append(Problem(exc.location or "$", exc.message))
        else:
            sub.problems.extend(validate_record(record))
    _check_files(sub, values, stash, store, previous)
    for staged in texts:
        bad = staged.first_bad_utf8()
        if bad is not None:
            message = not_utf8_message(Path(staged.name), bad, QUICK_TEXT_ADVICE)
            sub.extra.setdefault("_texts", []).append(message)
    return sub


def _check_files(sub: Submission, values: Values, stash: UploadStash, store: Store,
                 previous: BagVersion | None) -> None:
    content = sub.record.get("content")
    if not isinstance(content, list):
        return
    seen: dict[str, int] = {}
    for index, entry in enumerate(content):
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            continue
        location = f"$.content[{index}]"
        row = sub.built.names.get(location, f"content[{index}]")
        path = entry["path"]
        if path.casefold() in seen:
            sub.problems.append(Problem(f"{location}.path", f"the path {path!r} is listed twice", path,
                                        "each file at a path of its own"))
            continue
        seen[path.casefold()] = index
        staged = stash.get(values.get(row + STASH_SUFFIX))
        if staged is not None:
            if entry.get("kind") in TEXT_KINDS:
                bad = staged.first_bad_utf8()
                if bad is not None:
                    message = not_utf8_message(Path(staged.name), bad, TEXT_ADVICE)
                    sub.problems.append(Problem(location, message))
                    continue
            sub.sources.append((path, staged.path))
            continue
        origin = values.get(row + FROM_SUFFIX)
        found = stored_file(store, previous, origin) if previous is not None and origin else None
        if found is None:
            sub.problems.append(Problem(location, f"no file to store as {path}", None,
                                        "a file chosen for this row"))
            continue
        sub.sources.append((path, found[0]))


def bag_submission(
    store: Store,
    sub: Submission,
    *,
    drop: list[str],
    as_new_version: bool,
) -> ManualBagResult:
    """Bag the checked record as ``stook bag`` would (same checks, same bag, same events)."""
    with store.writing():  # also keeps any other opening of the store from clearing .tmp meanwhile
        work = Path(tempfile.mkdtemp(prefix="web-", dir=store.tmp_dir()))
        try:
            base = work / "content"
            base.mkdir()
            for rel, source in sub.sources:
                target = base.joinpath(*rel.split("/"))
                if not target.resolve().is_relative_to(base.resolve()):  # the schema refuses such paths
                    raise RecordParseError(f"the form: content path {rel!r} leaves the bag",
                                           location="$.content")
                copy_into(source, target)
            texts = _copies(work / "texts", sub.texts)
            files = _copies(work / "files", sub.files)
            options = ManualBagOptions(texts=texts, files=files, drop=drop, as_new_version=as_new_version)
            return bag_manual_record(store, sub.record, options, base=base)
        finally:
            remove_tree(work)


def _copies(folder: Path, staged: list[Staged]) -> list[Path]:
    out = []
    for number, item in enumerate(staged):
        target = folder / str(number) / item.name
        copy_into(item.path, target)
        out.append(target)
    return out
