"""One harvest: Identify, list pages, crosswalk, validate, bag, checkpoint.

The order of work per page is what makes a harvest resumable after SIGKILL at any
instant: (1) every valid record of the page is bagged with one group commit
(``Store.add_many``: durable before visible); (2) one ledger transaction records the
page's deletions, its validation failures and the checkpoint (the next resumption
token). A crash before (2) replays the page on the next run; its bags are then
*unchanged* and make nothing new. Records are streamed page by page: nothing is kept
across pages but counters, so memory stays flat however long the harvest.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from lxml import etree

from stook.bagwriter import DEFAULT_ALGORITHMS, PayloadItem
from stook.crosswalk import NS_OAI, SOURCE_PATH, TEXT_PATH, CrosswalkOptions, crosswalk_record, read_header
from stook.errors import HarvestError, RecordInvalid, UsageError
from stook.harvest.client import DAY_GRANULARITY, OAIClient, Page, RetryPolicy
from stook.harvest.files import DEFAULT_MAX_FILE_SIZE, fetch_file, other_scheme_links
from stook.harvest.netpolicy import DEFAULT_MAX_RESPONSE_BYTES, AddressPolicy
from stook.harvest.page import PageRecord, record_problem
from stook.harvest.provenance import Collision, split_by_owner
from stook.harvest.quarantine import Quarantine, clear_partial_quarantine
from stook.ledger import Event, HarvestState, Source, utc_now
from stook.schema import validate_record
from stook.store import AddResult, BagRequest, Store

MAX_WINDOW_RESTARTS = 3
ALLOWED_OAI_ERRORS = ("noRecordsMatch",)
MAX_LISTED_QUARANTINE = 100


@dataclass
class HarvestConfig:
    """Everything ``stook harvest`` was asked to do."""

    base_url: str
    metadata_prefix: str = "oai_dc"
    crosswalk: CrosswalkOptions = field(default_factory=CrosswalkOptions, kw_only=True)
    set_spec: str | None = None
    from_: str | None = None
    until: str | None = None
    limit: int | None = None
    timeout: float = 60.0
    max_wait: float = 600.0
    max_retries: int = 8
    backoff: float = 1.0
    max_response_bytes: int = field(default=DEFAULT_MAX_RESPONSE_BYTES, kw_only=True)
    fetch_files: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    allow_private_hosts: bool = field(default=False, kw_only=True)
    algorithms: Sequence[str] = DEFAULT_ALGORITHMS
    source_organization: str | None = None
    restart: bool = False
    adopt_existing: bool = False

    def policy(self) -> RetryPolicy:
        return RetryPolicy(self.timeout, self.max_retries, self.backoff, self.max_wait,
                           max_response_bytes=self.max_response_bytes)


@dataclass
class PageProgress:
    """Sent to the progress callback after every page."""

    pages: int
    records: int
    complete_list_size: int | None
    elapsed: float


@dataclass
class HarvestSummary:
    base_url: str
    metadata_prefix: str
    set_spec: str | None
    window_from: str | None = None
    window_until: str | None = None
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    invalid: int = 0
    pages: int = 0
    records: int = 0
    illegal_chars_removed: int = 0
    retries: int = 0
    files_fetched: int = 0
    files_skipped: int = 0
    resumed: bool = False
    window_restarts: int = 0
    complete: bool = False
    elapsed: float = 0.0
    rate: float = 0.0
    quarantined: list[str] = field(default_factory=list)
    collisions: int = 0
    taken_over: int = 0

    @property
    def exit_code(self) -> int:
        return 1 if self.invalid or self.collisions else 0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["elapsed"] = round(self.elapsed, 3)
        data["rate"] = round(self.rate, 1)
        return data

    def line(self) -> str:
        window = ""
        if self.window_from or self.window_until:
            window = f" from {self.window_from or 'the start'} until {self.window_until or 'now'}"
        state = "complete" if self.complete else "stopped before the end (run again to continue)"
        parts = [
            f"harvest of {self.base_url} ({self.metadata_prefix}"
            + (f", set {self.set_spec}" if self.set_spec else "") + f"){window} {state}:",
            f"{self.new} new, {self.changed} changed, {self.unchanged} unchanged, "
            f"{self.deleted} deleted, {self.invalid} invalid;",
            f"{self.records} records in {self.pages} pages, {self.elapsed:.1f} s ({self.rate:.1f} records/s)",
        ]
        extras = []
        if self.illegal_chars_removed:
            extras.append(f"{self.illegal_chars_removed} illegal XML characters removed")
        if self.retries:
            extras.append(f"{self.retries} retries")
        if self.resumed:
            extras.append("resumed from a checkpoint")
        if self.window_restarts:
            extras.append(f"window restarted {self.window_restarts}x after an expired token")
        if self.collisions:
            extras.append(f"{self.collisions} records of other sources quarantined, not bagged or "
                          "tombstoned")
        if self.taken_over:
            extras.append(f"{self.taken_over} records of other sources adopted")
        if self.files_fetched or self.files_skipped:
            extras.append(f"{self.files_fetched} files fetched, {self.files_skipped} skipped")
        if extras:
            parts.append("(" + "; ".join(extras) + ")")
        return " ".join(parts)


def normalize_datestamp(value: str | None, granularity: str, *, end: bool, what: str) -> str | None:
    """An OAI datestamp for ``from``/``until`` in the repository's granularity."""
    if value is None or value == "":
        return None
    text = value.strip()
    for fmt in ("%Y-%m-%d", "%Y-%m-%dT%H:%M:%SZ"):
        try:
            datetime.strptime(text, fmt)
            break
        except ValueError:
            continue
    else:
        raise UsageError(
            f"{what} {value!r} is not a date; use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ (UTC)"
        )
    if granularity == DAY_GRANULARITY:
        return text[:10]
    if len(text) == 10:
        return text + ("T23:59:59Z" if end else "T00:00:00Z")
    return text


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
        raise UsageError(f"--limit must be at least 1, not {config.limit}")
    client = OAIClient(config.base_url, config.policy(), session=session, sleep=sleep)
    try:
        with store.writing():
            return _Harvest(store, config, client, on_page).run()
    finally:
        client.close()


class _Harvest:
    def __init__(
        self,
        store: Store,
        config: HarvestConfig,
        client: OAIClient,
        on_page: Callable[[PageProgress], None] | None,
    ) -> None:
        self.store = store
        self.config = config
        self.client = client
        self.on_page = on_page
        self.summary = HarvestSummary(config.base_url, config.metadata_prefix, config.set_spec)
        self.started = time.monotonic()
        self.granularity = DAY_GRANULARITY
        self._page_records = 0
        self.source = Source.harvest(config.base_url, config.metadata_prefix, config.set_spec)
        self.quarantine = Quarantine(store.root, store.quarantine_dir(), config.base_url,
                                     config.metadata_prefix, self.summary.quarantined,
                                     limit=MAX_LISTED_QUARANTINE)

    # -- the loop --------------------------------------------------------------------

    def run(self) -> HarvestSummary:
        config = self.config
        summary = self.summary
        clear_partial_quarantine(self.store.quarantine_dir())
        identify = self.client.identify()
        gran = self.granularity = identify.granularity
        saved = self.store.ledger.load_state(config.base_url, config.metadata_prefix, config.set_spec)
        wanted_from = normalize_datestamp(config.from_, gran, end=False, what="--from")
        wanted_until = normalize_datestamp(config.until, gran, end=True, what="--until")
        resume = (
            saved.in_progress
            and not config.restart
            and (config.from_ is None or wanted_from == saved.window_from)
            and wanted_until == saved.window_until
        )
        if resume:
            state = saved
            token: str | None = saved.resumption_token
            summary.resumed = True
        else:
            window_from = wanted_from
            if window_from is None and saved.last_response_date:
                window_from = normalize_datestamp(saved.last_response_date, gran, end=False, what="from")
            state = replace(
                saved,
                window_from=window_from,
                window_until=wanted_until,
                resumption_token=None,
                pages_done=0,
                records_done=0,
                run_response_date=identify.response_date or _now_datestamp(),
            )
            token = None
        summary.window_from, summary.window_until = state.window_from, state.window_until
        seen_tokens: set[str] = {token} if token else set()
        ahead: _Prefetch | None = None
        try:
            while True:
                try:
                    params = self._params(state, token)
                    if ahead is not None and ahead.params == params:
                        page = ahead.result()
                    else:
                        page = self.client.request(params, allow=ALLOWED_OAI_ERRORS)
                    ahead = None
                except HarvestError as exc:
                    ahead = None
                    expired = exc.oai_code == "badResumptionToken" and token is not None
                    if expired and summary.window_restarts < MAX_WINDOW_RESTARTS:
                        # The token expired (or the provider restarted): harvest the same
                        # window again from its start; unchanged records make nothing new.
                        summary.window_restarts += 1
                        token = None
                        seen_tokens.clear()
                        state = replace(state, resumption_token=None, pages_done=0, records_done=0)
                        continue
                    raise
                summary.illegal_chars_removed += page.illegal_chars_removed
                error = page.oai_error()
                if error is not None:  # noRecordsMatch: nothing (new) to harvest
                    self._finish(state)
                    break
                next_token, list_size = _resumption(page)
                looping = bool(next_token) and (next_token == token or next_token in seen_tokens)
                if next_token and not looping and self._prefetch_allowed():
                    # ask for the next page while this one is bagged (harvest time becomes
                    # max(provider, bagging) instead of their sum); only the checkpoint,
                    # written after this page's bags, decides where a rerun starts
                    ahead = _Prefetch(self.client, self._params(state, next_token))
                full = self._process_page(page)
                summary.pages += 1
                if on_page := self.on_page:
                    on_page(PageProgress(summary.pages, summary.records, list_size, self._elapsed()))
                if not full:
                    break  # --limit reached inside this page: no checkpoint past it
                if looping:
                    raise HarvestError(
                        f"{page.url}: the provider sent resumption token {next_token!r} again; "
                        "the list is looping, so the harvest stops here",
                        url=page.url,
                        hint="report the loop to the repository; pages before it are stored and "
                        "checkpointed",
                    )
                state = replace(
                    state,
                    resumption_token=next_token,
                    pages_done=state.pages_done + 1,
                    records_done=state.records_done + self._page_records,
                )
                if not next_token:
                    self._finish(state)
                    break
                self._checkpoint(state)
                seen_tokens.add(next_token)
                token = next_token
                if config.limit is not None and summary.records >= config.limit:
                    break
        finally:
            if ahead is not None:
                ahead.abandon()
            summary.retries = self.client.retries
            summary.elapsed = self._elapsed()
            summary.rate = summary.records / summary.elapsed if summary.elapsed > 0 else 0.0
        return summary

    def _prefetch_allowed(self) -> bool:
        config = self.config
        if config.fetch_files:  # downloads share the HTTP session with the page requests
            return False
        return config.limit is None or self.summary.records < config.limit

    def _params(self, state: HarvestState, token: str | None) -> dict[str, str]:
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

    def _elapsed(self) -> float:
        return time.monotonic() - self.started

    def _checkpoint(self, state: HarvestState) -> None:
        with self.store.ledger.transaction() as conn:
            self.store.ledger.save_state(conn, state)

    def _finish(self, state: HarvestState) -> None:
        """The list is complete: its first responseDate becomes the next harvest's ``from``.

        Only when the window left nothing out since the last complete harvest: a window
        with an ``until``, or a ``from`` later than that harvest, leaves records behind
        that the next incremental harvest must still ask for.
        """
        last = state.last_response_date
        if self._covers_everything_since(last, state):
            last = state.run_response_date or last
        done = replace(state, last_response_date=last, resumption_token=None)
        with self.store.ledger.transaction() as conn:
            self.store.ledger.save_state(conn, done)
        self.summary.complete = True

    def _covers_everything_since(self, last: str | None, state: HarvestState) -> bool:
        if state.window_until:
            return False
        if state.window_from is None:
            return True
        if last is None:
            return False
        since = normalize_datestamp(last, self.granularity, end=False, what="last harvest")
        return since is not None and state.window_from <= since

    # -- one page ----------------------------------------------------------------------

    def _process_page(self, page: Page) -> bool:
        """Bag, tombstone and quarantine a page's records; False when --limit cut it short."""
        config = self.config
        summary = self.summary
        elements: list[PageRecord] = page.records
        full = True
        if config.limit is not None and summary.records + len(elements) > config.limit:
            elements = elements[: max(0, config.limit - summary.records)]
            full = False
        retrieved_at = utc_now()
        requests_: list[BagRequest] = []
        deletions: list[tuple[str, str]] = []
        deleted_raw: dict[str, bytes] = {}
        failures: list[Event] = []
        downloads: list[Path] = []
        raws: list[bytes] = []
        for item in elements:
            summary.records += 1
            problem = item.problem if item.element is None else record_problem(item.element)
            if problem is not None or item.element is None:
                failures.append(self._quarantine_broken(page, item, problem or "the record cannot be read"))
                continue
            element = item.element
            header = read_header(element.find(f"{{{NS_OAI}}}header"))
            if header.deleted:
                deletions.append((header.identifier, header.datestamp))
                deleted_raw[header.identifier] = etree.tostring(element, encoding="UTF-8",
                                                                xml_declaration=True)
                continue
            raw = etree.tostring(element, encoding="UTF-8", xml_declaration=True)
            try:
                walked = crosswalk_record(
                    element,
                    base_url=config.base_url,
                    metadata_prefix=config.metadata_prefix,
                    retrieved_at=retrieved_at,
                    options=config.crosswalk,
                )
            except ValueError as exc:  # metadata that cannot be read as a record at all
                failures.append(self._quarantine_broken(page, element, str(exc)))
                continue
            record = walked.record
            if page.redirects and record.get("record_source", {}).get("base_url") == config.base_url:
                record["record_source"]["redirects"] = page.redirected_endpoints()
            payload = [PayloadItem(SOURCE_PATH, data=raw)]
            if walked.text is not None:
                payload.append(PayloadItem(TEXT_PATH, data=walked.text.encode("utf-8")))
            events = [
                Event(
                    "cap",
                    "suc",
                    identifier=record["identifier"],
                    detail=f"harvested {header.identifier} (datestamp {header.datestamp}) from {page.url}"
                    + (f", redirected to {page.final_url}" if page.redirects else ""),
                    data={"url": page.url, "oai_identifier": header.identifier,
                          "datestamp": header.datestamp, "metadata_prefix": config.metadata_prefix,
                          **({"final_url": page.final_url, "redirects": list(page.redirects)}
                             if page.redirects else {})},
                )
            ]
            if config.fetch_files:
                events.extend(self._fetch_files(record, payload, walked.links, downloads))
            requests_.append(
                BagRequest(
                    record=record,
                    payload=payload,
                    algorithms=config.algorithms,
                    source_organization=config.source_organization,
                    events=events,
                    source=self.source,
                )
            )
            raws.append(raw)
        self._page_records = len(elements)
        requests_, raws, deletions = self._own_only(page, requests_, raws, deletions, deleted_raw, failures)
        try:
            results = self._store_valid(page, requests_, raws, failures)
        finally:
            for path in downloads:
                path.unlink(missing_ok=True)
        for result in results:
            if result.status == "new":
                summary.new += 1
            elif result.status == "changed":
                summary.changed += 1
            else:
                summary.unchanged += 1
        ledger = self.store.ledger
        with ledger.transaction() as conn:
            ledger.clear_tombstones(conn, [r.record["identifier"] for r in requests_])
            for identifier, datestamp in deletions:
                if ledger.record_deletion(conn, identifier=identifier, datestamp=datestamp,
                                   base_url=config.base_url):
                    summary.deleted += 1
            ledger.append_events(conn, failures)
        summary.invalid += len(failures)
        return full

    def _own_only(
        self,
        page: Page,
        requests_: list[BagRequest],
        raws: list[bytes],
        deletions: list[tuple[str, str]],
        deleted_raw: dict[str, bytes],
        failures: list[Event],
    ) -> tuple[list[BagRequest], list[bytes], list[tuple[str, str]]]:
        """Keep the records and deletions this source may store or tombstone; quarantine
        the ones that collide with another source's records (see :mod:`stook.harvest.provenance`)."""
        split = split_by_owner(
            self.store, self.source, [r.record["identifier"] for r in requests_],
            [identifier for identifier, _ in deletions], adopt_existing=self.config.adopt_existing,
        )
        self.summary.taken_over += len(split.taken_over)
        if not split.collisions:
            return requests_, raws, deletions
        raw_of = {r.record["identifier"]: raw for r, raw in zip(requests_, raws, strict=True)}
        for collision in split.collisions:
            raw = (deleted_raw if collision.deleted else raw_of).get(collision.identifier)
            failures.append(self._quarantine_collision(page, collision, raw or b""))
        self.summary.collisions += len(split.collisions)
        colliding = split.colliding()
        kept = [(r, raw) for r, raw in zip(requests_, raws, strict=True)
                if r.record["identifier"] not in colliding]
        return ([r for r, _ in kept], [raw for _, raw in kept],
                [d for d in deletions if d[0] not in colliding])

    def _quarantine_collision(self, page: Page, collision: Collision, raw: bytes) -> Event:
        latest = self.store.latest(collision.identifier)
        return self.quarantine.collision(page.url, collision, self.source, raw, latest)

    def _store_valid(
        self, page: Page, requests_: list[BagRequest], raws: list[bytes], failures: list[Event]
    ) -> list[AddResult]:
        """Bag the page's valid records in one group commit; quarantine the invalid ones.

        The store validates every record before it writes anything, so the common case
        (all valid) costs one validation per record; only a page with an invalid record
        is validated record by record to set those records apart.
        """
        if not requests_:
            return []
        try:
            return self.store.add_many(requests_)
        except RecordInvalid:
            pass
        valid: list[BagRequest] = []
        for request, raw in zip(requests_, raws, strict=True):
            problems = validate_record(request.record)
            if problems:
                failures.append(self._quarantine(page, request.record, raw, problems))
            else:
                valid.append(request)
        requests_[:] = valid
        return self.store.add_many(valid) if valid else []

    def _fetch_files(
        self, record: dict[str, Any], payload: list[PayloadItem], links: list[str], downloads: list[Path]
    ) -> list[Event]:
        """Download ``links`` into ``payload``; capture events for every link not fetched (a
        warning with the reason) and for every download that was redirected (where from)."""
        noted: list[Event] = []
        taken = {p.path.casefold() for p in payload}
        names: set[str] = set()
        content = record.setdefault("content", [])
        tmp = self.store.tmp_dir()
        policy = AddressPolicy(allow_private=self.config.allow_private_hosts)
        for url in other_scheme_links(record):
            self.summary.files_skipped += 1
            reason = "only http and https links are fetched"
            noted.append(Event("cap", "war", identifier=record["identifier"],
                                  detail=f"{url} not fetched: {reason}", data={"url": url, "reason": reason}))
        for url in links:
            got = fetch_file(self.client, url, tmp, max_bytes=self.config.max_file_size, taken=names,
                             policy=policy)
            if isinstance(got, str):
                self.summary.files_skipped += 1
                noted.append(Event("cap", "war", identifier=record["identifier"],
                                      detail=f"{url} not fetched: {got}", data={"url": url, "reason": got}))
                continue
            downloads.append(got.path)
            if got.redirects:
                noted.append(Event("cap", "suc", identifier=record["identifier"],
                                      detail=f"{url} fetched from {got.redirects[-1]} (redirected: "
                                      + " -> ".join([url, *got.redirects]) + ")",
                                      data={"url": url, "final_url": got.redirects[-1],
                                            "redirects": list(got.redirects)}))
            rel = f"files/{got.name}"
            if rel.casefold() in taken:
                continue
            taken.add(rel.casefold())
            payload.append(PayloadItem(rel, source=got.path))
            content.append({"path": rel, "kind": "attachment", "media_type": got.media_type,
                            "source_url": url, "size": got.size, "sha512": got.sha512})
            record["metadata_only"] = False
            self.summary.files_fetched += 1
        return noted

    # -- quarantine ---------------------------------------------------------------------

    def _quarantine(self, page: Page, record: dict[str, Any], raw: bytes, problems: list[Any]) -> Event:
        return self.quarantine.invalid(page.url, record, raw, problems)

    def _quarantine_broken(self, page: Page, record: PageRecord | Any, message: str) -> Event:
        """Set apart a record that cannot be read as one (``record``: a PageRecord or an element)."""
        item = record if isinstance(record, PageRecord) else PageRecord(record)
        return self.quarantine.unreadable(page.url, item, message, final_url=page.final_url)


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


def _resumption(page: Page) -> tuple[str | None, int | None]:
    element = page.root.find(f"{{{NS_OAI}}}ListRecords/{{{NS_OAI}}}resumptionToken")
    if element is None:
        return None, None
    size_text = element.get("completeListSize")
    size = int(size_text) if size_text and size_text.strip().isdigit() else None
    token = (element.text or "").strip()
    return token or None, size


def _now_datestamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
