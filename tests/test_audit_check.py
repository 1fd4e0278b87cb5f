"""One bag's check and its record: the fast answer of a plainly intact bag is judged as the
engine's answer is, and the fast row of an intact bag is exactly the row the general path
(build the event, then serialize it) makes."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import bagit
import pytest

from stook.audit.check import BagCheck, BagTask, PlainCheck, check_bag, fix_event, fix_event_row, judge
from stook.audit.model import BagAudit, FileProblem, FixHistory
from stook.bagwriter import PayloadItem
from stook.ledger import event_row
from stook.store import BagRequest, Store

UUID, WHEN = 0, 2  # the columns that differ between two rows made one after the other


def _audit(**changes: object) -> BagAudit:
    base: dict[str, object] = dict(
        bag="urn-x-1/v1", identifier="urn:x:1", version=1, status="ok", mode="full",
        checksums_verified=True, files_checked=6, bytes_hashed=7173, algorithms=["sha512"],
    )
    base.update(changes)
    return BagAudit(**base)  # type: ignore[arg-type]


def _same_but_time(fast: tuple[object, ...], general: tuple[object, ...]) -> None:
    assert len(fast) == len(general)
    for i, (a, b) in enumerate(zip(fast, general, strict=True)):
        if i not in (UUID, WHEN):
            assert a == b, f"column {i}: {a!r} != {b!r}"


@pytest.mark.parametrize(
    ("mode", "algorithms", "verified", "warnings"),
    list(itertools.product(
        ["full", "fast"],
        [["sha512"], ["sha256", "sha512"], [], ["blake2b", "sha3_256", "md5"]],
        [True, False],
        [0, 3],
    )),
)
def test_an_intact_bags_row_is_the_general_row(
    mode: str, algorithms: list[str], verified: bool, warnings: int
) -> None:
    audit = _audit(
        mode=mode, algorithms=algorithms, checksums_verified=verified,
        warnings=[FileProblem("warning", f"odd line {n}", "bag-info.txt", "odd") for n in range(warnings)],
    )
    fast = fix_event_row(audit)
    _same_but_time(fast, event_row(fix_event(audit)))
    data = json.loads(str(fast[9]))
    assert data["status"] == "ok" and data["problems"] == [] and data["warnings"] == warnings
    assert data["algorithms"] == algorithms and data["mode"] == mode


@pytest.mark.parametrize("bag", ["Ångström-ü/v2", 'quote"d\\back/v1', "tab\there/v3"])
def test_names_that_json_escapes_stay_the_general_row(bag: str) -> None:
    audit = _audit(bag=bag, identifier=bag.split("/")[0], algorithms=["sha512", "sha256"])
    _same_but_time(fix_event_row(audit), event_row(fix_event(audit)))


@pytest.mark.parametrize(
    "changes",
    [
        dict(status="failed", problems=[FileProblem("corrupted", "data/a.txt changed", "data/a.txt")]),
        dict(status="missing", problems=[FileProblem("bag-missing", "gone", "urn-x-1/v1", "bag-missing")]),
        dict(status="unknown", identifier=None, version=None),
        dict(recovered=True, previous_check="2026-01-01T00:00:00.000000Z"),
    ],
)
def test_every_other_verdict_takes_the_general_path(changes: dict[str, object]) -> None:
    audit = _audit(**changes)
    row = fix_event_row(audit)
    _same_but_time(row, event_row(fix_event(audit)))
    assert (row[7] == "suc") == (audit.status == "ok")


def test_each_row_has_a_new_identifier_and_time() -> None:
    audit = _audit()
    rows = [fix_event_row(audit) for _ in range(50)]
    assert len({r[UUID] for r in rows}) == 50
    assert all(str(r[WHEN]).endswith("Z") for r in rows)


# -- the fast answer and the engine's answer judge alike ---------------------------------


def _store_of_three(path: Path) -> dict[str, Path]:
    requests = [
        BagRequest(record={"identifier": f"urn:test:check-{n}", "title": f"Record {n}"},
                   payload=[PayloadItem("text.txt", data=f"text {n}\n".encode()),
                            PayloadItem("files/scan.bin", data=bytes(range(256)) * (n + 1))])
        for n in range(3)
    ]
    with Store.open(path, create=True) as store:
        return {r.bag.path: r.path for r in store.add_many(requests)}


def _comparable(audit: BagAudit) -> dict[str, object]:
    fields = audit.to_dict()
    fields.pop("elapsed", None)
    return fields


@pytest.mark.parametrize("with_ingest", [True, False])
def test_a_plainly_intact_answer_is_judged_as_the_engines_answer(tmp_path: Path, with_ingest: bool) -> None:
    bags = _store_of_three(tmp_path / "store")
    # one bag consistent but not what was ingested: a file added, manifests regenerated
    rebuilt = sorted(bags)[1]
    (bags[rebuilt] / "data/files/added.txt").write_text("added later\n")
    bagit.Bag(str(bags[rebuilt])).save(manifests=True)
    with Store.open(tmp_path / "store") as store:
        raw = store.ledger.ingest_data(list(bags))
        history = FixHistory(last_outcome="fai", last_any="2026-01-01T00:00:00.000000Z")
        for bag in store.ledger.bags():
            task = BagTask(bag.path, str(bags[bag.path]), "full", bag.size,
                           ingest=raw.get(bag.path) if with_ingest else None, ingest_loaded=with_ingest)
            plain = check_bag(task)
            engine = check_bag(task._replace(threads=2))  # a bag hashed by several threads: the engine
            assert isinstance(plain, PlainCheck) and isinstance(engine, BagCheck)
            ingest = None if with_ingest else store.ledger.ingest_digests(bag.path)
            verdicts = [judge(bag, answer, "full", history, ingest) for answer in (plain, engine)]
            assert _comparable(verdicts[0]) == _comparable(verdicts[1])
            assert verdicts[0].status == ("failed" if bag.path == rebuilt else "ok")
            assert verdicts[0].recovered == (bag.path != rebuilt)
