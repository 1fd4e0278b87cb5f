"""The pages of one harvest, in order: requests, retries, expired tokens, loops, prefetch.

:class:`PageSource` asks the repository for one page after another and hands each out
with the checkpoint that is to be saved once that page's records are stored. It
never writes the ledger: whoever stores the records decides when the checkpoint is
saved (after the commit, never before). An expired resumption token restarts the
same datestamp window from its start (records already stored are then unchanged); a
token that comes back again is a loop, reported once the page that sent it is stored.
While a page is being stored, the next one is already being fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timezone

from stook.errors import HarvestError
from stook.harvest.client import OAIClient, Page
from stook.harvest.config import HarvestConfig, HarvestSummary, normalize_datestamp
from stook.ledger import HarvestState
from stook.xmlns import NS_OAI

MAX_WINDOW_RESTARTS = 3
ALLOWED_OAI_ERRORS = ("noRecordsMatch",)


@dataclass
class FetchedPage:
    """One page and what follows from it: the checkpoint to save once its records are
    stored (``state``), whether the list ends with it, and whether it repeated a token."""

    page: Page
    state: HarvestState  # resumption_token = the next page's token; pages_done counts this one
    list_size: int | None
    last: bool  # no resumption token: the list is complete after this page
    looping_token: str | None = None  # the token this page sent again (stop after storing it)


class PageSource:
    """The pages of one harvest (see the module docstring). ``complete`` is set once the
    repository said the list has ended (or that nothing matches)."""

    def __init__(self, client: OAIClient, config: HarvestConfig, state: HarvestState,
                 summary: HarvestSummary, *, prefetch: bool) -> None:
        self.client = client
        self.config = config
        self.state = state
        self.summary = summary
        self.prefetch = prefetch
        self.complete = False

    def pages(self) -> Iterator[FetchedPage]:
        state = self.state
        token = state.resumption_token
        seen: set[str] = {token} if token else set()
        ahead: _Prefetch | None = None
        try:
            while True:
                params = self.params(state, token)
                try:
                    if ahead is not None and ahead.params == params:
                        page = ahead.result()
                    else:
                        page = self.client.request(params, allow=ALLOWED_OAI_ERRORS)
                    ahead = None
                except HarvestError as exc:
                    ahead = None
                    if (exc.oai_code == "badResumptionToken" and token is not None
                            and self.summary.window_restarts < MAX_WINDOW_RESTARTS):
                        # The token expired (or the provider restarted): harvest the same
                        # window again from its start; unchanged records make nothing new.
                        self.summary.window_restarts += 1
                        token = None
                        seen.clear()
                        state = replace(state, resumption_token=None, pages_done=0, records_done=0)
                        continue
                    raise
                self.summary.illegal_chars_removed += page.illegal_chars_removed
                if page.oai_error() is not None:  # noRecordsMatch: nothing (new) to harvest
                    self.state = state
                    self.complete = True
                    return
                next_token, list_size = resumption(page)
                looping = bool(next_token) and (next_token == token or next_token in seen)
                if next_token and not looping and self.prefetch:
                    # ask for the next page while this one is stored (harvest time becomes
                    # max(provider, bagging) instead of their sum); only the checkpoint,
                    # written after this page's bags, decides where a rerun starts
                    ahead = _Prefetch(self.client, self.params(state, next_token))
                state = replace(state, resumption_token=next_token, pages_done=state.pages_done + 1,
                                records_done=state.records_done + len(page.records))
                self.state = state
                yield FetchedPage(page, state, list_size, last=not next_token,
                                  looping_token=next_token if looping else None)
                if looping or not next_token:
                    self.complete = not next_token
                    return
                seen.add(next_token)
                token = next_token
        finally:
            if ahead is not None:
                ahead.abandon()

    def params(self, state: HarvestState, token: str | None) -> dict[str, str]:
        if token:
            return {"verb": "ListRecords", "resumptionToken": token}
        params = {"verb": "ListRecords", "metadataPrefix": self.config.metadata_prefix}
        if self.config.set_spec:
            params["set"] = self.config.set_spec
        if state.window_from:
            params["from"] = state.window_from
        if state.window_until:
            params["until"] = state.window_until
        return params


def starting_state(saved: HarvestState, config: HarvestConfig, granularity: str,
                   response_date: str | None) -> tuple[HarvestState, bool]:
    """Where this run starts: the saved checkpoint (``True``: resumed) when the same window
    was in progress and no restart was asked for, else the window from its start."""
    wanted_from = normalize_datestamp(config.from_, granularity, end=False, what="from_")
    wanted_until = normalize_datestamp(config.until, granularity, end=True, what="until")
    resume = (
        saved.in_progress
        and not config.restart
        and (config.from_ is None or wanted_from == saved.window_from)
        and wanted_until == saved.window_until
    )
    if resume:
        return saved, True
    window_from = wanted_from
    if window_from is None and saved.last_response_date:
        window_from = normalize_datestamp(saved.last_response_date, granularity, end=False,
                                          what="last_response_date")
    return replace(
        saved,
        window_from=window_from,
        window_until=wanted_until,
        resumption_token=None,
        pages_done=0,
        records_done=0,
        run_response_date=response_date or _now_datestamp(),
    ), False


def finished_state(state: HarvestState, granularity: str) -> HarvestState:
    """The list is complete: its first responseDate becomes the next harvest's ``from``.

    Only when the window left nothing out since the last complete harvest: a window with
    an ``until``, or a ``from`` later than that harvest, leaves records behind that the
    next incremental harvest must still ask for.
    """
    last = state.last_response_date
    if _covers_everything_since(last, state, granularity):
        last = state.run_response_date or last
    return replace(state, last_response_date=last, resumption_token=None)


def _covers_everything_since(last: str | None, state: HarvestState, granularity: str) -> bool:
    if state.window_until:
        return False
    if state.window_from is None:
        return True
    if last is None:
        return False
    since = normalize_datestamp(last, granularity, end=False, what="last_response_date")
    return since is not None and state.window_from <= since


class _Prefetch:
    """One page request running in a daemon thread (never outlives the process)."""

    def __init__(self, client: OAIClient, params: dict[str, str]) -> None:
        self.params = params
        self._client = client
        self._page: Page | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="stook-harvest-prefetch", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._page = self._client.request(self.params, allow=ALLOWED_OAI_ERRORS)
        except BaseException as exc:  # handed to the harvest thread by result()
            self._error = exc

    def result(self) -> Page:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._page is not None
        return self._page

    def abandon(self) -> None:
        """The harvest stopped: the request finishes or times out on its own, unread."""


def resumption(page: Page) -> tuple[str | None, int | None]:
    """The page's resumption token (None at the end of the list) and completeListSize."""
    element = page.root.find(f"{{{NS_OAI}}}ListRecords/{{{NS_OAI}}}resumptionToken")
    if element is None:
        return None, None
    size_text = element.get("completeListSize")
    size = int(size_text) if size_text and size_text.strip().isdigit() else None
    token = (element.text or "").strip()
    return token or None, size


def _now_datestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
