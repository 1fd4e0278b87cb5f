"""``repair``: put right a damaged stored bag from a partner's copy, checked against the ledger.

Under the store's writer lock:

1. the partner's copy (a bag directory, or an archive extracted with receive's rules
   into ``.tmp``) is opened;
2. the reference is found (:mod:`.reference`) and every file judged (:mod:`.plan`);
   any file that cannot be put right refuses the whole repair, naming each file
   with its expected and found digests: nothing changes, not even the ledger;
3. the repaired bag is built in ``.tmp`` (:mod:`.swap`), made durable and verified
   in full;
4. a ``fix`` event records the damage found (failure), the repaired bag is swapped in,
   and one transaction records the ``rec`` (recovery) event naming every replaced
   file, its source and digests, and a ``fix`` event for the repaired bag (success).

A bag with nothing to replace gets one successful ``fix`` event and stays as it is.
"""

from __future__ import annotations

import errno
import uuid
from pathlib import Path

from stook.audit.model import FileProblem
from stook.bagwriter import remove_tree
from stook.errors import Problem, StoreError, UsageError
from stook.ledger import BagVersion, Event
from stook.repair.files import Tree
from stook.repair.model import Reference, RepairOptions, RepairResult
from stook.repair.plan import Plan, make_plan
from stook.repair.reference import find_reference
from stook.repair.swap import CopyMismatch, build, durable, put_in_place
from stook.store import Store
from stook.transfer.extract import detect_format, extract
from stook.verify import VerifyResult, verify_bag

DETAIL_NAMED = 50  # files an event detail names before "and N more" (its data has them all)


def repair(
    store: Store,
    identifier: str,
    version: int | None,
    source: str | Path,
    options: RepairOptions | None = None,
) -> RepairResult:
    """Replace the damaged or missing files of one stored bag version from a partner's copy.

    ``identifier`` is a record identifier (or a bag name or store path); ``version``
    None means the latest. ``source`` is a bag directory or an export archive (tar,
    tar.gz, zip). Raises :class:`UsageError` for an unknown bag or an unreadable source;
    a copy that cannot put the bag right gives a result with status ``refused``.
    """
    options = options or RepairOptions()
    source = Path(source)
    bag = _choose(store, identifier, version)
    if not source.exists():
        raise UsageError(f"{source}: the partner's copy was not found", path=source,
                         hint="give a bag directory, or an export archive (.tar, .tar.gz, .zip)")
    fmt = detect_format(source)
    if fmt is None:
        raise UsageError(f"{source}: not a bag directory, tar, gzipped tar or zip file", path=source)
    result = RepairResult(bag.identifier, bag.version, bag.path, source, format=fmt)
    with store.writing():
        work = store.tmp_dir() / f"repair-{uuid.uuid4().hex}"
        work.mkdir()
        try:
            _repair(store, bag, source, options, result, work)
        except OSError as exc:
            full = exc.errno == errno.ENOSPC
            raise StoreError(
                f"{store.root / bag.path}: repair stopped: "
                + ("the store's filesystem is full" if full else f"{exc.strerror or exc}")
                + f" ({exc.filename or work}); the bag is as it was unless a recovery event says "
                "otherwise: run stook audit",
                path=store.root / bag.path,
            ) from exc
        finally:
            remove_tree(work)
    return result


def _choose(store: Store, ref: str, version: int | None) -> BagVersion:
    versions = store.resolve(ref)
    if not versions:
        raise UsageError(f"{ref!r} names no record or bag in the store {store.root}",
                         hint="give a record identifier, a bag name or a store path <name>/v<N>; list "
                              "them with stook ls")
    if version is None:
        return versions[-1]
    every = store.versions(versions[0].identifier)
    for bag in every:
        if bag.version == version:
            return bag
    raise UsageError(f"{versions[0].identifier} has no version {version} in {store.root} (versions: "
                     f"{', '.join(str(b.version) for b in every)})")


def _repair(store: Store, bag: BagVersion, source: Path, options: RepairOptions, result: RepairResult,
            work: Path) -> None:
    stored_dir = store.root / bag.path
    partner_root = source
    if result.format != "dir":
        assert result.format is not None
        partner_root = work / "source"
        extraction = extract(source, partner_root, result.format, options.limits)
        if extraction.errors:
            result.problems = [Problem(p.location, f"the partner's copy cannot be used: {p.message}",
                                       p.found, p.expected) for p in extraction.errors]
            return
    reference = find_reference(store.ledger, bag, stored_dir, partner_root)
    if reference is None:
        result.problems.append(Problem(bag.path, (
            "the ledger recorded no payload digests for this bag and neither copy reproduces the "
            "fingerprint it recorded: nothing trustworthy says what the files must hold, so no copy "
            "can be verified")))
        return
    result.reference = reference.source
    stored = Tree(stored_dir if stored_dir.is_dir() else None, "the stored bag")
    plan = make_plan(stored, Tree(partner_root, "the partner's copy"), reference)
    result.warnings = list(plan.warnings)
    result.kept = plan.kept
    if plan.problems:
        result.problems = list(plan.problems)
        return
    if not plan.replaced:
        _nothing_to_replace(store, bag, stored_dir, reference, result)
        return
    built = work / "bag"
    try:
        build(plan, stored, Tree(partner_root, "the partner's copy"), built)
    except CopyMismatch as exc:
        result.problems.append(Problem(exc.path, "the partner's copy changed while it was being read: "
                                                 "nothing was changed; run repair again",
                                       found=exc.found, expected=exc.expected))
        return
    durable(store.root, built)
    verified = verify_bag(built, mode="full")
    wrong = _engine_problems(verified, reference)
    if wrong:
        result.problems = [Problem(p.location, f"the repaired bag would not verify: {p.message}")
                           for p in wrong]
        return
    before = _before_event(bag, plan)
    store.ledger.record_events([before])
    result.method = put_in_place(store.root, built, stored_dir, plan, allow_exchange=options.exchange)
    rec = _recovery_event(bag, plan, source, result, reference)
    after = _after_event(bag, verified)
    store.ledger.record_events([rec, after])
    result.status = "repaired"
    result.replaced = plan.replaced
    result.events = [before.uuid, rec.uuid, after.uuid]


def _engine_problems(verified: VerifyResult, reference: Reference) -> list[Problem]:
    problems = [Problem(f.where() or "bag", f"[{f.code}] {f.message}") for f in verified.errors]
    listed = verified.payload_digests.get(reference.algorithm)
    if not problems and listed is not None and listed != reference.payload:
        problems.append(Problem(f"manifest-{reference.algorithm}.txt",
                                f"lists other digests than {reference.source}"))
    if not problems and not verified.valid:
        problems.append(Problem("bag", "not every checksum could be verified"))
    return problems


def _nothing_to_replace(store: Store, bag: BagVersion, stored_dir: Path, reference: Reference,
                        result: RepairResult) -> None:
    """Every file matches its reference: the bag is intact if the engine agrees."""
    verified = verify_bag(stored_dir, mode="full")
    wrong = _engine_problems(verified, reference)
    if wrong:
        result.problems = [Problem(p.location, f"{p.message} (repair replaces damaged or missing files; "
                                               "this is a problem of another kind)") for p in wrong]
        return
    event = Event("fix", "suc", bag.identifier, bag.version, bag.path,
                  detail=f"bag {bag.path} intact (checked by repair; nothing replaced): "
                         f"{', '.join(verified.algorithms)} checksums of {verified.files_checked} files "
                         f"({verified.bytes_hashed} bytes) verified",
                  data=_fix_data("ok", verified, []))
    store.ledger.record_events([event])
    result.status = "intact"
    result.events = [event.uuid]


def _fix_data(status: str, verified: VerifyResult | None, problems: list[FileProblem]) -> dict[str, object]:
    return {
        "mode": "full",
        "status": status,
        "checksums_verified": verified is not None,
        "files_checked": verified.files_checked if verified else 0,
        "bytes_hashed": verified.bytes_hashed if verified else 0,
        "algorithms": list(verified.algorithms) if verified else [],
        "problems": [p.to_dict() for p in problems],
        "by": "repair",
    }


def _named(phrases: list[str]) -> str:
    text = "; ".join(phrases[:DETAIL_NAMED])
    if len(phrases) > DETAIL_NAMED:
        text += f"; and {len(phrases) - DETAIL_NAMED} more (see the event data)"
    return text


def _before_event(bag: BagVersion, plan: Plan) -> Event:
    """The fixity check that found the damage: a failure naming each damaged file."""
    problems = []
    for r in plan.replaced:
        kind = r.reason if r.path.startswith("data/") else ("missing" if r.reason == "missing" else
                                                             "tag-edited")
        problems.append(FileProblem(kind, f"{r.path} {r.reason}", r.path, f"repair-{r.reason}",
                                    r.algorithm, r.digest, r.found))
    detail = (f"fixity check failed (before repair): {bag.path}: {len(problems)} damaged file(s): "
              + _named([p.short() for p in problems]))
    return Event("fix", "fai", bag.identifier, bag.version, bag.path, detail=detail,
                 data=_fix_data("failed", None, problems) | {"checksums_verified": True})


def _recovery_event(bag: BagVersion, plan: Plan, source: Path, result: RepairResult,
                    reference: Reference) -> Event:
    replaced = plan.replaced
    detail = (f"replaced {len(replaced)} file(s) of {bag.path} from the partner's copy "
              f"{source.resolve()} ({result.format}): {_named([r.phrase() for r in replaced])}; "
              f"payload checked against {reference.source}; {plan.kept} intact file(s) untouched")
    data = {
        "source": str(source.resolve()),
        "format": result.format,
        "reference": reference.source,
        "method": result.method,
        "replaced": [r.to_dict() for r in replaced],
        "kept": plan.kept,
        "warnings": [w.to_dict() for w in plan.warnings] or None,
    }
    return Event("rec", "suc", bag.identifier, bag.version, bag.path, detail=detail, data=data)


def _after_event(bag: BagVersion, verified: VerifyResult) -> Event:
    detail = (f"bag {bag.path} intact after repair: {', '.join(verified.algorithms)} checksums of "
              f"{verified.files_checked} files ({verified.bytes_hashed} bytes) verified (in .tmp, just "
              "before the swap that put those very files in place)")
    return Event("fix", "suc", bag.identifier, bag.version, bag.path, detail=detail,
                 data=_fix_data("ok", verified, []))
