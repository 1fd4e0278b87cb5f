"""The write protocol that makes a bag appear whole or not at all, and its recovery.

For a batch of built bags: (1) the batch is made durable in ``.tmp`` with one
filesystem sync; (2) one transaction reserves the versions in the ledger as
*pending*, each with the events it is to be recorded with; (3) the bags are renamed
into place and the renames made durable; (4) one transaction marks them stored and
appends their events. A crash before (2) leaves temporary files, cleared on the next
open; after (2), :func:`recover` completes a pending version only when the directory
in its place is that very version (its fingerprint recomputed from disk), and
otherwise forgets the reservation and leaves whatever is there untouched.
"""

from __future__ import annotations

import errno
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from stook.bagwriter import remove_tree
from stook.durable import fsync_dirs, make_durable, no_space
from stook.errors import LedgerError, NoSpace, ReadOnlyStore, StookError, StoreError, VersionCollision
from stook.ledger import BagVersion, Event, EventRow, Ledger, event_row, utc_now
from stook.store.layout import TMP_DIR, Mark
from stook.store.model import StagedBag
from stook.store.ondisk import bag_fingerprint, read_record


def check_free_slot(root: Path, bag: BagVersion) -> None:
    """Refuse to store ``bag`` where the disk already holds something the ledger does not know.

    The ledger chose the version number; a directory already in its place means the
    ledger is older than the store (restored from a copy, truncated): that directory
    is never reused, overwritten or adopted as this version.
    """
    target = root / bag.path if bag.version > 1 else root / bag.name
    if os.path.lexists(target):
        raise VersionCollision(
            f"{target}: already on disk, but the ledger does not know it, so version {bag.version} "
            f"of {bag.identifier!r} cannot be stored there; nothing was written",
            path=target,
            record_id=bag.identifier,
            hint="the ledger is probably older than the bags: compare them with "
            f"'stook ledger check --store {root}' and rebuild with 'stook ledger rebuild --store {root}'",
        )


def commit(root: Path, ledger: Ledger, staged: list[StagedBag], mark: Mark) -> None:
    """Move built bags into place and record them (see the module docstring); ``mark``
    counts them in the store's own note of how many versions it holds."""
    if not staged:
        return
    try:
        make_durable(root, [s.tmp for s in staged])
    except OSError as exc:
        raise _os_error(exc, root, "making the new bags durable") from exc
    now = utc_now()
    rows: list[list[EventRow]] = []
    for stage in staged:
        own = ingest_events(stage, now) if stage.ingest_events else []
        events = [*(about(e, stage.bag) for e in stage.request.events), *own]
        rows.append([event_row(e) for e in events])
    with ledger.transaction() as conn:
        ledger.insert_bags(conn, list(zip((stage.bag for stage in staged), rows, strict=True)))
    _rename_all(root, ledger, staged)
    try:
        with ledger.transaction() as conn:
            stored_at = utc_now()  # taken under the write lock: visible from this instant
            ledger.mark_stored(conn, [stage.bag.path for stage in staged], stored_at)
            ledger.append_rows(conn, [row for bag_rows in rows for row in bag_rows])
            ledger.claim(conn, [(stage.bag.id_key, stage.request.supplier) for stage in staged],
                         when=stored_at)
    except (NoSpace, LedgerError, ReadOnlyStore) as exc:
        # The bags are in place and reserved: the next open completes them (see recover).
        raise type(exc)(
            f"{exc.message}; the new bags are in place ({', '.join(s.bag.path for s in staged[:3])}"
            f"{', ...' if len(staged) > 3 else ''}) and are recorded when the store is next opened",
            path=exc.path, hint=exc.hint,
        ) from exc
    mark.add(len(staged))
    for stage in staged:
        stage.bag = replace(stage.bag, state="stored", created=stored_at)


def _rename_all(root: Path, ledger: Ledger, staged: list[StagedBag]) -> None:
    """Rename each bag into place; if one cannot be, forget the reservations of it and
    of those after it (their directories stay in .tmp, cleared on the next open) and
    raise; the ones already in place are completed by recovery on the next open."""
    base = os.fspath(root)
    parents: list[Path] = []
    done = 0
    try:
        for stage in staged:
            name_dir = os.path.join(base, stage.bag.name)
            if stage.moves_name_dir and _rename_into_place(stage.tmp.parent, name_dir):
                parents.append(root)  # the name directory, holding v1
            else:
                try:
                    os.mkdir(name_dir)
                    parents.append(root)
                except FileExistsError:
                    pass
                target = os.path.join(base, stage.bag.path)
                if os.path.lexists(target):  # never rename onto a directory: an empty one would go
                    raise OSError(errno.EEXIST, "already exists", target)
                os.rename(stage.tmp, target)
                parents.append(Path(name_dir))
            done += 1
        fsync_dirs(root, parents)
    except OSError as exc:
        with ledger.transaction() as conn:
            for stage in staged[done:]:
                ledger.forget_pending(conn, stage.bag.path)
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            stage = staged[done]
            raise VersionCollision(
                f"{root / stage.bag.path}: appeared on disk while version {stage.bag.version} of "
                f"{stage.bag.identifier!r} was being stored; it was left untouched and this version "
                "was not stored",
                path=root / stage.bag.path, record_id=stage.bag.identifier,
            ) from exc
        raise _os_error(exc, root, "moving the new bags into place") from exc


def _rename_into_place(source: Path, target: str) -> bool:
    """Rename a directory to ``target`` unless something is there already."""
    if os.path.lexists(target):
        return False
    try:
        os.rename(source, target)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ENOTEMPTY):
            return False
        raise
    return True


def _os_error(exc: OSError, root: Path, doing: str) -> StoreError:
    if exc.errno == errno.ENOSPC:
        return no_space(root, doing)
    where = exc.filename or root
    return StoreError(f"{where}: {doing} failed: {exc.strerror or exc}; nothing was stored", path=where)


def about(event: Event, bag: BagVersion) -> Event:
    """Point an event at ``bag`` where the caller did not know the version yet."""
    return replace(
        event,
        identifier=event.identifier or bag.identifier,
        version=event.version if event.version is not None else bag.version,
        bag=event.bag or bag.path,
    )


def ingest_events(stage: StagedBag, now: str) -> list[Event]:
    """The validation, digest and ingestion events of a bag being committed at ``now``."""
    from stook.schema import schema_id  # noqa: PLC0415 (the schema is loaded only to write)

    bag = stage.bag
    built = stage.built
    algorithms = list(built.payload_digests)

    def event(kind: str, detail: str, data: dict[str, Any] | None = None) -> Event:
        return Event(kind, "suc", bag.identifier, bag.version, bag.path, detail=detail, data=data,
                     datetime=now)

    return [
        event("val", f"record valid against {schema_id()}"),
        event(
            "mes",
            f"{', '.join(algorithms)} digests of {built.payload_files} payload files "
            f"({built.payload_bytes} bytes) and the tag files",
            {
                "algorithms": algorithms,
                "payload_oxum": built.payload_oxum,
                "sha512": built.payload_digests["sha512"],
            },
        ),
        event("ing", f"bag {bag.path} stored as version {bag.version}"),
    ]


def recover(root: Path, ledger: Ledger, mark: Mark) -> list[str]:
    """Finish versions that reached their place before a crash; forget the others.

    A pending version is completed only when the directory in its place verifies and
    has the fingerprint recorded for it. Anything else there is not this version: the
    reservation is forgotten, the directory left as it is, and that is reported.
    Returns a line per action taken, for the caller to report.
    """
    actions: list[str] = []
    for bag in ledger.pending():
        final = root / bag.path
        if not final.is_dir():
            with ledger.transaction() as conn:
                ledger.forget_pending(conn, bag.path)
            actions.append(f"discarded unfinished {bag.path}")
            continue
        mismatch = _not_this_version(final, bag)
        if mismatch:
            with ledger.transaction() as conn:
                ledger.forget_pending(conn, bag.path)
            actions.append(
                f"left {bag.path} untouched: it is not the version that was being stored ({mismatch}); "
                "the ledger does not know it, see 'stook ledger check'"
            )
            continue
        note = "; completed after an interruption"
        kept = ledger.pending_events(bag.path)
        events = [replace(e, detail=e.detail + note) if e.type == "ing" else e for e in kept]
        if not any(e.type == "ing" for e in events):
            events.append(Event("ing", "suc", bag.identifier, bag.version, bag.path,
                                detail=f"bag {bag.path} stored{note}"))
        with ledger.transaction() as conn:
            ledger.mark_stored(conn, [bag.path], utc_now())
            ledger.append_events(conn, events)
        mark.add(1)
        actions.append(f"completed {bag.path}")
    tmp = root / TMP_DIR
    if tmp.is_dir():
        for leftover in tmp.iterdir():
            remove_tree(leftover)
            actions.append(f"removed temporary {leftover.name}")
    return actions


def _not_this_version(bag_dir: Path, bag: BagVersion) -> str:
    """Why the directory is not ``bag`` (empty when it is): it must verify in full and
    have the recorded fingerprint."""
    from stook.verify import verify_bag  # noqa: PLC0415 (verify is only needed after a crash)

    try:
        result = verify_bag(bag_dir, mode="full")
    except StookError as exc:  # not a bag, unreadable: not this version either
        return f"not readable as a bag: {exc}"
    if not result.valid:
        return "it does not verify"
    if bag_fingerprint(bag_dir, read_record(bag_dir)) != bag.fingerprint:
        return "its contents differ from the recorded fingerprint"
    return ""
