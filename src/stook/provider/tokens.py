"""Stateless resumption tokens, signed with the store's secret.

A token carries everything needed to serve the next page: the original request
(verb, metadataPrefix, set, from, until), the snapshot the list was cut from (the
highest bag row and the latest deletion visible at the first page), the position of
the last item served, the cursor, the completeListSize and the expiry time. Nothing
is kept on the server, so tokens survive restarts and any number of harvests can run
at once. Pages continue *after a position*, not at an offset, and only bags inside
the snapshot are listed, so bags added mid-harvest neither shift nor repeat items.

The text is base64url JSON plus an HMAC-SHA256 tag under a key derived from the
store's secret (:mod:`stook.secret`) and the store's identity, so the request a
token continues (prefix, set, from, until) cannot be changed, and a token of another
store, of a rotated secret, edited, truncated or made up is refused
(:class:`TokenError`, answered as badResumptionToken). The tag guards integrity, not
secrecy: a token only selects what any request could select. Decoding checks every
field's type and range, since a token is input from anyone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["MAX_TOKEN_LENGTH", "ListState", "TokenError", "decode_token", "encode_token", "seal", "token_key"]

TOKEN_VERSION = 2
MAX_TOKEN_LENGTH = 65536  # far above any token issued (set specs and identifiers are bounded below)
_VERBS = ("ListIdentifiers", "ListRecords")
_KEY_CONTEXT = b"stook OAI-PMH resumption token v2\x00"
_TAG_BYTES = 16
_MAX_INT = 2**62  # well inside SQLite's signed 64-bit integers
_TOKEN_RE = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]{22})")
_STAMP_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z")
_BAG_TIE_RE = re.compile(r"\d{12,19}")


class TokenError(ValueError):
    """A resumption token that is malformed, altered, expired, foreign or for another request."""


@dataclass(frozen=True)
class ListState:
    """Where a list request stands; what a resumption token encodes."""

    verb: str
    prefix: str
    set_spec: str | None
    from_arg: str | None
    until_arg: str | None
    max_bag_id: int
    max_deleted_at: str
    position: tuple[str, int, str] | None  # (ledger time, 0 bag / 1 tombstone, tie-break)
    cursor: int
    complete: int
    expires: int  # Unix seconds

    def advanced(self, position: tuple[str, int, str], served: int, expires: int) -> ListState:
        return replace(self, position=position, cursor=self.cursor + served, expires=expires)


def token_key(secret: bytes, store_identity: str = "") -> bytes:
    """The signing key for one store: its secret bound to its identity (so two stores sharing a
    secret through the environment still refuse each other's tokens)."""
    return hmac.new(secret, _KEY_CONTEXT + store_identity.encode("utf-8"), hashlib.sha256).digest()


def _tag(body: bytes, key: bytes) -> str:
    digest = hmac.new(key, body, hashlib.sha256).digest()[:_TAG_BYTES]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def seal(payload: bytes, key: bytes) -> str:
    """``payload`` as token text: base64url, a dot, and its tag under ``key``."""
    body = base64.urlsafe_b64encode(payload).rstrip(b"=")
    return f"{body.decode('ascii')}.{_tag(body, key)}"


def encode_token(state: ListState, key: bytes) -> str:
    data = [
        TOKEN_VERSION,
        _VERBS.index(state.verb),
        state.prefix,
        state.set_spec,
        state.from_arg,
        state.until_arg,
        state.max_bag_id,
        state.max_deleted_at,
        list(state.position) if state.position else None,
        state.cursor,
        state.complete,
        state.expires,
    ]
    return seal(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8"), key)


def _wrong(what: str) -> TokenError:
    return TokenError(f"resumption token with a damaged {what}")


def _str(value: Any, what: str, *, optional: bool = False, limit: int = 16384) -> Any:
    if value is None and optional:
        return None
    if isinstance(value, str) and len(value) <= limit:
        return value
    raise _wrong(what)


def _int(value: Any, what: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < _MAX_INT:
        return value
    raise _wrong(what)


def _position(value: Any) -> tuple[str, int, str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) != 3:
        raise _wrong("position")
    stamp, kind, tie = value
    if not isinstance(stamp, str) or not _STAMP_RE.fullmatch(stamp):
        raise _wrong("position")
    if kind not in (0, 1) or isinstance(kind, bool) or not isinstance(tie, str):
        raise _wrong("position")
    if kind == 0 and not _BAG_TIE_RE.fullmatch(tie):
        raise _wrong("position")
    if kind == 1 and not 0 < len(tie) <= 16384:
        raise _wrong("position")
    return (stamp, int(kind), tie)


def _payload(token: str, key: bytes) -> Any:
    """The JSON inside a token whose tag is right for ``key``."""
    if len(token) > MAX_TOKEN_LENGTH:
        raise TokenError("not a resumption token issued by this repository (far too long)")
    match = _TOKEN_RE.fullmatch(token)
    if match is None:
        raise TokenError("not a resumption token issued by this repository")
    body = match.group(1).encode("ascii")
    if not hmac.compare_digest(match.group(2).encode("ascii"), _tag(body, key).encode("ascii")):
        raise TokenError(
            "not a resumption token issued by this repository (altered, from another repository, "
            "or signed with a secret that has since been replaced); start the list again without it"
        )
    try:
        return json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    except (binascii.Error, ValueError, RecursionError) as exc:
        raise TokenError("unreadable resumption token") from exc


def decode_token(token: str, *, verb: str, now: int, key: bytes) -> ListState:
    """The state in ``token``; :class:`TokenError` if it is not one of ours, damaged or expired."""
    data = _payload(token, key)
    if not isinstance(data, list) or len(data) != 12 or type(data[0]) is not int or data[0] != TOKEN_VERSION:
        raise TokenError("resumption token from another version of this repository")
    verb_index = _int(data[1], "verb")
    if verb_index >= len(_VERBS) or _VERBS[verb_index] != verb:
        raise TokenError(f"this resumption token continues a different request, not {verb}")
    max_deleted = _str(data[7], "snapshot")
    if max_deleted and not _STAMP_RE.fullmatch(max_deleted):
        raise _wrong("snapshot")
    state = ListState(
        verb=verb,
        prefix=_str(data[2], "metadataPrefix", limit=256),
        set_spec=_str(data[3], "set", optional=True),
        from_arg=_str(data[4], "from", optional=True, limit=64),
        until_arg=_str(data[5], "until", optional=True, limit=64),
        max_bag_id=_int(data[6], "snapshot"),
        max_deleted_at=max_deleted,
        position=_position(data[8]),
        cursor=_int(data[9], "cursor"),
        complete=_int(data[10], "completeListSize"),
        expires=_int(data[11], "expiry"),
    )
    if state.expires < now:
        raise TokenError("the resumption token has expired; start the list again without it")
    return state
