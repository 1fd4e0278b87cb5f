"""ListIdentifiers and ListRecords: pages cut from a snapshot, continued by signed tokens.

A page of ListRecords holds the records that can be disseminated: a bag whose
metadata cannot be read is skipped with one warning on the ``stook.provider`` logger
naming it, the page is filled from the items after it, and the first record of the
next page is rendered ahead (and cached) to know whether a token is due, so no page is
empty and none repeats. Tokens are keyed to the store's secret and identity
(:func:`stook.provider.tokens.token_key`); a token that does not decode to a list this
store could have issued is badResumptionToken.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime, timedelta, timezone

from stook.errors import StookError
from stook.ledger.oai import Item, Position, Repository, Selection, Snapshot
from stook.oainames import is_valid_set_spec, oai_identifier
from stook.provider.formats import FORMAT_BY_PREFIX, FORMATS, MetadataRenderer
from stook.provider.protocol import OAIError, Request, parse_window, text, utc_seconds
from stook.provider.tokens import ListState, TokenError, decode_token, encode_token, token_key
from stook.secret import TokenSecret

__all__ = ["LOG", "Lists", "check_prefix", "header_xml"]

LOG = logging.getLogger("stook.provider")


def check_prefix(prefix: str) -> None:
    if prefix not in FORMAT_BY_PREFIX:
        raise OAIError(
            "cannotDisseminateFormat",
            f"{prefix!r} is not a metadata format of this repository; use "
            + " or ".join(f.prefix for f in FORMATS),
        )


def header_xml(item: Item) -> str:
    status = ' status="deleted"' if item.deleted else ""
    specs = "".join(text("setSpec", s) for s in item.set_specs)
    return (f"<header{status}>{text('identifier', oai_identifier(item.identifier))}"
            f"<datestamp>{item.datestamp}</datestamp>{specs}</header>")


def resume(token: str, verb: str, epoch: int, key: bytes) -> tuple[ListState, Selection]:
    """The list a token continues; any token that is not one we issued is badResumptionToken."""
    try:
        state = decode_token(token, verb=verb, now=epoch, key=key)
        if state.prefix not in FORMAT_BY_PREFIX:
            raise TokenError("resumption token for a metadata format this repository does not have")
        if state.set_spec is not None and not is_valid_set_spec(state.set_spec):
            raise TokenError("resumption token with a damaged set")
        try:
            lower, upper = parse_window(state.from_arg, state.until_arg)
        except OAIError as exc:
            raise TokenError("resumption token with a damaged time window") from exc
    except TokenError as exc:
        raise OAIError("badResumptionToken", str(exc)) from exc
    return state, Selection(state.set_spec, lower, upper)


class Lists:
    """Answers the list verbs (and renders single records for GetRecord)."""

    def __init__(self, repository: Repository, renderer: MetadataRenderer, secret: TokenSecret,
                 page_size: int, token_ttl: timedelta) -> None:
        self.repository = repository
        self.renderer = renderer
        self.secret = secret
        self.page_size = page_size
        self.token_ttl = token_ttl
        self._keys: tuple[bytes, str, bytes] | None = None

    def record(self, item: Item, prefix: str, kept: dict[str, bytes], verb: str) -> str | None:
        """One ``<record>``; None (logged) when its bag cannot be disseminated."""
        if item.deleted or item.bag_path is None:
            return f"<record>{header_xml(item)}</record>"
        try:
            metadata = self.renderer.render(item.bag_path, prefix, identifier=item.identifier,
                                            kept=kept.get(item.bag_path))
        except Exception as exc:  # one odd bag never fails a whole list: it is skipped and logged
            reason = str(exc) if isinstance(exc, StookError) else f"{type(exc).__name__}: {exc}"
            LOG.warning("skipped bag %s (record %r) in %s %s: %s", item.bag_path, item.identifier, verb,
                        prefix, " ".join(reason.split()))
            return None
        return f"<record>{header_xml(item)}<metadata>{metadata}</metadata></record>"

    def token_key(self) -> bytes:
        """The key resumption tokens are signed with now."""
        with self.repository.reading() as conn:
            return self._key(conn)

    def _key(self, conn: sqlite3.Connection) -> bytes:
        """The store's secret (re-read once rotated) bound to the store's identity."""
        secret, identity = self.secret.current(), self.repository.identity(conn)
        if self._keys is None or self._keys[:2] != (secret, identity):
            self._keys = (secret, identity, token_key(secret, identity))
        return self._keys[2]

    def respond(self, request: Request, now: datetime, *, with_metadata: bool) -> list[str]:
        """The body of a ListIdentifiers (headers) or ListRecords answer."""
        epoch = int(now.timestamp())
        expires = epoch + int(self.token_ttl.total_seconds())
        token = request.args.get("resumptionToken")
        with self.repository.reading() as conn:
            key = self._key(conn)
            if token is not None:
                state, selection = resume(token, request.verb, epoch, key)
                snap = Snapshot(state.max_bag_id, state.max_deleted_at)
            else:
                state, selection, snap = self._first(conn, request, expires)
            if with_metadata:
                parts, last, more, examined = self._records_page(conn, snap, selection, state)
            else:
                items = self.repository.page(conn, snap, selection, state.position, self.page_size + 1)
                more, examined = len(items) > self.page_size, len(items)
                items = items[: self.page_size]
                parts = [header_xml(item) for item in items]
                last = items[-1].position if items else None
        if not examined:
            raise OAIError("badResumptionToken", "the list this token continues is no longer available "
                           "(the store changed beyond adding bags); harvest again without the token")
        if not parts:
            raise OAIError("noRecordsMatch", "no further record of this list can be disseminated just now "
                           "(its bags cannot be read; the repository's log names them)")
        if more and last is not None:
            following = state.advanced(last, len(parts), expires)
            expiry = datetime.fromtimestamp(expires, timezone.utc)
            parts.append(
                f'<resumptionToken expirationDate="{utc_seconds(expiry)}" completeListSize="{state.complete}"'
                f' cursor="{state.cursor}">{encode_token(following, key)}</resumptionToken>'
            )
        elif token is not None:
            parts.append(f'<resumptionToken completeListSize="{state.complete}" cursor="{state.cursor}"/>')
        return [f"<{request.verb}>", *parts, f"</{request.verb}>"]

    def _first(
        self, conn: sqlite3.Connection, request: Request, expires: int
    ) -> tuple[ListState, Selection, Snapshot]:
        """A new list: its selection, the snapshot it is cut from, and its size."""
        prefix = request.args["metadataPrefix"]
        check_prefix(prefix)
        set_spec = request.args.get("set")
        if set_spec is not None and not self.repository.groups(conn):
            raise OAIError("noSetHierarchy", "no record in this repository belongs to a group")
        lower, upper = parse_window(request.args.get("from"), request.args.get("until"))
        selection = Selection(set_spec, lower, upper)
        snap = self.repository.snapshot(conn)
        complete = self.repository.count(conn, snap, selection)
        if complete == 0:
            raise OAIError("noRecordsMatch", "no record matches the request's set and time window")
        state = ListState(request.verb, prefix, set_spec, request.args.get("from"), request.args.get("until"),
                          snap.max_bag_id, snap.max_deleted_at, None, 0, complete, expires)
        return state, selection, snap

    def _records_page(
        self, conn: sqlite3.Connection, snap: Snapshot, selection: Selection, state: ListState
    ) -> tuple[list[str], Position | None, bool, int]:
        """Up to a page of records that can be disseminated, skipping (and logging) bags that
        cannot; then whether another such record follows. Returns the records, the position
        the next page continues after, whether there is one, and how many items were looked at."""
        size = self.page_size
        parts: list[str] = []
        after, last, examined = state.position, None, 0
        while True:
            items = self.repository.page(conn, snap, selection, after, size + 1)
            kept = self.repository.kept_records(
                conn, [i.bag_path for i in items if i.bag_path is not None and not i.deleted]
            )
            for item in items:
                examined += 1
                record = self.record(item, state.prefix, kept, state.verb)
                if record is not None:
                    if len(parts) == size:  # rendered ahead (and cached): the list goes on
                        return parts, last, True, examined
                    parts.append(record)
                last = item.position
            if len(items) <= size:
                return parts, last, False, examined
            after = items[-1].position
