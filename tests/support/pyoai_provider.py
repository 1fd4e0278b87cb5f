"""An independent OAI-PMH 2.0 provider built on the ``oaipmh`` (pyoai) package's server.

stook's harvester must interoperate with providers it did not write, so this one lets
the third-party ``oaipmh.server.BatchingServer`` produce every byte of the protocol;
we only supply the data (an ``IBatchingOAI`` implementation over a mutable
:class:`RecordStore`) and a WSGI front end.

Run standalone for benchmarks (serves until killed, first stdout line is the base URL)::

    python tests/support/pyoai_provider.py --records 100000 --batch 100 --port 0
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

if __name__ == "__main__" and not __package__:  # pragma: no cover - script mode (PEP 366)
    # as ``support``, the name the tests use: a distribution may install a top-level
    # ``tests`` package of its own (Pairtree, which ocfl-py needs, does), shadowing ours
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    __package__ = "support"

from lxml.etree import SubElement
from oaipmh import common, error
from oaipmh.metadata import MetadataRegistry
from oaipmh.server import NS_DC, NS_OAIDC, NS_XSI, BatchingServer, oai_dc_writer

from .synthetic import (
    SECONDS_GRANULARITY,
    RecordStore,
    SyntheticRecord,
    make_records,
    set_name,
)

__all__ = ["PyoaiProvider", "main"]

UTC = timezone.utc
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_OAI_DC_FORMAT = (
    "oai_dc",
    "http://www.openarchives.org/OAI/2.0/oai_dc.xsd",
    "http://www.openarchives.org/OAI/2.0/oai_dc/",
)
StartResponse = Callable[..., Any]


class _RecordMetadata(common.Metadata):
    """pyoai Metadata that also carries the ordered, language-tagged DC statements."""

    def __init__(self, record: SyntheticRecord) -> None:
        super().__init__(None, record.as_map())
        self.record = record


def _ordered_oai_dc_writer(element: Any, metadata: common.Metadata) -> None:
    """Like ``oaipmh.server.oai_dc_writer`` but keeps value order and ``xml:lang``.

    The stock writer regroups values by element and drops language tags, so round-trip
    tests of repeated/translated titles would be testing pyoai, not stook.
    """
    if not isinstance(metadata, _RecordMetadata):
        oai_dc_writer(element, metadata)
        return
    e_dc = SubElement(element, f"{{{NS_OAIDC}}}dc", nsmap={"oai_dc": NS_OAIDC, "dc": NS_DC, "xsi": NS_XSI})
    # The stock writer pairs the *dc* namespace with oai_dc.xsd here; we pair it correctly.
    e_dc.set(f"{{{NS_XSI}}}schemaLocation", f"{NS_OAIDC} http://www.openarchives.org/OAI/2.0/oai_dc.xsd")
    for name, value, lang in metadata.record.dc:
        e = SubElement(e_dc, f"{{{NS_DC}}}{name}")
        e.text = value
        if lang:
            e.set(_XML_LANG, lang)


def _naive(dt: datetime) -> datetime:
    """pyoai asserts timezone-naive UTC datetimes."""
    return dt.astimezone(UTC).replace(tzinfo=None) if dt.tzinfo else dt


def _aware(dt: datetime | None) -> datetime | None:
    return None if dt is None else dt.replace(tzinfo=UTC)


class PyoaiProvider:
    """``IBatchingOAI`` data source over a mutable record list, served by pyoai.

    ``provider.server`` is the ``oaipmh.server.BatchingServer``; the provider object
    itself is the WSGI app. ``update``/``delete``/``add`` change the data between
    harvests; each bumps the record's datestamp, like a real repository.
    """

    def __init__(
        self,
        records: Iterable[SyntheticRecord] = (),
        *,
        batch_size: int = 100,
        repository_name: str = "pyoai test provider",
        base_url: str = "http://127.0.0.1/oai",
        admin_email: str = "archivist@example.org",
        stock_dc_writer: bool = False,
        toolkit_description: bool = False,
    ) -> None:
        self.store = RecordStore(records)
        self.batch_size = batch_size
        self.repository_name = repository_name
        self.base_url = base_url
        self.admin_email = admin_email
        self.toolkit_description = toolkit_description
        registry = MetadataRegistry()
        registry.registerWriter("oai_dc", oai_dc_writer if stock_dc_writer else _ordered_oai_dc_writer)
        self.server = BatchingServer(self, metadata_registry=registry, resumption_batch_size=batch_size)
        self._identify: tuple[int, str, common.Identify] | None = None

    @classmethod
    def synthetic(cls, n: int, *, deleted_every: int = 0, seed: int = 0, **kwargs: Any) -> PyoaiProvider:
        """Provider over ``make_records(n, ...)`` (lazy Dublin Core, cheap for 100k)."""
        return cls(make_records(n, deleted_every=deleted_every, seed=seed, lazy=True), **kwargs)

    # -- mutation (delegates to the store) -------------------------------------------

    def update(self, identifier: str, **changes: Any) -> SyntheticRecord:
        """Change a record (fields or DC elements) and bump its datestamp."""
        return self.store.update(identifier, **changes)

    def delete(self, identifier: str, **kwargs: Any) -> SyntheticRecord:
        """Mark a record deleted (persistent) with a new datestamp."""
        return self.store.delete(identifier, **kwargs)

    def add(self, record: SyntheticRecord | None = None, **fields: Any) -> SyntheticRecord:
        """Append a record (given, or generated with ``fields`` overrides)."""
        return self.store.add(record, **fields)

    # -- IBatchingOAI -----------------------------------------------------------------

    def identify(self) -> common.Identify:
        """Cached per store version and base URL: pyoai calls this for every envelope."""
        cached = self._identify
        if cached and cached[0] == self.store.version and cached[1] == self.base_url:
            return cached[2]
        ident = common.Identify(
            repositoryName=self.repository_name,
            baseURL=self.base_url,
            protocolVersion="2.0",
            adminEmails=[self.admin_email],
            earliestDatestamp=_naive(self.store.earliest_datestamp()),
            deletedRecord="persistent",
            granularity=SECONDS_GRANULARITY,
            compression=["identity"],
            toolkit_description=self.toolkit_description,
        )
        self._identify = (self.store.version, self.base_url, ident)
        return ident

    def listMetadataFormats(self, identifier: str | None = None) -> list[tuple[str, str, str]]:
        if identifier is not None and self.store.get(identifier) is None:
            raise error.IdDoesNotExistError(f"Unknown identifier: {identifier}")
        return [_OAI_DC_FORMAT]

    def listSets(self, cursor: int = 0, batch_size: int = 10) -> list[tuple[str, str, None]]:
        specs = self.store.set_specs()
        if not specs:
            raise error.NoSetHierarchyError("This repository has no sets.")
        return [(s, set_name(s), None) for s in specs[cursor : cursor + batch_size]]

    def _page(
        self,
        metadataPrefix: str,
        set: str | None,
        from_: datetime | None,
        until: datetime | None,
        cursor: int,
        batch_size: int,
    ) -> Sequence[SyntheticRecord]:
        if metadataPrefix != "oai_dc":
            raise error.CannotDisseminateFormatError(f"Unsupported format: {metadataPrefix}")
        cursor = int(cursor)
        batch_size = int(batch_size)
        selected = self.store.select(set_spec=set, from_=_aware(from_), until=_aware(until))
        return selected[cursor : cursor + batch_size]

    @staticmethod
    def _header(record: SyntheticRecord) -> common.Header:
        return common.Header(
            None, record.identifier, _naive(record.datestamp), list(record.sets), record.deleted
        )

    def listIdentifiers(
        self,
        metadataPrefix: str,
        set: str | None = None,
        from_: datetime | None = None,
        until: datetime | None = None,
        cursor: int = 0,
        batch_size: int = 10,
    ) -> list[common.Header]:
        page = self._page(metadataPrefix, set, from_, until, cursor, batch_size)
        return [self._header(r) for r in page]

    def listRecords(
        self,
        metadataPrefix: str,
        set: str | None = None,
        from_: datetime | None = None,
        until: datetime | None = None,
        cursor: int = 0,
        batch_size: int = 10,
    ) -> Iterator[tuple[common.Header, _RecordMetadata | None, None]]:
        page = self._page(metadataPrefix, set, from_, until, cursor, batch_size)
        return ((self._header(r), None if r.deleted else _RecordMetadata(r), None) for r in page)

    def getRecord(
        self, metadataPrefix: str, identifier: str
    ) -> tuple[common.Header, _RecordMetadata | None, None]:
        record = self.store.get(identifier)
        if record is None:
            raise error.IdDoesNotExistError(f"Unknown identifier: {identifier}")
        if metadataPrefix != "oai_dc":
            raise error.CannotDisseminateFormatError(f"Unsupported format: {metadataPrefix}")
        return self._header(record), None if record.deleted else _RecordMetadata(record), None

    # -- WSGI ---------------------------------------------------------------------------

    def handle(self, args: dict[str, list[str]]) -> bytes:
        """Answer one request given parsed (possibly repeated) arguments."""
        repeated = sorted(k for k, v in args.items() if len(v) > 1)
        if repeated:
            exc = error.BadArgumentError(f"Repeated argument(s): {', '.join(repeated)}")
            return self.server.handleException({}, (type(exc), exc, None))
        return self.server.handleRequest({k: v[0] for k, v in args.items()})

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        """WSGI entry point: GET query string or form-encoded POST body -> pyoai."""
        host = environ.get("HTTP_HOST") or f"{environ['SERVER_NAME']}:{environ['SERVER_PORT']}"
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        self.base_url = f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path}"
        query = environ.get("QUERY_STRING", "")
        if environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            query = environ["wsgi.input"].read(length).decode("utf-8", "replace")
        args = parse_qs(query, keep_blank_values=True)
        body = self.handle(args)
        start_response(
            "200 OK",
            [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))],
        )
        return [body]


def main(argv: Sequence[str] | None = None) -> int:
    """Serve synthetic records until killed; print the base URL first (for benchmarks)."""
    import argparse
    import contextlib
    import threading

    from .servers import serve_wsgi

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--deleted-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--threads", type=int, default=4)
    opts = parser.parse_args(argv)
    provider = PyoaiProvider.synthetic(
        opts.records, deleted_every=opts.deleted_every, seed=opts.seed, batch_size=opts.batch
    )
    with serve_wsgi(provider, host=opts.host, port=opts.port, threads=opts.threads) as url:
        print(url, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
