"""End to end: MODS, MARCXML and DataCite feeds harvested from a real OAI-PMH server into bags.

The provider is pyoai's server (:class:`support.oai_records.FormatsProvider`) serving
hand-written records; bags are cross-checked with bagit-python.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import assert_bagit_valid
from lxml import etree
from support import faulty_provider as fp
from support.oai_records import (
    NS_DATACITE,
    NS_MARC,
    NS_MODS,
    NS_OAI,
    NS_OAI_DATACITE,
    NS_OAI_DC,
    FormatsProvider,
)
from support.servers import serve_wsgi
from test_crosswalk_datacite import RESOURCE
from test_crosswalk_marc import BOOK, data, marc
from test_crosswalk_mods import LETTER

from stook.cli import main
from stook.harvest import HarvestConfig, harvest
from stook.store import Store

GOOD, BAD = "oai:example.org:good", "oai:example.org:untitled"
ETDMS = "http://www.ndltd.org/standards/metadata/etdms/1.0/"
FORMATS = [
    ("oai_dc", "http://www.openarchives.org/OAI/2.0/oai_dc.xsd", NS_OAI_DC),
    ("mods", "http://www.loc.gov/standards/mods/v3/mods-3-7.xsd", NS_MODS),
    ("marc21", "http://www.loc.gov/standards/marcxml/schema/MARC21slim.xsd", NS_MARC),
    ("oai_datacite", "http://schema.datacite.org/oai/oai-1.1/oai.xsd", NS_OAI_DATACITE),
    ("etdms", "http://www.ndltd.org/standards/metadata/etdms/1-0/etdms.xsd", ETDMS),
]
UNTITLED = {
    "oai_dc": f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="http://purl.org/dc/elements/1.1/">'
              "<dc:creator>Marsh, Edith</dc:creator></oai_dc:dc>",
    "mods": f'<mods xmlns="{NS_MODS}"><relatedItem type="host"><titleInfo><title>Host only</title>'
            "</titleInfo></relatedItem></mods>",
    "marc21": marc(data("100", "1 ", ("a", "Marsh, Edith."))),
    "oai_datacite": f'<oai_datacite xmlns="{NS_OAI_DATACITE}"><payload><resource xmlns="{NS_DATACITE}">'
                    '<identifier identifierType="DOI">10.5555/none</identifier></resource></payload>'
                    "</oai_datacite>",
    "etdms": f'<thesis xmlns="{ETDMS}"><creator>Marsh, Edith</creator></thesis>',
}
DOCUMENTS = {
    GOOD: {
        "oai_dc": f'<oai_dc:dc xmlns:oai_dc="{NS_OAI_DC}" xmlns:dc="http://purl.org/dc/elements/1.1/">'
                  "<dc:title>The harbour survey</dc:title></oai_dc:dc>",
        "mods": LETTER,
        "marc21": BOOK,
        "oai_datacite": f'<oai_datacite xmlns="{NS_OAI_DATACITE}"><schemaVersion>4</schemaVersion>'
                        f"<payload>{RESOURCE}</payload></oai_datacite>",
        "etdms": f'<thesis xmlns="{ETDMS}"><title>Harbour papers</title><creator>Marsh, Edith</creator>'
                 "</thesis>",
    },
    BAD: UNTITLED,
}
UNMAPPED_KEYS = {"mods": "mods:unmapped", "marc21": "marc:unmapped", "oai_datacite": "datacite:unmapped"}
NAMESPACES = {prefix: ns for prefix, _schema, ns in FORMATS}
TITLES = {
    "mods": "The letter on the harbour survey: a draft. Part 2",
    "marc21": "The harbour survey : depths and currents / Part 2, Soundings",
    "oai_datacite": "Tide gauge readings",
}


@pytest.fixture(scope="module")
def provider_url() -> Iterator[str]:
    with serve_wsgi(FormatsProvider(DOCUMENTS, FORMATS, batch_size=1)) as url:
        yield url


def fast(url: str, **kwargs: Any) -> HarvestConfig:
    return HarvestConfig(url, backoff=0.01, max_wait=5.0, timeout=5.0, **kwargs)


@pytest.mark.parametrize("prefix", ["mods", "marc21", "oai_datacite"])
def test_harvest_a_feed_in_each_format(provider_url: str, tmp_path: Path, prefix: str) -> None:
    with Store.open(tmp_path / "store", create=True) as store:
        summary = harvest(store, fast(provider_url, metadata_prefix=prefix))
        assert (summary.new, summary.invalid, summary.pages, summary.complete) == (1, 1, 2, True)
        assert summary.exit_code == 1
        bag = store.bag_path(store.latest(GOOD))
        assert_bagit_valid(bag)
        record = json.loads((bag / "data" / "record.json").read_text("utf-8"))
        assert record["title"] == TITLES[prefix]
        assert record["record_source"]["metadata_prefix"] == prefix
        assert any(a.get("family") == "Marsh" for a in record["agents"])
        assert UNMAPPED_KEYS[prefix] in record["extensions"]
        raw = etree.parse(str(bag / "data" / "source" / "record.xml")).getroot()
        metadata_root = raw.find(f"{{{NS_OAI}}}metadata")[0]
        assert etree.QName(metadata_root).namespace == NAMESPACES[prefix]
        # the record without a title of its own is quarantined, not bagged under a made-up title
        assert store.latest(BAD) is None
        failures = [e for e in store.ledger.events(types=["val"]) if e.outcome == "fai"]
        assert [e.identifier for e in failures] == [BAD]
        quarantined = store.root / failures[0].data["quarantine"]
        errors = json.loads((quarantined / "errors.json").read_text("utf-8"))
        assert errors["problems"][0]["location"] == "$" and "title" in errors["problems"][0]["message"]
        assert len(store.ledger.bags()) == 1


def test_a_harvest_again_changes_nothing(provider_url: str, tmp_path: Path) -> None:
    with Store.open(tmp_path / "store", create=True) as store:
        harvest(store, fast(provider_url, metadata_prefix="mods"))
        again = harvest(store, fast(provider_url, metadata_prefix="mods", from_="2000-01-01"))
        assert (again.new, again.changed, again.unchanged) == (0, 0, 1)


def test_unknown_format_is_kept_raw_with_a_minimal_record(provider_url: str, tmp_path: Path) -> None:
    with Store.open(tmp_path / "store", create=True) as store:
        summary = harvest(store, fast(provider_url, metadata_prefix="etdms"))
        assert (summary.new, summary.invalid) == (2, 0)
        record = json.loads((store.bag_path(store.latest(GOOD)) / "data/record.json").read_text("utf-8"))
        assert record["title"] == "Harbour papers"
        minimal = {"identifier", "title", "identifiers", "content", "metadata_only", "record_source"}
        assert set(record) == minimal
        untitled = json.loads((store.bag_path(store.latest(BAD)) / "data/record.json").read_text("utf-8"))
        assert untitled["title"] == BAD  # no title element at all: the OAI identifier stands in


def test_list_formats_says_what_stook_crosswalks(provider_url: str, tmp_path: Path) -> None:
    runner = CliRunner()
    store = tmp_path / "never-made"
    result = runner.invoke(main, ["harvest", provider_url, "--list-formats", "--store", str(store)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert [line.split()[0] for line in lines] == ["oai_dc", "mods", "marc21", "oai_datacite", "etdms"]
    assert "full crosswalk (MODS)" in lines[1] and NS_MODS in lines[1]
    assert "full crosswalk (MARC 21 in MARCXML)" in lines[2]
    assert "full crosswalk (DataCite)" in lines[3]
    assert "kept raw with a minimal record" in lines[4]
    assert not store.exists()  # listing formats touches no store
    as_json = runner.invoke(main, ["harvest", provider_url, "--list-formats", "--json"])
    assert as_json.exit_code == 0
    found = json.loads(as_json.output)
    assert found[0] == {"prefix": "oai_dc", "namespace": NS_OAI_DC,
                        "schema": "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
                        "crosswalk": "oai_dc", "support": "full crosswalk (Dublin Core)"}
    assert [f["crosswalk"] for f in found] == ["oai_dc", "mods", "marcxml", "datacite", None]


def test_list_formats_errors_are_one_line() -> None:
    result = CliRunner().invoke(main, ["harvest", "ftp://example.org/oai", "--list-formats"])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "not an http(s) URL" in result.output
    provider = fp.FaultyProvider([], plan=[fp.oai_error("badVerb", "no such verb here")])
    with provider.serve() as url:
        failed = CliRunner().invoke(main, ["harvest", url, "--list-formats", "--max-retries", "0"])
    assert failed.exit_code == 2 and "badVerb" in failed.output and "Traceback" not in failed.output


def test_full_text_threshold_from_the_command_line(tmp_path: Path) -> None:
    line = "Entry copied into the register of the harbour office, with the clerk's remarks.\n"
    provider = fp.FaultyProvider([], batch_size=10)
    provider.add(description=line * 40)  # ~3,300 characters: an abstract by default
    identifier = next(iter(provider.store)).identifier
    runner = CliRunner()
    with provider.serve() as url:
        default = tmp_path / "default"
        assert runner.invoke(main, ["harvest", url, "--store", str(default)]).exit_code == 0
        lower = tmp_path / "lower"
        result = runner.invoke(main, ["harvest", url, "--store", str(lower), "--full-text-min-chars", "3000"])
        assert result.exit_code == 0, result.output
        refused = runner.invoke(
            main, ["harvest", url, "--store", str(tmp_path / "x"), "--full-text-min-chars", "0"]
        )
    assert refused.exit_code == 2 and "--full-text-min-chars" in refused.output
    assert not (tmp_path / "x").exists()
    with Store.open(default) as store:
        bag = store.bag_path(store.latest(identifier))
        assert not (bag / "data" / "text.txt").exists()
    with Store.open(lower) as store:
        bag = store.bag_path(store.latest(identifier))
        assert_bagit_valid(bag)
        assert (bag / "data" / "text.txt").read_text("utf-8") == (line * 40).strip("\n") + "\n"
        record = json.loads((bag / "data" / "record.json").read_text("utf-8"))
        assert any(d["value"].startswith("Entry copied") for d in record["descriptions"])


def test_a_record_damaged_in_transit_is_quarantined_and_the_harvest_goes_on(tmp_path: Path) -> None:
    from stook.crosswalk import NATIVE_NS
    from stook.record import canonical_json

    text = canonical_json({"identifier": GOOD, "title": "Sent whole"}).decode("utf-8")
    fine = text.replace(GOOD, "oai:example.org:fine")
    documents = {
        GOOD: {"stook": f'<stook:record xmlns:stook="{NATIVE_NS}" sha512="{"0" * 128}">{text}'
                        "</stook:record>"},
        "oai:example.org:fine": {"stook": f'<stook:record xmlns:stook="{NATIVE_NS}">{fine}</stook:record>'},
    }
    provider = FormatsProvider(documents, [("stook", "https://stook.dev/ns/record/v1/stook-record-v1.xsd",
                                            NATIVE_NS)])
    with serve_wsgi(provider) as url, Store.open(tmp_path / "store", create=True) as store:
        summary = harvest(store, fast(url, metadata_prefix="stook"))
        assert (summary.new, summary.invalid, summary.complete) == (1, 1, True)
        assert store.latest(GOOD) is None and store.latest("oai:example.org:fine") is not None
        (failure,) = [e for e in store.ledger.events(types=["val"]) if e.outcome == "fai"]
        assert "damaged in transit" in failure.detail
        quarantined = store.root / failure.data["quarantine"]
        assert b"Sent whole" in (quarantined / "record.xml").read_bytes()
