"""One harvest: Identify, then for each page: store its records, then checkpoint it.

Pages come from :class:`~stook.harvest.pages.PageSource` (requests, retries, expired
tokens, loops, prefetch) and are turned into work by
:class:`~stook.harvest.work.PageWorker` (crosswalk, quarantine, provenance). They are
stored through :meth:`stook.store.Store.add_batches`, one batch per page, so the build
workers bag one page while this process crosswalks the next and the store commits an
earlier one.

What makes a harvest resumable after SIGKILL at any instant: a page's checkpoint (the
next resumption token), together with its deletions and set-asides, is written in one
ledger transaction *after* the commit of that page's records, never before. A crash
replays the pages after the last checkpoint; their bags are then *unchanged* and make
nothing new. Only the pages in flight are held (a few), so memory stays flat however
long the harvest.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import requests

from stook.errors import HarvestError, RecordInvalid, UsageError
from stook.harvest.client import OAIClient
from stook.harvest.config import HarvestConfig, HarvestSummary, PageProgress, normalize_datestamp
from stook.harvest.pages import PageSource, finished_state, starting_state
from stook.harvest.quarantine import Quarantine, clear_partial_quarantine
from stook.harvest.work import PageWork, PageWorker
from stook.ledger import Source
from stook.store import AddResult, BagRequest, Store

MAX_LISTED_QUARANTINE = 100

__all__ = ["HarvestConfig", "HarvestSummary", "PageProgress", "harvest", "normalize_datestamp"]


def harvest(
    store: Store,
    config: HarvestConfig,
    *,
    on_page: Callable[[PageProgress], None] | None = None,
    session: requests.Session | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> HarvestSummary:
    """Harvest ``config.base_url`` into ``store``; see the module docstring for the guarantees."""
    if config.limit is not None and config.limit < 1:
        raise UsageError(f"the record limit must be at least 1, not {config.limit}", option="limit")
    client = OAIClient(config.base_url, config.policy(), session=session, sleep=sleep)
    try:
        with store.writing():
            return _Harvest(store, config, client, on_page).run()
    finally:
        client.close()


class _Harvest:
    def __init__(self, store: Store, config: HarvestConfig, client: OAIClient,
                 on_page: Callable[[PageProgress], None] | None) -> None:
        self.store = store
        self.config = config
        self.client = client
        self.on_page = on_page
        self.summary = HarvestSummary(config.base_url, config.metadata_prefix, config.set_spec)
        self.started = time.monotonic()
        quarantine = Quarantine(store.root, store.quarantine_dir(), config.base_url, config.metadata_prefix,
                                self.summary.quarantined, limit=MAX_LISTED_QUARANTINE)
        source = Source.harvest(config.base_url, config.metadata_prefix, config.set_spec)
        self.worker = PageWorker(store, config, client, self.summary, source, quarantine)
        self.granularity = ""
        self.settled = 0  # records of the pages committed and checkpointed so far

    def run(self) -> HarvestSummary:
        config, summary = self.config, self.summary
        clear_partial_quarantine(self.store.quarantine_dir())
        identify = self.client.identify()
        self.granularity = identify.granularity
        saved = self.store.ledger.load_state(config.base_url, config.metadata_prefix, config.set_spec)
        state, summary.resumed = starting_state(saved, config, identify.granularity, identify.response_date)
        summary.window_from, summary.window_until = state.window_from, state.window_until
        source = PageSource(self.client, config, state, summary, prefetch=not config.fetch_files)
        pending: deque[PageWork] = deque()
        try:
            self._store_pages(self._works(source, pending), pending)
            if source.complete and not summary.complete:  # noRecordsMatch: nothing (new) to harvest
                with self.store.ledger.transaction() as conn:
                    self.store.ledger.save_state(conn, finished_state(source.state, self.granularity))
                summary.complete = True
        finally:
            for work in pending:  # pages in flight when the harvest stopped: their downloads
                _remove(work.downloads)
            summary.retries = self.client.retries
            summary.elapsed = time.monotonic() - self.started
            summary.rate = summary.records / summary.elapsed if summary.elapsed > 0 else 0.0
        return summary

    def _works(self, source: PageSource, pending: deque[PageWork]) -> Iterator[PageWork]:
        """The pages as work, each added to ``pending`` until the store has committed it;
        no page after the one that reaches the record limit."""
        limit = self.config.limit
        for fetched in source.pages():
            work = self.worker.work(fetched)
            pending.append(work)
            yield work
            if not work.full or (limit is not None and self.summary.records >= limit):
                return

    def _store_pages(self, works: Iterator[PageWork], pending: deque[PageWork]) -> None:
        """Store page after page, each checkpointed once its records are committed.

        A page with a record the schema refuses fails its batch: the pages in flight are then
        checked record by record, the invalid records quarantined, and storing starts again
        from the oldest page not yet committed (the common case, every record valid, costs
        one validation per record, in the build workers)."""
        failed: list[Exception] = []  # kept across restarts: the page source ends with its error
        while True:
            replay = list(pending)
            pending.clear()
            feed = _Feed(replay, works, pending, failed)
            try:
                for results in self.store.add_batches(feed.batches()):
                    self._settle(pending.popleft(), results)
            except RecordInvalid:
                for work in pending:
                    self.worker.set_apart_invalid(work)
                continue
            if failed:  # the pages before it are stored and checkpointed
                raise failed[0]
            return

    def _settle(self, work: PageWork, results: list[AddResult]) -> None:
        """A page's records are committed: count them, and record its deletions, set-asides and
        checkpoint in one transaction."""
        summary = self.summary
        _remove(work.downloads)
        for result in results:
            if result.status == "new":
                summary.new += 1
            elif result.status == "changed":
                summary.changed += 1
            else:
                summary.unchanged += 1
        fetched = work.fetched
        ledger = self.store.ledger
        with ledger.transaction() as conn:
            ledger.clear_tombstones(conn, [r.record["identifier"] for r in work.requests])
            for identifier, datestamp in work.deletions:
                if ledger.record_deletion(conn, identifier=identifier, datestamp=datestamp,
                                          base_url=self.config.base_url):
                    summary.deleted += 1
            ledger.append_events(conn, work.failures)
            if work.full and fetched.looping_token is None:  # never a checkpoint past a cut page
                state = finished_state(fetched.state, self.granularity) if fetched.last else fetched.state
                ledger.save_state(conn, state)
                summary.complete = fetched.last
        summary.pages += 1
        self.settled += work.records
        if self.on_page is not None:
            self.on_page(PageProgress(summary.pages, self.settled, fetched.list_size,
                                      time.monotonic() - self.started))
        if fetched.looping_token is not None and work.full:
            raise HarvestError(
                f"{work.page.url}: the provider sent resumption token {fetched.looping_token!r} again; "
                "the list is looping, so the harvest stops here",
                url=work.page.url,
                hint="report the loop to the repository; pages before it are stored and checkpointed",
            )


class _Feed:
    """The pages to store as batches: first those to store again, then the next ones.

    An error while the next page is fetched or prepared (a provider that gives up, a page
    that cannot be read) ends the feed instead of escaping into the store: the pages
    already in flight are still committed and checkpointed, then the error is raised."""

    def __init__(self, replay: list[PageWork], works: Iterator[PageWork], pending: deque[PageWork],
                 failed: list[Exception]) -> None:
        self.replay = replay
        self.works = works
        self.pending = pending
        self.failed = failed

    def batches(self) -> Iterator[Sequence[BagRequest]]:
        for work in self.replay:
            self.pending.append(work)
            yield work.requests
        while True:
            try:
                work = next(self.works)
            except StopIteration:
                return
            except Exception as exc:  # raised by the harvest once the pages before it are stored
                self.failed.append(exc)
                return
            yield work.requests


def _remove(paths: list[Path]) -> None:
    for path in paths:
        path.unlink(missing_ok=True)
