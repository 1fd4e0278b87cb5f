"""stook's own fault-injecting OAI-PMH 2.0 provider, for harvester robustness tests.

A small, spec-following provider (Identify, ListMetadataFormats, ListSets, ListRecords,
ListIdentifiers, GetRecord; oai_dc; resumption tokens; from/until/set; persistent
deletions) plus a :class:`FaultPlan` that makes chosen requests misbehave: HTTP 503 with
Retry-After (seconds or HTTP-date), 500, 429, dropped connections, slow answers, XML
with illegal characters, truncated bodies, looping or expired resumption tokens,
noRecordsMatch and arbitrary OAI errors.

It runs on :class:`http.server.ThreadingHTTPServer` rather than WSGI because a WSGI app
cannot close the client socket without sending a response, which ``drop_connection``
needs. Every request is logged in :attr:`FaultyProvider.requests`.

Hostile behaviours (:mod:`support.hostile`): a body or whole response trickled a byte at
a time, a gzip bomb, redirects (anywhere, in a loop, without end, or every request to a
mirror with :attr:`FaultyProvider.redirect_all_to`), and any page rewritten by
:attr:`FaultyProvider.rewrite` (internal DTD entities, invalid UTF-8...).

Resumption tokens are self-contained (format, set, from, until, cursor), so a harvester
that saves a token and presents it to a restarted provider continues where it left off.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import email.utils
import json
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from . import hostile
from .synthetic import (
    DAY_GRANULARITY,
    SECONDS_GRANULARITY,
    RecordStore,
    SyntheticRecord,
    dc_xml_fragment,
    format_datestamp,
    make_records,
    parse_datestamp,
    set_name,
)

__all__ = [
    "Fault",
    "FaultPlan",
    "FaultyProvider",
    "RequestLog",
    "decode_token",
    "drop_connection",
    "encode_token",
    "expire_token",
    "compressed",
    "gzip_bomb",
    "http_429",
    "http_500",
    "http_503_retry_after_date",
    "http_503_retry_after_seconds",
    "illegal_chars",
    "no_records",
    "oai_error",
    "redirect",
    "redirect_endless",
    "redirect_loop",
    "repeat_token",
    "slow",
    "trickle",
    "unparseable",
]

UTC = timezone.utc
NS_OAI = "http://www.openarchives.org/OAI/2.0/"
NS_XSI = "http://www.w3.org/2001/XMLSchema-instance"
OAI_SCHEMA = "http://www.openarchives.org/OAI/2.0/OAI-PMH.xsd"
ILLEGAL_CHARS = "\x01\x0b\x1f"
LIST_VERBS = frozenset({"ListRecords", "ListIdentifiers"})
_ARGS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    # verb: (required, optional); resumptionToken is exclusive where allowed
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset({"resumptionToken"})),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListRecords": (
        frozenset({"metadataPrefix"}),
        frozenset({"from", "until", "set", "resumptionToken"}),
    ),
    "ListIdentifiers": (
        frozenset({"metadataPrefix"}),
        frozenset({"from", "until", "set", "resumptionToken"}),
    ),
}


# ---------------------------------------------------------------------------
# Faults
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Fault:
    """One misbehaviour. Build with the factory functions below, not directly."""

    kind: str
    seconds: float = 0.0
    code: str = ""
    message: str = ""

    def applies_to(self, verb: str | None, has_token: bool) -> bool:
        """List-only faults wait in the plan until a request they can affect arrives."""
        if self.kind == "expire_token":
            return has_token
        if self.kind in ("repeat_token", "no_records"):
            return verb in LIST_VERBS
        if self.kind == "illegal_chars":
            return verb in ("ListRecords", "GetRecord")
        return True


def http_503_retry_after_seconds(n: int) -> Fault:
    """503 Service Unavailable with ``Retry-After: n`` (delta-seconds)."""
    return Fault("http_503_retry_after_seconds", seconds=n)


def http_503_retry_after_date(seconds_from_now: int) -> Fault:
    """503 with ``Retry-After`` as an HTTP-date ``seconds_from_now`` in the future."""
    return Fault("http_503_retry_after_date", seconds=seconds_from_now)


def http_500() -> Fault:
    """500 Internal Server Error, text body."""
    return Fault("http_500")


def http_429(retry_after: int | None = 1) -> Fault:
    """429 Too Many Requests, with ``Retry-After`` unless ``retry_after`` is None."""
    return Fault("http_429", seconds=-1 if retry_after is None else retry_after)


def drop_connection() -> Fault:
    """Close the socket without sending a single byte of response."""
    return Fault("drop_connection")


def slow(seconds: float) -> Fault:
    """Sleep ``seconds`` before answering normally (to trip client timeouts)."""
    return Fault("slow", seconds=seconds)


def illegal_chars() -> Fault:
    """Put XML-1.0-illegal \\x01 \\x0b \\x1f into the first live record's first title."""
    return Fault("illegal_chars")


def unparseable() -> Fault:
    """200 text/xml whose body is the real answer truncated mid-element."""
    return Fault("unparseable")


def repeat_token() -> Fault:
    """The list page carries the same resumptionToken the client sent (a loop)."""
    return Fault("repeat_token")


def expire_token() -> Fault:
    """The next request bearing a resumptionToken gets OAI ``badResumptionToken``."""
    return Fault("expire_token")


def no_records() -> Fault:
    """The next list request gets OAI ``noRecordsMatch``."""
    return Fault("no_records")


def oai_error(code: str, message: str = "") -> Fault:
    """A 200 response carrying ``<error code=code>message</error>``."""
    return Fault("oai_error", code=code, message=message or f"injected {code}")


def trickle(interval: float, *, headers: bool = False) -> Fault:
    """The normal answer, one byte every ``interval`` seconds (status line and headers too
    with ``headers=True``): each read gets data, only a whole-response deadline stops it."""
    return Fault("trickle", seconds=interval, code="headers" if headers else "")


def gzip_bomb(decoded_mib: int = 4096) -> Fault:
    """200 with ``Content-Encoding: gzip``: about ``decoded_mib`` KiB that inflate to MiB."""
    return Fault("gzip_bomb", seconds=decoded_mib)


def redirect(location: str, status: int = 302) -> Fault:
    """A redirect to ``location`` (any scheme); ``?`` at its end appends the request's query."""
    return Fault("redirect", code=str(status), message=location)


def compressed(encoding: str) -> Fault:
    """The normal answer with ``Content-Encoding: encoding`` (gzip, deflate, raw-deflate for
    the headerless deflate some servers send, or gzip-members for a multi-member stream)."""
    return Fault("compressed", code=encoding)


def redirect_loop() -> Fault:
    """A redirect to the very URL requested."""
    return Fault("redirect_loop")


def redirect_endless() -> Fault:
    """A redirect to the requested URL plus ``&hop=N``: a new URL every time, without end."""
    return Fault("redirect_endless")


class FaultPlan:
    """Which request gets which fault.

    ``queue`` is consumed one entry per request in arrival order; ``None`` means "serve
    this one normally". A list-only fault (``expire_token``, ``repeat_token``,
    ``no_records``, ``illegal_chars``) at the head waits until a request it can affect
    arrives; other requests pass untouched meanwhile. ``pages`` maps a 1-based list
    page number (ListRecords/ListIdentifiers; page = cursor // batch_size + 1) to one
    fault or a sequence of faults consumed by successive requests for that page, so
    ``{3: http_503_retry_after_seconds(1)}`` fails page 3 once and serves the retry.
    """

    def __init__(
        self,
        queue: Iterable[Fault | None] = (),
        *,
        pages: Mapping[int, Fault | Sequence[Fault]] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._queue: deque[Fault | None] = deque(queue)
        self._pages: dict[int, deque[Fault]] = {}
        for page, faults in (pages or {}).items():
            self.at_page(page, *([faults] if isinstance(faults, Fault) else faults))

    def push(self, *faults: Fault | None) -> None:
        """Append to the request queue."""
        with self._lock:
            self._queue.extend(faults)

    def at_page(self, page: int, *faults: Fault) -> None:
        """Add faults for successive requests of list page ``page`` (1-based)."""
        with self._lock:
            self._pages.setdefault(page, deque()).extend(faults)

    @property
    def pending(self) -> int:
        """Faults not yet applied (queue entries including ``None`` + page faults)."""
        with self._lock:
            return len(self._queue) + sum(len(q) for q in self._pages.values())

    def take(self, verb: str | None, has_token: bool, page: int | None) -> Fault | None:
        """Pop the fault for this request, if any."""
        with self._lock:
            if self._queue:
                head = self._queue[0]
                if head is None:
                    self._queue.popleft()
                    return None
                if head.applies_to(verb, has_token):
                    return self._queue.popleft()
            if page is not None and verb in LIST_VERBS:
                faults = self._pages.get(page)
                if faults and faults[0].applies_to(verb, has_token):
                    return faults.popleft()
            return None


@dataclass
class RequestLog:
    """What a client asked for and what it got (``time`` is ``time.monotonic()``)."""

    method: str
    path: str
    args: dict[str, str]
    time: float
    wall: datetime
    page: int | None = None
    fault: str | None = None
    status: int | None = None
    raw_args: dict[str, list[str]] = field(default_factory=dict)

    @property
    def verb(self) -> str | None:
        return self.args.get("verb")


# ---------------------------------------------------------------------------
# Resumption tokens
# ---------------------------------------------------------------------------


def encode_token(state: Mapping[str, Any]) -> str:
    """Opaque, URL-safe, self-contained token (survives a provider restart)."""
    raw = json.dumps(dict(state), separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str) -> dict[str, Any]:
    """Inverse of :func:`encode_token`; raises ValueError for anything else."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        state = json.loads(raw)
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"undecodable resumptionToken {token!r}") from exc
    if not isinstance(state, dict) or not isinstance(state.get("cursor"), int):
        raise ValueError(f"malformed resumptionToken {token!r}")
    if not isinstance(state.get("metadataPrefix"), str) or state["cursor"] < 0:
        raise ValueError(f"malformed resumptionToken {token!r}")
    return state


# ---------------------------------------------------------------------------
# Provider
# ---------------------------------------------------------------------------


class _OAIError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _esc(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    return _esc(value).replace('"', "&quot;")


class _QuietServer(ThreadingHTTPServer):
    """A client that hung up on purpose (a harvester giving up on a trickle or a bomb) is
    not an error worth a traceback on stderr, which a CliRunner in progress would capture."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)


class FaultyProvider:
    """Minimal OAI-PMH 2.0 provider over a mutable record store, with a fault plan.

    ``plan`` may be a :class:`FaultPlan` or an iterable of faults (a request queue).
    """

    def __init__(
        self,
        records: Iterable[SyntheticRecord] = (),
        *,
        plan: FaultPlan | Iterable[Fault | None] | None = None,
        batch_size: int = 50,
        granularity: str = SECONDS_GRANULARITY,
        repository_name: str = "stook faulty test provider",
        admin_email: str = "archivist@example.org",
        deleted_record: str = "persistent",
    ) -> None:
        if granularity not in (DAY_GRANULARITY, SECONDS_GRANULARITY):
            raise ValueError(f"bad granularity {granularity!r}")
        self.store = RecordStore(records)
        self.plan = plan if isinstance(plan, FaultPlan) else FaultPlan(plan or ())
        self.batch_size = batch_size
        self.granularity = granularity
        self.repository_name = repository_name
        self.admin_email = admin_email
        self.deleted_record = deleted_record
        self.base_url = "http://127.0.0.1/oai"
        #: every request is answered with a 307 to this base URL (plus the query), if set
        self.redirect_all_to: str | None = None
        #: applied to every ListRecords/GetRecord body served normally, if set
        self.rewrite: Any = None
        self.requests: list[RequestLog] = []
        self._log_lock = threading.Lock()
        self._closing = threading.Event()

    @classmethod
    def synthetic(cls, n: int, *, deleted_every: int = 0, seed: int = 0, **kwargs: Any) -> FaultyProvider:
        """Provider over ``make_records(n, ...)``."""
        return cls(make_records(n, deleted_every=deleted_every, seed=seed, lazy=True), **kwargs)

    # -- data mutation ----------------------------------------------------------------

    def update(self, identifier: str, **changes: Any) -> SyntheticRecord:
        """Change a record (fields or DC elements) and bump its datestamp."""
        return self.store.update(identifier, **changes)

    def delete(self, identifier: str, **kwargs: Any) -> SyntheticRecord:
        """Mark a record deleted (persistent) with a new datestamp."""
        return self.store.delete(identifier, **kwargs)

    def add(self, record: SyntheticRecord | None = None, **fields: Any) -> SyntheticRecord:
        """Append a record (given, or generated with ``fields`` overrides)."""
        return self.store.add(record, **fields)

    # -- request log helpers ---------------------------------------------------------------

    def requests_for(self, verb: str) -> list[RequestLog]:
        """Logged requests with this verb, in arrival order."""
        with self._log_lock:
            return [r for r in self.requests if r.verb == verb]

    def clear_requests(self) -> None:
        """Forget logged requests (e.g. between two harvests in one test)."""
        with self._log_lock:
            self.requests.clear()

    # -- protocol ---------------------------------------------------------------------

    def _page_of(self, verb: str | None, token: str | None) -> int | None:
        if verb not in LIST_VERBS:
            return None
        if token is None:
            return 1
        try:
            return decode_token(token)["cursor"] // self.batch_size + 1
        except ValueError:
            return None

    def respond(self, args: dict[str, list[str]], fault: Fault | None = None) -> bytes:
        """The OAI-PMH response body for parsed arguments (a fault may alter it)."""
        single = {k: v[0] for k, v in args.items()}
        try:
            if fault is not None and fault.kind == "oai_error":
                raise _OAIError(fault.code, fault.message)
            repeated = sorted(k for k, v in args.items() if len(v) > 1)
            verb = single.get("verb")
            if verb not in _ARGS:
                raise _OAIError("badVerb", f"Illegal or missing verb: {verb!r}")
            if repeated:
                raise _OAIError("badArgument", f"Repeated argument(s): {', '.join(repeated)}")
            self._check_args(verb, single)
            if fault is not None and fault.kind == "expire_token":
                raise _OAIError("badResumptionToken", "The resumptionToken has expired.")
            if fault is not None and fault.kind == "no_records":
                raise _OAIError("noRecordsMatch", "No records match (injected).")
            body = getattr(self, f"_{verb}")(single, fault)
            return self._envelope(self._request_element(single), body)
        except _OAIError as exc:
            # badVerb/badArgument responses must not echo the arguments (spec 3.2)
            echo = exc.code not in ("badVerb", "badArgument")
            request = self._request_element(single if echo else {})
            body = f'<error code="{_attr(exc.code)}">{_esc(exc.message)}</error>'
            return self._envelope(request, body)

    def _check_args(self, verb: str, args: dict[str, str]) -> None:
        required, optional = _ARGS[verb]
        given = set(args) - {"verb"}
        unknown = given - required - optional
        if unknown:
            raise _OAIError("badArgument", f"Illegal argument(s): {', '.join(sorted(unknown))}")
        if "resumptionToken" in given:
            if given != {"resumptionToken"}:
                raise _OAIError("badArgument", "resumptionToken is an exclusive argument.")
            return
        missing = required - given
        if missing:
            raise _OAIError("badArgument", f"Missing argument(s): {', '.join(sorted(missing))}")

    def _request_element(self, args: Mapping[str, str]) -> str:
        attrs = "".join(f' {k}="{_attr(v)}"' for k, v in args.items())
        return f"<request{attrs}>{_esc(self.base_url)}</request>"

    def _envelope(self, request: str, body: str) -> bytes:
        now = format_datestamp(datetime.now(UTC), SECONDS_GRANULARITY)
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<OAI-PMH xmlns="{NS_OAI}" xmlns:xsi="{NS_XSI}" '
            f'xsi:schemaLocation="{NS_OAI} {OAI_SCHEMA}">'
            f"<responseDate>{now}</responseDate>{request}{body}</OAI-PMH>\n"
        ).encode()

    def _header(self, record: SyntheticRecord) -> str:
        status = ' status="deleted"' if record.deleted else ""
        sets = "".join(f"<setSpec>{_esc(s)}</setSpec>" for s in record.sets)
        stamp = format_datestamp(record.datestamp, self.granularity)
        return (
            f"<header{status}><identifier>{_esc(record.identifier)}</identifier>"
            f"<datestamp>{stamp}</datestamp>{sets}</header>"
        )

    def _record(self, record: SyntheticRecord, poison: bool = False) -> str:
        if record.deleted:
            return f"<record>{self._header(record)}</record>"
        poisoned = [poison]

        def inject(element: str, text: str) -> str:
            if poisoned[0] and element == "title":
                poisoned[0] = False
                return text[:5] + ILLEGAL_CHARS + text[5:]
            return text

        dc = dc_xml_fragment(record, text_filter=inject if poison else None)
        return f"<record>{self._header(record)}<metadata>{dc}</metadata></record>"

    def _Identify(self, args: dict[str, str], fault: Fault | None) -> str:
        earliest = format_datestamp(self.store.earliest_datestamp(), self.granularity)
        return (
            "<Identify>"
            f"<repositoryName>{_esc(self.repository_name)}</repositoryName>"
            f"<baseURL>{_esc(self.base_url)}</baseURL>"
            "<protocolVersion>2.0</protocolVersion>"
            f"<adminEmail>{_esc(self.admin_email)}</adminEmail>"
            f"<earliestDatestamp>{earliest}</earliestDatestamp>"
            f"<deletedRecord>{self.deleted_record}</deletedRecord>"
            f"<granularity>{self.granularity}</granularity>"
            "<description>"
            '<oai-identifier xmlns="http://www.openarchives.org/OAI/2.0/oai-identifier" '
            'xsi:schemaLocation="http://www.openarchives.org/OAI/2.0/oai-identifier '
            'http://www.openarchives.org/OAI/2.0/oai-identifier.xsd">'
            "<scheme>oai</scheme><repositoryIdentifier>example.org</repositoryIdentifier>"
            "<delimiter>:</delimiter><sampleIdentifier>oai:example.org:rec-000001"
            "</sampleIdentifier></oai-identifier></description>"
            "</Identify>"
        )

    def _ListMetadataFormats(self, args: dict[str, str], fault: Fault | None) -> str:
        identifier = args.get("identifier")
        if identifier is not None and self.store.get(identifier) is None:
            raise _OAIError("idDoesNotExist", f"No such identifier: {identifier}")
        return (
            "<ListMetadataFormats><metadataFormat><metadataPrefix>oai_dc</metadataPrefix>"
            "<schema>http://www.openarchives.org/OAI/2.0/oai_dc.xsd</schema>"
            "<metadataNamespace>http://www.openarchives.org/OAI/2.0/oai_dc/</metadataNamespace>"
            "</metadataFormat></ListMetadataFormats>"
        )

    def _ListSets(self, args: dict[str, str], fault: Fault | None) -> str:
        if "resumptionToken" in args:
            raise _OAIError("badResumptionToken", "ListSets is never split.")
        specs = self.store.set_specs()
        if not specs:
            raise _OAIError("noSetHierarchy", "This repository has no sets.")
        sets = "".join(
            f"<set><setSpec>{_esc(s)}</setSpec><setName>{_esc(set_name(s))}</setName></set>" for s in specs
        )
        return f"<ListSets>{sets}</ListSets>"

    def _GetRecord(self, args: dict[str, str], fault: Fault | None) -> str:
        if args["metadataPrefix"] != "oai_dc":
            raise _OAIError("cannotDisseminateFormat", f"Unsupported: {args['metadataPrefix']}")
        record = self.store.get(args["identifier"])
        if record is None:
            raise _OAIError("idDoesNotExist", f"No such identifier: {args['identifier']}")
        poison = fault is not None and fault.kind == "illegal_chars"
        return f"<GetRecord>{self._record(record, poison)}</GetRecord>"

    def _parse_range(self, state: Mapping[str, Any]) -> tuple[datetime | None, datetime | None]:
        bounds: list[datetime | None] = []
        granularities = set()
        for name in ("from", "until"):
            value = state.get(name)
            if value is None:
                bounds.append(None)
                continue
            try:
                dt, gran = parse_datestamp(value, end_of_day=name == "until")
            except ValueError as exc:
                raise _OAIError("badArgument", f"Bad {name} datestamp: {value!r}") from exc
            if gran == SECONDS_GRANULARITY and self.granularity == DAY_GRANULARITY:
                raise _OAIError("badArgument", f"{name} is finer than the repository granularity")
            granularities.add(gran)
            bounds.append(dt)
        if len(granularities) > 1:
            raise _OAIError("badArgument", "from and until have different granularities")
        return bounds[0], bounds[1]

    def _list(self, verb: str, args: dict[str, str], fault: Fault | None) -> str:
        token = args.get("resumptionToken")
        if token is not None:
            try:
                state = decode_token(token)
            except ValueError as exc:
                raise _OAIError("badResumptionToken", str(exc)) from exc
        else:
            state = {k: args[k] for k in ("metadataPrefix", "set", "from", "until") if k in args}
            state["cursor"] = 0
        if state["metadataPrefix"] != "oai_dc":
            raise _OAIError("cannotDisseminateFormat", f"Unsupported: {state['metadataPrefix']}")
        from_, until = self._parse_range(state)
        selected = self.store.select(set_spec=state.get("set"), from_=from_, until=until)
        cursor = state["cursor"]
        if not selected and token is None:
            raise _OAIError("noRecordsMatch", "No records match the request.")
        if token is not None and cursor >= len(selected):
            raise _OAIError("badResumptionToken", "The resumptionToken is past the end.")
        page = selected[cursor : cursor + self.batch_size]
        end = cursor + len(page)

        poison = fault is not None and fault.kind == "illegal_chars"
        if verb == "ListRecords":
            items = []
            for record in page:
                items.append(self._record(record, poison and not record.deleted))
                poison = poison and record.deleted
        else:
            items = [self._header(r) for r in page]

        rt = ""
        size = f'completeListSize="{len(selected)}" cursor="{cursor}"'
        if fault is not None and fault.kind == "repeat_token":
            same = token if token is not None else encode_token(state)
            rt = f"<resumptionToken {size}>{_esc(same)}</resumptionToken>"
        elif end < len(selected):
            next_token = encode_token({**state, "cursor": end})
            rt = f"<resumptionToken {size}>{_esc(next_token)}</resumptionToken>"
        elif cursor > 0:
            rt = f"<resumptionToken {size}/>"  # last part of an incomplete list
        return f"<{verb}>{''.join(items)}{rt}</{verb}>"

    def _ListRecords(self, args: dict[str, str], fault: Fault | None) -> str:
        return self._list("ListRecords", args, fault)

    def _ListIdentifiers(self, args: dict[str, str], fault: Fault | None) -> str:
        return self._list("ListIdentifiers", args, fault)

    # -- HTTP ---------------------------------------------------------------------------

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(handler.path)
        query = parts.query
        if method == "POST":
            length = int(handler.headers.get("Content-Length") or 0)
            query = handler.rfile.read(length).decode("utf-8", "replace")
        args = parse_qs(query, keep_blank_values=True)
        single = {k: v[0] for k, v in args.items()}
        verb = single.get("verb")
        token = single.get("resumptionToken")
        page = self._page_of(verb, token)
        entry = RequestLog(
            method=method,
            path=parts.path,
            args=single,
            raw_args=args,
            time=time.monotonic(),
            wall=datetime.now(UTC),
            page=page,
        )
        with self._log_lock:
            self.requests.append(entry)
        fault = self.plan.take(verb, token is not None, page)
        entry.fault = fault.kind if fault else None

        if fault is not None and fault.kind == "slow":
            self._closing.wait(fault.seconds)
            fault = None
        if fault is not None and fault.kind == "drop_connection":
            handler.close_connection = True
            with contextlib.suppress(OSError):
                handler.connection.shutdown(socket.SHUT_RDWR)
            return
        if self._hostile_http(handler, fault, parts.path, query, entry):
            return

        headers: list[tuple[str, str]] = []
        if fault is not None and fault.kind.startswith("http_"):
            if fault.kind == "http_503_retry_after_seconds":
                status, headers = 503, [("Retry-After", str(int(fault.seconds)))]
            elif fault.kind == "http_503_retry_after_date":
                when = email.utils.formatdate(time.time() + fault.seconds, usegmt=True)
                status, headers = 503, [("Retry-After", when)]
            elif fault.kind == "http_429":
                status = 429
                if fault.seconds >= 0:
                    headers = [("Retry-After", str(int(fault.seconds)))]
            else:
                status = 500
            body = f"{status} injected fault {fault.kind}\n".encode()
            ctype = "text/plain; charset=utf-8"
        else:
            status, ctype = 200, "text/xml; charset=utf-8"
            body = self.respond(args, fault)
            if self.rewrite is not None and verb in ("ListRecords", "GetRecord"):
                body = self.rewrite(body)
            if fault is not None and fault.kind == "unparseable":
                body = body[: max(40, len(body) // 2)]
            if fault is not None and fault.kind == "compressed":
                body, encoding = hostile.compress(body, fault.code)
                headers.append(("Content-Encoding", encoding))
            if fault is not None and fault.kind == "trickle":
                entry.status = 200
                hostile.send_trickle(handler, body, interval=fault.seconds, closing=self._closing,
                                     headers_too=fault.code == "headers")
                return
        entry.status = status
        handler.send_response(status)
        handler.send_header("Content-Type", ctype)
        handler.send_header("Content-Length", str(len(body)))
        for name, value in headers:
            handler.send_header(name, value)
        handler.end_headers()
        try:
            handler.wfile.write(body)
        except OSError:  # client gave up (e.g. timed out on a slow fault)
            handler.close_connection = True

    def _hostile_http(
        self, handler: BaseHTTPRequestHandler, fault: Fault | None, path: str, query: str, entry: RequestLog
    ) -> bool:
        """Answer with a redirect or a gzip bomb when asked to; True when it did."""
        here = f"{self.base_url.rsplit('/', 1)[0]}{path}" + (f"?{query}" if query else "")
        if self.redirect_all_to is not None:
            location, status = self.redirect_all_to + (f"?{query}" if query else ""), 307
        elif fault is not None and fault.kind == "redirect":
            location, status = fault.message, int(fault.code)
            if location.endswith("?"):
                location += query
        elif fault is not None and fault.kind == "redirect_loop":
            location, status = here, 302
        elif fault is not None and fault.kind == "redirect_endless":
            hops = int(parse_qs(query).get("hop", ["0"])[0])
            base = "&".join(p for p in query.split("&") if not p.startswith("hop="))
            location, status = f"{self.base_url}?{base}&hop={hops + 1}", 302
            self.plan.push(fault)  # the next hop is redirected again
        elif fault is not None and fault.kind == "gzip_bomb":
            entry.status = 200
            hostile.send_gzip_bomb(handler, int(fault.seconds))
            return True
        else:
            return False
        entry.status = status
        hostile.send_redirect(handler, location, status)
        return True

    @contextmanager
    def serve(self, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve on a ThreadingHTTPServer in a daemon thread; yield the base URL."""
        provider = self
        connections: set[socket.socket] = set()
        conn_lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            timeout = 10  # idle keep-alive connections don't pin threads forever

            def setup(self) -> None:
                super().setup()
                with conn_lock:
                    connections.add(self.connection)

            def finish(self) -> None:
                with conn_lock:
                    connections.discard(self.connection)
                super().finish()

            def do_GET(self) -> None:  # noqa: N802 - http.server naming
                provider._handle(self, "GET")

            def do_POST(self) -> None:  # noqa: N802
                provider._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        httpd = _QuietServer((host, port), Handler)
        httpd.daemon_threads = True
        self._closing.clear()
        self.base_url = f"http://{host}:{httpd.server_address[1]}/oai"
        thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        try:
            yield self.base_url
        finally:
            self._closing.set()
            httpd.shutdown()
            httpd.server_close()
            with conn_lock:
                for conn in list(connections):
                    with contextlib.suppress(OSError):
                        conn.shutdown(socket.SHUT_RDWR)
            thread.join(timeout=5)
