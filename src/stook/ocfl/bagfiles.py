"""A bag's files as the content of an OCFL version: paths, verified digests, copies.

The export reads each bag after the verify engine has checked every checksum. The
sha512 digests of the payload manifest (now known to be right) let content the
object already holds be recognised without reading it again; everything else is
copied while it is hashed with sha512 and with each other algorithm the bag's
manifests use (the inventory's fixity block), and a digest that no longer matches
the manifest stops the export (the bag changed after it was verified).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from stook.ocfl.inventory import Version
from stook.ocfl.layout import FIXITY_ALGORITHMS, OcflError, new_hasher

CHUNK = 1024 * 1024
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)


@dataclass
class BagFiles:
    """Every regular file of a bag (relative ``/`` paths, sorted) and the digests its manifests give."""

    directory: Path
    paths: list[str]
    expected: dict[str, str] = field(default_factory=dict)  # payload path -> sha512, verified
    fixity: tuple[str, ...] = ()  # the bag's other algorithms OCFL knows, for the fixity block

    def known_digest(self, rel: str, *held: dict[str, list[str]]) -> str | None:
        """The file's sha512 when a verified manifest gives it and one of ``held`` has it."""
        digest = self.expected.get(rel)
        if digest is not None and any(digest in h for h in held):
            return digest
        return None

    def copy(self, rel: str, target: Path, made: set[Path]) -> tuple[str, int, dict[str, str]]:
        """Copy one file to ``target`` (a new file), hashing it; returns its sha512, size and
        its digests in the fixity algorithms."""
        _make_parents(target.parent, made)
        source = self.directory / rel
        digest = hashlib.sha512()
        others = {algorithm: new_hasher(algorithm) for algorithm in self.fixity}
        size = 0
        try:
            with open(source, "rb") as src:
                fd = os.open(target, _NEW_FILE, 0o644)
                try:
                    while chunk := src.read(CHUNK):
                        digest.update(chunk)
                        for hasher in others.values():
                            hasher.update(chunk)
                        size += len(chunk)
                        view = memoryview(chunk)
                        while view:
                            view = view[os.write(fd, view):]
                finally:
                    os.close(fd)
        except OSError as exc:
            raise OcflError(f"{source}: cannot be copied into the OCFL object: {exc.strerror or exc}",
                            path=source) from exc
        found = digest.hexdigest()
        expected = self.expected.get(rel)
        if expected is not None and expected != found:
            os.unlink(target)
            raise OcflError(f"{source}: its sha512 changed after the bag was verified (manifest "
                            f"{expected[:16]}..., now {found[:16]}...); nothing of this version was written",
                            path=source)
        return found, size, {algorithm: hasher.hexdigest() for algorithm, hasher in others.items()}


def _make_parents(directory: Path, made: set[Path]) -> None:
    """Make ``directory`` and its missing parents, down from one in ``made`` (which must hold
    an ancestor)."""
    if directory in made:
        return
    _make_parents(directory.parent, made)
    with contextlib.suppress(FileExistsError):
        os.mkdir(directory)
    made.add(directory)


def read_bag_files(bag_dir: Path, payload_digests: dict[str, dict[str, str]]) -> BagFiles:
    """List a verified bag's files with the digests its payload and tag manifests give."""
    paths: list[str] = []
    for dirpath, dirs, names in os.walk(bag_dir):
        dirs.sort()
        rel_dir = os.path.relpath(dirpath, bag_dir)
        for name in sorted(names):
            full = os.path.join(dirpath, name)
            if not stat.S_ISREG(os.lstat(full).st_mode):
                raise OcflError(f"{full}: not a regular file; an OCFL object holds only files", path=full)
            rel = name if rel_dir == "." else f"{rel_dir.replace(os.sep, '/')}/{name}"
            try:
                rel.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise OcflError(f"{full}: its name is not UTF-8 and cannot be written in an OCFL "
                                "inventory (JSON); rename it in a new version of the record",
                                path=full) from exc
            paths.append(rel)
    tags = {a for a in FIXITY_ALGORITHMS if (bag_dir / f"tagmanifest-{a}.txt").is_file()}
    fixity = tuple(a for a in FIXITY_ALGORITHMS if a != "sha512" and (a in payload_digests or a in tags))
    return BagFiles(bag_dir, paths, dict(payload_digests.get("sha512", {})), fixity)


def same_bag(version: Version, bag_dir: Path) -> bool:
    """Whether an OCFL version holds the bag at ``bag_dir``: the same tag files, byte for byte.

    The tag files pin everything else (the manifests list every payload digest), so
    reading a few small files answers for the whole bag.
    """
    tags = {path: digest.lower() for path, digest in version.files().items() if "/" not in path}
    found: dict[str, str] = {}
    try:
        for entry in os.scandir(bag_dir):
            if entry.is_file(follow_symlinks=False):
                with open(entry.path, "rb") as handle:
                    found[entry.name] = hashlib.sha512(handle.read()).hexdigest()
    except OSError:
        return False
    return tags == found
