"""The OAI-PMH transport: HTTP with a deadline per response, retries, each page parsed once.

How sickle is used, and why not more of it: :class:`sickle.Sickle` gives the request
vocabulary and the ``Identify`` model, and its ``harvest()`` method is the one seam it
offers for the transport, so :class:`_SickleTransport` overrides it to go through
:meth:`OAIClient.fetch`. Pages are iterated here rather than with sickle's iterators,
because those cannot start from a saved resumption token, have no hook at page
boundaries (where stook checkpoints), do not notice a repeated token, and their
``OAIResponse.xml`` re-parses the body on every access with ``recover=True``, which
silently drops broken content.

Each request goes through :mod:`stook.harvest.transport` (the whole response within
``timeout``, the decoded body within ``max_response_bytes``, redirects only to http(s),
each hop kept on the :class:`Page`) and is read by :mod:`stook.harvest.page` (strictly,
record by record when the page cannot be read whole). Timeouts, broken connections,
429/5xx and pages whose envelope is broken are retried with backoff.
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import requests
from sickle import Sickle
from sickle.models import Identify

from stook import AGENT, PROJECT_URL
from stook.errors import HarvestError
from stook.harvest.netpolicy import DEFAULT_MAX_RESPONSE_BYTES, MAX_REDIRECTS
from stook.harvest.page import BrokenPage, PageRecord, parse_page, strip_illegal_chars
from stook.harvest.transport import (
    Deadline,
    Transient,
    deadline_session,
    decoded_chunks,
    get_following,
    read_capped,
)
from stook.xmlns import NS_OAI

SECONDS_GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
DAY_GRANULARITY = "YYYY-MM-DD"
USER_AGENT = f"{AGENT} (+{PROJECT_URL})"
_RETRY_STATUS = frozenset({429}) | frozenset(range(500, 600))
_T = TypeVar("_T")

__all__ = [
    "DAY_GRANULARITY",
    "SECONDS_GRANULARITY",
    "IdentifyInfo",
    "OAIClient",
    "Page",
    "RetryPolicy",
    "parse_retry_after",
    "strip_illegal_chars",
]


@dataclass
class RetryPolicy:
    """How patiently, and how far, to talk to a provider.

    ``timeout`` bounds each whole response (connecting, headers, body and redirects);
    ``max_wait`` caps every single wait, both backoff and a provider's Retry-After;
    ``max_response_bytes`` caps a response's decoded size; ``max_redirects`` the hops
    followed for one request.
    """

    timeout: float = 60.0
    max_retries: int = 8
    backoff: float = 1.0
    max_wait: float = 600.0
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    max_redirects: int = MAX_REDIRECTS


@dataclass
class Page:
    """One parsed OAI-PMH response."""

    url: str
    root: Any  # the OAI-PMH element
    response_date: str | None
    illegal_chars_removed: int
    attempts: int
    records: list[PageRecord] = field(default_factory=list)
    redirects: tuple[str, ...] = ()  # the URLs the request was redirected to, in order

    @property
    def final_url(self) -> str:
        """The URL the answer actually came from."""
        return self.redirects[-1] if self.redirects else self.url

    def redirected_endpoints(self) -> list[str]:
        """Each URL redirected to, without its query: where the records came from, the same
        for every page of a harvest (the query changes from page to page)."""
        return [urlunsplit(urlsplit(url)._replace(query="", fragment="")) for url in self.redirects]

    @property
    def xml(self) -> Any:
        """What sickle's models read (they expect an ``OAIResponse``-like object)."""
        return self.root

    def oai_error(self) -> tuple[str, str] | None:
        """The first ``<error>`` (code, message), if the provider answered with one."""
        error = self.root.find(f"{{{NS_OAI}}}error")
        if error is None:
            return None
        return error.get("code") or "unknown", " ".join((error.text or "").split())


@dataclass(frozen=True)
class MetadataFormat:
    """One ``metadataFormat`` of a ListMetadataFormats answer."""

    prefix: str
    schema: str
    namespace: str


@dataclass(frozen=True)
class IdentifyInfo:
    """What stook needs from Identify."""

    repository_name: str
    granularity: str
    earliest_datestamp: str | None
    deleted_record: str | None
    response_date: str | None


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = now or datetime.now(timezone.utc)
    return max(0.0, (when - current).total_seconds())


class OAIClient:
    """Requests to one OAI-PMH base URL, with retries; counts what it had to repair."""

    def __init__(
        self,
        base_url: str,
        policy: RetryPolicy | None = None,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        if not base_url.lower().startswith(("http://", "https://")):
            raise HarvestError(
                f"{base_url}: not an http(s) URL; give the OAI-PMH base URL, e.g. https://example.org/oai",
                url=base_url,
            )
        self.base_url = base_url
        self.policy = policy or RetryPolicy()
        self.session = deadline_session(session)
        agent = str(self.session.headers.get("User-Agent") or "")
        if not agent or agent.startswith("python-requests"):
            self.session.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep
        self._rng = rng
        self.requests_sent = 0
        self.retries = 0
        self.waited = 0.0
        self.sickle = _SickleTransport(self)

    def close(self) -> None:
        self.session.close()

    # -- URLs and waiting ------------------------------------------------------------

    def url_for(self, params: Mapping[str, str]) -> str:
        prepared = requests.Request("GET", self.base_url, params=dict(params)).prepare()
        return str(prepared.url)

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with jitter: base * 2^attempt, scaled by 0.5..1, capped."""
        delay = self.policy.backoff * (2**attempt)
        return float(min(self.policy.max_wait, delay) * (0.5 + 0.5 * self._rng()))

    def _wait(self, seconds: float) -> None:
        seconds = max(0.0, min(seconds, self.policy.max_wait))
        self.waited += seconds
        self._sleep(seconds)

    # -- HTTP ---------------------------------------------------------------------------

    def retrying(self, url: str, attempt: Callable[[], _T]) -> tuple[_T, int]:
        """``attempt()`` until it does not raise :class:`Transient`; its result and the attempts.

        Waits between attempts with backoff (or the provider's Retry-After); raises
        :class:`HarvestError` naming ``url`` when the retries are used up.
        """
        tries = 0
        while True:
            try:
                self.requests_sent += 1
                return attempt(), tries + 1
            except Transient as exc:
                if tries >= self.policy.max_retries:
                    raise HarvestError(
                        f"{url}: {exc.problem}; gave up after {tries + 1} attempt{'s' if tries else ''}",
                        http_status=exc.status,
                        url=url,
                        hint=exc.hint or "the provider may be down or overloaded; run the same command "
                        "later and the harvest continues from its last checkpoint (max_retries and "
                        "timeout give it more patience)",
                    ) from exc
                wait = exc.retry_after if exc.retry_after is not None else self.backoff(tries)
            tries += 1
            self.retries += 1
            self._wait(wait)

    def _fetch_once(self, url: str) -> Page:
        """One attempt: the whole answer within the deadline, read and parsed."""
        with Deadline(self.policy.timeout) as deadline:
            response, redirects = get_following(
                self.session, url, deadline=deadline, max_redirects=self.policy.max_redirects
            )
            with response:
                status = response.status_code
                if status in _RETRY_STATUS:
                    raise Transient(
                        f"HTTP {status} {response.reason or ''}".strip(),
                        status=status,
                        retry_after=parse_retry_after(response.headers.get("Retry-After")),
                    )
                if status >= 300:
                    raise HarvestError(
                        f"{url}: HTTP {status} {response.reason or ''}".rstrip()
                        + "; check the base URL and the arguments",
                        http_status=status,
                        url=url,
                    )
                encoding = response.headers.get("Content-Encoding")
                chunks = decoded_chunks(response.raw, encoding, url=url, deadline=deadline)
                body = read_capped(chunks, max_bytes=self.policy.max_response_bytes, url=url,
                                   content_encoding=encoding)
        try:
            parsed = parse_page(body)
        except BrokenPage as exc:
            if _looks_like_html(body):
                raise HarvestError(
                    f"{url}: the answer is an HTML page, not an OAI-PMH response",
                    http_status=status,
                    url=url,
                    hint="check that the base URL is the repository's OAI-PMH endpoint",
                ) from exc
            raise Transient(
                f"the response is not well-formed XML ({exc})",
                hint="the provider sends a broken page; report it to the repository, then run the same "
                "command again to continue",
            ) from exc
        root = parsed.root
        if root.tag != f"{{{NS_OAI}}}OAI-PMH":
            raise HarvestError(
                f"{url}: not an OAI-PMH 2.0 response (root element {root.tag!r})",
                url=url,
                hint="check that the base URL is the repository's OAI-PMH endpoint",
            )
        response_date = root.findtext(f"{{{NS_OAI}}}responseDate")
        return Page(url, root, response_date.strip() if response_date else None,
                    parsed.illegal_chars_removed, 1, parsed.records, redirects)

    def fetch(self, params: Mapping[str, str]) -> Page:
        """One OAI-PMH request, parsed. Broken answers are retried like server errors."""
        url = self.url_for(params)
        page, attempts = self.retrying(url, lambda: self._fetch_once(url))
        page.attempts = attempts
        return page

    def request(self, params: Mapping[str, str], *, allow: tuple[str, ...] = ()) -> Page:
        """:meth:`fetch`, raising :class:`HarvestError` for an OAI error not in ``allow``."""
        page = self.fetch(params)
        error = page.oai_error()
        if error is not None and error[0] not in allow:
            code, message = error
            raise HarvestError(
                f"{page.url}: the provider answered with OAI-PMH error {code}: {message or '(no message)'}",
                oai_code=code,
                url=page.url,
                hint=_OAI_HINTS.get(code),
            )
        return page

    def identify(self) -> IdentifyInfo:
        """Identify, through sickle's model."""
        model = self.sickle.Identify()
        granularity = str(getattr(model, "granularity", "") or "").strip()
        if granularity not in (SECONDS_GRANULARITY, DAY_GRANULARITY):
            granularity = DAY_GRANULARITY  # every provider must support day granularity
        page = self.sickle.last_page
        return IdentifyInfo(
            repository_name=str(getattr(model, "repositoryName", "") or ""),
            granularity=granularity,
            earliest_datestamp=getattr(model, "earliestDatestamp", None),
            deleted_record=getattr(model, "deletedRecord", None),
            response_date=page.response_date if page else None,
        )

    def list_metadata_formats(self) -> list[MetadataFormat]:
        """The formats the repository offers (ListMetadataFormats), in its order."""
        page = self.request({"verb": "ListMetadataFormats"})
        formats = []
        for element in page.root.iterfind(f"{{{NS_OAI}}}ListMetadataFormats/{{{NS_OAI}}}metadataFormat"):
            formats.append(MetadataFormat(
                prefix=(element.findtext(f"{{{NS_OAI}}}metadataPrefix") or "").strip(),
                schema=(element.findtext(f"{{{NS_OAI}}}schema") or "").strip(),
                namespace=(element.findtext(f"{{{NS_OAI}}}metadataNamespace") or "").strip(),
            ))
        return formats


_OAI_HINTS = {
    "badArgument": "check --from/--until/--set",
    "cannotDisseminateFormat": "the repository does not offer this --prefix; see its ListMetadataFormats",
    "noSetHierarchy": "the repository has no sets; drop --set",
    "badResumptionToken": "the token expired; run again with --restart to harvest the window anew",
    "badVerb": "the base URL may not be an OAI-PMH endpoint",
}


def _looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


class _SickleTransport(Sickle):
    """sickle with stook's transport: ``harvest()`` returns a parsed, checked :class:`Page`."""

    def __init__(self, client: OAIClient) -> None:
        super().__init__(client.base_url)
        self._client = client
        self.last_page: Page | None = None

    def harvest(self, **kwargs: Any) -> Page:
        page = self._client.request({k: str(v) for k, v in kwargs.items()})
        self.last_page = page
        return page

    def Identify(self) -> Identify:  # noqa: N802 - sickle's naming
        return super().Identify()
