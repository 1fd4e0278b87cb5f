"""The verification run: structure, tag files, completeness, Oxum, then every checksum.

Reading the bag is :mod:`stook.verify.reading`, the completeness checks are
:mod:`stook.verify.completeness`; this module runs them in order and hashes.

Nothing stops the run but a path that is not a bag at all: every other problem
is recorded and the next check goes on, so the report names everything at once.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from stook.errors import NotABag
from stook.verify.completeness import Completeness
from stook.verify.fs import BagFS
from stook.verify.model import (
    COMPLETENESS_CODES,
    MODES,
    Mode,
    VerifyResult,
)
from stook.verify.reading import Manifest
from stook.verify.tagfiles import parse_bagit_txt, version_tuple


def verify_bag(
    path: str | os.PathLike[str],
    *,
    mode: Mode = "full",
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> VerifyResult:
    """Check one bag against RFC 8493 (versions 0.93 to 1.0) and report every problem.

    ``mode="full"`` verifies every checksum of every listed file in every
    algorithm; ``"fast"`` and ``"completeness"`` do every other check (structure,
    tag files, completeness, Payload-Oxum) without hashing, and ``"fast"``
    also warns when there is no Payload-Oxum to compare. ``workers`` threads hash
    files in parallel; ``progress`` is called with byte counts as they are hashed.

    Raises :class:`stook.errors.NotABag` when ``path`` is not a readable directory
    with a readable bagit.txt; any other problem is in the result.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, not {mode!r}")
    given = os.fspath(path)
    fs, bagit_txt = _open_bag(given)
    return _Run(given, fs, bagit_txt, mode, max(1, workers), progress).run()


def _open_bag(given: str) -> tuple[BagFS, bytes]:
    try:
        st = os.stat(given)
    except OSError as exc:
        raise NotABag(f"{given}: cannot be read: {exc.strerror or exc}", path=given) from exc
    if not stat.S_ISDIR(st.st_mode):
        raise NotABag(f"{given} is not a directory, so not a bag", path=given)
    fs = BagFS(given)
    try:
        fs.listing("")
    except OSError as exc:
        raise NotABag(f"{given}: cannot list the directory: {exc.strerror or exc}",
                      path=given) from exc
    entry = fs.lookup("bagit.txt")
    if entry.kind == "missing":
        raise NotABag(f"{given} has no bagit.txt, so it is not a bag", path=given,
                      hint="a bag needs bagit.txt, data/ and a manifest (RFC 8493 §2.1)")
    if entry.kind != "file":
        raise NotABag(f"{given}: bagit.txt is not a regular file inside the bag"
                      f" ({entry.kind} {entry.detail}); it was not opened".rstrip(),
                      path=given)
    try:
        return fs, fs.read_bytes("bagit.txt")
    except OSError as exc:
        raise NotABag(f"{given}: cannot read bagit.txt: {exc.strerror or exc}",
                      path=given) from exc



class _Run(Completeness):
    """One verification; discarded after :meth:`run`."""

    # -- the run --------------------------------------------------------------------

    def run(self) -> VerifyResult:
        decl = parse_bagit_txt(self.bagit_txt, self.report)
        self.v1 = version_tuple(decl.version) >= (1, 0)
        self._choose_encoding(decl.encoding)
        self._scan_disk()
        manifests = self._load_manifests()
        payload_manifests = [m for m in manifests if not m.tag]
        tag_manifests = [m for m in manifests if m.tag]
        fetch = self._load_fetch()
        info = self._load_bag_info(decl.version)
        self._check_payload(payload_manifests, fetch)
        self._check_tag_manifests(tag_manifests, payload_manifests)
        self._check_oxum(info)
        self._check_names()
        files_checked = bytes_hashed = 0
        verified = False
        if self.mode == "full":
            files_checked, bytes_hashed, verified = self._verify_checksums(manifests)
        else:
            for rel in [*self.payload, *self.tags]:
                self._outcome(rel, "unverified", self.payload.get(rel, self.tags.get(rel)))
        errors, warnings = self.report.errors, self.report.warnings
        complete = not any(f.code in COMPLETENESS_CODES for f in errors)
        valid = not errors and (self.mode != "full" or verified)
        algorithms: list[str] = []
        for m in manifests:
            if m.algorithm not in algorithms:
                algorithms.append(m.algorithm)
        return VerifyResult(
            bag=self.given,
            mode=self.mode,
            valid=valid,
            complete=complete,
            checksums_verified=self.mode == "full" and verified,
            version=decl.version,
            errors=list(errors),
            warnings=list(warnings),
            files_checked=files_checked,
            bytes_hashed=bytes_hashed,
            algorithms=algorithms,
            files=sorted(self.outcomes.values(), key=lambda o: o.path),
            payload_digests={
                m.algorithm: {rel: e.digest.lower() for rel, e in m.resolved.items()}
                for m in payload_manifests
            },
            bag_info=[(el.label, el.value) for el in info],
            payload_oxum=f"{sum(self.payload.values())}.{len(self.payload)}",
        )

    # -- checksums ------------------------------------------------------------------

    def _verify_checksums(self, manifests: list[Manifest]) -> tuple[int, int, bool]:
        """Hash each listed file once in all its algorithms; return files, bytes, all verified."""
        wanted: dict[str, set[str]] = {}
        expected = 0
        for m in manifests:
            expected += len(m.resolved)
            pool = self.tags if m.tag else self.payload
            if not m.supported:
                continue
            for rel in m.resolved:
                if rel in pool and rel not in self.refused:
                    wanted.setdefault(rel, set()).add(m.algorithm)
        lock = threading.Lock()
        advance: Callable[[int], None] | None = None
        if self.progress is not None:
            report_progress = self.progress

            def advance(n: int) -> None:
                with lock:
                    report_progress(n)

        def work(rel: str) -> tuple[str, dict[str, str] | None, int, str]:
            try:
                digests, size = self.fs.hash(rel, tuple(sorted(wanted[rel])), advance)
            except OSError as exc:
                return rel, None, 0, exc.strerror or str(exc)
            return rel, digests, size, ""

        order = sorted(wanted)
        if self.workers > 1 and len(order) > 1:
            with ThreadPoolExecutor(max_workers=self.workers) as executor:
                results = list(executor.map(work, order))
        else:
            results = [work(rel) for rel in order]
        computed: dict[str, dict[str, str]] = {}
        total = 0
        for rel, digests, size, error in results:
            if digests is None:
                self.report.error(
                    "unreadable-file", f"{rel} cannot be read: {error}", path=rel
                )
                self._outcome(rel, "unreadable")
                continue
            computed[rel] = digests
            total += size
        verified = 0
        corrupt: set[str] = set()
        for m in manifests:
            for rel, e in m.resolved.items():
                found = computed.get(rel, {}).get(m.algorithm)
                if found is None:
                    continue
                verified += 1
                if found != e.digest:
                    corrupt.add(rel)
                    self.report.error(
                        "checksum-mismatch",
                        f"{rel}: {m.algorithm} checksum does not match {m.name} line {e.line}:"
                        f" expected {e.digest}, found {found}",
                        path=rel, algorithm=m.algorithm, expected=e.digest, found=found,
                    )
        for rel in computed:
            known = self.payload.get(rel, self.tags.get(rel))
            self._outcome(rel, "corrupt" if rel in corrupt else "ok", known, wanted[rel])
        for rel in [*self.payload, *self.tags]:
            if rel not in self.outcomes:
                self._outcome(rel, "unverified", self.payload.get(rel, self.tags.get(rel)))
        return len(computed), total, verified == expected

