"""Completeness: every listed file present, every present file listed, Oxum, names.

The second part of a verification run (:mod:`stook.verify.engine`), before any hashing.
"""

from __future__ import annotations

from stook.bagspec import ANY_MANIFEST_NAME, OXUM, name_findings, nfc
from stook.verify.manifests import FetchEntry, ManifestEntry, repeated
from stook.verify.reading import BagReading, Manifest
from stook.verify.tagfiles import InfoElement


class Completeness(BagReading):
    """The completeness checks of a run (no file is opened for hashing here)."""

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

    def _check_payload(self, manifests: list[Manifest], fetch: list[FetchEntry]) -> None:
        fetch_by_path = {f.path: f for f in fetch}
        listed: dict[str, list[tuple[Manifest, ManifestEntry]]] = {}
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

    def _missing_from_manifest(self, rel: str, m: Manifest) -> None:
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

    def _check_tag_manifests(self, tag_manifests: list[Manifest],
                             payload_manifests: list[Manifest]) -> None:
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
                m = ANY_MANIFEST_NAME.match(e.path)
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
            m = ANY_MANIFEST_NAME.match(rel)
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

