"""HTTP for harvesting: one deadline per response, bounded decoding, redirects by hand.

Three things a plain ``requests.get(url, timeout=t)`` does not do, and a hostile or
broken provider exploits:

- **A deadline for the whole response.** requests' timeout applies to each socket read,
  so a provider trickling one byte a second never times out. Here every request runs
  under a :class:`Deadline`: the connections it opens register their sockets with it,
  and a watchdog timer shuts them down when the time is up, whether the request is
  connecting, waiting for headers or reading the body.
- **Bounded decoding.** The body is read raw and decompressed here (gzip, deflate) in
  chunks of at most :data:`CHUNK` bytes, so a ``Content-Encoding: gzip`` bomb is stopped
  at the caller's cap instead of being inflated whole into memory.
- **Redirects followed by hand**, each hop checked (:func:`stook.harvest.netpolicy.next_hop`)
  and returned to the caller, so the capture event can name the URL a record really
  came from.

Failures worth another attempt raise :class:`Transient`; the caller's retry loop decides
how often. Everything else is a :class:`~stook.errors.HarvestError`.
"""

from __future__ import annotations

import http.client
import socket
import threading
import time
import zlib
from collections.abc import Iterator, Mapping
from contextlib import suppress
from typing import Any
from urllib.parse import urlsplit

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from stook.errors import HarvestError
from stook.harvest.netpolicy import MAX_REDIRECTS, REDIRECT_STATUS, next_hop

CHUNK = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate"
_NETWORK_ERRORS = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError)


class Transient(Exception):
    """A failure another attempt may not meet: timeout, broken connection, 429/5xx, broken page."""

    def __init__(
        self,
        problem: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.status = status
        self.retry_after = retry_after
        self.hint = hint


# -- the deadline ------------------------------------------------------------------------

_current = threading.local()


class Deadline:
    """The time by which one response (connect, headers, body, redirects) must be complete.

    Used as a context manager around one attempt, in the thread that makes it. Sockets
    opened or reused meanwhile are shut down by a watchdog timer at the deadline, which
    makes any blocked read return at once.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._expired = False
        self._done = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._outer: Deadline | None = None

    def __enter__(self) -> Deadline:
        self._outer = getattr(_current, "deadline", None)
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()
        with self._lock:
            self._done = True
            self._sockets.clear()
        _current.deadline = self._outer

    @property
    def problem(self) -> str:
        return f"no complete answer within {self.seconds:g} s"

    @property
    def expired(self) -> bool:
        with self._lock:
            return self._expired or time.monotonic() >= self.end

    def remaining(self) -> float:
        return max(0.0, self.end - time.monotonic())

    def check(self) -> None:
        """Raise :class:`Transient` once the deadline has passed."""
        if self.expired:
            raise Transient(self.problem)

    def timeouts(self) -> tuple[float, float]:
        """Connect and read timeouts for the socket layer: never past the deadline."""
        left = max(0.001, self.remaining())
        return left, left

    def watch(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            if self._done:
                return
            if self._expired:
                _shut(sock)
            elif sock not in self._sockets:
                self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            if self._done:
                return
            self._expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def _watch(sock: socket.socket | None) -> None:
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    """An HTTP connection whose socket the current :class:`Deadline` can shut."""

    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)  # a kept-alive connection is reused without connect()
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    """The https twin of :class:`_WatchedHTTPConnection`."""

    def connect(self) -> None:
        super().connect()
        _watch(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _watch(self.sock)
        super().request(*args, **kwargs)


class WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


_POOLS = {"http": WatchedHTTPPool, "https": WatchedHTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """A requests adapter whose connections honour the current :class:`Deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy: Any, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if not proxy.lower().startswith("socks"):
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager


def deadline_session(session: requests.Session | None = None) -> requests.Session:
    """``session`` (or a new one) with :class:`DeadlineAdapter` for http and https."""
    session = session or requests.Session()
    adapter = DeadlineAdapter()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["Accept-Encoding"] = ACCEPT_ENCODING
    return session


# -- requests through redirects ------------------------------------------------------------


def get_following(
    session: requests.Session, url: str, *, deadline: Deadline, max_redirects: int = MAX_REDIRECTS
) -> tuple[requests.Response, tuple[str, ...]]:
    """GET ``url`` under ``deadline``, following http(s) redirects one by one.

    Returns the first response that is not a redirect (its body unread) and the URLs
    redirected to, in order (empty when there was no redirect).
    """
    chain = [url]
    while True:
        deadline.check()
        try:
            response = _send(session, chain[-1], deadline)
        except requests.Timeout as exc:
            raise Transient(deadline.problem if deadline.expired else
                            f"no answer within {deadline.seconds:g} s ({type(exc).__name__})") from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            if deadline.expired:
                raise Transient(deadline.problem) from exc
            raise Transient(f"connection failed ({type(exc).__name__}: {short(exc)})") from exc
        except requests.RequestException as exc:
            raise HarvestError(f"{chain[-1]}: the request cannot be made ({short(exc)})",
                               url=chain[0]) from exc
        if response.status_code not in REDIRECT_STATUS:
            return response, tuple(chain[1:])
        location = response.headers.get("Location")
        response.close()
        chain.append(next_hop(chain, location, max_redirects=max_redirects))


def _send(session: requests.Session, url: str, deadline: Deadline) -> requests.Response:
    """One GET through the session's adapter: its headers, cookies and proxy settings, but
    none of requests' redirect handling (which parses a Location before stook can check it)."""
    request = session.prepare_request(requests.Request("GET", url))
    settings = session.merge_environment_settings(request.url, {}, True, None, None)
    adapter = session.get_adapter(str(request.url))
    verify = settings["verify"]
    return adapter.send(request, stream=True, timeout=deadline.timeouts(),
                        verify=True if verify is None else verify, cert=settings["cert"],
                        proxies=settings["proxies"])


def open_pinned(
    url: str, address: str, *, deadline: Deadline, headers: Mapping[str, str]
) -> tuple[urllib3.BaseHTTPResponse, HTTPConnectionPool]:
    """GET ``url`` from ``address`` (already checked), whatever DNS says now; no redirects.

    The Host header, TLS server name and certificate check use the URL's host name.
    The caller reads the response, then closes the returned pool.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    https = parts.scheme.lower() == "https"
    port = parts.port or (443 if https else 80)
    shown_host = f"[{host}]" if ":" in host else host
    host_header = shown_host if port == (443 if https else 80) else f"{shown_host}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    connect, read = deadline.timeouts()
    timeout = urllib3.Timeout(connect=connect, read=read)
    pool: HTTPConnectionPool
    if https:
        pool = WatchedHTTPSPool(address, port, timeout=timeout, maxsize=1, retries=False,
                                server_hostname=host, assert_hostname=host, cert_reqs="CERT_REQUIRED")
    else:
        pool = WatchedHTTPPool(address, port, timeout=timeout, maxsize=1, retries=False)
    try:
        response = pool.urlopen(
            "GET", target, headers={**headers, "Host": host_header}, redirect=False, retries=False,
            preload_content=False, assert_same_host=False, timeout=timeout,
        )
    except _NETWORK_ERRORS as exc:
        pool.close()
        if deadline.expired or isinstance(exc, urllib3.exceptions.TimeoutError):
            raise Transient(deadline.problem) from exc
        raise Transient(f"connection failed ({type(exc).__name__}: {short(exc)})") from exc
    return response, pool


# -- bodies ----------------------------------------------------------------------------------


class _Inflate:
    """Streaming gzip/deflate decoding that never yields more than :data:`CHUNK` bytes at once."""

    def __init__(self, gzip: bool) -> None:
        self._gzip = gzip
        self._d: Any = None
        self._head = b""

    def _start(self, data: bytes) -> bytes | None:
        if self._gzip:
            self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)
            return data
        self._head += data  # deflate: zlib-wrapped as the RFC says, or raw as some servers send
        if len(self._head) < 2:
            return None
        head, self._head = self._head, b""
        wrapped = (head[0] & 0x0F) == 8 and ((head[0] << 8) | head[1]) % 31 == 0
        self._d = zlib.decompressobj(zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS)
        return head

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._d is None:
            started = self._start(data)
            if started is None:
                return
            data = started
        while True:
            out = self._d.decompress(data, CHUNK)
            data = self._d.unconsumed_tail
            if out:
                yield out
            if self._d.eof:
                rest = self._d.unused_data
                if not (self._gzip and rest.startswith(b"\x1f\x8b")):
                    return  # trailing bytes after the stream are ignored, as browsers do
                self._d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # the next gzip member
                data = rest
                continue
            if not data and len(out) < CHUNK:
                return

    def finish(self) -> Iterator[bytes]:
        if self._head:
            yield from self.feed(b"")
        if self._d is not None and not self._d.eof:
            raise zlib.error("the compressed body ends before its end marker")


class _Identity:
    def feed(self, data: bytes) -> Iterator[bytes]:
        for start in range(0, len(data), CHUNK):
            yield data[start : start + CHUNK]

    def finish(self) -> Iterator[bytes]:
        return iter(())


_Decoder = _Inflate | _Identity


def _decoders(content_encoding: str | None, url: str) -> list[_Decoder]:
    """Decoders to apply in order (the last encoding applied is undone first)."""
    names = [n.strip().lower() for n in (content_encoding or "").split(",") if n.strip()]
    out: list[_Decoder] = []
    for name in reversed(names):
        if name in ("gzip", "x-gzip"):
            out.append(_Inflate(gzip=True))
        elif name == "deflate":
            out.append(_Inflate(gzip=False))
        elif name != "identity":
            raise HarvestError(
                f"{url}: the answer is encoded as {content_encoding!r} (Content-Encoding), which stook "
                "does not decode; it asks for gzip or deflate only",
                url=url,
                hint="report the provider's Content-Encoding to the provider",
            )
    return out or [_Identity()]


def _through(decoders: list[_Decoder], data: bytes) -> Iterator[bytes]:
    if not decoders:
        yield data
        return
    for out in decoders[0].feed(data):
        yield from _through(decoders[1:], out)


def decoded_chunks(
    raw: Any, content_encoding: str | None, *, url: str, deadline: Deadline
) -> Iterator[bytes]:
    """The body of ``raw`` (a urllib3 response) decoded, in chunks of at most :data:`CHUNK`.

    Raises :class:`Transient` when the deadline passes or the connection or the
    compressed stream breaks, :class:`HarvestError` for an encoding stook does not decode.
    """
    decoders = _decoders(content_encoding, url)
    try:
        while True:
            deadline.check()
            data = raw.read(CHUNK, decode_content=False)
            if not data:
                break
            yield from _through(decoders, data)
        for index, decoder in enumerate(decoders):
            for out in decoder.finish():
                yield from _through(decoders[index + 1 :], out)
    except zlib.error as exc:
        if deadline.expired:
            raise Transient(deadline.problem) from exc
        raise Transient(f"the {content_encoding} body cannot be decompressed ({exc})") from exc
    except _NETWORK_ERRORS as exc:
        if deadline.expired:
            raise Transient(deadline.problem) from exc
        raise Transient(f"the connection broke while reading the answer ({type(exc).__name__}: "
                        f"{short(exc)})") from exc
    deadline.check()  # a body cut short by the watchdog is not a complete answer


def read_capped(chunks: Iterator[bytes], *, max_bytes: int, url: str, content_encoding: str | None) -> bytes:
    """All of ``chunks``, or :class:`HarvestError` as soon as they pass ``max_bytes``."""
    parts: list[bytes] = []
    size = 0
    try:
        for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                break
            parts.append(chunk)
        else:
            return b"".join(parts)
    except MemoryError:
        parts.clear()
        raise HarvestError(
            f"{url}: the answer does not fit in memory ({size} bytes read once decoded)",
            url=url,
            hint="lower max_response_bytes so such an answer is refused before memory runs out",
        ) from None
    parts.clear()
    encoded = f" (Content-Encoding: {content_encoding})" if content_encoding else ""
    raise HarvestError(
        f"{url}: the answer is larger than {max_bytes} bytes once decoded{encoded}; stook stopped reading it",
        url=url,
        hint="a page this large is likely a decompression bomb or a broken provider; if the "
        "provider's pages really are this large, raise max_response_bytes",
    )


def short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."
