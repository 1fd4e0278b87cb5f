"""The store: whole bags that bagit-python accepts, versions, idempotence, recovery, the ledger."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest
from conftest import assert_bagit_valid, tree_bytes

from stook.bagwriter import PROFILE_IDENTIFIER, PayloadItem
from stook.errors import ContentError, RecordInvalid, StoreError, UsageError
from stook.ledger import LEDGER_FILE, MIGRATIONS, Event, Ledger
from stook.manual import ManualBagOptions, manual_bag_request
from stook.names import bag_name
from stook.store import TMP_DIR, BagRequest, Store


def _request(identifier: str, text: str = "text", **record: object) -> BagRequest:
    rec = {"identifier": identifier, "title": f"Title of {identifier}", **record}
    return BagRequest(record=rec, payload=[PayloadItem("text.txt", data=text.encode())])


def test_example_bag_matches_the_design_and_bagit_python(example_record: Path, store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        result = store.add(manual_bag_request(example_record, ManualBagOptions()))
    assert result.status == "new"
    bag_dir = result.path
    assert bag_dir == store_path / bag_name("wcda:115179") / "v1"
    bag = assert_bagit_valid(bag_dir)
    assert (bag_dir / "bagit.txt").read_bytes() == b"BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"
    assert bag.info["External-Identifier"] == "wcda:115179"
    assert bag.info["Internal-Sender-Description"].startswith("Record of Conversation")
    assert bag.info["BagIt-Profile-Identifier"] == PROFILE_IDENTIFIER
    assert bag.info["Payload-Oxum"] == result.bag.payload_oxum
    assert sorted(bag.payload_entries()) == [
        "data/files/wilson-center-page.md",
        "data/record.json",
        "data/text.txt",
    ]
    assert (bag_dir / "data" / "text.txt").read_bytes() == (example_record.parent / "text.txt").read_bytes()
    assert set(p.name for p in bag_dir.iterdir()) == {
        "bagit.txt",
        "bag-info.txt",
        "manifest-sha512.txt",
        "tagmanifest-sha512.txt",
        "data",
    }


def test_extra_algorithms_and_attachments_validate(
    example_record: Path, store_path: Path, tmp_path: Path
) -> None:
    scan = tmp_path / "scan 1%.pdf"
    scan.write_bytes(bytes(range(256)) * 100)
    options = ManualBagOptions(files=[scan], algorithms=["sha256", "md5", "sha1"])
    with Store.open(store_path, create=True) as store:
        result = store.add(manual_bag_request(example_record, options))
    bag = assert_bagit_valid(result.path)
    assert set(bag.algorithms) == {"sha512", "sha256", "md5", "sha1"}
    # '%' needs percent-encoding in manifests (RFC 8493 §2.1.3), which bagit-python does not
    # decode: stook gives the file a portable name and keeps the original in the record.
    assert (result.path / "data" / "files" / "scan 1_.pdf").read_bytes() == scan.read_bytes()
    record = json.loads((result.path / "data" / "record.json").read_text("utf-8"))
    entry = [c for c in record["content"] if c["path"] == "files/scan 1_.pdf"][0]
    assert entry["original_name"] == "scan 1%.pdf" and entry["kind"] == "attachment"


def test_unknown_algorithm_is_a_usage_error(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store, pytest.raises(UsageError, match="crc32"):
        store.add(BagRequest({"identifier": "x", "title": "t"}, algorithms=["crc32"]))


def test_versions_and_idempotence(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        first = store.add(_request("oai:x:1", "one"))
        again = store.add(_request("oai:x:1", "one"))
        v1_bytes = tree_bytes(first.path)
        changed_text = store.add(_request("oai:x:1", "two"))
        changed_record = store.add(_request("oai:x:1", "two", citation="Cited thus"))
        same_again = store.add(_request("oai:x:1", "two", citation="Cited thus"))
        versions = store.versions("oai:x:1")
    assert [first.status, again.status, changed_text.status, changed_record.status, same_again.status] == [
        "new",
        "unchanged",
        "changed",
        "changed",
        "unchanged",
    ]
    assert [v.version for v in versions] == [1, 2, 3]
    assert same_again.bag.version == 3
    assert tree_bytes(first.path) == v1_bytes  # earlier versions stay byte-identical
    for version in versions:
        assert_bagit_valid(store_path / version.path)


def test_retrieval_time_alone_does_not_make_a_new_version(store_path: Path) -> None:
    source = {"method": "harvest", "retrieved_at": "2026-01-01T00:00:00Z"}
    later = {"method": "harvest", "retrieved_at": "2026-02-01T00:00:00Z"}
    with Store.open(store_path, create=True) as store:
        assert store.add(_request("oai:x:2", record_source=source)).status == "new"
        assert store.add(_request("oai:x:2", record_source=later)).status == "unchanged"


def test_batch_group_commit_and_duplicates_within_a_batch(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        results = store.add_many(
            [_request(f"id-{i}", str(i)) for i in range(20)]
            + [_request("id-0", "0"), _request("id-1", "new")]
        )
        assert [r.status for r in results[-2:]] == ["unchanged", "changed"]
        assert results[-1].bag.version == 2
        assert len(store.ledger.bags()) == 21
    assert not any((store_path / TMP_DIR).iterdir())
    for result in results:
        assert_bagit_valid(result.path)


def test_invalid_record_writes_nothing(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        with pytest.raises(RecordInvalid) as info:
            store.add_many([_request("good"), BagRequest({"identifier": "bad", "title": "t", "x": 1})])
        assert info.value.problems[0].location == "$"
        assert store.ledger.bags() == []
        assert list(store.ledger.events()) == []
    kept = sorted(p.name for p in store_path.iterdir() if not p.name.startswith(LEDGER_FILE))
    assert kept == [".lock", ".tmp", ".token-secret"]  # the secret is made with the store
    assert not any((store_path / TMP_DIR).iterdir())


def test_missing_attachment_writes_nothing(store_path: Path, tmp_path: Path) -> None:
    request = BagRequest(
        {"identifier": "x", "title": "t"}, payload=[PayloadItem("files/a", source=tmp_path / "gone")]
    )
    with Store.open(store_path, create=True) as store:
        with pytest.raises(Exception, match="gone"):
            store.add(request)
        assert store.ledger.bags() == []
    assert not any((store_path / TMP_DIR).iterdir())


def test_events_are_premis_and_append_only(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        result = store.add(_request("oai:x:3"))
        events = list(store.ledger.events(identifier="oai:x:3"))
        assert [e.type for e in events] == ["val", "mes", "ing"]
        for event in events:
            assert event.outcome == "suc" and event.version == 1 and event.bag == result.bag.path
            assert event.agent.startswith("stook/")
            assert event.datetime.endswith("Z") and len(event.uuid) == 36
            assert event.type_uri == f"http://id.loc.gov/vocabulary/preservation/eventType/{event.type}"
        conn = store.ledger.connection
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("UPDATE events SET outcome='fai'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute("DELETE FROM events")


def test_ledger_migrations_are_numbered_and_applied_once(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as ledger:
        assert ledger.schema_version() == MIGRATIONS[-1][0]
        ledger.record_events([Event("val", "suc", "x", 1, "b/v1", detail="d")])
    with Ledger(path) as ledger:  # reopening applies nothing twice and keeps data
        assert ledger.schema_version() == MIGRATIONS[-1][0]
        assert len(list(ledger.events())) == 1
    numbers = [n for n, _ in MIGRATIONS]
    assert numbers == list(range(1, len(numbers) + 1))


def test_failed_transaction_rolls_back(tmp_path: Path) -> None:
    with Ledger(tmp_path / "l.sqlite") as ledger:
        with pytest.raises(RuntimeError), ledger.transaction() as conn:
            ledger.append_events(conn, [Event("val", "suc", detail="kept?")])
            raise RuntimeError("boom")
        assert list(ledger.events()) == []


def test_not_a_store_and_missing_store_are_clear(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="store not found"):
        Store.open(tmp_path / "missing")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "thesis.docx").write_text("x")
    with pytest.raises(StoreError, match="not a stook store"):
        Store.open(busy, create=True)
    assert (busy / "thesis.docx").exists() and not (busy / LEDGER_FILE).exists()


def test_recovery_finishes_renamed_bags_and_forgets_unfinished_ones(store_path: Path) -> None:
    with Store.open(store_path, create=True) as store:
        done = store.add(_request("keep"))
        # Simulate two crashes: one after the rename (bag in place, ledger pending),
        # one before it (ledger pending, bag still in .tmp).
        with store.ledger.transaction() as conn:
            conn.execute("UPDATE bags SET state='pending' WHERE path=?", (done.bag.path,))
            conn.execute(
                "INSERT INTO bags (identifier, id_key, version, name, path, fingerprint, payload_oxum, size,"
                " created, state) VALUES ('lost','lost',1,'lost-x','lost-x/v1','f','1.1',1,'t','pending')"
            )
        leftover = store.tmp_dir() / "lost-x.v1.abcd"
        (leftover / "data").mkdir(parents=True)
    with Store.open(store_path) as store:
        assert [b.path for b in store.ledger.bags()] == [done.bag.path]
        assert store.ledger.pending() == []
        assert "after an interruption" in list(store.ledger.events(identifier="keep"))[-1].detail
    assert not leftover.exists()


def test_a_second_writer_is_refused_while_the_first_holds_the_lock(store_path: Path) -> None:
    with (
        Store.open(store_path, create=True) as first,
        Store.open(store_path) as second,
        first.writing(),
        pytest.raises(StoreError, match="another stook process"),
        second.writing(timeout=0.2),
    ):
        pass


def test_unchanged_records_write_no_files(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import stook.bagbuild as build_module

    with Store.open(store_path, create=True) as store:
        store.add_many([_request(f"id-{i}") for i in range(5)])
        calls: list[object] = []
        monkeypatch.setattr(build_module, "write_bag", lambda *a, **k: calls.append(a))
        results = store.add_many([_request(f"id-{i}") for i in range(5)])
    assert [r.status for r in results] == ["unchanged"] * 5
    assert calls == []


def test_parallel_batch_equals_serial_batch(tmp_path: Path) -> None:
    requests = [_request(f"oai:p:{i}", "text " * i) for i in range(30)]
    outputs = []
    for workers in (1, 4):
        with Store.open(tmp_path / f"w{workers}", create=True) as store:
            results = store.add_many(requests, workers=workers)
            outputs.append([(r.bag.path, r.bag.fingerprint, r.bag.payload_oxum) for r in results])
            for result in results:
                assert_bagit_valid(result.path)
    assert outputs[0] == outputs[1]


def test_a_parallel_batch_with_one_invalid_record_adds_nothing(store_path: Path) -> None:
    requests = [_request(f"oai:p:{i}") for i in range(20)]
    requests[13].record["dates"] = [{"type": "created", "value": "1961-13-01"}]
    with Store.open(store_path, create=True) as store:
        with pytest.raises(RecordInvalid, match="'oai:p:13': record is invalid") as raised:
            store.add_many(requests, workers=2)
        assert [p.location for p in raised.value.problems] == ["$.dates[0].value"]
        assert store.ledger.bags() == []
        assert list(store.ledger.events()) == []
    assert not any((store_path / TMP_DIR).iterdir())
    assert sorted(p.name for p in store_path.iterdir()) == sorted(
        p.name for p in store_path.iterdir() if p.name.startswith(("stook-ledger", "."))
    )


def test_a_parallel_batch_with_an_unreadable_file_adds_nothing(store_path: Path, tmp_path: Path) -> None:
    requests = [_request(f"oai:u:{i}") for i in range(12)]
    missing = tmp_path / "gone.pdf"
    requests[5] = BagRequest(requests[5].record, payload=[PayloadItem("files/gone.pdf", source=missing)])
    with Store.open(store_path, create=True) as store:
        with pytest.raises(ContentError, match="gone.pdf: file not found"):
            store.add_many(requests, workers=2)
        assert store.ledger.bags() == []
    assert not any((store_path / TMP_DIR).iterdir())


def test_a_record_twice_in_a_parallel_batch_makes_versions_in_order(store_path: Path) -> None:
    requests = [_request(f"oai:d:{i}") for i in range(10)]
    requests.append(_request("oai:d:3", "a changed text"))  # a new version of a record above
    requests.append(_request("oai:d:3", "a changed text"))  # and the same again: unchanged
    with Store.open(store_path, create=True) as store:
        results = store.add_many(requests, workers=2)
        assert [r.status for r in results[-3:]] == ["new", "changed", "unchanged"]
        assert [b.version for b in store.versions("oai:d:3")] == [1, 2]
        assert results[-1].bag.path == results[-2].bag.path
        for result in results:
            assert_bagit_valid(result.path)


def test_a_file_changing_while_bagged_is_refused(
    store_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The manifest must describe the bytes written, not the bytes seen when planning."""
    import stook.bagbuild as build_module

    source = tmp_path / "scan.bin"
    source.write_bytes(b"first")
    real_write_bag = build_module.write_bag

    def write_after_change(*args: object, **kwargs: object) -> object:
        source.write_bytes(b"second")
        return real_write_bag(*args, **kwargs)  # type: ignore[arg-type]

    request = BagRequest(
        {"identifier": "x", "title": "t"}, payload=[PayloadItem("files/scan.bin", source=source)]
    )
    with Store.open(store_path, create=True) as store:
        source.write_bytes(b"zero")
        store.add(request)  # a first version is fingerprinted from what was written
        source.write_bytes(b"first")
        monkeypatch.setattr(build_module, "write_bag", write_after_change)
        with pytest.raises(ContentError, match="changed while it was being bagged"):
            store.add(request)  # compared with v1 as "first", written as "second"
        assert [b.version for b in store.ledger.bags()] == [1]
    assert not any((store_path / TMP_DIR).iterdir())


def test_opening_a_store_being_written_neither_waits_nor_clears_its_work(store_path: Path) -> None:
    with Store.open(store_path, create=True) as writer, writer.writing():
        in_progress = writer.tmp_dir() / "receiving.v1.1234"
        in_progress.mkdir()
        started = time.monotonic()
        with Store.open(store_path) as reader:
            assert reader.ledger.bags() == []
        assert time.monotonic() - started < 5
        assert in_progress.exists()
    with Store.open(store_path):
        assert not in_progress.exists()  # the next idle open clears it


def test_a_crash_after_the_rename_keeps_every_event_of_the_bag(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Killed between the rename and the final commit: the next open records the bag whole."""
    import stook.store.commit as store_module

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt  # stands for SIGKILL: nothing after this point runs

    capture = Event("cap", "suc", detail="harvested from http://127.0.0.1/oai")
    request = BagRequest({"identifier": "oai:x:9", "title": "t"}, events=[capture])
    with Store.open(store_path, create=True) as store:
        monkeypatch.setattr(store_module, "fsync_dirs", crash)
        with pytest.raises(KeyboardInterrupt):
            store.add(request)
        assert store.ledger.bags() == [] and len(store.ledger.pending()) == 1
    monkeypatch.undo()
    with Store.open(store_path) as store:
        assert [b.version for b in store.ledger.bags()] == [1]
        events = list(store.ledger.events(identifier="oai:x:9"))
        assert [e.type for e in events] == ["cap", "val", "mes", "ing"]
        assert events[0].uuid == capture.uuid and events[0].version == 1
        assert events[-1].detail.endswith("completed after an interruption")
        assert store.ledger.pending() == []


def test_events_kept_in_the_older_pending_format_are_recorded_too(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A store left pending by an earlier stook (events kept as dicts) is finished the same way."""
    import stook.store.commit as store_module

    def crash(*_args: object) -> None:
        raise KeyboardInterrupt

    with Store.open(store_path, create=True) as store:
        monkeypatch.setattr(store_module, "fsync_dirs", crash)
        with pytest.raises(KeyboardInterrupt):
            store.add(BagRequest({"identifier": "oai:x:old", "title": "t"}))
        monkeypatch.undo()
        (pending,) = store.ledger.pending()
        rows = json.loads(store.ledger.connection.execute(
            "SELECT pending_events FROM bags WHERE path = ?", (pending.path,)).fetchone()[0])
        names = ("uuid", "type", "datetime", "identifier", "version", "bag", "agent", "outcome", "detail")
        as_dicts = [
            {**dict(zip(names, row[:9], strict=True)), "data": json.loads(row[9]) if row[9] else None}
            for row in rows
        ]
        with store.ledger.transaction() as conn:
            conn.execute("UPDATE bags SET pending_events = ? WHERE path = ?",
                         (json.dumps(as_dicts), pending.path))
    with Store.open(store_path) as store:
        events = list(store.ledger.events(identifier="oai:x:old"))
        assert [(e.type, e.uuid) for e in events] == [(d["type"], d["uuid"]) for d in as_dicts]
        mes = next(e for e in events if e.type == "mes")
        assert mes.data is not None and list(mes.data["sha512"]) == ["data/record.json"]
        assert store.ledger.pending() == []


def test_batches_are_built_while_the_one_before_is_committed(tmp_path: Path) -> None:
    batches = [[_request(f"oai:b:{b}-{i}", f"text {b} {i}") for i in range(10)] for b in range(4)]
    batches[2].append(_request("oai:b:1-3", "a new text"))  # a record of the batch before
    with Store.open(tmp_path / "one", create=True) as store:
        expected = [store.add_many(batch, workers=1) for batch in batches]
    with Store.open(tmp_path / "piped", create=True) as store:
        got = list(store.add_batches(batches, workers=2))
        assert store.versions("oai:b:1-3")[-1].version == 2
    assert [[(r.status, r.bag.path, r.bag.fingerprint) for r in batch] for batch in got] == [
        [(r.status, r.bag.path, r.bag.fingerprint) for r in batch] for batch in expected
    ]
    for batch in got:
        for result in batch:
            assert_bagit_valid(result.path)


def test_batches_built_while_one_commits_are_committed_together(
    store_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: when committing is the slow side, batches already built share one sync."""
    import stook.store.commit as store_module

    real = store_module.make_durable
    syncs: list[int] = []

    def slow_sync(root: Path, trees: list[Path]) -> None:
        syncs.append(len(trees))
        if len(syncs) == 1:
            time.sleep(1.0)  # a slow disk: meanwhile the workers build the next batches
        real(root, trees)

    monkeypatch.setattr(store_module, "make_durable", slow_sync)
    batches = [[_request(f"oai:g:{b}-{i}", f"text {b} {i}") for i in range(10)] for b in range(6)]
    with Store.open(store_path, create=True) as store:
        got = list(store.add_batches(batches, workers=2))
        assert len(store.ledger.bags()) == 60
        assert all(len(list(store.ledger.events(bag=b.path))) == 3 for b in store.ledger.bags())
    assert [[r.bag.identifier for r in batch] for batch in got] == [
        [r.record["identifier"] for r in batch] for batch in batches
    ]
    assert sum(syncs) == 60 and len(syncs) < 6, syncs
    for batch in got:
        for result in batch:
            assert result.status == "new"
            assert_bagit_valid(result.path)


def test_a_failing_batch_keeps_the_batches_before_it_and_nothing_after(store_path: Path) -> None:
    batches = [[_request(f"oai:f:{b}-{i}") for i in range(10)] for b in range(4)]
    batches[2][4].record["language"] = "not a list"
    landed: list[list[str]] = []
    with Store.open(store_path, create=True) as store:
        with pytest.raises(RecordInvalid, match="'oai:f:2-4'"):
            for results in store.add_batches(batches, workers=2):
                landed.append([r.status for r in results])
        assert landed == [["new"] * 10, ["new"] * 10]
        assert len(store.ledger.bags()) == 20
        assert {b.identifier.split("-")[0] for b in store.ledger.bags()} == {"oai:f:0", "oai:f:1"}
    assert not any((store_path / TMP_DIR).iterdir())
