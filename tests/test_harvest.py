"""Harvesting from real OAI-PMH servers on 127.0.0.1 into a real store.

Two providers: the ``oaipmh`` (pyoai) package's server, independent of stook, and
stook's fault-injecting provider. Bags are cross-checked with bagit-python.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import assert_bagit_valid
from lxml import etree
from support import faulty_provider as fp
from support.servers import pyoai_server, serve_wsgi
from support.synthetic import DAY_GRANULARITY, make_records, record_identifier

from stook.cli import main
from stook.errors import HarvestError
from stook.harvest import HarvestConfig, harvest, parse_retry_after
from stook.harvest.client import strip_illegal_chars
from stook.store import Store
from stook.verify import verify_bag

NS_OAI = "http://www.openarchives.org/OAI/2.0/"


def fast(url: str, **kwargs: Any) -> HarvestConfig:
    """A config that does not make tests wait on backoff."""
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("max_wait", 5.0)
    kwargs.setdefault("timeout", 5.0)
    return HarvestConfig(url, **kwargs)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store.open(tmp_path / "store", create=True) as opened:
        yield opened


def faulty(n: int = 30, *, batch: int = 10, plan: Any = None, **kwargs: Any) -> fp.FaultyProvider:
    return fp.FaultyProvider(make_records(n), plan=plan, batch_size=batch, **kwargs)


def event_types(store: Store) -> Counter[tuple[str, str]]:
    return Counter((e.type, e.outcome) for e in store.ledger.events())


def list_requests(provider: fp.FaultyProvider) -> list[fp.RequestLog]:
    return provider.requests_for("ListRecords")


# -- the independent provider (oaipmh package) -----------------------------------------


def test_harvest_1000_records_from_the_pyoai_provider(store: Store) -> None:
    with pyoai_server(1000, batch_size=100, deleted_every=25) as (url, _provider):
        summary = harvest(store, HarvestConfig(url))
    assert summary.complete
    assert (summary.records, summary.pages) == (1000, 10)
    assert (summary.new, summary.changed, summary.unchanged) == (960, 0, 0)
    assert (summary.deleted, summary.invalid, summary.illegal_chars_removed) == (40, 0, 0)
    bags = store.ledger.bags()
    assert len(bags) == 960 and {b.version for b in bags} == {1}
    deleted = {record_identifier(i) for i in range(24, 1000, 25)}
    assert {b.identifier for b in bags} == {record_identifier(i) for i in range(1000)} - deleted
    assert {t["identifier"] for t in store.ledger.tombstones()} == deleted
    counts = event_types(store)
    assert counts[("cap", "suc")] == 960 and counts[("ing", "suc")] == 960
    assert counts[("dea", "suc")] == 40
    state = store.ledger.load_state(url, "oai_dc", None)
    assert state.resumption_token is None and state.last_response_date and state.pages_done == 10

    # every 10th bag and every bag with a full text: bagit-python agrees, contents are right
    with_text = 0
    for bag in bags:
        path = store.bag_path(bag)
        text = path / "data" / "text.txt"
        if not (text.exists() or bag.identifier.endswith("0")):
            continue
        assert_bagit_valid(path)
        checked = verify_bag(path)
        assert checked.valid and not checked.errors, checked.to_dict()
        record = json.loads((path / "data" / "record.json").read_text("utf-8"))
        source = etree.parse(str(path / "data" / "source" / "record.xml")).getroot()
        assert source.tag == f"{{{NS_OAI}}}record"
        assert source.findtext(f"{{{NS_OAI}}}header/{{{NS_OAI}}}identifier") == bag.identifier
        assert record["record_source"]["oai_identifier"] == bag.identifier
        assert record["record_source"]["set_specs"] == list(bag.groups)
        info = (path / "bag-info.txt").read_text("utf-8")
        for group in bag.groups:
            assert f"Bag-Group-Identifier: {group}" in info
        if text.exists():
            with_text += 1
            assert text.read_text("utf-8").startswith("Full text of document")
            assert record["metadata_only"] is False
        else:
            assert record["metadata_only"] is True
    assert with_text == 100  # index % 10 == 3 (none of them deleted)


def test_set_harvest_keeps_its_own_state(store: Store) -> None:
    with pyoai_server(60, batch_size=20) as (url, _provider):
        summary = harvest(store, fast(url, set_spec="science"))
        assert summary.complete and summary.new == summary.records > 0
        assert all("science" in b.groups for b in store.ledger.bags())
        assert store.ledger.load_state(url, "oai_dc", "science").last_response_date
        assert store.ledger.load_state(url, "oai_dc", None).last_response_date is None


def test_incremental_harvest_from_pyoai_makes_only_the_changes(store: Store) -> None:
    with pyoai_server(120, batch_size=25, deleted_every=40) as (url, provider):
        first = harvest(store, fast(url))
        assert (first.new, first.deleted) == (117, 3)
        before = event_types(store)
        provider.update(record_identifier(5), title="A new title")
        provider.update(record_identifier(6), creator=["Smith, Jane"])
        provider.delete(record_identifier(7))
        second = harvest(store, fast(url))
    assert second.window_from == store.ledger.load_state(url, "oai_dc", None).window_from
    assert (second.records, second.new, second.changed, second.unchanged) == (3, 0, 2, 0)
    assert second.deleted == 1
    after = event_types(store)
    assert after - before == Counter({("cap", "suc"): 2, ("val", "suc"): 2, ("mes", "suc"): 2,
                                      ("ing", "suc"): 2, ("dea", "suc"): 1})
    assert [v.version for v in store.versions(record_identifier(5))] == [1, 2]
    assert [v.version for v in store.versions(record_identifier(7))] == [1]  # bags kept
    latest = json.loads((store.bag_path(store.latest(record_identifier(5))) / "data/record.json").read_text())
    assert latest["title"] == "A new title"


# -- the fault-injecting provider --------------------------------------------------------


def test_incremental_sends_from_and_only_changes_make_versions(store: Store) -> None:
    provider = faulty(40, batch=10)
    with provider.serve() as url:
        first = harvest(store, fast(url))
        identify_date = store.ledger.load_state(url, "oai_dc", None).last_response_date
        assert first.new == 40 and identify_date
        bags_before = {b.path for b in store.ledger.bags()}
        events_before = event_types(store)
        for i in (3, 4, 5):
            provider.update(record_identifier(i), description="Revised description.")
        for i in (10, 11):
            provider.delete(record_identifier(i))
        provider.clear_requests()
        second = harvest(store, fast(url))
        sent = list_requests(provider)[0].args
        # a third run with nothing changed at the source: noRecordsMatch, nothing new
        third_before = event_types(store)
        third = harvest(store, fast(url))
    assert sent["from"] == identify_date
    assert (second.new, second.changed, second.unchanged, second.deleted) == (0, 3, 0, 2)
    new_bags = {b.path for b in store.ledger.bags()} - bags_before
    assert sorted(p.rsplit("/", 1)[1] for p in new_bags) == ["v2", "v2", "v2"]
    diff = third_before - events_before
    assert diff == Counter({("cap", "suc"): 3, ("val", "suc"): 3, ("mes", "suc"): 3,
                            ("ing", "suc"): 3, ("dea", "suc"): 2})
    dea = list(store.ledger.events(identifier=record_identifier(10), types=["dea"]))
    assert len(dea) == 1 and dea[0].bag == store.latest(record_identifier(10)).path
    assert f"deleted at source {url}" in dea[0].detail and "bags kept" in dea[0].detail
    assert (store.root / dea[0].bag).is_dir()
    # records changed in the second the last harvest began are listed again (from= is
    # inclusive); they are unchanged and their deletions already known: nothing new
    assert third.complete and (third.new, third.changed, third.deleted) == (0, 0, 0)
    assert third.unchanged <= third.records
    assert event_types(store) == third_before


def test_day_granularity_from_and_until(store: Store) -> None:
    provider = faulty(30, batch=10, granularity=DAY_GRANULARITY)
    with provider.serve() as url:
        summary = harvest(store, fast(url, from_="2020-01-05T10:00:00Z", until="2020-06-30"))
        sent = list_requests(provider)[0].args
    assert (sent["from"], sent["until"]) == ("2020-01-05", "2020-06-30")
    assert summary.complete and summary.records > 0


def test_seconds_granularity_widens_days(store: Store) -> None:
    provider = faulty(30, batch=10)
    with provider.serve() as url:
        harvest(store, fast(url, from_="2020-01-05", until="2020-06-30"))
        sent = list_requests(provider)[0].args
    assert (sent["from"], sent["until"]) == ("2020-01-05T00:00:00Z", "2020-06-30T23:59:59Z")


def test_bad_from_date_is_a_usage_error(store: Store) -> None:
    provider = faulty(5)
    with provider.serve() as url, pytest.raises(Exception, match="not a date"):
        harvest(store, fast(url, from_="05/01/2020"))


@pytest.mark.parametrize("kind", ["seconds", "date"])
def test_retry_after_is_honoured(store: Store, kind: str) -> None:
    fault = fp.http_503_retry_after_seconds(1) if kind == "seconds" else fp.http_503_retry_after_date(2)
    provider = faulty(20, plan=fp.FaultPlan(pages={2: fault}))
    with provider.serve() as url:
        summary = harvest(store, fast(url, backoff=5.0))  # backoff would be far longer
    page2 = [r for r in list_requests(provider) if r.page == 2]
    assert [r.status for r in page2] == [503, 200]
    gap = page2[1].time - page2[0].time
    assert 0.8 <= gap < 4.0
    assert summary.complete and summary.new == 20 and summary.retries == 1


def test_retry_after_is_capped_by_max_wait(store: Store) -> None:
    provider = faulty(10, plan=[None, fp.http_503_retry_after_seconds(120)])
    started = time.monotonic()
    with provider.serve() as url:
        summary = harvest(store, fast(url, max_wait=0.2))
    assert time.monotonic() - started < 10
    assert summary.complete and summary.new == 10 and summary.retries == 1


def test_transient_faults_are_retried_and_nothing_is_lost(store: Store) -> None:
    plan = fp.FaultPlan(pages={
        1: fp.http_500(),
        2: [fp.http_429(retry_after=None), fp.drop_connection()],
        3: fp.slow(1.5),
        4: fp.unparseable(),
    })
    provider = faulty(50, batch=10, plan=plan)
    with provider.serve() as url:
        summary = harvest(store, fast(url, timeout=0.5))
    assert summary.complete
    assert (summary.new, summary.pages, summary.retries) == (50, 5, 5)
    assert len(store.ledger.bags()) == 50


def test_retries_run_out_with_the_url_named(store: Store) -> None:
    provider = faulty(10, plan=fp.FaultPlan(pages={1: [fp.http_500()] * 3}))
    with provider.serve() as url, pytest.raises(HarvestError) as caught:
        harvest(store, fast(url, max_retries=2))
    assert caught.value.http_status == 500
    assert "verb=ListRecords" in caught.value.message and "3 attempts" in caught.value.message


def test_unparseable_page_is_reported_with_its_url(store: Store, tmp_path: Path) -> None:
    provider = faulty(10, plan=fp.FaultPlan(pages={1: [fp.unparseable()] * 3}))
    with provider.serve() as url:
        result = CliRunner().invoke(main, ["harvest", url, "--store", str(store.root), "--max-retries", "2",
                                           "--max-wait", "0"])
    assert result.exit_code == 2
    assert "not well-formed XML" in result.output and f"{url}?verb=ListRecords" in result.output


def test_illegal_characters_are_removed_and_counted(store: Store) -> None:
    provider = faulty(10, plan=[fp.illegal_chars()])
    with provider.serve() as url:
        summary = harvest(store, fast(url))
    assert summary.illegal_chars_removed == 3 and summary.new == 10
    bag = store.latest(record_identifier(0))
    raw = (store.bag_path(bag) / "data/source/record.xml").read_bytes()
    assert not any(c in raw for c in (b"\x01", b"\x0b", b"\x1f"))
    assert bag.title == provider.store.get(record_identifier(0)).values("title")[0]


def test_strip_illegal_chars_handles_references_and_keeps_utf8() -> None:
    body = "<a>Ok\x01 &#1; &#x1F; &#9; &#xD; é Ж\x0b</a>".encode()
    cleaned, count = strip_illegal_chars(body)
    assert count == 4
    assert cleaned == "<a>Ok   &#9; &#xD; é Ж</a>".encode()


def test_parse_retry_after_forms() -> None:
    from datetime import datetime, timezone
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Mon, 01 Jan 2024 12:00:30 GMT", now=now) == 30.0
    assert parse_retry_after("Mon, 01 Jan 2024 11:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


def test_repeated_token_stops_as_a_loop_after_checkpointing(store: Store) -> None:
    provider = faulty(40, batch=10, plan=fp.FaultPlan(pages={2: fp.repeat_token()}))
    with provider.serve() as url, pytest.raises(HarvestError, match="looping") as caught:
        harvest(store, fast(url))
    assert caught.value.url and "resumptionToken" in caught.value.url
    assert len(store.ledger.bags()) == 20  # pages 1 and 2 are stored
    state = store.ledger.load_state(url, "oai_dc", None)
    assert state.pages_done == 1 and fp.decode_token(state.resumption_token or "")["cursor"] == 10


def test_expired_token_restarts_the_window_without_duplicates(store: Store) -> None:
    provider = faulty(40, batch=10, plan=fp.FaultPlan(pages={3: fp.expire_token()}))
    with provider.serve() as url:
        summary = harvest(store, fast(url, from_="2020-01-01"))
    firsts = [r.args for r in list_requests(provider) if "resumptionToken" not in r.args]
    assert len(firsts) == 2 and all(a["from"] == "2020-01-01T00:00:00Z" for a in firsts)
    assert summary.complete and summary.window_restarts == 1
    assert (summary.new, summary.unchanged) == (40, 20)
    assert len(store.ledger.bags()) == 40 and {b.version for b in store.ledger.bags()} == {1}
    assert event_types(store)[("cap", "suc")] == 40


def test_saved_token_rejected_on_resume_restarts_the_window(store: Store) -> None:
    provider = faulty(30, batch=10)
    with provider.serve() as url:
        first = harvest(store, fast(url, limit=10))
        assert not first.complete and first.new == 10
        provider.plan.push(fp.expire_token())
        provider.clear_requests()
        second = harvest(store, fast(url))
        sent = [r.args for r in list_requests(provider)]
    assert "resumptionToken" in sent[0] and "resumptionToken" not in sent[1]
    assert second.resumed and second.window_restarts == 1 and second.complete
    assert (second.new, second.unchanged) == (20, 10)
    assert len(store.ledger.bags()) == 30


def test_limit_then_resume_continues_where_it_stopped(store: Store) -> None:
    provider = faulty(35, batch=10)
    with provider.serve() as url:
        first = harvest(store, fast(url, limit=15))
        assert (first.records, first.new, first.complete) == (15, 15, False)
        state = store.ledger.load_state(url, "oai_dc", None)
        assert state.pages_done == 1 and state.resumption_token  # page 2 was cut: not checkpointed
        provider.clear_requests()
        second = harvest(store, fast(url))
        sent = list_requests(provider)[0].args
    assert sent == {"verb": "ListRecords", "resumptionToken": state.resumption_token}
    assert second.resumed and second.complete
    assert (second.new, second.unchanged) == (20, 5)
    assert len(store.ledger.bags()) == 35


def test_no_records_match_is_an_empty_harvest(store: Store) -> None:
    provider = faulty(10, plan=[fp.no_records()])
    with provider.serve() as url:
        result = CliRunner().invoke(main, ["harvest", url, "--store", str(store.root), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["complete"] is True and summary["records"] == 0 and summary["new"] == 0
    assert store.ledger.load_state(url, "oai_dc", None).last_response_date


def test_oai_error_is_reported_with_code_and_message(store: Store) -> None:
    provider = faulty(10, plan=[None, fp.oai_error("badArgument", "no such thing")])
    with provider.serve() as url:
        with pytest.raises(HarvestError) as caught:
            harvest(store, fast(url))
        assert caught.value.oai_code == "badArgument"
        assert "badArgument: no such thing" in caught.value.message
        provider.plan.push(None, fp.oai_error("cannotDisseminateFormat", "nope"))
        result = CliRunner().invoke(main, ["harvest", url, "--store", str(store.root), "--json"])
    assert result.exit_code == 2
    error = json.loads(result.output.splitlines()[0])
    assert error["oai_code"] == "cannotDisseminateFormat" and error["url"].startswith(url)


def test_invalid_record_is_quarantined_and_the_harvest_goes_on(store: Store) -> None:
    provider = faulty(20, batch=10)
    bad = record_identifier(12)
    provider.update(bad, title="   ")
    with provider.serve() as url:
        result = CliRunner().invoke(main, ["harvest", url, "--store", str(store.root), "--json"])
    assert result.exit_code == 1, result.output
    summary = json.loads(result.output)
    assert (summary["new"], summary["invalid"], summary["complete"]) == (19, 1, True)
    store.ledger.close()
    reopened = Store.open(store.root)
    assert reopened.latest(bad) is None and len(reopened.ledger.bags()) == 19
    failures = [e for e in reopened.ledger.events(types=["val"]) if e.outcome == "fai"]
    assert len(failures) == 1 and failures[0].identifier == bad
    where = reopened.root / failures[0].data["quarantine"]
    assert summary["quarantined"] == [failures[0].data["quarantine"]]
    assert where.parent.parent == reopened.quarantine_dir()
    errors = json.loads((where / "errors.json").read_text("utf-8"))
    assert errors["identifier"] == bad and errors["problems"][0]["location"] == "$"
    assert "title" in errors["problems"][0]["message"]
    xml = etree.parse(str(where / "record.xml")).getroot()
    assert xml.findtext(f"{{{NS_OAI}}}header/{{{NS_OAI}}}identifier") == bad
    assert not list(reopened.quarantine_dir().glob("*/.*"))
    reopened.close()


def test_fetch_files_downloads_linked_files(store: Store) -> None:
    pdf = b"%PDF-1.4 fake document " * 100

    def files_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if path.endswith("/doc.pdf"):
            start_response("200 OK", [("Content-Type", "application/pdf"), ("Content-Length", str(len(pdf)))])
            return [pdf]
        if path.endswith("/page"):
            start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
            return [b"<html></html>"]
        if path.endswith("/big.bin"):
            start_response("200 OK", [("Content-Type", "application/octet-stream")])
            return [b"x" * 5000]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no"]

    provider = faulty(0)
    with serve_wsgi(files_app, path="/f") as files:
        provider.add(identifier=[f"{files}/doc.pdf", f"{files}/page", "ftp://example.org/x.pdf"],
                     relation=[f"{files}/missing", f"{files}/big.bin"])
        identifier = next(iter(provider.store)).identifier
        with provider.serve() as url:
            summary = harvest(store, fast(url, fetch_files=True, max_file_size=4096,
                                         allow_private_hosts=True))  # the files are on loopback
    assert summary.new == 1 and (summary.files_fetched, summary.files_skipped) == (1, 4)
    bag_path = store.bag_path(store.latest(identifier))
    assert_bagit_valid(bag_path)
    record = json.loads((bag_path / "data/record.json").read_text("utf-8"))
    attachment = [c for c in record["content"] if c["kind"] == "attachment"]
    assert attachment == [{"path": "files/doc.pdf", "kind": "attachment", "media_type": "application/pdf",
                           "source_url": f"{files}/doc.pdf", "size": len(pdf),
                           "sha512": hashlib.sha512(pdf).hexdigest()}]
    assert (bag_path / "data/files/doc.pdf").read_bytes() == pdf
    assert record["metadata_only"] is False
    warnings = [e.detail for e in store.ledger.events(types=["cap"]) if e.outcome == "war"]
    assert len(warnings) == 4
    assert any("HTML" in w for w in warnings) and any("404" in w for w in warnings)
    assert "ftp://example.org/x.pdf not fetched: only http and https links are fetched" in warnings
    assert any("size cap" in w for w in warnings)
    assert not [p for p in (store.root / ".tmp").iterdir()] if (store.root / ".tmp").exists() else True


def test_cli_text_summary_and_help(store: Store) -> None:
    runner = CliRunner()
    assert "--max-wait" in runner.invoke(main, ["harvest", "--help"]).output
    provider = faulty(12, batch=5)
    with provider.serve() as url:
        result = runner.invoke(main, ["harvest", url, "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    assert "complete: 12 new, 0 changed, 0 unchanged, 0 deleted, 0 invalid" in result.output
    assert "12 records in 3 pages" in result.output


def test_not_an_http_url_is_refused(store: Store) -> None:
    result = CliRunner().invoke(main, ["harvest", "file:///etc/passwd", "--store", str(store.root)])
    assert result.exit_code == 2 and "not an http(s) URL" in result.output


def test_unreachable_provider_gives_up_with_a_hint(store: Store) -> None:
    provider = faulty(1)
    with provider.serve() as url:
        pass  # the port is closed again
    with pytest.raises(HarvestError, match="connection failed") as caught:
        harvest(store, fast(url, max_retries=1))
    assert caught.value.hint and "continues from its last checkpoint" in caught.value.hint


def test_progress_bar_on_a_terminal_shows_records_and_pages(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import stook.cli.harvest as cli_harvest

    monkeypatch.setattr(cli_harvest, "show_progress", lambda: True)
    provider = faulty(12, batch=5)
    with provider.serve() as url:
        result = CliRunner().invoke(main, ["harvest", url, "--store", str(store.root)])
    assert result.exit_code == 0, result.output
    assert "harvest:" in result.stderr and "12/12 [" in result.stderr
    assert "pages=1]" in result.stderr and "pages=3]" in result.stderr
    assert "12 records in 3 pages" in result.stdout


def test_an_html_page_is_not_retried_as_broken_xml(store: Store) -> None:
    def html_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/html")])
        return [b"<!DOCTYPE html><html><body><p>Welcome<br></body></html>"]

    started = time.monotonic()
    with serve_wsgi(html_app) as url, pytest.raises(HarvestError, match="HTML page") as caught:
        harvest(store, HarvestConfig(url, backoff=10.0))
    assert time.monotonic() - started < 5
    assert caught.value.url == f"{url}?verb=Identify"


def test_a_partial_window_does_not_move_the_incremental_start(store: Store) -> None:
    provider = faulty(30, batch=10)
    with provider.serve() as url:
        partial = harvest(store, fast(url, until="2020-06-30"))
        assert partial.complete and 0 < partial.new < 30
        assert store.ledger.load_state(url, "oai_dc", None).last_response_date is None
        later = harvest(store, fast(url, from_="2021-01-01"))
        assert later.complete and later.new > 0
        assert store.ledger.load_state(url, "oai_dc", None).last_response_date is None
        provider.clear_requests()
        full = harvest(store, fast(url))  # still everything: the gap is not skipped
        assert "from" not in list_requests(provider)[0].args
        assert full.new == 30 - partial.new - later.new and full.unchanged == partial.new + later.new
        assert store.ledger.load_state(url, "oai_dc", None).last_response_date
        provider.clear_requests()
        harvest(store, fast(url, from_="2019-01-01"))  # covers since the last: moves it on
        assert list_requests(provider)[0].args["from"] == "2019-01-01T00:00:00Z"
    assert len(store.ledger.bags()) == 30


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    from stook.harvest import OAIClient, RetryPolicy

    policy = RetryPolicy(backoff=1.0, max_wait=10.0)
    low = OAIClient("http://127.0.0.1:9/oai", policy, rng=lambda: 0.0)
    high = OAIClient("http://127.0.0.1:9/oai", policy, rng=lambda: 1.0)
    assert [low.backoff(n) for n in range(5)] == [0.5, 1.0, 2.0, 4.0, 5.0]
    assert [high.backoff(n) for n in range(5)] == [1.0, 2.0, 4.0, 8.0, 10.0]
