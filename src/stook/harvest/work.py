"""What one page of a harvest asks the store to do: records to bag, deletions, set-asides.

Each record of a page is crosswalked into a record with its payload (the source XML,
the text when the metadata carries it, linked files with ``fetch_files``) and its
capture event; a record that cannot be read, one whose identifier another source
supplied, and one the schema refuses is quarantined instead, with the reason and a
PREMIS event. Nothing here writes the ledger's bag index: the store does that when the
page's batch is committed (:mod:`stook.harvest.run`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from stook.bagwriter import PayloadItem
from stook.crosswalk import SOURCE_PATH, TEXT_PATH, crosswalk_record, read_header
from stook.harvest.client import OAIClient, Page
from stook.harvest.config import HarvestConfig, HarvestSummary
from stook.harvest.files import fetch_file, other_scheme_links
from stook.harvest.netpolicy import AddressPolicy
from stook.harvest.page import PageRecord, record_problem
from stook.harvest.pages import FetchedPage
from stook.harvest.provenance import split_by_owner
from stook.harvest.quarantine import Quarantine
from stook.ledger import Event, Source, utc_now
from stook.schema import validate_record
from stook.store import BagRequest, Store
from stook.xmlns import NS_OAI


@dataclass
class PageWork:
    """One page, ready for the store: its records (with their source XML, for quarantine),
    its deletions, the events of what was set apart, and the files downloaded for it."""

    fetched: FetchedPage
    requests: list[BagRequest] = field(default_factory=list)
    raws: list[bytes] = field(default_factory=list)
    deletions: list[tuple[str, str]] = field(default_factory=list)
    failures: list[Event] = field(default_factory=list)  # records set apart (val, qua)
    downloads: list[Path] = field(default_factory=list)
    full: bool = True  # False when the record limit cut the page short: no checkpoint past it
    records: int = 0  # records of the page taken (all, unless the limit cut it)

    @property
    def page(self) -> Page:
        return self.fetched.page


class PageWorker:
    """Turns pages into :class:`PageWork` for one harvest."""

    def __init__(self, store: Store, config: HarvestConfig, client: OAIClient, summary: HarvestSummary,
                 source: Source, quarantine: Quarantine) -> None:
        self.store = store
        self.config = config
        self.client = client
        self.summary = summary
        self.source = source
        self.quarantine = quarantine

    def work(self, fetched: FetchedPage) -> PageWork:
        config = self.config
        summary = self.summary
        page = fetched.page
        work = PageWork(fetched)
        items: list[PageRecord] = page.records
        if config.limit is not None and summary.records + len(items) > config.limit:
            items = items[: max(0, config.limit - summary.records)]
            work.full = False
        work.records = len(items)
        retrieved_at = utc_now()
        deleted_raw: dict[str, bytes] = {}
        for item in items:
            summary.records += 1
            problem = item.problem if item.element is None else record_problem(item.element)
            if problem is not None or item.element is None:
                work.failures.append(self._unreadable(page, item, problem or "the record cannot be read"))
                continue
            element = item.element
            header = read_header(element.find(f"{{{NS_OAI}}}header"))
            raw = etree.tostring(element, encoding="UTF-8", xml_declaration=True)
            if header.deleted:
                work.deletions.append((header.identifier, header.datestamp))
                deleted_raw[header.identifier] = raw
                continue
            try:
                walked = crosswalk_record(element, base_url=config.base_url,
                                          metadata_prefix=config.metadata_prefix,
                                          retrieved_at=retrieved_at, options=config.crosswalk,
                                          header=header)
            except ValueError as exc:  # metadata that cannot be read as a record at all
                work.failures.append(self._unreadable(page, PageRecord(element), str(exc)))
                continue
            record = walked.record
            if page.redirects and record.get("record_source", {}).get("base_url") == config.base_url:
                record["record_source"]["redirects"] = page.redirected_endpoints()
            payload = [PayloadItem(SOURCE_PATH, data=raw)]
            if walked.text is not None:
                payload.append(PayloadItem(TEXT_PATH, data=walked.text.encode("utf-8")))
            events = [_capture(page, header.identifier, header.datestamp, record["identifier"],
                               config.metadata_prefix)]
            if config.fetch_files:
                events.extend(self._fetch_files(record, payload, walked.links, work.downloads))
            work.requests.append(BagRequest(record=record, payload=payload, algorithms=config.algorithms,
                                            source_organization=config.source_organization,
                                            events=events, source=self.source))
            work.raws.append(raw)
        self._own_only(work, deleted_raw)
        return work

    def set_apart_invalid(self, work: PageWork) -> None:
        """Quarantine the records of ``work`` the schema refuses (every problem listed)."""
        kept: list[tuple[BagRequest, bytes]] = []
        for request, raw in zip(work.requests, work.raws, strict=True):
            problems = validate_record(request.record)
            if problems:
                work.failures.append(self.quarantine.invalid(work.page.url, request.record, raw, problems))
                self.summary.invalid += 1
            else:
                kept.append((request, raw))
        work.requests = [r for r, _ in kept]
        work.raws = [raw for _, raw in kept]

    def _unreadable(self, page: Page, item: PageRecord, message: str) -> Event:
        self.summary.invalid += 1
        return self.quarantine.unreadable(page.url, item, message, final_url=page.final_url)

    def _own_only(self, work: PageWork, deleted_raw: dict[str, bytes]) -> None:
        """Keep the records and deletions this source may store or tombstone; quarantine the
        ones that collide with another source's records (see :mod:`stook.harvest.provenance`)."""
        split = split_by_owner(
            self.store, self.source, [r.record["identifier"] for r in work.requests],
            [identifier for identifier, _ in work.deletions], adopt_existing=self.config.adopt_existing,
        )
        self.summary.taken_over += len(split.taken_over)
        if not split.collisions:
            return
        raw_of = {r.record["identifier"]: raw for r, raw in zip(work.requests, work.raws, strict=True)}
        for collision in split.collisions:
            raw = (deleted_raw if collision.deleted else raw_of).get(collision.identifier) or b""
            latest = self.store.latest(collision.identifier)
            event = self.quarantine.collision(work.page.url, collision, self.source, raw, latest)
            work.failures.append(event)
        self.summary.collisions += len(split.collisions)
        colliding = split.colliding()
        kept = [(r, raw) for r, raw in zip(work.requests, work.raws, strict=True)
                if r.record["identifier"] not in colliding]
        work.requests = [r for r, _ in kept]
        work.raws = [raw for _, raw in kept]
        work.deletions = [d for d in work.deletions if d[0] not in colliding]

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


def _capture(page: Page, oai_identifier: str, datestamp: str, identifier: str, prefix: str) -> Event:
    """The capture event of one harvested record: the request (and any redirects) it came by."""
    data: dict[str, Any] = {"url": page.url, "oai_identifier": oai_identifier, "datestamp": datestamp,
                            "metadata_prefix": prefix}
    if page.redirects:
        data.update(final_url=page.final_url, redirects=list(page.redirects))
    return Event(
        "cap", "suc", identifier=identifier,
        detail=f"harvested {oai_identifier} (datestamp {datestamp}) from {page.url}"
        + (f", redirected to {page.final_url}" if page.redirects else ""),
        data=data,
    )
