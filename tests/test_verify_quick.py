"""The fast path (stook.verify.quick) against the engine it stands in for.

Its one promise: when it vouches for a bag, the engine finds that bag valid with no
warning, and reports the same files, bytes, algorithms and digests. Every named
damage below, and a few hundred random edits of tag files, are put to both; benign
variations must also be accepted, or the fast path would be a slow no-op.
"""

from __future__ import annotations

import json
import os
import random
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from bagcorpus import retag, write_bag

from stook.audit import AuditOptions, run_audit
from stook.bagwriter import PayloadItem
from stook.errors import NotABag
from stook.store import BagRequest, Store
from stook.verify import verify_bag
from stook.verify.quick import plainly_intact

FILES = {
    "data/record.json": b'{"identifier": "urn:x:1", "title": "T"}\n',
    "data/text.txt": "Запись беседы, 1961\n".encode(),
    "data/files/scan.bin": bytes(range(256)) * 3,
}


def assert_agrees(bag: Path) -> bool:
    """Both verdicts on one bag; True when the fast path vouched for it."""
    quick = plainly_intact(str(bag))
    full = verify_bag(bag)
    if quick is None:
        return False
    assert full.valid, f"fast path vouched for {bag}, engine found {[f.code for f in full.errors]}"
    assert not full.warnings, f"fast path vouched for {bag}, engine warned {[f.code for f in full.warnings]}"
    assert quick.files_checked == full.files_checked
    assert quick.bytes_hashed == full.bytes_hashed
    assert list(quick.algorithms) == full.algorithms
    assert quick.payload_digests == full.payload_digests
    payload = [o for o in full.files if o.path.startswith("data/")]
    assert quick.payload_oxum == f"{sum(o.size or 0 for o in payload)}.{len(payload)}"
    return True


def _edit(rel: str, old: bytes, new: bytes, *, reseal: bool = True) -> Callable[[Path], None]:
    def apply(bag: Path) -> None:
        data = (bag / rel).read_bytes()
        assert old in data, (rel, old)
        (bag / rel).write_bytes(data.replace(old, new, 1))
        if reseal:
            retag(bag)

    return apply


def _add(rel: str, data: bytes, *, listed: bool = True) -> Callable[[Path], None]:
    def apply(bag: Path) -> None:
        if listed:
            write_bag(bag, {**FILES, rel: data})
        else:
            (bag / rel).write_bytes(data)

    return apply


def _call(fn: Callable[[Path], object]) -> Callable[[Path], None]:
    def apply(bag: Path) -> None:
        fn(bag)

    return apply


def _resealed(fn: Callable[[Path], object]) -> Callable[[Path], None]:
    """Apply ``fn``, then rewrite the tag manifests, so the change itself is all that is odd."""

    def apply(bag: Path) -> None:
        fn(bag)
        retag(bag)

    return apply


def _upper_digests(bag: Path) -> None:
    path = bag / "manifest-sha256.txt"
    lines = path.read_text().splitlines()
    path.write_text("".join(f"{d.upper()}  {p}\n" for d, p in (ln.split("  ", 1) for ln in lines)))
    retag(bag)


def _respace(bag: Path, sep: str) -> None:
    path = bag / "manifest-sha256.txt"
    path.write_text(path.read_text().replace("  ", sep))
    retag(bag)


def _symlink_payload(bag: Path) -> None:
    """data/link.txt listed in the manifests, then made a symlink to data/text.txt (same bytes)."""
    write_bag(bag, {**FILES, "data/link.txt": FILES["data/text.txt"]})
    (bag / "data/link.txt").unlink()
    (bag / "data/link.txt").symlink_to("text.txt")


def _append(path: Path, data: bytes) -> None:
    path.parent.mkdir(exist_ok=True)
    with open(path, "ab") as fh:
        fh.write(data)


def _drop_line(bag: Path, name: str, rel: str) -> None:
    path = bag / name
    path.write_text(
        "".join(ln for ln in path.read_text().splitlines(keepends=True) if not ln.endswith(f" {rel}\n"))
    )


def _dup_line(bag: Path) -> None:
    path = bag / "manifest-sha256.txt"
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(lines + lines[:1]))


def _prefix_lines(bag: Path, prefix: str, cut: int = 0) -> None:
    path = bag / "manifest-sha256.txt"
    out = []
    for ln in path.read_text().splitlines(keepends=True):
        digest, rest = ln.split("  ", 1)
        out.append(f"{prefix}{digest[cut:]}  {rest}")
    path.write_text("".join(out))


def _flip_first_digit(path: Path) -> None:
    text = path.read_text()
    path.write_text(("1" if text[0] == "0" else "0") + text[1:])


def _swap_for_symlink(bag: Path, name: str) -> None:
    real = bag.parent / f"{name}.real"
    shutil.move(bag / name, real)
    (bag / name).symlink_to(real)


BENIGN: dict[str, Callable[[Path], None]] = {
    "as written": _call(lambda bag: None),
    "no tag manifest": _call(lambda bag: (bag / "tagmanifest-sha256.txt").unlink()),
    "uppercase digest": _call(lambda bag: _upper_digests(bag)),
    "tab between digest and path": _call(lambda bag: _respace(bag, "\t")),
    "second payload algorithm": _call(
        lambda bag: write_bag(bag, FILES, algorithms=("sha256", "md5"), tag_algorithms=("sha256", "sha512"))
    ),
    "empty payload directory": _call(lambda bag: (bag / "data/empty").mkdir()),
    "continuation line": _edit(
        "bag-info.txt", b"Source-Organization: stook tests\n", b"Source-Organization: stook\n  tests\n"
    ),
    "no Payload-Oxum": _call(lambda bag: write_bag(bag, FILES, oxum=False)),
}


DAMAGE: dict[str, Callable[[Path], None]] = {
    "payload byte flipped": _call(
        lambda bag: (bag / "data/text.txt").write_bytes(b"X" + FILES["data/text.txt"][1:])
    ),
    "payload truncated": _call(lambda bag: (bag / "data/files/scan.bin").write_bytes(b"")),
    "payload file removed": _call(lambda bag: (bag / "data/record.json").unlink()),
    "payload file added": _add("data/extra.txt", b"x", listed=False),
    "Windows-reserved name": _add("data/CON.txt", b"x"),
    "names differing in case": _call(
        lambda bag: write_bag(bag, {**FILES, "data/a.txt": b"1", "data/A.txt": b"2"})
    ),
    "symlink in payload": _call(_symlink_payload),
    "FIFO in payload": _call(lambda bag: os.mkfifo(bag / "data/pipe")),
    "data is a symlink": _call(lambda bag: _swap_for_symlink(bag, "data")),
    "bag-info edited, not resealed": _edit("bag-info.txt", b"stook tests", b"stook Tests", reseal=False),
    "bag-info blank line": _edit("bag-info.txt", b"tests\n", b"tests\n\n"),
    "bag-info two spaces": _edit("bag-info.txt", b"Source-Organization: ", b"Source-Organization:  "),
    "bag-info no space": _edit("bag-info.txt", b"Source-Organization: ", b"Source-Organization:"),
    "bag-info empty value": _edit(
        "bag-info.txt", b"Source-Organization: stook tests", b"Source-Organization:"
    ),
    "bag-info label spaced": _edit("bag-info.txt", b"Source-Organization:", b"Source-Organization :"),
    "bag-info repeated date": _edit(
        "bag-info.txt", b"Payload-Oxum", b"Bagging-Date: 2026-01-01\nBagging-Date: 2026-01-02\nPayload-Oxum"
    ),
    "bag-info repeated Oxum": _edit("bag-info.txt", b"Payload-Oxum: ", b"Payload-Oxum: 1.1\nPayload-Oxum: "),
    "bag-info continued Oxum": _resealed(lambda bag: _append(bag / "bag-info.txt", b"  and more\n")),
    "bag-info wrong Oxum": _edit("bag-info.txt", b"Payload-Oxum: ", b"Payload-Oxum: 1"),
    "bag-info no final newline": _resealed(
        lambda bag: (bag / "bag-info.txt").write_bytes((bag / "bag-info.txt").read_bytes().rstrip(b"\n"))
    ),
    "bag-info BOM": _resealed(
        lambda bag: (bag / "bag-info.txt").write_bytes(b"\xef\xbb\xbf" + (bag / "bag-info.txt").read_bytes())
    ),
    "bag-info not UTF-8": _edit("bag-info.txt", b"stook tests", b"stook \xe9tests"),
    "manifest line removed": _resealed(lambda bag: _drop_line(bag, "manifest-sha256.txt", "data/text.txt")),
    "manifest duplicate line": _resealed(_dup_line),
    "manifest star path": _edit("manifest-sha256.txt", b"  data/text.txt", b" *data/text.txt"),
    "manifest dot-slash": _edit("manifest-sha256.txt", b"  data/text.txt", b"  ./data/text.txt"),
    "manifest backslash": _resealed(lambda bag: _prefix_lines(bag, "\\")),
    "manifest blank line": _edit("manifest-sha256.txt", b"\n", b"\n\n"),
    "manifest double slash": _edit("manifest-sha256.txt", b"data/files/", b"data//files/"),
    "manifest dot segment": _edit("manifest-sha256.txt", b"data/files/", b"data/./files/"),
    "manifest percent": _edit("manifest-sha256.txt", b"data/text.txt", b"data/te%78t.txt"),
    "manifest short digest": _resealed(lambda bag: _prefix_lines(bag, "", cut=1)),
    "manifest of an unsupported algorithm": _resealed(
        lambda bag: (bag / "manifest-foo.txt").write_text((bag / "manifest-sha256.txt").read_text())
    ),
    "manifest name not normalised": _resealed(
        lambda bag: (bag / "manifest-sha256.txt").rename(bag / "manifest-SHA256.txt")
    ),
    "tag manifest misses bag-info": _call(lambda bag: retag(bag, skip=["bag-info.txt"])),
    "tag manifest digest wrong": _call(lambda bag: _flip_first_digit(bag / "tagmanifest-sha256.txt")),
    "fetch.txt": _resealed(lambda bag: (bag / "fetch.txt").write_text("http://example.org/x - data/x\n")),
    "bagit.txt symlink": _call(lambda bag: _swap_for_symlink(bag, "bagit.txt")),
    "manifest symlink": _call(lambda bag: _swap_for_symlink(bag, "manifest-sha256.txt")),
}

# valid, without a word from the engine, but not plain: the fast path may leave them to it
UNUSUAL: dict[str, Callable[[Path], None]] = {
    "decomposed name": _add("data/Cafe\u0301.txt", b"x"),
    "bag-info CRLF": _edit("bag-info.txt", b"\n", b"\r\n"),
    "manifest CRLF": _edit("manifest-sha256.txt", b"\n", b"\r\n"),
    "extra tag file": _resealed(lambda bag: (bag / "custom-tags.txt").write_text("x\n")),
    "tag directory": _resealed(lambda bag: _append(bag / "meta/a.txt", b"a\n")),
    "bagit.txt 0.97": _edit("bagit.txt", b"1.0", b"0.97"),
    "bagit.txt CRLF": _edit("bagit.txt", b"\n", b"\r\n"),
    "bagit.txt lowercase encoding": _edit("bagit.txt", b"UTF-8", b"utf-8"),
}


@pytest.fixture()
def good_bag(tmp_path: Path) -> Path:
    return write_bag(tmp_path / "bag", FILES)


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_plain_variations_take_the_fast_path_and_agree(good_bag: Path, name: str) -> None:
    BENIGN[name](good_bag)
    assert verify_bag(good_bag).valid
    assert assert_agrees(good_bag), f"{name}: the fast path refused a plain, intact bag"


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_damaged_bags_are_left_to_the_engine(good_bag: Path, name: str) -> None:
    DAMAGE[name](good_bag)
    try:
        full = verify_bag(good_bag)
        assert not full.valid or full.warnings, f"{name}: the damage did not take"
    except NotABag:
        pass
    assert plainly_intact(str(good_bag)) is None


@pytest.mark.parametrize("name", sorted(UNUSUAL))
def test_unusual_valid_bags_agree(good_bag: Path, name: str) -> None:
    UNUSUAL[name](good_bag)
    full = verify_bag(good_bag)
    assert full.valid and not full.warnings, f"{name}: meant to be valid as it is"
    assert_agrees(good_bag)


def test_random_edits_of_tag_files_never_fool_the_fast_path(tmp_path: Path) -> None:
    """Insert, delete or replace characters the parsers care about, resealed or not."""
    rng = random.Random(8493)
    base = write_bag(tmp_path / "base", FILES, algorithms=("sha256", "sha512"))
    pieces = [
        b" ",
        b"\t",
        b"\r",
        b"\n",
        b":",
        b"%",
        b"*",
        b"./",
        b"\\",
        b"\xef\xbb\xbf",
        b"A",
        b"0",
        b"data/",
        b"Payload-Oxum: ",
        b"\x00",
        b"\xe9",
        b"Bagging-Date: 1\n",
        b"\n ",
    ]
    names = [
        "bag-info.txt",
        "manifest-sha256.txt",
        "manifest-sha512.txt",
        "bagit.txt",
        "tagmanifest-sha256.txt",
    ]
    accepted = refused = 0
    for n in range(300):
        bag = tmp_path / f"b{n}"
        shutil.copytree(base, bag)
        name = rng.choice(names)
        data = (bag / name).read_bytes()
        at = rng.randrange(len(data) + 1)
        how = rng.choice(("insert", "delete", "replace"))
        piece = rng.choice(pieces)
        if how == "insert":
            data = data[:at] + piece + data[at:]
        elif how == "delete":
            data = data[:at] + data[at + rng.randint(1, 3) :]
        else:
            data = data[:at] + piece + data[at + len(piece) :]
        (bag / name).write_bytes(data)
        if name != "tagmanifest-sha256.txt" and rng.random() < 0.7:
            retag(bag)
        if assert_agrees(bag):
            accepted += 1
        else:
            refused += 1
        shutil.rmtree(bag)
    assert accepted > 10 and refused > 100, (accepted, refused)


def test_store_bags_take_the_fast_path(tmp_path: Path) -> None:
    with Store.open(tmp_path / "store", create=True) as store:
        result = store.add(
            BagRequest(
                record={"identifier": "urn:x:quick", "title": "Quick"},
                payload=[
                    PayloadItem("text.txt", data=FILES["data/text.txt"]),
                    PayloadItem("files/scan.bin", data=FILES["data/files/scan.bin"]),
                ],
                algorithms=("sha256",),
            )
        )
    assert assert_agrees(result.path)


def test_audit_reports_the_same_whichever_path_confirms_a_bag(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path changes how a bag is confirmed, never what is recorded about it."""
    root = tmp_path / "store"
    with Store.open(root, create=True) as store:
        for n in range(6):
            store.add(
                BagRequest(
                    record={"identifier": f"urn:x:{n}", "title": f"R{n}"},
                    payload=[PayloadItem("text.txt", data=f"text {n}\n".encode())],
                )
            )
    fields = (
        "bag",
        "status",
        "checksums_verified",
        "files_checked",
        "bytes_hashed",
        "algorithms",
        "problems",
        "warnings",
        "recovered",
    )

    def audit() -> list[tuple[object, ...]]:
        with Store.open(root) as store:
            result = run_audit(store, AuditOptions(workers=1))
            events = [e for e in store.ledger.events() if e.type == "fix"][-len(result.bags) :]
        assert result.ok == 6
        details = sorted((e.bag, e.outcome, e.detail, json.dumps(e.data, sort_keys=True)) for e in events)
        return sorted(tuple(getattr(b, f) for f in fields) for b in result.bags) + details

    fast = audit()
    monkeypatch.setattr("stook.audit.check.plainly_intact", lambda path: None)
    assert audit() == fast
