"""The WSGI application: an OAI-PMH 2.0 data provider over one stook store.

Mount it anywhere (``make_app(store)`` is a plain WSGI callable): it answers GET
query strings and ``application/x-www-form-urlencoded`` POST bodies at any path, and
only reads the store (the ledger is opened read-only), so it can run beside writers.
A bag whose metadata cannot be read is left out of ListRecords with one warning on
the ``stook.provider`` logger naming it (GetRecord of it: cannotDisseminateFormat);
one damaged bag never fails a whole list.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote

from stook.errors import StookError, UsageError
from stook.ledger.oai import Item, Repository
from stook.oainames import (
    group_for_set_spec,
    oai_identifier,
    record_identifier,
    set_spec_for_group,
    xml_safe,
)
from stook.provider import DEFAULT_ADMIN_EMAIL
from stook.provider.formats import FORMAT_BY_PREFIX, FORMATS, MetadataRenderer
from stook.provider.lists import LOG, Lists, check_prefix
from stook.provider.protocol import (
    GRANULARITY,
    OAIError,
    Request,
    error_body,
    parse_request,
    response,
    text,
    utc_seconds,
)
from stook.secret import TokenSecret

__all__ = ["DEFAULT_ADMIN_EMAIL", "ProviderApp", "ProviderConfig", "make_app"]

_EMAIL_RE = re.compile(r"\S+@(\S+\.)+\S+")
MAX_BODY = 64 * 1024
StartResponse = Callable[..., Any]


@dataclass(frozen=True)
class ProviderConfig:
    """How the provider describes itself and pages its lists."""

    base_url: str | None = None
    page_size: int = 100
    repository_name: str | None = None
    admin_email: str = DEFAULT_ADMIN_EMAIL
    token_ttl: timedelta = timedelta(hours=24)
    token_secret: bytes | None = None  # default: $STOOK_TOKEN_SECRET, else the store's own (stook.secret)

    def check(self) -> None:
        if not 1 <= self.page_size <= 10_000:
            raise UsageError(f"page size {self.page_size} is out of range; use 1 to 10000")
        if not _EMAIL_RE.fullmatch(self.admin_email):
            raise UsageError(
                f"admin email {self.admin_email!r} is not an email address (name@domain.tld), "
                "which OAI-PMH requires in Identify"
            )
        if self.base_url is not None and not re.fullmatch(r"https?://\S+", self.base_url):
            raise UsageError(f"base URL {self.base_url!r} must be an http:// or https:// URL")
        if self.token_ttl.total_seconds() < 60:
            raise UsageError("resumption tokens must live at least a minute")


def make_app(
    store_path: str | Path,
    *,
    base_url: str | None = None,
    page_size: int = 100,
    repository_name: str | None = None,
    admin_email: str = DEFAULT_ADMIN_EMAIL,
    token_ttl: timedelta = timedelta(hours=24),
    token_secret: bytes | None = None,
) -> ProviderApp:
    """A WSGI application serving the store at ``store_path`` over OAI-PMH 2.0 (read-only).

    ``base_url`` is announced in Identify and every response (default: the URL each
    request came to). Resumption tokens are signed with ``token_secret``, else
    ``$STOOK_TOKEN_SECRET``, else the store's own secret (see :mod:`stook.secret`).
    Raises :class:`stook.errors.StoreError` if the store is missing and
    :class:`stook.errors.UsageError` for bad options.
    """
    config = ProviderConfig(
        base_url=base_url,
        page_size=page_size,
        repository_name=repository_name,
        admin_email=admin_email,
        token_ttl=token_ttl,
        token_secret=token_secret,
    )
    return ProviderApp(store_path, config)


class ProviderApp:
    """WSGI callable; thread-safe (one ledger connection per server thread)."""

    def __init__(self, store_path: str | Path, config: ProviderConfig | None = None) -> None:
        self.config = config or ProviderConfig()
        self.config.check()
        self.repository = Repository(store_path)
        self.root = self.repository.root
        self.renderer = MetadataRenderer(self.root)
        self.repository_name = self.config.repository_name or f"stook store {self.root.resolve().name}"
        self.secret = TokenSecret.for_store(self.root, given=self.config.token_secret)
        if self.secret.warning:
            LOG.warning("%s", self.secret.warning)
        self.lists = Lists(self.repository, self.renderer, self.secret, self.config.page_size,
                           self.config.token_ttl)

    # -- WSGI -------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD", "GET")
        if method not in ("GET", "POST", "HEAD"):
            return self._plain(start_response, "405 Method Not Allowed",
                               f"{method} is not supported; OAI-PMH uses GET or POST\n",
                               [("Allow", "GET, POST, HEAD")])
        try:
            pairs = self._arguments(environ, method)
        except _HttpError as exc:
            return self._plain(start_response, exc.status, exc.message + "\n")
        try:
            if pairs is None:
                not_utf8 = OAIError("badArgument", "the arguments are not UTF-8 percent-encoded")
                body = self.error_response(not_utf8, self._base_url(environ))
            else:
                body = self.handle(pairs, self._base_url(environ))
        except StookError as exc:
            print(f"stook serve: error: {exc}", file=environ.get("wsgi.errors") or sys.stderr)
            return self._plain(start_response, "500 Internal Server Error",
                               f"the repository could not answer: {exc}\n")
        headers = [("Content-Type", "text/xml; charset=utf-8"), ("Content-Length", str(len(body)))]
        start_response("200 OK", headers)
        return [b""] if method == "HEAD" else [body]

    @staticmethod
    def _plain(
        start_response: StartResponse, status: str, message: str, extra: list[tuple[str, str]] | None = None
    ) -> list[bytes]:
        data = message.encode("utf-8")
        start_response(status, [("Content-Type", "text/plain; charset=utf-8"),
                                ("Content-Length", str(len(data))), *(extra or [])])
        return [data]

    @staticmethod
    def _arguments(environ: dict[str, Any], method: str) -> list[tuple[str, str]] | None:
        """The request's arguments in order (None when they are not UTF-8)."""
        if method == "POST":
            ctype = (environ.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
            if ctype != "application/x-www-form-urlencoded":
                raise _HttpError("415 Unsupported Media Type",
                                 "POST OAI-PMH requests as application/x-www-form-urlencoded")
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length < 0 or length > MAX_BODY:
                raise _HttpError("413 Content Too Large", f"a request body must be 0 to {MAX_BODY} bytes")
            raw = environ["wsgi.input"].read(length) if length else b""
        else:
            raw = (environ.get("QUERY_STRING") or "").encode("latin-1", "replace")
        try:
            return parse_qsl(raw.decode("utf-8"), keep_blank_values=True, encoding="utf-8", errors="strict")
        except (UnicodeDecodeError, ValueError):
            return None

    def _base_url(self, environ: dict[str, Any]) -> str:
        if self.config.base_url:
            return self.config.base_url
        host = environ.get("HTTP_HOST") or (
            f"{environ.get('SERVER_NAME', 'localhost')}:{environ.get('SERVER_PORT')}"
        )
        path = quote(environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~")
        return f"{environ.get('wsgi.url_scheme', 'http')}://{host}{path or '/'}"

    # -- protocol ------------------------------------------------------------------------

    def handle(self, pairs: list[tuple[str, str]], base_url: str) -> bytes:
        """The response to one request given its (possibly repeated) arguments."""
        now = datetime.now(timezone.utc)
        request: Request | None = None
        try:
            request = parse_request(pairs)
            verb = getattr(self, "_" + request.verb)
            body: list[str] = verb(request, now, base_url)
        except OAIError as exc:
            return self.error_response(exc, base_url, request, now)
        return response(response_date=utc_seconds(now), base_url=base_url, request=request, body=body)

    @staticmethod
    def error_response(
        error: OAIError, base_url: str, request: Request | None = None, now: datetime | None = None
    ) -> bytes:
        """An OAI-PMH error response (the request element is bare for badVerb/badArgument)."""
        echo = request if (request is not None and error.echo_arguments) else None
        moment = now or datetime.now(timezone.utc)
        return response(response_date=utc_seconds(moment), base_url=base_url, request=echo,
                        body=error_body(error))

    def _Identify(self, request: Request, now: datetime, base_url: str) -> list[str]:
        with self.repository.reading() as conn:
            earliest = self.repository.earliest(conn) or utc_seconds(now)
        return [
            "<Identify>",
            text("repositoryName", xml_safe(self.repository_name)),
            text("baseURL", base_url),
            "<protocolVersion>2.0</protocolVersion>",
            text("adminEmail", self.config.admin_email),
            f"<earliestDatestamp>{earliest}</earliestDatestamp>",
            "<deletedRecord>persistent</deletedRecord>",
            f"<granularity>{GRANULARITY}</granularity>",
            "</Identify>",
        ]

    def _lookup(self, oai_id: str) -> Item:
        try:
            identifier = record_identifier(oai_id)
        except UnicodeDecodeError:
            identifier = None
        item = None
        if identifier is not None:
            with self.repository.reading() as conn:
                item = self.repository.get(conn, identifier)
        if item is None or oai_identifier(item.identifier) != oai_id:
            raise OAIError("idDoesNotExist", f"{oai_id!r} is not an identifier in this repository")
        return item

    def _ListMetadataFormats(self, request: Request, now: datetime, base_url: str) -> list[str]:
        if "identifier" in request.args:
            item = self._lookup(request.args["identifier"])
            if item.bag_path is None:
                raise OAIError("noMetadataFormats",
                               f"{request.args['identifier']!r} was deleted and has no stored metadata")
        parts = ["<ListMetadataFormats>"]
        for fmt in FORMATS:
            parts.append(
                f"<metadataFormat>{text('metadataPrefix', fmt.prefix)}{text('schema', fmt.schema)}"
                f"{text('metadataNamespace', fmt.namespace)}</metadataFormat>"
            )
        parts.append("</ListMetadataFormats>")
        return parts

    def _ListSets(self, request: Request, now: datetime, base_url: str) -> list[str]:
        if "resumptionToken" in request.args:
            raise OAIError("badResumptionToken", "ListSets is answered in one response; this repository "
                           "issued no resumptionToken for it")
        with self.repository.reading() as conn:
            groups = self.repository.groups(conn)
        if not groups:
            raise OAIError("noSetHierarchy",
                           "no record in this repository belongs to a group, so there are no sets")
        specs: dict[str, str] = {}
        for group in groups:
            spec = set_spec_for_group(group)
            specs[spec] = group
            levels = spec.split(":")
            for depth in range(1, len(levels)):  # parents of hierarchical sets are sets too
                parent = ":".join(levels[:depth])
                specs.setdefault(parent, group_for_set_spec(parent))
        parts = ["<ListSets>"]
        for spec in sorted(specs):
            parts.append(f"<set>{text('setSpec', spec)}{text('setName', xml_safe(specs[spec]))}</set>")
        parts.append("</ListSets>")
        return parts

    def _GetRecord(self, request: Request, now: datetime, base_url: str) -> list[str]:
        prefix = request.args["metadataPrefix"]
        try:
            item = self._lookup(request.args["identifier"])
        except OAIError as exc:
            if prefix not in FORMAT_BY_PREFIX:
                exc.errors.append(("cannotDisseminateFormat", f"{prefix!r} is not a metadata format here"))
            raise
        check_prefix(prefix)
        kept: dict[str, bytes] = {}
        if item.bag_path is not None and not item.deleted:
            with self.repository.reading() as conn:
                kept = self.repository.kept_records(conn, [item.bag_path])
        record = self.lists.record(item, prefix, kept, "GetRecord")
        if record is None:
            raise OAIError("cannotDisseminateFormat",
                           f"{request.args['identifier']!r} cannot be disseminated as {prefix} just now: its "
                           "stored bag cannot be read (the repository's log names the problem)")
        return ["<GetRecord>", record, "</GetRecord>"]

    def _ListIdentifiers(self, request: Request, now: datetime, base_url: str) -> list[str]:
        return self.lists.respond(request, now, with_metadata=False)

    def _ListRecords(self, request: Request, now: datetime, base_url: str) -> list[str]:
        return self.lists.respond(request, now, with_metadata=True)

    def token_key(self) -> bytes:
        """The key resumption tokens are signed with now (for tools and tests that make tokens)."""
        return self.lists.token_key()


class _HttpError(Exception):
    def __init__(self, status: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
