"""``stook receive``: take in a bag from elsewhere only when it is whole, safe and valid.

Steps for each bag (a directory, tar, gzipped tar or zip), holding the store's
writer lock throughout:

1. the ``<archive>.sha512`` sidecar, when present, is compared with the archive;
2. the bag is extracted into a fresh directory in ``<store>/.tmp`` under the
   rules of :mod:`stook.transfer.extract` (no links, devices, traversal or bombs);
3. the verify engine checks it fully (every checksum, RFC 8493);
4. it is checked against a BagIt profile (see :func:`profile_blocks` for when a
   profile problem rejects the bag and when it is only a warning);
5. the store adopts it as is, with ``tra``, ``fix``, ``val`` and ``ing`` events.

On any error the temporary directory is removed and neither the store nor its
ledger changes (no event is recorded either: the report is the record). Receiving
a bag whose fingerprint equals the latest stored version of its record changes
nothing (status ``unchanged``).
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from stook.bagspec import (
    first_value,
    info_values,
)
from stook.bagwriter import remove_tree
from stook.errors import NotABag, Problem, StookError
from stook.ledger import Event
from stook.profile import BagitProfile, check_bag, declared_profile, stook_profile
from stook.schema import validate_record
from stook.store import RECORD_FILE, IncomingBag, Source, Store, bag_fingerprint, bag_sizes
from stook.transfer.extract import Extraction, Limits, SourceFormat, detect_format, extract
from stook.transfer.foreign import keep_minimal_record
from stook.verify import Finding, VerifyResult, verify_bag

ReceiveStatus = Literal["new", "changed", "unchanged", "rejected"]
SIDECAR_SUFFIX = ".sha512"
_HEX512 = re.compile(r"^[0-9a-fA-F]{128}$")


@dataclass(frozen=True)
class ReceiveOptions:
    """How to judge incoming bags.

    ``profile`` None means the stook profile. ``profile_explicit`` (a profile file was
    named) and ``strict_profile`` make every profile problem an error.
    """

    profile: BagitProfile | None = None
    profile_explicit: bool = False
    strict_profile: bool = False
    limits: Limits = field(default_factory=Limits)
    workers: int = 1
    as_new_version: bool = False


@dataclass
class ReceiveResult:
    source: Path
    status: ReceiveStatus = "rejected"
    format: SourceFormat | None = None
    path: Path | None = None
    identifier: str | None = None
    version: int | None = None
    bag: str | None = None
    files: int = 0
    bytes: int = 0
    bagit_version: str | None = None
    algorithms: list[str] = field(default_factory=list)
    profile: str | None = None
    profile_conforms: bool | None = None
    sidecar: Literal["matched", "mismatch", "absent", "unreadable"] | None = None
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status != "rejected"

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": str(self.source),
            "status": self.status,
            "format": self.format,
            "path": str(self.path) if self.path else None,
            "identifier": self.identifier,
            "version": self.version,
            "bag": self.bag,
            "files": self.files,
            "bytes": self.bytes,
            "bagit_version": self.bagit_version,
            "algorithms": list(self.algorithms),
            "profile": self.profile,
            "profile_conforms": self.profile_conforms,
            "sidecar": self.sidecar,
            "errors": [p.to_dict() for p in self.errors],
            "warnings": [p.to_dict() for p in self.warnings],
        }


def receive_bags(
    store: Store,
    sources: Sequence[Path],
    options: ReceiveOptions | None = None,
    *,
    progress: Callable[[int], None] | None = None,
) -> list[ReceiveResult]:
    """Receive each source independently; one rejected bag does not stop the others."""
    options = options or ReceiveOptions()
    results = []
    for source in sources:
        results.append(receive_one(store, source, options))
        if progress:
            progress(1)
    return results


def receive_one(store: Store, source: Path, options: ReceiveOptions) -> ReceiveResult:
    """Receive one bag into ``store``; the result names every problem found."""
    result = ReceiveResult(source=source)
    with store.writing():
        work = store.tmp_dir() / f"receive-{uuid.uuid4().hex}"
        try:
            _receive(store, source, options, result, work)
        except StookError as exc:
            result.errors.append(Problem(str(source), str(exc)))
        finally:
            if work.exists():
                remove_tree(work)
    if result.errors:
        result.status = "rejected"
        result.path = None
    return result


def _receive(store: Store, source: Path, options: ReceiveOptions, result: ReceiveResult, work: Path) -> None:
    if not source.exists():
        result.errors.append(Problem(str(source), "not found"))
        return
    fmt = detect_format(source)
    if fmt is None:
        result.errors.append(Problem(str(source), "not a bag directory, tar, gzipped tar or zip file"))
        return
    result.format = fmt
    archive_sha512 = None
    if fmt != "dir":
        archive_sha512 = _check_sidecar(source, result)
    extraction = extract(source, work, fmt, options.limits)
    result.errors.extend(extraction.errors)
    result.warnings.extend(extraction.warnings)
    result.files, result.bytes = extraction.files, extraction.bytes
    if extraction.errors:
        return
    verified = _verify(work, options, result)
    if verified is None:
        return
    profile = options.profile or stook_profile()
    problems = check_bag(work, profile, serialized=source if fmt != "dir" else None)
    result.profile = profile.identifier
    result.profile_conforms = not problems
    blocking = profile_blocks(work, profile, options)
    for problem in problems:
        message = f"{problem.message} ({profile.label})"
        (result.errors if blocking else result.warnings).append(Problem(problem.location, message))
    if result.errors:
        return
    _adopt(store, source, work, options, result, extraction, verified, profile, problems, archive_sha512)


def profile_blocks(bag_dir: Path, profile: BagitProfile, options: ReceiveOptions) -> bool:
    """Whether profile problems reject the bag.

    They do when a profile file was named (``--profile``), with ``--strict-profile``,
    and when the bag itself claims the profile in BagIt-Profile-Identifier (a stook
    bag that breaks the stook profile is damaged). A bag from another tool that
    claims no such thing is received when it is valid BagIt, and the profile
    problems are reported as warnings: what it lacks compared with a stook bag.
    """
    if options.profile_explicit or options.strict_profile:
        return True
    return declared_profile(bag_dir) == profile.identifier


def _check_sidecar(source: Path, result: ReceiveResult) -> str:
    """The archive's sha512; compared with ``<archive>.sha512`` when that file exists."""
    digest = hashlib.sha512()
    with open(source, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    actual = digest.hexdigest()
    sidecar = source.with_name(source.name + SIDECAR_SUFFIX)
    if not sidecar.exists():
        result.sidecar = "absent"
        return actual
    try:
        line = sidecar.read_text(encoding="utf-8").strip().splitlines()[0]
        expected, _, named = line.partition(" ")
        named = named.strip().lstrip("*")
    except (OSError, UnicodeDecodeError, IndexError):
        result.sidecar = "unreadable"
        result.errors.append(Problem(str(sidecar), "checksum file cannot be read; expected "
                                                   "'<sha512 hex>  <archive name>'"))
        return actual
    if not _HEX512.match(expected):
        result.sidecar = "unreadable"
        result.errors.append(Problem(str(sidecar), "does not start with a sha512 checksum (128 hex digits)",
                                     found=expected[:40]))
        return actual
    if expected.lower() != actual:
        result.sidecar = "mismatch"
        result.errors.append(Problem(
            source.name, f"sha512 of the archive differs from {sidecar.name}: the file was damaged or "
            "changed in transit; ask the sender for it again", found=actual, expected=expected.lower()))
    else:
        result.sidecar = "matched"
    if named and named != source.name:
        result.warnings.append(Problem(str(sidecar), f"names {named!r}, not {source.name!r}; "
                                                     "the checksum was still compared"))
    return actual


def _finding(f: Finding) -> Problem:
    return Problem(f.where() or "bag", f"[{f.code}] {f.message}", found=f.found, expected=f.expected)


def _verify(work: Path, options: ReceiveOptions, result: ReceiveResult) -> VerifyResult | None:
    try:
        verified = verify_bag(work, mode="full", workers=options.workers)
    except NotABag as exc:
        result.errors.append(Problem("bag", f"the received directory is not a bag: {exc.message}"))
        return None
    result.bagit_version = verified.version
    result.algorithms = list(verified.algorithms)
    result.errors.extend(_finding(f) for f in verified.errors)
    result.warnings.extend(_finding(f) for f in verified.warnings)
    if not verified.valid and not verified.errors:
        result.errors.append(Problem("bag", "not every checksum could be verified"))
    return verified if not result.errors else None


def _read_record(bag_dir: Path, result: ReceiveResult) -> dict[str, Any] | None:
    path = bag_dir / "data" / RECORD_FILE
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        result.warnings.append(Problem(f"data/{RECORD_FILE}", f"not a JSON record ({exc}); kept as a file"))
        return None
    if not isinstance(record, dict) or not isinstance(record.get("identifier"), str):
        result.warnings.append(Problem(f"data/{RECORD_FILE}", "not a stook record (no identifier); "
                                                              "kept as a file"))
        return None
    for problem in validate_record(record):
        result.warnings.append(Problem(f"data/{RECORD_FILE}: {problem.location}",
                                       f"record schema: {problem.message}"))
    return record


def _identity(bag_dir: Path, top: str | None, info: list[tuple[str, str]],
              record: dict[str, Any] | None, result: ReceiveResult) -> str | None:
    """The identifier the bag is stored under; None (with an error) when the bag names two."""
    externals = list(dict.fromkeys(v for v in info_values(info, "External-Identifier") if v))
    from_record = record.get("identifier") if record else None
    if from_record and externals and from_record not in externals:
        result.errors.append(Problem(
            "bag-info.txt",
            f"External-Identifier {externals[0]!r} differs from the identifier in data/{RECORD_FILE} "
            f"({from_record!r}): the bag names two records, so it is not stored under either; ask the "
            "sender to correct the bag"))
        return None
    if not from_record and len(externals) > 1:
        result.errors.append(Problem(
            "bag-info.txt",
            f"External-Identifier is given {len(externals)} times with different values "
            f"({', '.join(repr(v) for v in externals[:3])}) and the bag has no data/{RECORD_FILE} to say "
            "which record it is; ask the sender to correct the bag"))
        return None
    chosen = from_record or (externals[0] if externals else None)
    if not chosen:
        chosen = first_value(info, "Internal-Sender-Identifier") or top or bag_dir.name
        result.warnings.append(Problem("bag-info.txt", f"no External-Identifier and no data/{RECORD_FILE}: "
                                                       f"the bag is stored under identifier {chosen!r}"))
    return chosen


def digest_event(bag_dir: Path, verified: VerifyResult, oxum: str) -> Event:
    """The digests of the payload as received and verified (keyed by the files' paths in
    the bag, as the verify engine resolved them), kept as the ones audit and repair
    compare with later, as for a bag stook writes itself."""
    algorithms = list(verified.algorithms)
    data: dict[str, Any] = {"algorithms": algorithms, "payload_oxum": oxum}
    if "sha512" in verified.payload_digests:
        data["sha512"] = dict(verified.payload_digests["sha512"])
    return Event("mes", "suc", detail=f"{', '.join(algorithms)} digests of the payload as received, "
                 "all verified", data=data)


def _adopt(
    store: Store,
    source: Path,
    work: Path,
    options: ReceiveOptions,
    result: ReceiveResult,
    extraction: Extraction,
    verified: VerifyResult,
    profile: BagitProfile,
    problems: list[Problem],
    archive_sha512: str | None,
) -> None:
    info = verified.bag_info  # parsed by the verify engine: not read again
    record = _read_record(work, result)
    identifier = _identity(work, extraction.top, info, record, result)
    if identifier is None:
        return
    oxum, size = bag_sizes(work)
    title = (record or {}).get("title") or first_value(info, "Internal-Sender-Description") or first_value(
        info, "External-Description")
    groups = [g for g in info_values(info, "Bag-Group-Identifier") if g]
    where = str(source.resolve())
    events = [
        Event("tra", "suc",
              detail=f"received {source.name} ({extraction.format}) from {where}"
                     + (f"; sidecar checksum {result.sidecar}" if result.sidecar else ""),
              data={"source": where, "format": extraction.format, "sha512": archive_sha512,
                    "sidecar": result.sidecar, "top": extraction.top,
                    "files": extraction.files, "bytes": extraction.bytes}),
        Event("fix", "suc",
              detail=f"received bag valid (BagIt {verified.version}): {verified.files_checked} files, "
                     f"{verified.bytes_hashed} bytes verified with {', '.join(verified.algorithms)}",
              data={"algorithms": list(verified.algorithms), "files_checked": verified.files_checked,
                    "bytes_hashed": verified.bytes_hashed,
                    "warnings": [f.to_dict() for f in verified.warnings] or None}),
        Event("val", "suc" if not problems else "war",
              detail=(f"conforms to {profile.label}" if not problems else
                      f"does not conform to {profile.label}: {len(problems)} problem(s)"),
              data={"profile": profile.identifier, "problems": [p.to_dict() for p in problems] or None}),
        digest_event(work, verified, oxum),
        Event("ing", "suc", detail=f"received bag {extraction.top or source.name} stored as received"),
    ]
    incoming = IncomingBag(
        identifier=identifier,
        fingerprint=bag_fingerprint(work, record),
        payload_oxum=oxum,
        size=size,
        title=title if isinstance(title, str) else None,
        groups=groups,
        events=events,
        source=Source.received(first_value(info, "Source-Organization")),
        as_new_version=options.as_new_version,
    )
    added = store.adopt(work, incoming)
    if record is None:  # no stook record of its own: keep one built from its bag-info in the ledger
        result.warnings.extend(keep_minimal_record(store, added.bag))
    result.status = added.status
    result.path = added.path
    result.identifier = added.bag.identifier
    result.version = added.bag.version
    result.bag = added.bag.path
