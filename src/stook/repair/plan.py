"""Deciding, file by file, what the repaired bag holds: the stored file or the partner's.

The rule: every file of the repaired bag is either the stored file, untouched, or a
copy from the partner whose digest equals a reference the partner did not supply.

* **Payload files** are judged by the reference (:mod:`.reference`): the digests the
  ledger recorded at ingest.
* **Payload manifests** must list exactly those digests (in another algorithm: exactly
  the digests of the payload files as they will be).
* **Other tag files** (bagit.txt, bag-info.txt, ...) are judged by the digests the
  stored bag's own tag manifests list for them. When the stored file and the
  partner's are byte-identical but both differ from that listing, two independent
  copies agree: the tag manifest line is what was damaged, and the stored file stays.
  Only when the stored bag has no readable tag manifest at all (the whole bag is gone)
  are they taken on the word of the partner's tag manifest, and a warning says so.
* **Tag manifests** are kept or replaced only when they describe every other tag
  file of the repaired bag exactly.

Anything else in the stored bag is carried over untouched, except files in ``data/``
that the bag never held (and links or special files), which are refused: repair
restores, it does not delete.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from stook.errors import Problem
from stook.repair.files import Tree, supported
from stook.repair.model import FileRepair, Reference
from stook.verify.manifests import parse_manifest
from stook.verify.model import Report
from stook.verify.tagfiles import decode_tag_file, parse_bagit_txt, version_tuple

_MANIFEST = re.compile(r"^(tag)?manifest-([a-z0-9]+)\.txt$")


@dataclass(frozen=True)
class Choice:
    """Where one file of the repaired bag comes from."""

    action: Literal["keep", "replace"]
    repair: FileRepair | None = None  # for a replacement: what it replaces and its digest


@dataclass
class Plan:
    """The repaired bag, file by file, and every reason it cannot be built."""

    choices: dict[str, Choice] = field(default_factory=dict)
    carried: list[str] = field(default_factory=list)  # other stored files, kept as they are
    dirs: set[str] = field(default_factory=lambda: {"data"})
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def replaced(self) -> list[FileRepair]:
        return [c.repair for _, c in sorted(self.choices.items()) if c.repair is not None]

    @property
    def kept(self) -> int:
        return sum(1 for c in self.choices.values() if c.action == "keep") + len(self.carried)


def make_plan(stored: Tree, partner: Tree, reference: Reference) -> Plan:
    planner = _Planner(stored, partner, reference)
    planner.payload()
    planner.payload_manifests()
    planner.tag_files()
    planner.tag_manifests()
    planner.others()
    return planner.plan


class _Planner:
    def __init__(self, stored: Tree, partner: Tree, reference: Reference) -> None:
        self.stored = stored
        self.partner = partner
        self.ref = reference
        self.plan = Plan()
        self.top = stored.top_level()
        self.v1 = _is_v1(stored) if stored.read("bagit.txt") is not None else _is_v1(partner)
        self.stored_tms = self._tag_manifests(stored)
        self.partner_tms = self._tag_manifests(partner)
        self.listed: set[str] = set()  # tag files the tag manifests must list

    # -- helpers ---------------------------------------------------------------------

    def _tag_manifests(self, tree: Tree) -> dict[str, dict[str, str]]:
        """Readable, consistent tag manifests of ``tree``: name -> {tag file: digest}."""
        found: dict[str, dict[str, str]] = {}
        top = self.top if tree is self.stored else tree.top_level()
        for name, kind in top.items():
            m = _MANIFEST.match(name)
            if kind == "file" and m and m.group(1) and supported(m.group(2)):
                parsed = self.parse(tree, name, m.group(2))
                if parsed is not None:
                    found[name] = parsed
        return found

    def parse(self, tree: Tree, name: str, algorithm: str) -> dict[str, str] | None:
        """A manifest's ``{path: digest}``; None when absent or not cleanly readable."""
        data = tree.read(name)
        if data is None:
            return None
        report = Report()
        text = decode_tag_file(name, data, "utf-8", True, self.v1, report)
        entries = parse_manifest(name, algorithm, text, self.v1, report)
        if report.errors:
            return None
        return {e.path: e.digest for e in entries}

    def final(self, rel: str, algorithm: str) -> str | None:
        """The ``algorithm`` digest of ``rel`` as it will be in the repaired bag."""
        choice = self.plan.choices.get(rel)
        if choice is None:
            return None
        return (self.stored if choice.action == "keep" else self.partner).digest(rel, algorithm)

    def keep(self, rel: str) -> None:
        self.plan.choices[rel] = Choice("keep")

    def replace(self, rel: str, reason: str, algorithm: str, digest: str, found: str | None,
                note: str | None = None) -> None:
        self.plan.choices[rel] = Choice("replace", FileRepair(rel, reason, algorithm, digest, found, note))

    def refuse(self, rel: str, message: str, expected: str | None = None, found: str | None = None) -> None:
        self.plan.problems.append(Problem(rel, message, found=found, expected=expected))

    # -- the payload -----------------------------------------------------------------

    def payload(self) -> None:
        alg = self.ref.algorithm
        for rel, expected in sorted(self.ref.payload.items()):
            now = self.stored.digest(rel, alg)
            if now == expected:
                self.keep(rel)
                continue
            offered = self.partner.digest(rel, alg)
            reason = "missing" if now is None else "corrupted"
            if offered == expected:
                self.replace(rel, reason, alg, expected, now)
            else:
                self.refuse(rel, f"{reason} in the stored bag, and the partner's copy does not match the "
                                 f"recorded {alg}: expected {expected}, the partner's copy "
                                 + (f"has {offered}" if offered else "has no such file"),
                            expected=expected, found=offered)
        for rel, kind in sorted(self.stored.walk("data").items()):
            if kind == "dir":
                self.plan.dirs.add(rel)
            elif rel not in self.ref.payload:
                what = "a link or special file" if kind == "other" else "a file"
                self.refuse(rel, f"{what} in data/ that the bag did not hold when it was stored; repair "
                                 "restores files, it never deletes one: move it out of the bag, then run "
                                 "repair again")

    # -- manifests -------------------------------------------------------------------

    def payload_manifests(self) -> None:
        names = {n for n, kind in self.top.items() if kind == "file" and _is_payload_manifest(n)}
        for listing in self.stored_tms.values():
            names.update(n for n in listing if _is_payload_manifest(n))
        names.update(f"manifest-{a}.txt" for a in self.ref.algorithms)
        if not names:
            names = {n for n in self.partner.top_level() if _is_payload_manifest(n)}
        names.add(f"manifest-{self.ref.algorithm}.txt")
        for name in sorted(names):
            algorithm = name[len("manifest-"):-len(".txt")]
            self.listed.add(name)
            if not supported(algorithm):
                self._keep_unjudged(name)
                continue
            expected = self.ref.payload if algorithm == self.ref.algorithm else {
                rel: self.final(rel, algorithm) for rel in self.ref.payload}
            if None in expected.values():  # a payload file is refused already: nothing to judge by
                if self.top.get(name) == "file":
                    self.keep(name)
                continue
            if self.parse(self.stored, name, algorithm) == expected:
                self.keep(name)
            elif self.parse(self.partner, name, algorithm) == expected:
                digest = self.partner.digest(name, "sha512")
                assert digest is not None
                self.replace(name, "missing" if name not in self.top else "damaged", "sha512", digest,
                             self.stored.digest(name, "sha512"))
            else:
                self.refuse(name, f"{'damaged' if name in self.top else 'missing'}, and the partner's "
                                  f"copy does not list the {algorithm} digests of the payload as stored "
                                  "either")

    def tag_manifests(self) -> None:
        algorithms = {n[len("manifest-"):-len(".txt")] for n in self.listed if _is_payload_manifest(n)}
        names = {n for n in self.stored_tms} | {n for n, kind in self.top.items()
                                               if kind == "file" and _is_tag_manifest(n)}
        names |= {f"tagmanifest-{a}.txt" for a in algorithms if f"tagmanifest-{a}.txt" in self.partner_tms}
        for name in sorted(names):
            algorithm = name[len("tagmanifest-"):-len(".txt")]
            if not supported(algorithm):
                self._keep_unjudged(name)
                continue
            if self._describes_all(self.parse(self.stored, name, algorithm), algorithm):
                self.keep(name)
            elif self._describes_all(self.parse(self.partner, name, algorithm), algorithm):
                digest = self.partner.digest(name, "sha512")
                assert digest is not None
                self.replace(name, "missing" if name not in self.top else "damaged", "sha512", digest,
                             self.stored.digest(name, "sha512"))
            else:
                self.refuse(name, "neither the stored tag manifest nor the partner's lists exactly the "
                                  f"{algorithm} digests of the repaired bag's tag files")

    def _describes_all(self, listing: dict[str, str] | None, algorithm: str) -> bool:
        if listing is None or set(listing) != self.listed:
            return False
        return all(self.final(rel, algorithm) == digest for rel, digest in listing.items())

    def _keep_unjudged(self, name: str) -> None:
        if self.top.get(name) == "file":
            self.keep(name)
        else:
            self.refuse(name, "missing, and its algorithm is not one stook can check, so no copy can "
                              "be verified")

    # -- other tag files -------------------------------------------------------------

    def tag_files(self) -> None:
        sources = self.stored_tms or self.partner_tms
        candidates = {"bagit.txt"}
        for listing in sources.values():
            candidates.update(rel for rel in listing
                              if not _MANIFEST.match(rel) and not rel.startswith("data/"))
        for rel in sorted(candidates):
            self._tag_file(rel)

    def _tag_file(self, rel: str) -> None:
        refs = _listed_digests(self.stored_tms, rel)
        if not refs:
            self._tag_file_without_reference(rel)
            return
        self.listed.add(rel)
        now = self.stored.digests(rel, refs)
        if now == refs:
            self.keep(rel)
            return
        offered = self.partner.digests(rel, refs)
        algorithm = "sha512" if "sha512" in refs else sorted(refs)[-1]
        if offered == refs:
            self.replace(rel, "missing" if now is None else "damaged", algorithm, refs[algorithm],
                         None if now is None else now[algorithm])
        elif now is not None and now == offered:
            self.keep(rel)
            self.plan.warnings.append(Problem(rel, "differs from what the stored tag manifest lists, but "
                                                   "equals the partner's copy: the tag manifest line is "
                                                   "what was damaged; the file stays as it is"))
        else:
            self.refuse(rel, f"{'missing' if now is None else 'damaged'}, and the partner's copy does "
                             f"not match the stored tag manifest: {algorithm} expected {refs[algorithm]}, "
                             "the partner's copy "
                             + (f"has {offered[algorithm]}" if offered else "has no such file"),
                        expected=refs[algorithm], found=offered[algorithm] if offered else None)

    def _tag_file_without_reference(self, rel: str) -> None:
        """A tag file no readable stored tag manifest lists (they are gone or unreadable)."""
        refs = _listed_digests(self.partner_tms, rel)
        if not refs:
            if self.stored.digest(rel, "sha512") is not None:
                self.keep(rel)  # listed nowhere: nothing to judge it by, so it stays as it is
            else:
                self.refuse(rel, "missing, and no tag manifest records what it held, so no copy can be "
                                 "verified")
            return
        self.listed.add(rel)
        now = self.stored.digests(rel, refs)
        if now == refs:
            self.keep(rel)
            return
        if now is not None:
            self.refuse(rel, "differs from the partner's copy, and the stored tag manifest that would "
                             "say which is right is gone or unreadable: compare the two by hand")
            return
        algorithm = "sha512" if "sha512" in refs else sorted(refs)[-1]
        if self.partner.digests(rel, refs) != refs:
            self.refuse(rel, "missing, and the partner's copy does not match the partner's own tag "
                             "manifest either", expected=refs[algorithm])
            return
        note = ("the store held no readable tag manifest to check it against: taken on the word of the "
                "partner's tag manifest, which describes the repaired bag's manifests exactly")
        self.plan.warnings.append(Problem(rel, note))
        self.replace(rel, "missing", algorithm, refs[algorithm], None, note)

    def others(self) -> None:
        """Everything else at the top of the stored bag is carried over as it is."""
        for name, kind in sorted(self.top.items()):
            if name == "data" or name in self.plan.choices:
                continue
            if kind == "file":
                self.plan.carried.append(name)
            elif kind == "dir":
                self.plan.dirs.add(name)
                for rel, sub in sorted(self.stored.walk(name).items()):
                    if sub == "dir":
                        self.plan.dirs.add(rel)
                    elif sub == "file":
                        self.plan.carried.append(rel)
                    else:
                        self._odd(rel)
            else:
                self._odd(name)

    def _odd(self, rel: str) -> None:
        self.refuse(rel, "a link or special file in the stored bag, which repair cannot vouch for: move "
                         "it out of the bag, then run repair again")


def _listed_digests(manifests: dict[str, dict[str, str]], rel: str) -> dict[str, str]:
    """``{algorithm: digest}`` that the tag manifests list for ``rel``."""
    return {name[len("tagmanifest-"):-len(".txt")]: listing[rel]
            for name, listing in manifests.items() if rel in listing}


def _is_payload_manifest(name: str) -> bool:
    m = _MANIFEST.match(name)
    return bool(m and not m.group(1))


def _is_tag_manifest(name: str) -> bool:
    m = _MANIFEST.match(name)
    return bool(m and m.group(1))


def _is_v1(tree: Tree) -> bool:
    data = tree.read("bagit.txt")
    if data is None:
        return True
    return version_tuple(parse_bagit_txt(data, Report()).version) >= (1, 0)
