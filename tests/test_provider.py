"""stook serve: the OAI-PMH 2.0 provider, verb by verb, against real stores and the official XSDs.

Most tests call the WSGI app in-process (fast); the HTTP ones run it under waitress on
127.0.0.1. Every response goes through the schema check in tests/support/provider_helpers.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from click.testing import CliRunner
from lxml import etree
from support.provider_helpers import (
    NS,
    OAIClient,
    add_records,
    add_tombstone,
    assert_valid,
    header_of,
    identifiers,
    record_dict,
    set_created,
    set_created_many,
)

from stook.bagwriter import PayloadItem
from stook.cli import main
from stook.errors import StoreError, UsageError
from stook.oainames import is_valid_set_spec
from stook.provider import (
    ProviderApp,
    group_for_set_spec,
    make_app,
    oai_identifier,
    record_from_native,
    record_identifier,
    serve_in_thread,
    set_spec_for_group,
)
from stook.provider.tokens import ListState, encode_token, token_key
from stook.record import canonical_json

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wilson-115179"


def _ids(n: int, start: int = 0) -> list[str]:
    return [f"test:rec-{i:04d}" for i in range(start, start + n)]


@pytest.fixture(scope="module")
def pristine_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Twelve records with known datestamps, two days apart in pairs, some in groups."""
    path = tmp_path_factory.mktemp("provider") / "store"
    groups = [("history",), ("history:cold-war",), ("science",), (), ("Космос", "with space"), ()]
    add_records(path, [record_dict(i, groups=groups[i % 6]) for i in range(12)])
    set_created_many(
        path,
        {f"test:rec-{i:04d}": f"2024-03-{1 + (i // 2) * 2:02d}T10:00:{i:02d}.123456Z" for i in range(12)},
    )
    return path


@pytest.fixture
def store(pristine_store: Path, tmp_path: Path) -> Path:
    """A private copy of the twelve-record store (tests may add bags and tombstones)."""
    path = tmp_path / "store"
    shutil.copytree(pristine_store, path)
    return path


@pytest.fixture
def client(store: Path) -> OAIClient:
    return OAIClient(make_app(store, page_size=5))


# -- Identify -------------------------------------------------------------------------


def test_identify_describes_the_repository(client: OAIClient) -> None:
    doc = client.get({"verb": "Identify"})
    ident = doc.find("oai:Identify", NS)
    assert ident.findtext("oai:repositoryName", namespaces=NS) == "stook store store"
    assert ident.findtext("oai:baseURL", namespaces=NS) == "http://provider.test/oai"
    assert ident.findtext("oai:protocolVersion", namespaces=NS) == "2.0"
    assert ident.findtext("oai:adminEmail", namespaces=NS) == "archivist@example.invalid"
    assert ident.findtext("oai:earliestDatestamp", namespaces=NS) == "2024-03-01T10:00:00Z"
    assert ident.findtext("oai:deletedRecord", namespaces=NS) == "persistent"
    assert ident.findtext("oai:granularity", namespaces=NS) == "YYYY-MM-DDThh:mm:ssZ"
    request = doc.find("oai:request", NS)
    assert request.get("verb") == "Identify"
    assert request.text == "http://provider.test/oai"


def test_identify_options_and_empty_store(tmp_path: Path) -> None:
    add_records(tmp_path / "s", [])
    app = make_app(
        tmp_path / "s",
        base_url="https://archive.example.org/oai",
        repository_name="Example Archive",
        admin_email="oai@archive.example.org",
    )
    doc = OAIClient(app).get({"verb": "Identify"})
    assert doc.findtext("oai:Identify/oai:repositoryName", namespaces=NS) == "Example Archive"
    assert doc.findtext("oai:Identify/oai:baseURL", namespaces=NS) == "https://archive.example.org/oai"
    assert doc.findtext("oai:request", namespaces=NS) == "https://archive.example.org/oai"
    assert doc.findtext("oai:Identify/oai:adminEmail", namespaces=NS) == "oai@archive.example.org"
    assert OAIClient(app).error_codes({"verb": "ListRecords", "metadataPrefix": "oai_dc"}) == [
        "noRecordsMatch"
    ]


def test_bad_options_and_missing_store(tmp_path: Path, store: Path) -> None:
    with pytest.raises(UsageError, match="not an email address"):
        make_app(store, admin_email="archivist@localhost")
    with pytest.raises(UsageError, match="page size"):
        make_app(store, page_size=0)
    with pytest.raises(StoreError, match="store not found"):
        make_app(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(StoreError, match="not a stook store"):
        make_app(tmp_path / "empty")


# -- badVerb / badArgument ----------------------------------------------------------------


@pytest.mark.parametrize(
    "pairs",
    [
        [],
        [("verb", "Frobnicate")],
        [("verb", "Identify"), ("verb", "Identify")],
        [("verb", "")],
        [("metadataPrefix", "oai_dc")],
    ],
    ids=["missing", "unknown", "repeated", "empty", "no-verb-with-args"],
)
def test_bad_verb(client: OAIClient, pairs: list[tuple[str, str]]) -> None:
    doc = client.get(pairs)
    assert [e.get("code") for e in doc.findall("oai:error", NS)] == ["badVerb"]
    request = doc.find("oai:request", NS)
    assert dict(request.attrib) == {}, "badVerb answers carry the request element without attributes"


@pytest.mark.parametrize(
    "pairs, fragment",
    [
        ([("verb", "ListRecords")], "needs the metadataPrefix"),
        ([("verb", "GetRecord"), ("identifier", "test:rec-0001")], "needs the metadataPrefix"),
        ([("verb", "GetRecord"), ("metadataPrefix", "oai_dc")], "needs the identifier"),
        ([("verb", "Identify"), ("set", "history")], "not an argument of Identify"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("color", "red")], "not an argument"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("metadataPrefix", "oai_dc")], "repeated"),
        ([("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "2024-13-01")], "not a valid date"),
        (
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("from", "yesterday")],
            "not a UTC datestamp",
        ),
        (
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("until", "2024-03-01T10:00:00")],
            "not a UTC datestamp",
        ),
        (
            [
                ("verb", "ListRecords"),
                ("metadataPrefix", "oai_dc"),
                ("from", "2024-03-01"),
                ("until", "2024-03-05T00:00:00Z"),
            ],
            "different granularities",
        ),
        (
            [
                ("verb", "ListRecords"),
                ("metadataPrefix", "oai_dc"),
                ("from", "2024-03-05"),
                ("until", "2024-03-01"),
            ],
            "later than until",
        ),
        (
            [("verb", "ListIdentifiers"), ("metadataPrefix", "oai_dc"), ("resumptionToken", "abc")],
            "exclusive",
        ),
        ([("verb", "ListRecords"), ("metadataPrefix", "")], "empty"),
        (
            [("verb", "ListRecords"), ("metadataPrefix", "oai_dc"), ("set", "not a set")],
            "not a valid setSpec",
        ),
        ([("verb", "GetRecord"), ("identifier", "x\x01"), ("metadataPrefix", "oai_dc")], "XML cannot carry"),
        ([("verb", "Identify"), ("resumptionToken", "x")], "not an argument"),
    ],
)
def test_bad_argument(client: OAIClient, pairs: list[tuple[str, str]], fragment: str) -> None:
    doc = client.get(pairs)
    errors = doc.findall("oai:error", NS)
    assert {e.get("code") for e in errors} == {"badArgument"}
    assert any(fragment in (e.text or "") for e in errors), [e.text for e in errors]
    assert dict(doc.find("oai:request", NS).attrib) == {}


def test_until_earlier_than_from_in_seconds_and_same_instant_ok(client: OAIClient) -> None:
    base = {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"}
    assert client.error_codes({**base, "from": "2024-03-01T10:00:01Z", "until": "2024-03-01T10:00:00Z"}) == [
        "badArgument"
    ]
    doc = client.get({**base, "from": "2024-03-01T10:00:01Z", "until": "2024-03-01T10:00:01Z"})
    assert identifiers(doc.findall("oai:ListIdentifiers/oai:header", NS)) == ["test:rec-0001"]


def test_non_utf8_arguments_are_a_bad_argument(client: OAIClient) -> None:
    code, _, body = client.raw("verb=GetRecord&identifier=%FF&metadataPrefix=oai_dc")
    doc = assert_valid(body)
    assert code == 200
    assert [e.get("code") for e in doc.findall("oai:error", NS)] == ["badArgument"]
    assert dict(doc.find("oai:request", NS).attrib) == {}


# -- the other error codes -------------------------------------------------------------------


def test_cannot_disseminate_format(client: OAIClient) -> None:
    doc = client.get({"verb": "ListRecords", "metadataPrefix": "marc21"})
    assert [e.get("code") for e in doc.findall("oai:error", NS)] == ["cannotDisseminateFormat"]
    # Not a badArgument, so the request element keeps its attributes.
    assert doc.find("oai:request", NS).get("metadataPrefix") == "marc21"
    assert client.error_codes(
        {"verb": "GetRecord", "identifier": "test:rec-0001", "metadataPrefix": "marc21"}
    ) == ["cannotDisseminateFormat"]
    assert client.error_codes({"verb": "ListIdentifiers", "metadataPrefix": "marc21"}) == [
        "cannotDisseminateFormat"
    ]


def test_id_does_not_exist(client: OAIClient) -> None:
    doc = client.get({"verb": "GetRecord", "identifier": "test:nope", "metadataPrefix": "oai_dc"})
    assert [e.get("code") for e in doc.findall("oai:error", NS)] == ["idDoesNotExist"]
    assert doc.find("oai:request", NS).get("identifier") == "test:nope"
    assert client.error_codes({"verb": "ListMetadataFormats", "identifier": "test:nope"}) == [
        "idDoesNotExist"
    ]
    both = client.error_codes({"verb": "GetRecord", "identifier": "test:nope", "metadataPrefix": "marc"})
    assert both == ["idDoesNotExist", "cannotDisseminateFormat"]


def test_no_records_match(client: OAIClient) -> None:
    for args in ({"from": "2030-01-01"}, {"until": "2000-01-01"}, {"set": "diplomacy"}):
        assert client.error_codes({"verb": "ListRecords", "metadataPrefix": "oai_dc", **args}) == [
            "noRecordsMatch"
        ]


def test_no_set_hierarchy(tmp_path: Path) -> None:
    add_records(tmp_path / "s", [record_dict(1), record_dict(2)])
    client = OAIClient(make_app(tmp_path / "s"))
    assert client.error_codes({"verb": "ListSets"}) == ["noSetHierarchy"]
    assert client.error_codes({"verb": "ListRecords", "metadataPrefix": "oai_dc", "set": "history"}) == [
        "noSetHierarchy"
    ]
    assert client.error_codes({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "x"}) == [
        "noSetHierarchy"
    ]


def test_bad_resumption_tokens(client: OAIClient) -> None:
    doc = client.get({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc"})
    token = doc.findtext("oai:ListIdentifiers/oai:resumptionToken", namespaces=NS)
    assert token
    body, _, tag = token.rpartition(".")
    tampered = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + tag
    for bad in ("garbage", "", "...", tampered, token + "x", "x" + token):
        pairs = {"verb": "ListIdentifiers", "resumptionToken": bad}
        codes = client.error_codes(pairs)
        assert codes == (["badArgument"] if bad == "" else ["badResumptionToken"]), bad
    # A ListIdentifiers token does not continue ListRecords.
    assert client.error_codes({"verb": "ListRecords", "resumptionToken": token}) == ["badResumptionToken"]
    # ListSets is answered whole: any token is bad.
    assert client.error_codes({"verb": "ListSets", "resumptionToken": token}) == ["badResumptionToken"]
    doc = client.get({"verb": "ListIdentifiers", "resumptionToken": "garbage"})
    assert doc.find("oai:request", NS).get("resumptionToken") == "garbage"


def test_expired_token_is_refused(store: Path) -> None:
    app = make_app(store, page_size=5)
    key = app.token_key()
    past = int(time.time()) - 10
    state = ListState("ListIdentifiers", "oai_dc", None, None, None, 99, "", None, 0, 12, past)
    client = OAIClient(app)
    codes = client.error_codes({"verb": "ListIdentifiers", "resumptionToken": encode_token(state, key)})
    assert codes == ["badResumptionToken"]
    # The same token under another key is refused too.
    state = ListState("ListIdentifiers", "oai_dc", None, None, None, 99, "", None, 0, 12, past + 3600)
    assert OAIClient(app).error_codes(
        {"verb": "ListIdentifiers", "resumptionToken": encode_token(state, token_key(b"other secret"))}
    ) == ["badResumptionToken"]
    assert client.get({"verb": "ListIdentifiers", "resumptionToken": encode_token(state, key)}) is not None


# -- lists and resumption tokens -----------------------------------------------------------------


def test_list_identifiers_pages_with_cursor_size_and_expiry(client: OAIClient) -> None:
    before = datetime.now(timezone.utc)
    headers, tokens = client.list_all("ListIdentifiers", metadataPrefix="oai_dc")
    assert identifiers(headers) == _ids(12)
    datestamps = [h.findtext("oai:datestamp", namespaces=NS) for h in headers]
    assert datestamps[0] == "2024-03-01T10:00:00Z" and datestamps == sorted(datestamps)
    assert [t.get("cursor") for t in tokens] == ["0", "5", "10"]
    assert {t.get("completeListSize") for t in tokens} == {"12"}
    assert tokens[-1].text is None and tokens[-1].get("expirationDate") is None
    expiry = datetime.strptime(tokens[0].get("expirationDate"), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=timezone.utc
    )
    assert before + timedelta(hours=23) < expiry < before + timedelta(hours=25)


def test_list_records_single_page_has_no_token(store: Path) -> None:
    client = OAIClient(make_app(store, page_size=100))
    doc = client.get({"verb": "ListRecords", "metadataPrefix": "oai_dc"})
    assert len(doc.findall("oai:ListRecords/oai:record", NS)) == 12
    assert doc.find("oai:ListRecords/oai:resumptionToken", NS) is None


def test_exact_multiple_of_page_size_ends_cleanly(store: Path) -> None:
    client = OAIClient(make_app(store, page_size=6))
    records, tokens = client.list_all("ListRecords", metadataPrefix="stook")
    assert len(records) == 12 and len(tokens) == 2 and tokens[-1].text is None


def test_from_until_day_and_seconds_granularity(client: OAIClient) -> None:
    def listed(**args: str) -> list[str]:
        return identifiers(client.list_all("ListIdentifiers", metadataPrefix="oai_dc", **args)[0])

    assert listed(**{"from": "2024-03-05"}) == _ids(8, 4)
    assert listed(until="2024-03-03") == _ids(4)  # day until includes the whole day
    assert listed(**{"from": "2024-03-03", "until": "2024-03-05"}) == _ids(4, 2)
    assert listed(**{"from": "2024-03-03T10:00:03Z", "until": "2024-03-05T10:00:04Z"}) == _ids(2, 3)
    # The datestamp is truncated to seconds: 10:00:05.123456 is inside until=10:00:05.
    assert listed(until="2024-03-05T10:00:05Z") == _ids(6)
    assert listed(**{"from": "2024-03-05T10:00:05Z"}) == _ids(7, 5)


def test_sets_and_selective_harvest_by_set(client: OAIClient) -> None:
    doc = client.get({"verb": "ListSets"})
    sets = {
        s.findtext("oai:setSpec", namespaces=NS): s.findtext("oai:setName", namespaces=NS)
        for s in doc.findall("oai:ListSets/oai:set", NS)
    }
    cosmos = set_spec_for_group("Космос")
    assert sets == {
        "history": "history",
        "history:cold-war": "history:cold-war",
        "science": "science",
        cosmos: "Космос",
        "with!20space": "with space",
    }
    for spec in sets:
        assert is_valid_set_spec(spec)

    def listed(spec: str) -> list[str]:
        return identifiers(client.list_all("ListIdentifiers", metadataPrefix="oai_dc", set=spec)[0])

    assert listed("history") == ["test:rec-0000", "test:rec-0001", "test:rec-0006", "test:rec-0007"]
    assert listed("history:cold-war") == ["test:rec-0001", "test:rec-0007"]
    assert listed(cosmos) == ["test:rec-0004", "test:rec-0010"]
    assert listed("with!20space") == ["test:rec-0004", "test:rec-0010"]
    records, _ = client.list_all("ListRecords", metadataPrefix="oai_dc", set="science")
    assert [h.findtext("oai:setSpec", namespaces=NS) for h in map(header_of, records)] == [
        "science",
        "science",
    ]
    header = header_of(client.list_all("ListRecords", metadataPrefix="oai_dc", set=cosmos)[0][0])
    assert [s.text for s in header.findall("oai:setSpec", NS)] == [cosmos, "with!20space"]


@pytest.mark.parametrize(
    "group", ["history", "a:b:c", "Космос", "with space", "x!y", "a::b", ":lead", "(ok)*~"]
)
def test_set_spec_encoding_round_trips(group: str) -> None:
    spec = set_spec_for_group(group)
    assert is_valid_set_spec(spec)
    assert group_for_set_spec(spec) == group
    if (
        all(c.isascii() and (c.isalnum() or c in "-_.~*'():") for c in group)
        and "::" not in group
        and not group.startswith(":")
    ):
        assert spec == group


@pytest.mark.parametrize(
    "identifier",
    [
        "wcda:115179",
        "oai:example.org:rec-1",
        "x%zz",
        "a b",
        "[1]",
        "a#b#c",
        "urn:stook:id:abc",
        "Дело 5",
        "Дело5",
    ],
)
def test_oai_identifier_encoding_round_trips(identifier: str) -> None:
    oai_id = oai_identifier(identifier)
    assert record_identifier(oai_id) == identifier
    assert (oai_id == identifier) == (identifier in ("wcda:115179", "oai:example.org:rec-1", "Дело5"))
    doc = (
        f'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z'
        f'</responseDate><request verb="GetRecord">http://x/oai</request><GetRecord><record><header>'
        f"<identifier>{escape(oai_id)}</identifier><datestamp>"
        f"2024-01-01T00:00:00Z</datestamp></header></record></GetRecord></OAI-PMH>"
    )
    assert_valid(doc.encode())


def test_record_with_unusual_identifier_is_served_and_found(tmp_path: Path) -> None:
    add_records(tmp_path / "s", [record_dict(1, identifier="Fond 5 [opis 30] 100%")])
    client = OAIClient(make_app(tmp_path / "s"))
    headers, _ = client.list_all("ListIdentifiers", metadataPrefix="oai_dc")
    oai_id = identifiers(headers)[0]
    assert oai_id == "urn:stook:id:Fond%205%20%5Bopis%2030%5D%20100%25"
    doc = client.get({"verb": "GetRecord", "identifier": oai_id, "metadataPrefix": "stook"})
    native = doc.find(".//stook:record", NS)
    assert record_from_native(native)["identifier"] == "Fond 5 [opis 30] 100%"
    # The decoded form is not even a URI: a bad argument.
    assert client.error_codes(
        {"verb": "GetRecord", "identifier": "Fond 5 [opis 30] 100%", "metadataPrefix": "oai_dc"}
    ) == ["badArgument"]
    assert client.error_codes(
        {"verb": "GetRecord", "identifier": "urn:stook:id:%FF", "metadataPrefix": "oai_dc"}
    ) == ["idDoesNotExist"]


def test_bags_added_mid_harvest_neither_shift_nor_repeat(store: Path) -> None:
    client = OAIClient(make_app(store, page_size=4))
    doc = client.get({"verb": "ListRecords", "metadataPrefix": "stook"})
    seen = identifiers(doc.findall("oai:ListRecords/oai:record", NS))
    token = doc.findtext("oai:ListRecords/oai:resumptionToken", namespaces=NS)
    # Between pages: new records, a new version of an already-served record and of a pending one.
    add_records(store, [record_dict(i) for i in range(100, 106)])
    add_records(
        store,
        [
            record_dict(0, title="changed after it was served"),
            record_dict(9, title="changed before it was served"),
        ],
    )
    titles: dict[str, str] = {}
    while token:
        doc = client.get({"verb": "ListRecords", "resumptionToken": token})
        for rec in doc.findall("oai:ListRecords/oai:record", NS):
            titles[header_of(rec).findtext("oai:identifier", namespaces=NS)] = record_from_native(
                rec.find(".//stook:record", NS)
            )["title"]
        seen += identifiers(doc.findall("oai:ListRecords/oai:record", NS))
        token = doc.findtext("oai:ListRecords/oai:resumptionToken", namespaces=NS)
        assert doc.find("oai:ListRecords/oai:resumptionToken", NS).get("completeListSize") == "12"
        add_records(store, [record_dict(200 + len(seen))])
    assert seen == _ids(12), "exactly the records that existed at the start, each once, in order"
    assert titles["test:rec-0009"] == "Test record 9", "the snapshot's version, not one added mid-harvest"
    # A new harvest sees everything now in the store, with rec-0009 and rec-0000 as new versions.
    fresh = identifiers(client.list_all("ListIdentifiers", metadataPrefix="oai_dc")[0])
    added_between_pages = {f"test:rec-{200 + n:04d}" for n in (8, 12)}
    assert len(fresh) == len(set(fresh))
    assert set(fresh) == set(_ids(12)) | set(_ids(6, 100)) | added_between_pages
    # Changed records now sort by their new version's datestamp, after every unchanged original.
    assert fresh.index("test:rec-0000") > fresh.index("test:rec-0011")
    assert fresh.index("test:rec-0009") > fresh.index("test:rec-0011")


# -- deleted records ------------------------------------------------------------------------------


def test_deleted_records_are_persistent(store: Path) -> None:
    add_tombstone(store, "test:rec-0001", "2024-04-01T08:00:00.000000Z")  # after its version: deleted
    add_tombstone(store, "test:rec-0005", "2024-01-01T00:00:00.000000Z")  # before its version: re-added
    add_tombstone(store, "test:gone", "2024-03-02T00:00:00.000000Z")  # never stored here
    client = OAIClient(make_app(store, page_size=5))
    headers, tokens = client.list_all("ListIdentifiers", metadataPrefix="oai_dc")
    ids = identifiers(headers)
    assert sorted(ids) == sorted(_ids(12) + ["test:gone"])
    assert tokens[0].get("completeListSize") == "13"
    by_id = {header_of(h).findtext("oai:identifier", namespaces=NS): h for h in headers}
    assert by_id["test:rec-0001"].get("status") == "deleted"
    assert by_id["test:rec-0001"].findtext("oai:datestamp", namespaces=NS) == "2024-04-01T08:00:00Z"
    assert ids[-1] == "test:rec-0001", "a deletion is a change: it sorts by its own datestamp"
    assert [s.text for s in by_id["test:rec-0001"].findall("oai:setSpec", NS)] == ["history:cold-war"]
    assert by_id["test:rec-0005"].get("status") is None
    assert by_id["test:gone"].get("status") == "deleted"
    doc = client.get({"verb": "GetRecord", "identifier": "test:rec-0001", "metadataPrefix": "oai_dc"})
    record = doc.find("oai:GetRecord/oai:record", NS)
    assert record.find("oai:header", NS).get("status") == "deleted"
    assert record.find("oai:metadata", NS) is None
    records, _ = client.list_all("ListRecords", metadataPrefix="oai_dc", **{"from": "2024-04-01"})
    assert identifiers(records) == ["test:rec-0001"] and records[0].find("oai:metadata", NS) is None
    assert client.error_codes({"verb": "ListMetadataFormats", "identifier": "test:gone"}) == [
        "noMetadataFormats"
    ]
    assert client.get({"verb": "ListMetadataFormats", "identifier": "test:rec-0001"}) is not None
    assert (
        client.get({"verb": "Identify"}).findtext("oai:Identify/oai:earliestDatestamp", namespaces=NS)
        == "2024-01-01T00:00:00Z"
    )
    # Deleted records are found by set through their last version's groups.
    in_history = client.list_all("ListIdentifiers", metadataPrefix="oai_dc", set="history:cold-war")[0]
    assert identifiers(in_history) == ["test:rec-0007", "test:rec-0001"]
    assert in_history[-1].get("status") == "deleted"


# -- formats -------------------------------------------------------------------------------------------


def test_list_metadata_formats(client: OAIClient) -> None:
    doc = client.get({"verb": "ListMetadataFormats"})
    formats = {
        f.findtext("oai:metadataPrefix", namespaces=NS): (
            f.findtext("oai:schema", namespaces=NS),
            f.findtext("oai:metadataNamespace", namespaces=NS),
        )
        for f in doc.findall("oai:ListMetadataFormats/oai:metadataFormat", NS)
    }
    assert formats == {
        "oai_dc": (
            "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
            "http://www.openarchives.org/OAI/2.0/oai_dc/",
        ),
        "stook": ("https://stook.dev/ns/record/v1/stook-record-v1.xsd", "https://stook.dev/ns/record/v1"),
    }
    doc = client.get({"verb": "ListMetadataFormats", "identifier": "test:rec-0001"})
    assert len(doc.findall("oai:ListMetadataFormats/oai:metadataFormat", NS)) == 2
    assert doc.find("oai:request", NS).get("identifier") == "test:rec-0001"


def _bag_example(store: Path) -> None:
    result = CliRunner().invoke(main, ["bag", str(EXAMPLE / "record.yaml"), "--store", str(store)])
    assert result.exit_code == 0, result.output


def test_native_format_carries_record_json_losslessly(tmp_path: Path) -> None:
    store = tmp_path / "s"
    _bag_example(store)
    odd = record_dict(7, title='Odd \ufffe chars & <tags> \u2028 \U0001f600 "quoted"')
    add_records(store, [odd])
    client = OAIClient(make_app(store))
    records, _ = client.list_all("ListRecords", metadataPrefix="stook")
    assert len(records) == 2
    for rec in records:
        oai_id = header_of(rec).findtext("oai:identifier", namespaces=NS)
        native = rec.find("oai:metadata/stook:record", NS)
        bag = next(
            p
            for p in store.glob("*/v1")
            if json.loads((p / "data/record.json").read_bytes())["identifier"] == oai_id
        )
        original = (bag / "data" / "record.json").read_bytes()
        rebuilt = canonical_json(record_from_native(native))
        assert rebuilt == original
        assert native.get("sha512") == hashlib.sha512(original).hexdigest()
        assert native.get("schema", "").startswith("https://")


def test_oai_dc_generated_from_a_manual_record(tmp_path: Path) -> None:
    store = tmp_path / "s"
    _bag_example(store)
    doc = OAIClient(make_app(store)).get(
        {"verb": "GetRecord", "identifier": "wcda:115179", "metadataPrefix": "oai_dc"}
    )
    dc = doc.find("oai:GetRecord/oai:record/oai:metadata/oai_dc:dc", NS)
    titles = [t.text for t in dc.findall("dc:title", NS)]
    assert titles[0].startswith("Record of Conversation between Soviet Ambassador")
    assert "Sergey Kudryavtsev" in [c.text for c in dc.findall("dc:creator", NS)]
    assert "wcda:115179" in [i.text for i in dc.findall("dc:identifier", NS)]
    assert {lang.text for lang in dc.findall("dc:language", NS)} == {"ru", "en"}


def test_oai_dc_from_a_harvest_is_served_unchanged(tmp_path: Path) -> None:
    harvested_dc = (
        '<oai_dc:dc xmlns:oai_dc="http://www.openarchives.org/OAI/2.0/oai_dc/" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc/ '
        'http://www.openarchives.org/OAI/2.0/oai_dc.xsd">\n  <dc:title xml:lang="ru">Письмо</dc:title>\n'
        "  <dc:creator>Korolev, Sergei</dc:creator>\n  <dc:title>Letter</dc:title>\n"
        "  <!-- kept --><dc:date>1961</dc:date>\n</oai_dc:dc>"
    )
    record_xml = (
        '<record xmlns="http://www.openarchives.org/OAI/2.0/"><header><identifier>oai:src:1</identifier>'
        f"<datestamp>2020-01-01</datestamp></header><metadata>{harvested_dc}</metadata></record>"
    ).encode()
    record = {
        "identifier": "oai:src:1",
        "title": "Letter",
        "record_source": {
            "method": "harvest",
            "base_url": "http://src.example/oai",
            "metadata_prefix": "oai_dc",
            "oai_identifier": "oai:src:1",
            "set_specs": ["letters"],
        },
        "dc": {"title": [{"value": "Letter"}]},
    }
    add_records(
        tmp_path / "s", [record], payload={"oai:src:1": [PayloadItem("source/record.xml", data=record_xml)]}
    )
    doc = OAIClient(make_app(tmp_path / "s")).get(
        {"verb": "GetRecord", "identifier": "oai:src:1", "metadataPrefix": "oai_dc"}
    )
    served = doc.find("oai:GetRecord/oai:record/oai:metadata/oai_dc:dc", NS)
    original = etree.fromstring(harvested_dc.encode())
    assert etree.tostring(served, method="c14n", exclusive=True) == etree.tostring(
        original, method="c14n", exclusive=True
    )
    assert [t.text for t in served.findall("dc:title", NS)] == ["Письмо", "Letter"]


def test_latest_version_is_served(tmp_path: Path) -> None:
    store = tmp_path / "s"
    add_records(store, [record_dict(1, title="first")])
    add_records(store, [record_dict(1, title="second")])
    set_created(store, "test:rec-0001", "2024-05-01T00:00:00.000000Z", version=2)
    doc = OAIClient(make_app(store)).get(
        {"verb": "GetRecord", "identifier": "test:rec-0001", "metadataPrefix": "stook"}
    )
    assert record_from_native(doc.find(".//stook:record", NS))["title"] == "second"
    assert doc.findtext(".//oai:header/oai:datestamp", namespaces=NS) == "2024-05-01T00:00:00Z"


# -- HTTP: GET, POST, methods ---------------------------------------------------------------------------


def test_http_get_and_post_under_waitress(store: Path) -> None:
    url, stop = serve_in_thread(store, page_size=5)
    try:
        client = OAIClient(url)
        assert url.startswith("http://127.0.0.1:") and url.endswith("/oai")
        get_doc = client.get({"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "history"})
        post_doc = client.get(
            {"verb": "ListIdentifiers", "metadataPrefix": "oai_dc", "set": "history"}, method="POST"
        )
        assert identifiers(post_doc.findall(".//oai:header", NS)) == identifiers(
            get_doc.findall(".//oai:header", NS)
        )
        assert post_doc.findtext("oai:request", namespaces=NS) == url
        assert client.error_codes([("verb", "Identify"), ("verb", "ListSets")], method="POST") == ["badVerb"]
        code, _, _ = client.raw({"verb": "Identify"}, method="POST", content_type="application/json")
        assert code == 415
        code, headers, _ = client.raw({"verb": "Identify"}, method="PUT")
        assert code == 405 and "GET" in headers["Allow"]
    finally:
        stop()


def test_cli_serve_runs_waitress_until_stopped(store: Path) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from stook.cli import main; main()",
            "serve",
            "--store",
            str(store),
            "--port",
            "0",
            "--page-size",
            "3",
            "--name",
            "Test Archive",
            "--admin-email",
            "oai@archive.example.org",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.poll() is not None else url
        client = OAIClient(url)
        doc = client.get({"verb": "Identify"})
        assert doc.findtext("oai:Identify/oai:repositoryName", namespaces=NS) == "Test Archive"
        headers, tokens = client.list_all("ListIdentifiers", metadataPrefix="oai_dc")
        assert identifiers(headers) == _ids(12) and len(tokens) == 4
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_cli_serve_reports_usage_errors(tmp_path: Path, store: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["serve", "--store", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "store not found" in result.output
    result = runner.invoke(main, ["serve", "--store", str(store), "--admin-email", "nobody"])
    assert result.exit_code == 2 and "not an email address" in result.output
    result = runner.invoke(main, ["serve", "--help"])
    assert result.exit_code == 0 and "OAI-PMH" in result.output


def test_app_is_a_plain_wsgi_callable(store: Path) -> None:
    app = make_app(store)
    assert isinstance(app, ProviderApp) and callable(app)
