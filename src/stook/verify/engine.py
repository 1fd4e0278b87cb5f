"""The verification run: structure, tag files, completeness, Oxum, then every checksum.

Nothing stops the run but a path that is not a bag at all: every other problem
is recorded and the next check goes on, so the report names everything at once.
"""

from __future__ import annotations

import codecs
import os
import re
import stat
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from stook.bagspec import HASHLIB_NAMES, OXUM, name_findings, nfc
from stook.errors import NotABag
from stook.verify.fs import BagFS, Entry
from stook.verify.model import (
    COMPLETENESS_CODES,
    MODES,
    FileOutcome,
    FileStatus,
    Mode,
    Report,
    VerifyResult,
)
from stook.verify.tagfiles import (
    FetchEntry,
    InfoElement,
    ManifestEntry,
    decode_tag_file,
    parse_bag_info,
    parse_bagit_txt,
    parse_fetch,
    parse_manifest,
    repeated,
    version_tuple,
)

_MANIFEST_NAME = re.compile(r"^(tag)?manifest-(.+)\.txt$")
_NOT_ALGORITHM_CHAR = re.compile(r"[^a-z0-9]")


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


@dataclass
class _Manifest:
    """One manifest file as found on disk and parsed."""

    name: str
    tag: bool
    algorithm: str  # normalised (RFC 8493 §2.4) name
    supported: bool
    entries: list[ManifestEntry] = field(default_factory=list)
    resolved: dict[str, ManifestEntry] = field(default_factory=dict)  # disk path -> entry


class _Run:
    """State of one verification; discarded after :meth:`run`."""

    def __init__(
        self,
        given: str,
        fs: BagFS,
        bagit_txt: bytes,
        mode: Mode,
        workers: int,
        progress: Callable[[int], None] | None,
    ) -> None:
        self.given = given
        self.fs = fs
        self.bagit_txt = bagit_txt
        self.mode = mode
        self.workers = workers
        self.progress = progress
        self.report = Report()
        self.v1 = True
        self.encoding = "utf-8"
        self.utf8 = True
        self.payload: dict[str, int] = {}  # regular payload files found on disk -> size
        self.tags: dict[str, int] = {}  # regular tag files found on disk -> size
        self.refused: dict[str, str] = {}  # paths never to be opened -> why
        self.outcomes: dict[str, FileOutcome] = {}
        self.by_nfc: dict[str, list[str]] = {}

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

    # -- bagit.txt and encoding -------------------------------------------------------

    def _choose_encoding(self, declared: str | None) -> None:
        if declared is None:
            return
        try:
            codec = codecs.lookup(declared).name
        except LookupError:
            self.report.error(
                "unknown-encoding",
                f"bagit.txt declares Tag-File-Character-Encoding {declared!r}, which is not a"
                " known character encoding; tag files were read as UTF-8",
                path="bagit.txt", line=2, found=declared,
            )
            return
        self.encoding = codec
        self.utf8 = codec == "utf-8"
        if not self.utf8:
            self.report.warn(
                "non-utf8-encoding",
                f"bagit.txt declares {declared}; RFC 8493 §2.1.1 says tag files SHOULD be"
                " UTF-8",
                path="bagit.txt", line=2, found=declared,
            )

    # -- what is on disk ------------------------------------------------------------

    def _scan_disk(self) -> None:
        data = self.fs.lookup("data")
        if data.kind != "directory" or data.via_symlink:
            what = {"missing": "is missing"}.get(data.kind, f"is not a directory ({data.kind})")
            if data.via_symlink and data.kind == "directory":
                what = "is a symlink; the payload directory must be a real directory"
            self.report.error(
                "missing-payload-dir",
                f"the payload directory data/ {what} (RFC 8493 §2.1.2)",
                path="data",
            )
        for rel, entry in self.fs.walk(""):
            if rel == "data":
                continue
            is_payload = rel.startswith("data/")
            if entry.kind == "file":
                (self.payload if is_payload else self.tags)[rel] = entry.size
                if entry.via_symlink:
                    self.report.warn(
                        "symlink",
                        f"{rel} is a symlink to a file inside the bag; it was followed, but"
                        " copies of the bag may not keep it",
                        path=rel,
                    )
                continue
            self._refuse(rel, entry)

    def _refuse(self, rel: str, entry: Entry) -> None:
        """Report a path that is not a regular file inside the bag; it is never opened."""
        if rel in self.refused:
            return
        if entry.kind == "outside":
            code, why = "symlink-outside", "is a symlink pointing outside the bag"
        elif entry.kind == "special":
            code, why = "special-file", f"is a {entry.detail}, not a regular file"
        elif entry.kind == "directory":
            if entry.via_symlink:
                self.report.warn(
                    "symlink",
                    f"{rel} is a symlink to a directory inside the bag; it was not followed",
                    path=rel,
                )
                return
            code, why = "not-a-file", "is a directory; manifests list files only"
        elif entry.kind == "missing":
            code, why = "dangling-symlink", "is a symlink to nothing"
        else:
            code, why = "unreadable-file", f"cannot be read ({entry.detail})"
        self.refused[rel] = code
        self.report.error(code, f"{rel} {why}; it was not opened", path=rel)
        self._outcome(rel, "unsafe" if code != "unreadable-file" else "unreadable")

    def _outcome(
        self, rel: str, status: FileStatus, size: int | None = None, algs: Iterable[str] = ()
    ) -> None:
        self.outcomes[rel] = FileOutcome(rel, status, size, tuple(sorted(algs)))

    def _read_tag_file(self, rel: str) -> str | None:
        try:
            data = self.fs.read_bytes(rel)
        except OSError as exc:
            self.report.error(
                "unreadable-file", f"{rel} cannot be read: {exc.strerror or exc}", path=rel
            )
            return None
        return decode_tag_file(rel, data, self.encoding, self.utf8, self.v1, self.report)

    # -- tag files ------------------------------------------------------------------

    def _load_manifests(self) -> list[_Manifest]:
        manifests: list[_Manifest] = []
        names = sorted(n for n in [*self.tags, *self.refused] if "/" not in n)
        for name in names:
            m = _MANIFEST_NAME.match(name)
            if not m or name in self.refused:
                continue
            raw_alg = m.group(2)
            alg = _NOT_ALGORITHM_CHAR.sub("", raw_alg.lower())
            if raw_alg != alg:
                self.report.error(
                    "bad-algorithm-name",
                    f"{name}: algorithm {raw_alg!r} is not normalised; RFC 8493 §2.4 wants"
                    f" the lowercase name without punctuation ({alg!r})",
                    path=name, found=raw_alg, expected=alg,
                )
            supported = alg in HASHLIB_NAMES
            if not supported:
                self.report.add(
                    self.mode == "full",
                    "unsupported-algorithm",
                    f"{name}: checksum algorithm {raw_alg!r} is not supported, so its"
                    " checksums cannot be verified",
                    path=name, algorithm=alg,
                )
            manifest = _Manifest(name, bool(m.group(1)), alg, supported)
            text = self._read_tag_file(name)
            if text is not None:
                manifest.entries = parse_manifest(
                    name, alg if supported else None, text, self.v1, self.report
                )
            manifests.append(manifest)
        if not any(not m.tag for m in manifests):
            self.report.error(
                "missing-payload-manifest",
                "the bag has no payload manifest (manifest-<algorithm>.txt); RFC 8493 §2.1.3"
                " requires at least one",
            )
        return manifests

    def _load_fetch(self) -> list[FetchEntry]:
        if "fetch.txt" not in self.tags:
            return []
        text = self._read_tag_file("fetch.txt")
        return [] if text is None else parse_fetch(text, self.v1, self.report)

    def _load_bag_info(self, version: str | None) -> list[InfoElement]:
        name = "bag-info.txt"
        if name not in self.tags and version_tuple(version) < (0, 96):
            name = "package-info.txt"  # its name before BagIt 0.96
        if name not in self.tags:
            return []
        text = self._read_tag_file(name)
        return [] if text is None else parse_bag_info(name, text, self.v1, self.report)

    # -- completeness ---------------------------------------------------------------

    def _resolve(self, entry: ManifestEntry, pool: dict[str, int]) -> str:
        """The disk name a manifest path refers to (exact, pre-1.0 ``%25``, or NFC match)."""
        if entry.path in pool or entry.path in self.refused:
            return entry.path
        if entry.alternative is not None and entry.alternative in pool:
            return entry.alternative
        if not self.by_nfc:
            for rel in [*self.payload, *self.tags]:
                self.by_nfc.setdefault(nfc(rel), []).append(rel)
        candidates = self.by_nfc.get(nfc(entry.path), [])
        if len(candidates) == 1 and candidates[0] in pool:
            self.report.warn(
                "normalization-mismatch",
                f"{entry.path} is listed in one Unicode normalization form and stored in"
                " another; matched by NFC, but other systems may not",
                path=candidates[0], line=entry.line,
            )
            return candidates[0]
        return entry.path

    def _present(self, rel: str, pool: dict[str, int]) -> bool:
        """Whether ``rel`` is a regular file inside the bag, looking beyond the walk if needed."""
        if rel in pool:
            return True
        if rel in self.refused:
            return False
        entry = self.fs.lookup(rel)
        if entry.kind == "file":
            pool[rel] = entry.size  # reached through a symlinked directory inside the bag
            return True
        if entry.kind != "missing":
            self._refuse(rel, entry)
        return False

    def _check_payload(self, manifests: list[_Manifest], fetch: list[FetchEntry]) -> None:
        fetch_by_path = {f.path: f for f in fetch}
        listed: dict[str, list[tuple[_Manifest, ManifestEntry]]] = {}
        for m in manifests:
            for e in m.entries:
                if not e.path.startswith("data/"):
                    self.report.error(
                        "outside-payload",
                        f"{m.name} line {e.line}: {e.path} is outside data/; a payload manifest"
                        " must list payload files only (RFC 8493 §2.1.3)",
                        path=m.name, line=e.line, found=e.path,
                    )
                    continue
                rel = self._resolve(e, self.payload)
                if rel in m.resolved:  # listed again in another Unicode normalization
                    repeated(m.name, m.resolved[rel], e, self.report)
                    continue
                m.resolved[rel] = e
                listed.setdefault(rel, []).append((m, e))
        for rel, where in listed.items():
            if self._present(rel, self.payload) or rel in self.refused:
                continue
            m, e = where[0]
            if rel in fetch_by_path:
                self.report.error(
                    "not-fetched",
                    f"{rel} is listed in fetch.txt (line {fetch_by_path[rel].line}) but has"
                    " not been fetched; the bag is incomplete until it is",
                    path=rel, found=fetch_by_path[rel].url,
                )
                self._outcome(rel, "not-fetched")
            else:
                self.report.error(
                    "missing-file",
                    f"{rel} is listed in {m.name} (line {e.line}) but is not in the bag",
                    path=rel,
                )
                self._outcome(rel, "missing")
        for rel in sorted(self.payload):
            if rel not in listed:
                self.report.error(
                    "unexpected-file",
                    f"{rel} is in data/ but in no payload manifest; add it to every manifest"
                    " or remove it",
                    path=rel,
                )
                self._outcome(rel, "unexpected", self.payload[rel])
                continue
            for m in manifests:
                if rel not in m.resolved:
                    self._missing_from_manifest(rel, m)
        for f in fetch:
            for m in manifests:
                if self._resolve(ManifestEntry(f.path, "", f.line), self.payload) not in m.resolved:
                    self.report.error(
                        "fetch-not-in-manifest",
                        f"fetch.txt line {f.line}: {f.path} is not listed in {m.name}; every"
                        " fetched file must be in every payload manifest (RFC 8493 §2.2.3)",
                        path="fetch.txt", line=f.line, found=f.path,
                    )
            size = self.payload.get(f.path)
            if size is not None and f.length is not None and size != f.length:
                self.report.error(
                    "fetch-size-mismatch",
                    f"fetch.txt line {f.line}: {f.path} should be {f.length} bytes but is"
                    f" {size}",
                    path=f.path, line=f.line, expected=str(f.length), found=str(size),
                )

    def _missing_from_manifest(self, rel: str, m: _Manifest) -> None:
        if self.v1:
            self.report.error(
                "missing-from-manifest",
                f"{rel} is not listed in {m.name}; in BagIt 1.0 every payload file must be in"
                " every payload manifest (RFC 8493 §3)",
                path=rel, algorithm=m.algorithm,
            )
        else:
            self.report.warn(
                "pre-1.0-rule",
                f"{rel} is not listed in {m.name}; allowed before BagIt 1.0, an error in 1.0",
                path=rel, algorithm=m.algorithm,
            )

    def _check_tag_manifests(self, tag_manifests: list[_Manifest],
                             payload_manifests: list[_Manifest]) -> None:
        for tm in tag_manifests:
            for e in tm.entries:
                if e.path.startswith("data/") or e.path == "data":
                    self.report.error(
                        "payload-in-tag-manifest",
                        f"{tm.name} line {e.line}: {e.path} is a payload file; tag manifests"
                        " must not list payload files (RFC 8493 §2.2.1)",
                        path=tm.name, line=e.line, found=e.path,
                    )
                    continue
                m = _MANIFEST_NAME.match(e.path)
                if m and m.group(1):
                    self.report.error(
                        "tag-manifest-listed",
                        f"{tm.name} line {e.line}: {e.path} is a tag manifest; tag manifests"
                        " must not list tag manifests (RFC 8493 §2.2.1)",
                        path=tm.name, line=e.line, found=e.path,
                    )
                    continue
                rel = self._resolve(e, self.tags)
                if rel in tm.resolved:
                    repeated(tm.name, tm.resolved[rel], e, self.report)
                    continue
                tm.resolved[rel] = e
                if not self._present(rel, self.tags) and rel not in self.refused:
                    self.report.error(
                        "missing-tag-file",
                        f"{rel} is listed in {tm.name} (line {e.line}) but is not in the bag",
                        path=rel,
                    )
                    self._outcome(rel, "missing")
            for pm in payload_manifests:
                if pm.name not in tm.resolved:
                    self.report.add(
                        self.v1,
                        "payload-manifest-not-in-tagmanifest" if self.v1 else "pre-1.0-rule",
                        f"{tm.name} does not list {pm.name}; every tag manifest must list"
                        " every payload manifest (RFC 8493 §2.2.1"
                        + (")" if self.v1 else "; required from BagIt 1.0)"),
                        path=tm.name, found=pm.name,
                    )
        if not tag_manifests:
            return
        for rel in sorted(self.tags):
            m = _MANIFEST_NAME.match(rel)
            if m and m.group(1):
                continue
            lacking = [tm.name for tm in tag_manifests if rel not in tm.resolved]
            if lacking:
                self.report.warn(
                    "tag-file-not-in-tagmanifest",
                    f"tag file {rel} is not listed in {', '.join(lacking)}; tag manifests"
                    " SHOULD list every tag file, or changes to it go unnoticed",
                    path=rel,
                )

    def _check_oxum(self, info: list[InfoElement]) -> None:
        oxum = next((el for el in info if el.label.lower() == "payload-oxum"), None)
        if oxum is None:
            if self.mode == "fast":
                self.report.warn(
                    "no-oxum",
                    "bag-info.txt has no Payload-Oxum, so a fast check could only check"
                    " completeness",
                )
            return
        name = "bag-info.txt" if "bag-info.txt" in self.tags else "package-info.txt"
        match = OXUM.match(oxum.value)
        if not match:
            self.report.error(
                "bad-oxum",
                f"{name} line {oxum.line}: Payload-Oxum {oxum.value!r} is not"
                " OctetCount.StreamCount",
                path=name, line=oxum.line, found=oxum.value,
            )
            return
        octets, streams = int(match.group(1)), int(match.group(2))
        found_octets, found_streams = sum(self.payload.values()), len(self.payload)
        if (octets, streams) != (found_octets, found_streams):
            self.report.error(
                "oxum-mismatch",
                f"{name} line {oxum.line}: Payload-Oxum promises {octets} bytes in {streams}"
                f" files; data/ holds {found_octets} bytes in {found_streams} files",
                path=name, line=oxum.line, expected=oxum.value,
                found=f"{found_octets}.{found_streams}",
            )

    def _check_names(self) -> None:
        collided, unsafe = name_findings(tuple(sorted([*self.payload, *self.tags])))
        for kind, group in collided:
            how = "Unicode normalization" if kind == "normalization" else "letter case"
            self.report.warn(
                "name-collision",
                f"{', '.join(group)} differ only in {how}; they collide on some filesystems",
                path=group[0], found=", ".join(group),
            )
        for rel, problem in unsafe:
            self.report.warn(
                "windows-unsafe-name",
                f"{rel}: {problem}; the bag cannot be copied to Windows as is",
                path=rel,
            )

    # -- checksums ------------------------------------------------------------------

    def _verify_checksums(self, manifests: list[_Manifest]) -> tuple[int, int, bool]:
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
