"""Builders for the verify test corpus: good bags (hand-written or by bagit-python) to damage.

Everything is written under a caller-supplied directory (pytest's tmp_path); nothing
here is shipped. ``write_bag`` writes bytes exactly as asked so tests can produce
any malformation; ``retag`` refreshes tag manifests after a deliberate edit so the
edit is the only problem in the bag.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import bagit

from stook.verify import VerifyResult

DEFAULT_FILES: Mapping[str, bytes] = {
    "data/hello.txt": b"hello, world\n",
    "data/sub/numbers.csv": b"1,2,3\n4,5,6\n",
}


def digest(algorithm: str, data: bytes) -> str:
    return hashlib.new(algorithm, data).hexdigest()


def encode_path(path: str) -> str:
    """RFC 8493 §2.1.3: percent-encode CR, LF and % (and only those)."""
    return path.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def manifest_text(files: Mapping[str, bytes], algorithm: str, *, encode: bool = True) -> str:
    return "".join(
        f"{digest(algorithm, data)}  {encode_path(p) if encode else p}\n"
        for p, data in sorted(files.items())
    )


def write_bag(
    root: Path,
    files: Mapping[str, bytes] = DEFAULT_FILES,
    *,
    version: str = "1.0",
    algorithms: Sequence[str] = ("sha256",),
    tag_algorithms: Sequence[str] | None = ("sha256",),
    info: Sequence[tuple[str, str]] | None = None,
    oxum: bool = True,
    encoding: str = "UTF-8",
) -> Path:
    """A correct bag of ``files`` (bag-relative paths under data/) in the given version."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "bagit.txt").write_bytes(
        f"BagIt-Version: {version}\nTag-File-Character-Encoding: {encoding}\n".encode()
    )
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    for alg in algorithms:
        (root / f"manifest-{alg}.txt").write_text(manifest_text(files, alg), newline="")
    elements = list(info) if info is not None else [("Source-Organization", "stook tests")]
    if oxum:
        total = sum(len(d) for d in files.values())
        elements.append(("Payload-Oxum", f"{total}.{len(files)}"))
    if elements:
        (root / "bag-info.txt").write_bytes(
            "".join(f"{k}: {v}\n" for k, v in elements).encode(_codec(encoding))
        )
    if tag_algorithms:
        retag(root, tag_algorithms)
    return root


def _codec(encoding: str) -> str:
    return "utf-8" if encoding.upper() == "UTF-8" else encoding


def tag_files(root: Path) -> list[str]:
    """Every tag file except tag manifests, as bag-relative POSIX paths."""
    found = []
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_dir() or rel.startswith("data/") or rel.startswith("tagmanifest-"):
            continue
        found.append(rel)
    return found


def retag(root: Path, algorithms: Iterable[str] | None = None, *, skip: Iterable[str] = ()) -> None:
    """(Re)write tag manifests over the current tag files, leaving out ``skip``."""
    if algorithms is None:
        algorithms = [p.name[len("tagmanifest-") : -4] for p in root.glob("tagmanifest-*.txt")]
    left_out = set(skip)
    for alg in algorithms:
        listed = {
            rel: (root / rel).read_bytes() for rel in tag_files(root) if rel not in left_out
        }
        (root / f"tagmanifest-{alg}.txt").write_text(manifest_text(listed, alg), newline="")


def bagit_python_bag(
    root: Path,
    files: Mapping[str, bytes] = DEFAULT_FILES,
    *,
    checksums: Sequence[str] = ("sha256", "sha512"),
    version: str = "1.0",
) -> Path:
    """A bag made by bagit-python's ``make_bag`` (it writes 0.97), relabelled if asked."""
    root.mkdir(parents=True)
    for rel, data in files.items():
        target = root / rel.removeprefix("data/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    bagit.make_bag(str(root), checksums=list(checksums))
    if version != "0.97":
        (root / "bagit.txt").write_bytes(
            f"BagIt-Version: {version}\nTag-File-Character-Encoding: UTF-8\n".encode()
        )
        retag(root)
    return root


def bagit_python_valid(root: Path, **kwargs: bool) -> bool:
    """The reference implementation's verdict (False also when it refuses to open the bag)."""
    try:
        return bool(bagit.Bag(str(root)).is_valid(**kwargs))
    except bagit.BagError:
        return False


def codes(result: VerifyResult) -> set[str]:
    return {f.code for f in result.errors}


def warning_codes(result: VerifyResult) -> set[str]:
    return {f.code for f in result.warnings}


def errors_with(result: VerifyResult, code: str) -> list[tuple[str | None, int | None]]:
    return [(f.path, f.line) for f in result.errors if f.code == code]


def warnings_with(result: VerifyResult, code: str) -> list[tuple[str | None, int | None]]:
    return [(f.path, f.line) for f in result.warnings if f.code == code]
