"""Helpers for the provider tests: stores with controlled datestamps, a validating client.

Every response fetched through :class:`OAIClient` is validated against the official
OAI-PMH 2.0 and oai_dc XSDs plus stook's own ``stook-record-v1.xsd`` (the ``<metadata>``
wildcard is strict, so the native format's schema must be loaded too).
"""

from __future__ import annotations

import functools
import socket
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import requests
from lxml import etree

from stook.bagwriter import PayloadItem
from stook.ledger import LEDGER_FILE
from stook.provider import ProviderApp, native_schema_path, serve_in_thread
from stook.provider.formats import NATIVE_SCHEMA_URL
from stook.store import BagRequest, Store

from . import xsd

NS = {
    "oai": "http://www.openarchives.org/OAI/2.0/",
    "oai_dc": "http://www.openarchives.org/OAI/2.0/oai_dc/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "stook": "https://stook.dev/ns/record/v1",
}

_WRAPPER = f"""<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/"
             schemaLocation="http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"/>
  <xs:import namespace="http://www.openarchives.org/OAI/2.0/oai_dc/"
             schemaLocation="http://www.openarchives.org/OAI/2.0/oai_dc.xsd"/>
  <xs:import namespace="https://stook.dev/ns/record/v1" schemaLocation="{NATIVE_SCHEMA_URL}"/>
</xs:schema>
""".encode()


class _Resolver(xsd._LocalXsdResolver):
    """The shared offline resolver, plus stook's own schema from the package."""

    def resolve(self, system_url, public_id, context):  # type: ignore[no-untyped-def]
        if system_url == NATIVE_SCHEMA_URL or (system_url or "").endswith(native_schema_path().name):
            return self.resolve_filename(str(native_schema_path()), context)
        return super().resolve(system_url, public_id, context)


@functools.lru_cache(maxsize=1)
def schema() -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    parser.resolvers.add(_Resolver())
    return etree.XMLSchema(etree.fromstring(_WRAPPER, parser, base_url=str(xsd.XSD_DIR / "_stook.xsd")))


def schema_errors(body: bytes) -> list[str]:
    """Errors of one response against OAI-PMH + oai_dc + stook-record-v1 (``[]`` if valid)."""
    doc = etree.fromstring(body, etree.XMLParser(no_network=True, resolve_entities=False, huge_tree=True))
    s = schema()
    if s.validate(doc):
        return []
    return [f"line {e.line}: {e.message}" for e in s.error_log]


def assert_valid(body: bytes) -> etree._Element:
    """Parse a response, failing the test unless it is schema-valid (and also valid for xsd.py
    when it carries no stook-format metadata)."""
    errors = schema_errors(body)
    assert errors == [], f"invalid OAI-PMH response: {errors[:5]}\n{body[:2000]!r}"
    if b"https://stook.dev/ns/record/v1" not in body:
        assert xsd.validate_oai_response(body) == []
    return etree.fromstring(body)


def record_dict(
    i: int, *, groups: Sequence[str] = (), title: str | None = None, **extra: Any
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "identifier": f"test:rec-{i:04d}",
        "title": title or f"Test record {i}",
        "record_source": {"method": "manual", "set_specs": list(groups)} if groups else {"method": "manual"},
        "descriptions": [{"value": f"Description of record {i}", "lang": "en"}],
    }
    record.update(extra)
    return record


def add_records(
    store_path: Path,
    records: Iterable[dict[str, Any]],
    *,
    payload: dict[str, Sequence[PayloadItem]] | None = None,
) -> list[Any]:
    """Bag records into a store (created when missing); returns the AddResults."""
    with Store.open(store_path, create=True) as store:
        return store.add_many(
            [BagRequest(record=r, payload=(payload or {}).get(r["identifier"], ())) for r in records]
        )


def ledger(store_path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(store_path / LEDGER_FILE), isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def set_created(store_path: Path, identifier: str, created: str, version: int | None = None) -> None:
    """Give a stored version a chosen entry time (tests need known datestamps)."""
    with ledger(store_path) as conn:
        if version is None:
            conn.execute("UPDATE bags SET created=? WHERE identifier=?", (created, identifier))
        else:
            conn.execute(
                "UPDATE bags SET created=? WHERE identifier=? AND version=?", (created, identifier, version)
            )
    conn.close()


def set_created_many(store_path: Path, created: dict[str, str]) -> None:
    """:func:`set_created` for many identifiers (latest versions) in one transaction."""
    conn = ledger(store_path)
    conn.execute("BEGIN")
    conn.executemany("UPDATE bags SET created=? WHERE identifier=?", [(c, i) for i, c in created.items()])
    conn.execute("COMMIT")
    conn.close()


def add_tombstone(store_path: Path, identifier: str, deleted_at: str) -> None:
    from stook.names import identifier_key

    conn = ledger(store_path)
    conn.execute(
        "INSERT OR REPLACE INTO tombstones (id_key, identifier, datestamp, deleted_at, event_uuid)"
        " VALUES (?,?,?,?,?)",
        (identifier_key(identifier), identifier, None, deleted_at, f"uuid-{identifier}"),
    )
    conn.close()


class OAIClient:
    """Talks to a provider (a WSGI app in-process, or a URL over HTTP); validates every response."""

    def __init__(self, target: ProviderApp | str, timeout: float = 30) -> None:
        self.target = target
        self.timeout = timeout
        self.session = requests.Session() if isinstance(target, str) else None

    def raw(
        self,
        pairs: Sequence[tuple[str, str]] | dict[str, str] | str,
        *,
        method: str = "GET",
        content_type: str = "application/x-www-form-urlencoded",
    ) -> tuple[int, dict[str, str], bytes]:
        """Status, headers and body of one request (``pairs`` as a str is sent as the raw query)."""
        if isinstance(pairs, str):
            query = pairs
        else:
            query = urlencode(list(pairs.items()) if isinstance(pairs, dict) else list(pairs))
        if isinstance(self.target, str):
            assert self.session is not None
            if method == "GET":
                r = self.session.get(f"{self.target}?{query}", timeout=self.timeout)
            else:
                r = self.session.request(
                    method,
                    self.target,
                    data=query.encode(),
                    headers={"Content-Type": content_type},
                    timeout=self.timeout,
                )
            return r.status_code, dict(r.headers), r.content
        import io

        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "QUERY_STRING": query if method == "GET" else "",
            "HTTP_HOST": "provider.test",
            "SCRIPT_NAME": "",
            "PATH_INFO": "/oai",
            "wsgi.url_scheme": "http",
            "wsgi.input": io.BytesIO(query.encode() if method != "GET" else b""),
            "CONTENT_LENGTH": str(len(query)) if method != "GET" else "",
            "CONTENT_TYPE": content_type if method != "GET" else "",
        }
        status: list[str] = []
        headers: list[tuple[str, str]] = []

        def start_response(s: str, h: list[tuple[str, str]]) -> None:
            status.append(s)
            headers.extend(h)

        body = b"".join(self.target(environ, start_response))
        return int(status[0].split()[0]), dict(headers), body

    def get(self, pairs: Sequence[tuple[str, str]] | dict[str, str], **kw: Any) -> etree._Element:
        code, headers, body = self.raw(pairs, **kw)
        assert code == 200, body
        assert headers["Content-Type"].startswith("text/xml")
        return assert_valid(body)

    def error_codes(self, pairs: Sequence[tuple[str, str]] | dict[str, str], **kw: Any) -> list[str]:
        doc = self.get(pairs, **kw)
        return [e.get("code") for e in doc.findall("oai:error", NS)]

    def list_all(self, verb: str, **args: str) -> tuple[list[etree._Element], list[etree._Element]]:
        """Every item of a list (records or headers) and every resumptionToken element seen."""
        items: list[etree._Element] = []
        tokens: list[etree._Element] = []
        doc = self.get({"verb": verb, **args})
        item_path = "oai:record" if verb == "ListRecords" else "oai:header"
        while True:
            body = doc.find(f"oai:{verb}", NS)
            assert body is not None, etree.tostring(doc)[:500]
            items.extend(body.findall(item_path, NS))
            token = body.find("oai:resumptionToken", NS)
            if token is None or not (token.text or "").strip():
                if token is not None:
                    tokens.append(token)
                return items, tokens
            tokens.append(token)
            doc = self.get({"verb": verb, "resumptionToken": token.text})


def header_of(item: etree._Element) -> etree._Element:
    return item if item.tag == f"{{{NS['oai']}}}header" else item.find("oai:header", NS)


def identifiers(items: Iterable[etree._Element]) -> list[str]:
    return [header_of(i).findtext("oai:identifier", namespaces=NS) for i in items]


@contextmanager
def served(store: Path, **options: Any) -> Iterator[str]:
    """``serve_in_thread`` as a context manager: the base URL, the server stopped after."""
    url, stop = serve_in_thread(store, **options)
    try:
        yield url
    finally:
        stop()


def port_of(url: str) -> int:
    return int(url.split(":")[2].split("/")[0])


def first_token(client: OAIClient, verb: str = "ListRecords", **args: str) -> str:
    """The resumptionToken of the first page of an oai_dc list."""
    doc = client.get({"verb": verb, "metadataPrefix": "oai_dc", **args})
    token = doc.findtext(f"oai:{verb}/oai:resumptionToken", namespaces=NS)
    assert token
    return token


class SlowClients:
    """Slowloris: sockets that send a request one header line at a time and never finish it.

    Each sends a line every ``interval`` seconds; a socket the server closes is opened
    again at once (an attacker keeps up the pressure). ``open_count()`` is how many are
    connected now; ``reconnects`` how many times the server cut one off.
    """

    def __init__(self, host: str, port: int, count: int, interval: float = 0.5) -> None:
        self.address = (host, port)
        self.count = count
        self.interval = interval
        self.sockets: list[socket.socket | None] = [None] * count
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slowloris", daemon=True)

    def _open(self) -> socket.socket | None:
        try:
            sock = socket.create_connection(self.address, timeout=5)
            sock.settimeout(1)
            sock.sendall(b"GET /oai?verb=Identify HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            return sock
        except OSError:
            return None

    def __enter__(self) -> SlowClients:
        for i in range(self.count):
            self.sockets[i] = self._open()
        self._thread.start()
        return self

    def _run(self) -> None:
        n = 0
        while not self._stop.wait(self.interval):
            for i, sock in enumerate(self.sockets):
                if self._stop.is_set():
                    return
                n += 1
                try:
                    if sock is None:
                        raise OSError("not connected")
                    sock.sendall(f"X-Slow-{n}: {i}\r\n".encode())
                except OSError:
                    if sock is not None:
                        sock.close()
                        self.reconnects += 1
                    self.sockets[i] = self._open()

    def open_count(self) -> int:
        """Sockets still connected (the server has not closed them)."""
        alive = 0
        for sock in list(self.sockets):
            if sock is None:
                continue
            try:
                sock.setblocking(False)
                try:
                    data = sock.recv(1, socket.MSG_PEEK)
                    alive += 1 if data else 0
                except BlockingIOError:
                    alive += 1
                finally:
                    sock.settimeout(1)
            except OSError:
                pass
        return alive

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for sock in self.sockets:
            if sock is not None:
                sock.close()
