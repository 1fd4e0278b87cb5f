"""Stores for the OCFL tests: several versions, shared content, odd file names, a foreign bag."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import bagit

from stook.bagwriter import PayloadItem
from stook.ocfl.inventory import Inventory, read_inventory
from stook.store import BagRequest, Store
from stook.transfer import ReceiveOptions, receive_one

TEXT = ("The document's text, kept unchanged in every version.\n" * 40).encode()
SCAN = bytes(range(256)) * 64  # an attachment that never changes
THREE = "wcda:115179"
ODD = "odd:Ünïcødé names"
FOREIGN = "ext:percent"
LONG_NAME = "files/" + "x" * 240 + ".txt"
ODD_NAMES = ("files/My File (1).txt", "files/Ünïcødé — ñ.txt", LONG_NAME)
# stook refuses payload names that differ only in case (they collide on other systems);
# a bag from another tool may have them, so they arrive in the foreign bag
FOREIGN_NAMES = ("100% pure.txt", "a%25b.txt", "Case.txt", "case.txt")


def version_request(identifier: str, n: int, algorithms: tuple[str, ...] = ("sha512",)) -> BagRequest:
    """Version ``n`` of a record: the same text and scan each time, a new note and title."""
    return BagRequest(
        record={"identifier": identifier, "title": f"Record of conversation, revision {n}"},
        payload=[PayloadItem("text.txt", data=TEXT), PayloadItem("files/scan.bin", data=SCAN),
                 PayloadItem(f"files/note-{n}.txt", data=f"note {n}\n".encode())],
        algorithms=algorithms,
    )


def odd_request() -> BagRequest:
    payload = [PayloadItem(name, data=f"{name}\n".encode()) for name in ODD_NAMES]
    payload.append(PayloadItem("text.txt", data=TEXT))
    payload.append(PayloadItem("files/copy of the text.txt", data=TEXT))  # the same bytes twice
    return BagRequest(record={"identifier": ODD, "title": "Odd names"}, payload=payload)


def foreign_bag(directory: Path) -> Path:
    """A bag made by bagit-python (BagIt 0.97, md5 and sha512) with '%' in file names and
    names that differ only in case."""
    directory.mkdir()
    for name in FOREIGN_NAMES:
        (directory / name).write_bytes(f"{name}\n".encode())
    bagit.make_bag(str(directory), {"External-Identifier": FOREIGN}, checksums=["sha512", "md5"])
    return directory


def build_store(path: Path, work: Path) -> Store:
    """A store with a record in three versions (sha512, sha256, md5), one with odd names,
    and a received bagit-python bag."""
    store = Store.open(path, create=True)
    for n in (1, 2, 3):
        store.add(version_request(THREE, n, ("sha512", "sha256", "md5")))
    store.add(odd_request())
    received = receive_one(store, foreign_bag(work / "foreign"), ReceiveOptions())
    assert received.ok, received.errors
    return store


def object_inventory(root: Path, identifier: str) -> tuple[Path, Inventory]:
    from stook.ocfl.layout import open_root

    directory = open_root(root).object_dir(identifier)
    return directory, read_inventory(directory)[0]


def bag_tree(bag_dir: Path) -> dict[str, bytes]:
    return {p.relative_to(bag_dir).as_posix(): p.read_bytes() for p in sorted(bag_dir.rglob("*"))
            if p.is_file()}


def sha(data: bytes, algorithm: str = "sha512") -> str:
    return hashlib.new(algorithm, data).hexdigest()


def rewrite_inventory(object_dir: Path, change: dict[str, object]) -> None:
    """Change keys of an object's root inventory and write a matching sidecar (a consistent forgery)."""
    raw = json.loads((object_dir / "inventory.json").read_text(encoding="utf-8"))
    raw.update(change)
    data = json.dumps(raw, indent=2).encode()
    (object_dir / "inventory.json").write_bytes(data)
    (object_dir / "inventory.json.sha512").write_text(f"{sha(data)} inventory.json\n", encoding="ascii")
