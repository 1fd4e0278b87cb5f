"""Hostile provider behaviours for :mod:`support.faulty_provider`, and hostile pages and files.

HTTP level (used by the provider's fault dispatch): a body (or even the status line and
headers) trickled a byte at a time, a ``Content-Encoding: gzip`` bomb, redirects to any
location, in a loop or without end. Page level (``FaultyProvider.rewrite``): internal
DTD entities, a billion-laughs DTD, bytes replaced (invalid UTF-8). Record level:
records with any OAI identifier at all. Files: a WSGI app serving files, redirects and
slow answers for ``--fetch-files`` tests.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler
from typing import Any

from .synthetic import SyntheticRecord

__all__ = [
    "BOMB_MEMBER",
    "billion_laughs",
    "compress",
    "files_app",
    "gzip_bomb_body",
    "hostile_record",
    "replace_bytes",
    "send_gzip_bomb",
    "send_redirect",
    "send_trickle",
    "with_internal_entities",
]

MIB = 1024 * 1024
#: One gzip member that inflates to 1 MiB of spaces (about 1 KiB compressed).
BOMB_MEMBER = gzip.compress(b" " * MIB, compresslevel=9)
_HEAD = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<OAI-PMH xmlns="http://www.openarchives.org/OAI/2.0/"><responseDate>2024-01-01T00:00:00Z'
    b"</responseDate>"
)


def gzip_bomb_body(decoded_mib: int) -> bytes:
    """A valid multi-member gzip stream: an OAI-PMH start, then ``decoded_mib`` MiB of spaces."""
    return gzip.compress(_HEAD) + BOMB_MEMBER * decoded_mib


def compress(body: bytes, how: str) -> tuple[bytes, str]:
    """``body`` compressed, and the Content-Encoding to announce."""
    if how == "gzip-members":  # one member per 1000 bytes, as concatenating servers do
        return b"".join(gzip.compress(body[i : i + 1000]) for i in range(0, len(body), 1000)), "gzip"
    if how == "raw-deflate":
        packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
        return packer.compress(body) + packer.flush(), "deflate"
    if how == "deflate":
        return zlib.compress(body), "deflate"
    return gzip.compress(body), how


def send_gzip_bomb(handler: BaseHTTPRequestHandler, decoded_mib: int) -> None:
    body = gzip_bomb_body(decoded_mib)
    handler.send_response(200)
    handler.send_header("Content-Type", "text/xml; charset=utf-8")
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    try:
        handler.wfile.write(body)
    except OSError:  # the client stopped reading at its cap
        handler.close_connection = True


def send_redirect(handler: BaseHTTPRequestHandler, location: str, status: int = 302) -> None:
    handler.send_response(status)
    handler.send_header("Location", location)
    handler.send_header("Content-Length", "0")
    handler.end_headers()


def send_trickle(
    handler: BaseHTTPRequestHandler,
    body: bytes,
    *,
    interval: float,
    closing: threading.Event,
    headers_too: bool = False,
) -> None:
    """Answer 200 with ``body``, one byte every ``interval`` seconds (headers too, if asked)."""
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=utf-8\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
    )
    handler.close_connection = True
    if not headers_too:
        handler.wfile.write(head)
        head = b""
    try:
        for byte in head + body:
            if closing.wait(interval):
                return
            handler.wfile.write(bytes([byte]))
            handler.wfile.flush()
    except OSError:  # the client gave up, as it should
        return


def with_internal_entities(entities: Mapping[str, str]) -> Callable[[bytes], bytes]:
    """A page rewrite: declare ``entities`` in an internal DTD subset and use ``&name;``
    wherever the page says ``&amp;name;`` (the provider escapes every ``&``)."""
    decls = "".join(f'<!ENTITY {name} "{value}">' for name, value in entities.items()).encode()

    def rewrite(body: bytes) -> bytes:
        declaration, newline, rest = body.partition(b"\n")
        for name in entities:
            rest = rest.replace(b"&amp;" + name.encode() + b";", b"&" + name.encode() + b";")
        return declaration + newline + b"<!DOCTYPE OAI-PMH [" + decls + b"]>\n" + rest

    return rewrite


def billion_laughs(levels: int = 10) -> dict[str, str]:
    """Entities ``lol0`` .. ``lol{levels-1}``, each ten of the one before: use ``&lol9;``."""
    entities = {"lol0": "lol"}
    for level in range(1, levels):
        entities[f"lol{level}"] = f"&lol{level - 1};" * 10
    return entities


def replace_bytes(old: bytes, new: bytes) -> Callable[[bytes], bytes]:
    """A page rewrite replacing ``old`` with ``new`` (say, invalid UTF-8)."""
    return lambda body: body.replace(old, new)


def hostile_record(identifier: str, title: str, *, minute: int = 0, **dc: Any) -> SyntheticRecord:
    """A live record with any OAI identifier at all (NUL, TAB, NEL, empty...)."""
    values = [("title", title, None)] + [(k, v, None) for k, v in dc.items()]
    stamp = datetime(2021, 3, 1, 12, minute, tzinfo=timezone.utc)
    return SyntheticRecord(identifier=identifier, datestamp=stamp, dc=tuple(values))


def files_app(files: Mapping[str, bytes], *, redirects: Mapping[str, str] | None = None,
              seen: list[str] | None = None) -> Callable[..., list[bytes]]:
    """A WSGI app: ``files`` by path (application/pdf), ``redirects`` path -> Location;
    every request's path and Host header is appended to ``seen``."""
    moved = dict(redirects or {})

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ["PATH_INFO"]
        if seen is not None:
            seen.append(f"{environ.get('HTTP_HOST', '')}{path}")
        if path in moved:
            start_response("302 Found", [("Location", moved[path]), ("Content-Length", "0")])
            return [b""]
        if path in files:
            data = files[path]
            start_response("200 OK", [("Content-Type", "application/pdf"),
                                      ("Content-Length", str(len(data)))])
            return [data]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such file"]

    return app
