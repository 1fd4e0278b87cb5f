"""Helpers for the transfer tests: stores with real bags, archives built by hand, store snapshots."""

from __future__ import annotations

import io
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from stook.bagwriter import PayloadItem
from stook.manual import ManualBagOptions, manual_bag_request
from stook.store import BagRequest, Store

EXAMPLE_RECORD = Path(__file__).resolve().parents[2] / "examples" / "wilson-115179" / "record.yaml"


def example_store(path: Path, algorithms: tuple[str, ...] = ("sha512",),
                  organization: str | None = None) -> tuple[Store, Path]:
    """A store holding the bundled example (text and attachment); returns it and the bag path."""
    store = Store.open(path, create=True)
    request = manual_bag_request(
        EXAMPLE_RECORD, ManualBagOptions(algorithms=algorithms, source_organization=organization)
    )
    result = store.add(request)
    return store, result.path


def simple_request(identifier: str, text: str = "some text\n", **record: object) -> BagRequest:
    data = {"identifier": identifier, "title": f"Title of {identifier}", **record}
    return BagRequest(record=data, payload=[PayloadItem("text.txt", data=text.encode())])


@dataclass(frozen=True)
class Snapshot:
    """What a store holds: bag rows, event count, .tmp entries, top-level entries."""

    bags: tuple[str, ...]
    events: int
    tmp: tuple[str, ...]
    top: tuple[str, ...]


def snapshot(store_root: Path) -> Snapshot:
    store = Store.open(store_root)
    try:
        bags = tuple(b.path for b in store.ledger.bags())
        pending = store.ledger.pending()
        assert not pending
        events = len(list(store.ledger.events()))
    finally:
        store.close()
    tmp_dir = store_root / ".tmp"
    tmp = tuple(sorted(p.name for p in tmp_dir.iterdir())) if tmp_dir.is_dir() else ()
    top = tuple(sorted(p.name for p in store_root.iterdir() if p.name not in (".tmp", ".lock")
                       and not p.name.startswith("stook-ledger.sqlite")))
    return Snapshot(bags, events, tmp, top)


def bag_members(bag_dir: Path, label: str) -> list[tuple[str, bytes | None]]:
    """(archive name, bytes or None for a directory) for every entry of a bag, sorted."""
    members: list[tuple[str, bytes | None]] = [(label, None)]
    for path in sorted(bag_dir.rglob("*")):
        name = f"{label}/{path.relative_to(bag_dir).as_posix()}"
        members.append((name, None if path.is_dir() else path.read_bytes()))
    return members


def tar_bytes(members: list[tuple[str, bytes | None]], extra: list[tarfile.TarInfo] | None = None,
              extra_data: dict[str, bytes] | None = None, mode: str = "w") -> bytes:
    """A tar (mode "w" or "w:gz") of ``members`` plus hand-made entries ``extra``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode=mode, format=tarfile.PAX_FORMAT) as tar:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            if data is None:
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                tar.addfile(info)
            else:
                info.size = len(data)
                info.mode = 0o644
                tar.addfile(info, io.BytesIO(data))
        for info in extra or []:
            payload = (extra_data or {}).get(info.name)
            if payload is not None:
                info.size = len(payload)
                tar.addfile(info, io.BytesIO(payload))
            else:
                tar.addfile(info)
    return buffer.getvalue()


def zip_bytes(members: list[tuple[str, bytes | None]],
              extra: list[tuple[zipfile.ZipInfo, bytes]] | None = None) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            if data is None:
                archive.writestr(name + "/", b"")
            else:
                archive.writestr(name, data)
        for info, data in extra or []:
            archive.writestr(info, data)
    return buffer.getvalue()
