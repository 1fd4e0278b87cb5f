"""Harvesting from hostile providers: pages and records (issues 13.8 and 18.5).

One broken record (invalid UTF-8, an unusable or silently changeable identifier, an
entity bomb) is set apart with its bytes and the reason; the records beside it are
stored, the harvest goes on to the next page, and every rerun gets past it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import assert_bagit_valid
from lxml import etree
from support import faulty_provider as fp
from support import hostile
from support.store_snapshot import no_traceback
from support.synthetic import SyntheticRecord, make_records, record_identifier

from stook.cli import main
from stook.harvest import HarvestConfig, HarvestSummary, harvest
from stook.ledger import Event
from stook.store import Store

NS_OAI = "http://www.openarchives.org/OAI/2.0/"


def fast(url: str, **kwargs: Any) -> HarvestConfig:
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("max_wait", 1.0)
    return HarvestConfig(url, **kwargs)


def with_record(bad: SyntheticRecord, *, n: int = 12, at: int = 2) -> list[SyntheticRecord]:
    records = list(make_records(n))
    records.insert(at, bad)
    return records


def failures(store: Store) -> list[Event]:
    return [e for e in store.ledger.events(types=["val"]) if e.outcome == "fai"]


def entry(store: Store, event: Event) -> tuple[bytes, dict[str, Any]]:
    where = store.root / event.data["quarantine"]
    assert where.parent.parent == store.quarantine_dir()
    return (where / "record.xml").read_bytes(), json.loads((where / "errors.json").read_text("utf-8"))


def harvest_all(records: Sequence[SyntheticRecord], root: Path, *, rewrite: Any = None,
                **kwargs: Any) -> HarvestSummary:
    provider = fp.FaultyProvider(records, batch_size=5)
    provider.rewrite = rewrite
    with provider.serve() as url, Store.open(root, create=True) as store:
        return harvest(store, fast(url, **kwargs))


# -- a record that is not well-formed ---------------------------------------------------


def test_invalid_utf8_record_is_set_apart_and_the_rest_is_stored(tmp_path: Path) -> None:
    bad = hostile.hostile_record("oai:hostile:bad-bytes", "Broken POISON title")
    provider = fp.FaultyProvider(with_record(bad), batch_size=5)
    provider.rewrite = hostile.replace_bytes(b"POISON", b"\xff\xfe\xc3")
    root = tmp_path / "store"
    runner = CliRunner()
    with provider.serve() as url:
        first = runner.invoke(main, ["harvest", url, "--store", str(root), "--json"])
        again = runner.invoke(main, ["harvest", url, "--store", str(root), "--from", "2000-01-01", "--json"])
    for result in (first, again):
        assert result.exit_code == 1, result.output
        assert no_traceback(result.output)
        assert result.exception is None or isinstance(result.exception, SystemExit)
    summary, rerun = json.loads(first.output), json.loads(again.output)
    assert (summary["new"], summary["invalid"], summary["pages"], summary["complete"]) == (12, 1, 3, True)
    assert (rerun["new"], rerun["unchanged"], rerun["invalid"], rerun["complete"]) == (0, 12, 1, True)
    assert len(provider.requests_for("ListRecords")) == 6  # the page was never retried
    with Store.open(root) as store:
        assert len(store.ledger.bags()) == 12 and store.latest("oai:hostile:bad-bytes") is None
        failed = failures(store)
        assert len(failed) == 2 and {e.identifier for e in failed} == {"oai:hostile:bad-bytes"}
        raw, report = entry(store, failed[0])
        assert raw.startswith(b"<record>") and raw.endswith(b"</record>")
        assert b"Broken \xff\xfe\xc3 title" in raw  # the bytes as received
        assert report["identifier"] == "oai:hostile:bad-bytes" and report["url"].startswith(url)
        assert "not well-formed XML" in report["problems"][0]["message"]
        assert summary["quarantined"] == [failed[0].data["quarantine"]]
        assert "cannot be stored" in failed[0].detail
        assert_bagit_valid(store.bag_path(store.latest(record_identifier(2))))


def test_broken_element_in_one_record(tmp_path: Path) -> None:
    bad = hostile.hostile_record("oai:hostile:broken-element", "UNCLOSED title")
    summary = harvest_all(with_record(bad, n=6), tmp_path / "store",
                          rewrite=hostile.replace_bytes(b"UNCLOSED", b"<dc:unclosed>"))
    assert (summary.new, summary.invalid, summary.complete) == (6, 1, True)


def test_a_page_whose_envelope_is_broken_stops_with_a_clear_error(tmp_path: Path) -> None:
    """Page 2's resumption token cannot be read: page 1 stays stored and checkpointed, the
    error names the page, and once the provider is mended a rerun carries on from there."""
    marker = record_identifier(7).encode()

    def break_page_two(body: bytes) -> bytes:
        return body.replace(b"<resumptionToken", b"<resumptionToken \xff") if marker in body else body

    provider = fp.FaultyProvider(make_records(12), batch_size=5)
    provider.rewrite = break_page_two
    root = tmp_path / "store"
    runner = CliRunner()
    with provider.serve() as url:
        broken = runner.invoke(main, ["harvest", url, "--store", str(root), "--max-retries", "1",
                                      "--max-wait", "0"])
        with Store.open(root) as store:
            assert len(store.ledger.bags()) == 5 and not failures(store)
        provider.rewrite = None
        mended = runner.invoke(main, ["harvest", url, "--store", str(root), "--json"])
    assert broken.exit_code == 2 and no_traceback(broken.output)
    assert "not well-formed XML" in broken.output and "gave up after 2 attempts" in broken.output
    assert "resumptionToken=" in broken.output  # the page is named by its URL
    assert mended.exit_code == 0, mended.output
    summary = json.loads(mended.output)
    assert summary["resumed"] and (summary["new"], summary["complete"]) == (7, True)
    with Store.open(root) as store:
        assert len(store.ledger.bags()) == 12


# -- identifiers ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("identifier", "reason"),
    [
        ("", "its identifier is empty"),
        ("   ", "is only white space"),
        ("oai:hostile:a\tb", "U+0009, a control character"),
        ("oai:hostile:a\x85b", "U+0085, a control character"),
        ("oai:hostile:a\u200bb", "U+200B, an invisible format"),
        ("oai:hostile:a\u2028b", "U+2028, an invisible format or separator"),
        ("\u00a0oai:hostile:c", "begins or ends with a white-space character"),
        ("oai:hostile:a\x00b", "contains U+0000, a character XML 1.0 forbids"),
        ("oai:hostile:a\x1fb", "contains U+001F, a character XML 1.0 forbids"),
    ],
)
def test_unusable_identifier_is_set_apart_never_a_reason_to_stop(
    tmp_path: Path, identifier: str, reason: str
) -> None:
    bad = hostile.hostile_record(identifier, "A record with a hostile identifier")
    summary = harvest_all(with_record(bad), tmp_path / "store")
    assert (summary.new, summary.invalid, summary.complete) == (12, 1, True)
    assert summary.illegal_chars_removed == 0  # nothing was removed from the identifier
    with Store.open(tmp_path / "store") as store:
        assert len(store.ledger.bags()) == 12
        assert all(b.identifier.startswith("oai:example.org:rec-") for b in store.ledger.bags())
        (event,) = failures(store)
        raw, report = entry(store, event)
        assert reason in report["problems"][0]["message"] and reason in event.detail
        assert event.identifier is None  # the ledger never holds an unusable identifier
        assert event.data["oai_identifier"].strip(" \t") in (identifier.strip(" \t"), identifier)
        assert identifier.encode("utf-8") in raw


def test_nul_identifier_never_merges_with_its_stripped_twin(tmp_path: Path) -> None:
    """``a<NUL>b`` would become ``ab`` if illegal characters were stripped from the page."""
    twin = hostile.hostile_record("oai:hostile:ab", "The real ab")
    nul = hostile.hostile_record("oai:hostile:a\x00b", "An impostor", minute=1)
    ref = hostile.hostile_record("oai:hostile:aREFb", "Another impostor", minute=2)
    root = tmp_path / "store"
    provider = fp.FaultyProvider([twin, nul, ref], batch_size=10)
    provider.rewrite = hostile.replace_bytes(b"oai:hostile:aREFb", b"oai:hostile:a&#0;b")
    with provider.serve() as url, Store.open(root, create=True) as store:
        first = harvest(store, fast(url))
        provider.delete(nul.identifier)  # a deletion must not tombstone "ab" either
        second = harvest(store, fast(url, from_="2000-01-01"))
        assert (first.new, first.invalid) == (1, 2)
        assert (second.unchanged, second.invalid, second.deleted) == (1, 2, 0)
        assert [v.version for v in store.versions("oai:hostile:ab")] == [1]
        assert list(store.ledger.events(types=["dea"])) == []
        assert store.latest("oai:hostile:ab").title == "The real ab"
        reasons = [e.data["reason"] for e in failures(store)]
        assert sum("U+0000 (written &#0;)" in r for r in reasons) == 2
        assert sum("contains U+0000, a character" in r for r in reasons) == 2


def test_illegal_characters_elsewhere_are_still_removed_and_counted(tmp_path: Path) -> None:
    bad = hostile.hostile_record("oai:hostile:tab", "Has\ta tab")
    summary = harvest_all(with_record(bad, n=4), tmp_path / "store",
                          rewrite=hostile.replace_bytes(b"Has\ta tab", b"Has\x01 a \x0btab"))
    assert (summary.new, summary.invalid, summary.illegal_chars_removed) == (5, 0, 2)
    with Store.open(tmp_path / "store") as store:
        assert store.latest("oai:hostile:tab").title == "Has a tab"


# -- entities ----------------------------------------------------------------------------------


def test_internal_entity_is_expanded_and_the_kept_xml_stands_alone(tmp_path: Path) -> None:
    record = hostile.hostile_record("oai:hostile:entity", "Report of &pub;", publisher="&pub;")
    root = tmp_path / "store"
    summary = harvest_all(with_record(record, n=3), root,
                          rewrite=hostile.with_internal_entities({"pub": "the Foreign Policy Archive"}))
    assert (summary.new, summary.invalid) == (4, 0)
    with Store.open(root) as store:
        bag = store.latest("oai:hostile:entity")
        assert bag.title == "Report of the Foreign Policy Archive"
        path = store.bag_path(bag)
        assert_bagit_valid(path)
        kept = (path / "data/source/record.xml").read_bytes()
    assert b"&pub;" not in kept and b"DOCTYPE" not in kept
    plain = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    parsed = etree.fromstring(kept, plain)
    assert list(parsed.iter(etree.Entity)) == []
    titles = parsed.findall(".//{http://purl.org/dc/elements/1.1/}title")
    assert [t.text for t in titles] == ["Report of the Foreign Policy Archive"]


def test_billion_laughs_record_is_refused_and_its_neighbours_stored(tmp_path: Path) -> None:
    bomb = hostile.hostile_record("oai:hostile:laughs", "Ha &lol9;")
    summary = harvest_all(with_record(bomb, n=6), tmp_path / "store",
                          rewrite=hostile.with_internal_entities(hostile.billion_laughs()))
    assert (summary.new, summary.invalid, summary.complete) == (6, 1, True)
    with Store.open(tmp_path / "store") as store:
        (event,) = failures(store)
        assert event.identifier == "oai:hostile:laughs"
        assert "amplification" in event.data["reason"]
