"""Stateless resumption tokens.

A token carries everything needed to serve the next page: the original request
(verb, metadataPrefix, set, from, until), the snapshot the list was cut from (the
highest bag row and the latest deletion visible at the first page), the position of
the last item served, the cursor, the completeListSize and the expiry time. Nothing
is kept on the server, so tokens survive restarts and any number of harvests can run
at once. Pages continue *after a position*, not at an offset, and only bags inside
the snapshot are listed, so bags added mid-harvest neither shift nor repeat items.

The text is base64url JSON plus a keyed BLAKE2b tag: garbage or edited tokens are
refused (badResumptionToken). The tag guards integrity, not secrecy: a token only
selects what any request could select.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["ListState", "TokenError", "decode_token", "encode_token"]

TOKEN_VERSION = 1
_VERBS = ("ListIdentifiers", "ListRecords")
_DEFAULT_KEY = b"stook OAI-PMH resumption token v1"


class TokenError(ValueError):
    """A resumption token that is malformed, altered, expired or for another verb."""


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


def _key(secret: bytes | None) -> bytes:
    return hashlib.blake2b(secret or b"", key=_DEFAULT_KEY, digest_size=32).digest()


def _tag(body: bytes, secret: bytes | None) -> str:
    digest = hmac.new(_key(secret), body, hashlib.sha256).digest()[:12]
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def encode_token(state: ListState, secret: bytes | None = None) -> str:
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
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    body = base64.urlsafe_b64encode(raw).rstrip(b"=")
    return f"{body.decode('ascii')}.{_tag(body, secret)}"


def _opt_str(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise TokenError("field of the wrong type")


def _int(value: Any) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise TokenError("field of the wrong type")


def decode_token(token: str, *, verb: str, now: int, secret: bytes | None = None) -> ListState:
    """The state in ``token``; :class:`TokenError` if it is not one of ours or expired."""
    body_text, sep, tag = token.rpartition(".")
    if not sep or not body_text:
        raise TokenError("not a resumption token issued by this repository")
    try:
        body = body_text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise TokenError("not a resumption token issued by this repository") from exc
    if not hmac.compare_digest(tag, _tag(body, secret)):
        raise TokenError("not a resumption token issued by this repository (damaged or altered)")
    try:
        data = json.loads(base64.urlsafe_b64decode(body + b"=" * (-len(body) % 4)))
    except (binascii.Error, ValueError) as exc:
        raise TokenError("unreadable resumption token") from exc
    if not isinstance(data, list) or len(data) != 12 or data[0] != TOKEN_VERSION:
        raise TokenError("resumption token from another version of this repository")
    verb_index = _int(data[1])
    if verb_index >= len(_VERBS) or _VERBS[verb_index] != verb:
        raise TokenError(f"this resumption token continues a different request, not {verb}")
    position = data[8]
    if position is not None:
        if (
            not isinstance(position, list)
            or len(position) != 3
            or not isinstance(position[0], str)
            or position[1] not in (0, 1)
            or not isinstance(position[2], str)
        ):
            raise TokenError("resumption token with a damaged position")
        position = (position[0], int(position[1]), position[2])
    prefix = data[2]
    if not isinstance(prefix, str):
        raise TokenError("field of the wrong type")
    max_deleted = data[7]
    if not isinstance(max_deleted, str):
        raise TokenError("field of the wrong type")
    state = ListState(
        verb=verb,
        prefix=prefix,
        set_spec=_opt_str(data[3]),
        from_arg=_opt_str(data[4]),
        until_arg=_opt_str(data[5]),
        max_bag_id=_int(data[6]),
        max_deleted_at=max_deleted,
        position=position,
        cursor=_int(data[9]),
        complete=_int(data[10]),
        expires=_int(data[11]),
    )
    if state.expires < now:
        raise TokenError("the resumption token has expired; start the list again without it")
    return state
