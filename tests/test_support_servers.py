"""Prove the two test OAI-PMH servers behave, so harvester tests can trust them."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import requests
import sickle
from lxml import etree
from oaipmh.client import Client
from oaipmh.metadata import MetadataRegistry, oai_dc_reader
from support import faulty_provider as fp
from support.pyoai_provider import PyoaiProvider
from support.servers import pyoai_server, pyoai_subprocess, serve_faulty, serve_wsgi
from support.synthetic import (
    DAY_GRANULARITY,
    make_records,
    record_identifier,
    to_oai_dc_xml,
)
from support.xsd import validate_oai_response

UTC = timezone.utc
NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
}
N_RECORDS = 230  # 5 pages of 50 (last one partial)
BATCH = 50
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


def oai_get(url: str, **params: str) -> requests.Response:
    return requests.get(url, params=params, timeout=5)


def parse(resp: requests.Response) -> etree._Element:
    return etree.fromstring(resp.content)


def error_code(resp: requests.Response) -> str | None:
    errors = parse(resp).findall("oai:error", NS)
    return errors[0].get("code") if errors else None


def token_of(resp: requests.Response) -> str | None:
    el = parse(resp).find(".//oai:resumptionToken", NS)
    return None if el is None or not el.text else el.text


def harvest_ids(url: str, **kwargs: str) -> list[str]:
    client = sickle.Sickle(url, max_retries=0, timeout=5)
    try:
        headers = client.ListIdentifiers(metadataPrefix="oai_dc", ignore_deleted=False, **kwargs)
        return [h.identifier for h in headers]
    except sickle.oaiexceptions.NoRecordsMatch:
        return []


@pytest.fixture(scope="module")
def pyoai() -> Iterator[tuple[str, PyoaiProvider]]:
    """Read-only pyoai server shared by the module (tests that mutate use their own)."""
    with pyoai_server(N_RECORDS, batch_size=BATCH, deleted_every=10) as served:
        yield served


@pytest.fixture
def faulty() -> Iterator[tuple[str, fp.FaultyProvider]]:
    provider = fp.FaultyProvider.synthetic(N_RECORDS, deleted_every=10, batch_size=BATCH)
    with serve_faulty(provider) as url:
        yield url, provider


@pytest.fixture(params=["pyoai", "faulty"])
def any_server(request: pytest.FixtureRequest) -> tuple[str, object]:
    return request.getfixturevalue(request.param)


def oaipmh_client(url: str) -> Client:
    registry = MetadataRegistry()
    registry.registerReader("oai_dc", oai_dc_reader)
    return Client(url, registry)


# --------------------------------------------------------------------------- synthetic


def test_synthetic_records_are_deterministic_and_messy() -> None:
    a, b = make_records(60, deleted_every=7), make_records(60, deleted_every=7)
    assert [to_oai_dc_xml(r) for r in a] == [to_oai_dc_xml(r) for r in b]
    assert [tuple(r.dc) for r in a] == [tuple(r.dc) for r in make_records(60, lazy=True)]
    assert a[123 % 60].identifier == record_identifier(3) == "oai:example.org:rec-000003"
    assert all(x.datestamp < y.datestamp for x, y in zip(a, a[1:], strict=False))
    assert all(r.datestamp.tzinfo and r.datestamp.microsecond == 0 for r in a)
    assert [r.deleted for r in a].count(True) == 60 // 7
    values = [(e, v, lang) for r in a for (e, v, lang) in r.dc]
    texts = " ".join(v for _, v, _ in values)
    assert any("\u0400" <= ch <= "\u04ff" for ch in texts)  # Cyrillic
    assert "é" in texts or "ö" in texts
    dates = {v for e, v, _ in values if e == "date"}
    assert any(len(d) == 10 for d in dates) and any(len(d) == 7 for d in dates)
    assert any(len(d) == 4 for d in dates) and any(d.startswith("ca. ") for d in dates)
    ids = [v for e, v, _ in values if e == "identifier"]
    assert any(i.startswith("doi:10.1234/") for i in ids)
    assert any(i.startswith("https://doi.org/10.1234/") for i in ids)
    assert any(i.startswith("hdl:") or "hdl.handle.net" in i for i in ids)
    langs = {v for e, v, _ in values if e == "language"}
    assert {"en", "eng", "English", "rus", "ru"} <= langs
    assert any(lang for e, _, lang in values if e == "title")
    assert any(len(v) > 2000 for e, v, _ in values if e == "description")
    assert all("," in v for e, v, _ in values if e == "creator")
    assert {s for r in a for s in r.sets} == {"history", "diplomacy", "science"}


def test_to_oai_dc_xml_is_schema_valid_inside_a_response() -> None:
    record = make_records(1)[0]  # has xml:lang titles
    doc = (
        b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/">'
        b"<responseDate>2024-01-01T00:00:00Z</responseDate>"
        b'<request verb="GetRecord" identifier="x" metadataPrefix="oai_dc">http://x/oai</request>'
        b"<GetRecord><record><header><identifier>x</identifier><datestamp>2024-01-01"
        b"</datestamp></header><metadata>" + to_oai_dc_xml(record) + b"</metadata></record>"
        b"</GetRecord></OAI-PMH>"
    )
    assert validate_oai_response(doc) == []
    broken = doc.replace(b"<dc:title", b"<dc:heading").replace(b"</dc:title", b"</dc:heading")
    assert validate_oai_response(broken)
    assert validate_oai_response(b"<OAI-PMH")[0].startswith("not well-formed")


# --------------------------------------------------------------------------- harvesting


def test_sickle_harvests_everything_from_both(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    records = list(
        sickle.Sickle(url, max_retries=0, timeout=5).ListRecords(
            metadataPrefix="oai_dc", ignore_deleted=False
        )
    )
    assert [r.header.identifier for r in records] == [record_identifier(i) for i in range(N_RECORDS)]
    deleted = [r for r in records if r.header.deleted]
    assert len(deleted) == N_RECORDS // 10
    live = next(r for r in records if not r.header.deleted)
    assert live.metadata["identifier"][0] == "https://example.org/doc/0"


def test_oaipmh_client_harvests_both(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    client = oaipmh_client(url)
    client.updateGranularity()
    assert client.identify().deletedRecord() == "persistent"
    records = list(client.listRecords(metadataPrefix="oai_dc"))
    assert len(records) == N_RECORDS
    assert sum(1 for h, _, _ in records if h.isDeleted()) == N_RECORDS // 10
    header, metadata, _ = records[1]
    assert metadata["title"] == make_records(2)[1].values("title")
    sets = {spec for spec, _, _ in client.listSets()}
    assert sets == {"history", "diplomacy", "science"}
    since = datetime(2021, 1, 1)
    newer = list(client.listIdentifiers(metadataPrefix="oai_dc", from_=since))
    assert newer and all(h.datestamp() >= since for h in newer)


def test_metadata_round_trips_with_language_tags(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    expected = make_records(6)[5]  # index 5: title tagged en + ru
    resp = oai_get(url, verb="GetRecord", metadataPrefix="oai_dc", identifier=expected.identifier)
    dc = parse(resp).find(".//oai:metadata/*", NS)
    got = [(etree.QName(e).localname, e.text, e.get(XML_LANG)) for e in dc]
    assert got == list(expected.dc)
    assert [lang for el, _, lang in got if el == "title"] == ["en", "ru"]


@pytest.mark.parametrize(
    "params",
    [
        {"verb": "Identify"},
        {"verb": "ListMetadataFormats"},
        {"verb": "ListSets"},
        {"verb": "ListRecords", "metadataPrefix": "oai_dc"},
        {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "science"},
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": record_identifier(5)},
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": record_identifier(9)},
        {"verb": "GetRecord", "metadataPrefix": "oai_dc", "identifier": "oai:nope:1"},
        {"verb": "ListRecords", "metadataPrefix": "marc"},
        {"verb": "Frobnicate"},
    ],
    ids=lambda p: "-".join(str(v) for v in p.values())[:40],
)
def test_responses_are_schema_valid(any_server: tuple[str, object], params: dict) -> None:
    url, _ = any_server
    resp = oai_get(url, **params)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"].startswith("text/xml")
    assert validate_oai_response(resp.content) == []


def test_second_page_is_schema_valid(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    first = oai_get(url, verb="ListRecords", metadataPrefix="oai_dc")
    second = oai_get(url, verb="ListRecords", resumptionToken=token_of(first))
    assert validate_oai_response(second.content) == []
    assert parse(second).findall(".//oai:record", NS)


def test_error_codes(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    assert error_code(oai_get(url, verb="Frobnicate")) == "badVerb"
    assert error_code(oai_get(url)) == "badVerb"
    assert error_code(oai_get(url, verb="ListRecords")) == "badArgument"
    assert error_code(oai_get(url, verb="Identify", bogus="1")) == "badArgument"
    assert error_code(oai_get(url, verb="ListRecords", metadataPrefix="marc")) == ("cannotDisseminateFormat")
    assert (
        error_code(oai_get(url, verb="GetRecord", metadataPrefix="oai_dc", identifier="oai:x:1"))
        == "idDoesNotExist"
    )
    assert (
        error_code(oai_get(url, verb="ListRecords", metadataPrefix="oai_dc", set="nonexistent"))
        == "noRecordsMatch"
    )
    assert (
        error_code(oai_get(url, verb="ListRecords", metadataPrefix="oai_dc", **{"from": "yesterday"}))
        == "badArgument"
    )
    assert error_code(oai_get(url, verb="ListRecords", resumptionToken="%%garbage")) == ("badResumptionToken")
    repeated = requests.get(f"{url}?verb=Identify&verb=Identify", timeout=5)
    assert error_code(repeated) in ("badArgument", "badVerb")


def test_post_requests_work(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    resp = requests.post(url, data={"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}, timeout=5)
    assert len(parse(resp).findall(".//oai:header", NS)) == BATCH


# --------------------------------------------------------------------------- selective


def test_set_filtering(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    ids = harvest_ids(url, set="science")
    expected = [r.identifier for r in make_records(N_RECORDS) if "science" in r.sets]
    assert ids == expected and 0 < len(ids) < N_RECORDS


def test_from_until_filtering(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    records = make_records(N_RECORDS)
    lo, hi = records[40].datestamp, records[120].datestamp
    stamp = "%Y-%m-%dT%H:%M:%SZ"
    ids = harvest_ids(url, **{"from": lo.strftime(stamp), "until": hi.strftime(stamp)})
    assert ids == [r.identifier for r in records[40:121]]
    # day granularity: until a day is inclusive of that whole day
    day = records[100].datestamp.strftime("%Y-%m-%d")
    same_day = [r.identifier for r in records if r.datestamp.strftime("%Y-%m-%d") == day]
    assert harvest_ids(url, **{"from": day, "until": day}) == same_day
    assert harvest_ids(url, **{"from": "2099-01-01"}) == []


def test_deleted_records_have_status_deleted(any_server: tuple[str, object]) -> None:
    url, _ = any_server
    resp = oai_get(url, verb="GetRecord", metadataPrefix="oai_dc", identifier=record_identifier(9))
    header = parse(resp).find(".//oai:header", NS)
    assert header.get("status") == "deleted"
    assert parse(resp).find(".//oai:metadata", NS) is None


@pytest.mark.parametrize("kind", ["pyoai", "faulty"])
def test_mutations_show_up_in_incremental_harvest(kind: str) -> None:
    records = make_records(120)
    provider: PyoaiProvider | fp.FaultyProvider
    if kind == "pyoai":
        provider = PyoaiProvider(records, batch_size=BATCH)
        server = serve_wsgi(provider)
    else:
        provider = fp.FaultyProvider(records, batch_size=BATCH)
        server = serve_faulty(provider)
    with server as url:
        first = oai_get(url, verb="Identify")
        since = parse(first).findtext("oai:responseDate", namespaces=NS)
        changed = provider.update(record_identifier(3), title=[("Новое", "ru"), "New title"])
        gone = provider.delete(record_identifier(4))
        added = provider.add(title="Brand new")
        assert changed.datestamp > records[-1].datestamp
        assert harvest_ids(url, **{"from": since}) == [
            changed.identifier,
            gone.identifier,
            added.identifier,
        ]
        client = sickle.Sickle(url, max_retries=0, timeout=5)
        rec = client.GetRecord(metadataPrefix="oai_dc", identifier=changed.identifier)
        assert rec.metadata["title"] == ["Новое", "New title"]
        assert client.GetRecord(metadataPrefix="oai_dc", identifier=gone.identifier).deleted
        assert len(harvest_ids(url)) == 121


# --------------------------------------------------------------------------- pyoai quirks


def test_pyoai_quirks_are_as_documented() -> None:
    """Pin the behaviour of the third-party server that harvester tests rely on."""
    provider = PyoaiProvider(make_records(60), batch_size=BATCH, toolkit_description=True)
    with serve_wsgi(provider) as url:
        identify = oai_get(url, verb="Identify")
        errors = validate_oai_response(identify.content)
        # pyoai's default <description><toolkit> has no schema we can load, and
        # <description> is a strict wildcard: schema-invalid unless switched off.
        assert errors and "toolkit" in errors[0]
        first = oai_get(url, verb="ListIdentifiers", metadataPrefix="oai_dc")
        assert "batch_size%3D51" in token_of(first)  # internal state leaks into tokens
        last = oai_get(url, verb="ListIdentifiers", resumptionToken=token_of(first))
        # the final page of an incomplete list has no (empty) resumptionToken element
        assert parse(last).find(".//oai:resumptionToken", NS) is None
        assert parse(first).find(".//oai:resumptionToken", NS).get("cursor") is None

    stock = PyoaiProvider(make_records(6), stock_dc_writer=True)
    with serve_wsgi(stock) as url:
        resp = oai_get(url, verb="GetRecord", metadataPrefix="oai_dc", identifier=record_identifier(5))
        assert validate_oai_response(resp.content) == []
        assert resp.content.count(b"xml:lang") == 0  # the stock writer drops xml:lang


def test_pyoai_subprocess_entry_point() -> None:
    with pyoai_subprocess(500, batch=100, startup_timeout=30) as url:
        resp = oai_get(url, verb="ListIdentifiers", metadataPrefix="oai_dc")
        assert len(parse(resp).findall(".//oai:header", NS)) == 100
        assert len(harvest_ids(url)) == 500


# --------------------------------------------------------------------------- faulty


def test_faulty_identify_reports_configured_granularity() -> None:
    provider = fp.FaultyProvider(make_records(30), granularity=DAY_GRANULARITY)
    with serve_faulty(provider) as url:
        resp = oai_get(url, verb="Identify")
        assert validate_oai_response(resp.content) == []
        assert parse(resp).findtext(".//oai:granularity", namespaces=NS) == "YYYY-MM-DD"
        listing = oai_get(url, verb="ListIdentifiers", metadataPrefix="oai_dc")
        stamps = [e.text for e in parse(listing).iterfind(".//oai:datestamp", NS)]
        assert stamps and all(len(s) == 10 for s in stamps)
        fine = oai_get(url, verb="ListRecords", metadataPrefix="oai_dc", **{"from": "2020-01-01T00:00:00Z"})
        assert error_code(fine) == "badArgument"


def test_faulty_token_survives_restart() -> None:
    records = make_records(N_RECORDS)
    with serve_faulty(fp.FaultyProvider(records, batch_size=BATCH)) as url:
        first = oai_get(url, verb="ListIdentifiers", metadataPrefix="oai_dc", set="history")
        saved = token_of(first)
        el = parse(first).find(".//oai:resumptionToken", NS)
        assert el.get("cursor") == "0" and el.get("completeListSize")
    with serve_faulty(fp.FaultyProvider(records, batch_size=BATCH)) as url:
        ids: list[str] = []
        token: str | None = saved
        while token:
            resp = oai_get(url, verb="ListIdentifiers", resumptionToken=token)
            ids += [e.text for e in parse(resp).iterfind(".//oai:identifier", NS)]
            token = token_of(resp)
    history = [r.identifier for r in records if "history" in r.sets]
    assert ids == history[BATCH:]


def test_fault_http_503_retry_after_seconds(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.http_503_retry_after_seconds(7))
    resp = oai_get(url, verb="Identify")
    assert resp.status_code == 503 and resp.headers["Retry-After"] == "7"
    assert oai_get(url, verb="Identify").status_code == 200  # one-shot
    assert [r.status for r in provider.requests] == [503, 200]


def test_fault_http_503_retry_after_date(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.http_503_retry_after_date(120))
    resp = oai_get(url, verb="Identify")
    assert resp.status_code == 503
    when = email.utils.parsedate_to_datetime(resp.headers["Retry-After"])
    assert resp.headers["Retry-After"].endswith("GMT")
    assert timedelta(seconds=100) < when - datetime.now(UTC) < timedelta(seconds=140)


def test_fault_http_500_and_429(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.http_500(), fp.http_429(3), fp.http_429(None))
    assert oai_get(url, verb="Identify").status_code == 500
    limited = oai_get(url, verb="Identify")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    bare = oai_get(url, verb="Identify")
    assert bare.status_code == 429 and "Retry-After" not in bare.headers


def test_fault_drop_connection(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.drop_connection())
    with pytest.raises(requests.exceptions.ConnectionError):
        oai_get(url, verb="Identify")
    assert oai_get(url, verb="Identify").status_code == 200
    assert provider.requests[0].fault == "drop_connection"


def test_fault_slow_trips_client_timeout(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.slow(0.6), fp.slow(0.3))
    start = time.monotonic()
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url, params={"verb": "Identify"}, timeout=0.2)
    assert time.monotonic() - start < 0.5
    start = time.monotonic()
    assert requests.get(url, params={"verb": "Identify"}, timeout=2).status_code == 200
    assert time.monotonic() - start >= 0.3


def test_fault_illegal_chars(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.illegal_chars())
    oai_get(url, verb="Identify")  # not a record response: fault waits
    resp = oai_get(url, verb="ListRecords", metadataPrefix="oai_dc")
    assert resp.status_code == 200 and b"\x01\x0b\x1f" in resp.content
    assert resp.content.count(b"\x01") == 1
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(resp.content)
    recovered = etree.fromstring(resp.content, etree.XMLParser(recover=True))
    assert len(recovered.findall(".//oai:record", NS)) == BATCH
    assert [r.fault for r in provider.requests] == [None, "illegal_chars"]


def test_fault_unparseable(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.unparseable())
    resp = oai_get(url, verb="ListRecords", metadataPrefix="oai_dc")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/xml")
    with pytest.raises(etree.XMLSyntaxError):
        etree.fromstring(resp.content)
    assert validate_oai_response(resp.content)[0].startswith("not well-formed")


def test_fault_repeat_token_loops(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(None, fp.repeat_token())
    first = oai_get(url, verb="ListRecords", metadataPrefix="oai_dc")
    second = oai_get(url, verb="ListRecords", resumptionToken=token_of(first))
    assert token_of(second) == token_of(first)  # same token again: a loop
    third = oai_get(url, verb="ListRecords", resumptionToken=token_of(second))
    assert token_of(third) != token_of(first)  # one-shot; the loop ends if retried


def test_fault_expire_token(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.expire_token())
    first = oai_get(url, verb="ListRecords", metadataPrefix="oai_dc")  # no token: waits
    assert error_code(first) is None
    expired = oai_get(url, verb="ListRecords", resumptionToken=token_of(first))
    assert error_code(expired) == "badResumptionToken"
    assert validate_oai_response(expired.content) == []
    again = oai_get(url, verb="ListRecords", resumptionToken=token_of(first))
    assert error_code(again) is None


def test_fault_no_records_and_oai_error(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.no_records(), fp.oai_error("badArgument", "nope"))
    resp = oai_get(url, verb="ListIdentifiers", metadataPrefix="oai_dc")
    assert error_code(resp) == "noRecordsMatch"
    resp = oai_get(url, verb="Identify")
    assert error_code(resp) == "badArgument" and parse(resp).findtext("oai:error", namespaces=NS) == "nope"
    assert validate_oai_response(resp.content) == []


def test_fault_by_page_fails_once_then_serves(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.at_page(3, fp.http_503_retry_after_seconds(1))
    provider.plan.at_page(4, fp.expire_token())
    statuses = []
    token = None
    codes = []
    for _ in range(4):
        params = {"resumptionToken": token} if token else {"metadataPrefix": "oai_dc"}
        resp = oai_get(url, verb="ListRecords", **params)
        statuses.append(resp.status_code)
        if resp.status_code == 200:
            codes.append(error_code(resp))
            token = token_of(resp) or token
    assert statuses == [200, 200, 503, 200]
    resp = oai_get(url, verb="ListRecords", resumptionToken=token)
    assert error_code(resp) == "badResumptionToken"
    assert [r.page for r in provider.requests] == [1, 2, 3, 3, 4]
    assert provider.plan.pending == 0


def test_sickle_sees_faults_as_errors(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    provider.plan.push(fp.http_500())
    with pytest.raises(requests.exceptions.HTTPError):
        next(iter(sickle.Sickle(url, max_retries=0, timeout=5).ListRecords(metadataPrefix="oai_dc")))


def test_request_log_shows_incremental_from(faulty: tuple[str, fp.FaultyProvider]) -> None:
    url, provider = faulty
    harvest_ids(url, **{"from": "2022-06-01T00:00:00Z"})
    logged = provider.requests_for("ListIdentifiers")
    assert logged[0].args["from"] == "2022-06-01T00:00:00Z"
    assert logged[0].method == "GET" and logged[0].path == "/oai"
    assert all("resumptionToken" in r.args for r in logged[1:])
    assert [r.time for r in logged] == sorted(r.time for r in logged)
    provider.clear_requests()
    assert provider.requests == []
