"""The OAI-PMH transport: HTTP with timeouts and retries, each page parsed once.

How sickle is used, and why not more of it: :class:`sickle.Sickle` gives the request
vocabulary and the ``Identify`` model, and its ``harvest()`` method is the one seam it
offers for the transport, so :class:`_SickleTransport` overrides it to go through
:meth:`OAIClient.fetch`. Pages are iterated here rather than with sickle's iterators,
because those cannot start from a saved resumption token, have no hook at page
boundaries (where stook checkpoints), do not notice a repeated token, and their
``OAIResponse.xml`` re-parses the body on every access with ``recover=True``, which
silently drops broken content. Here a body is cleaned of XML 1.0 illegal characters
(counted), parsed once, strictly, and an unparseable body is retried like a 503.
"""

from __future__ import annotations

import email.utils
import random
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import requests
from lxml import etree
from sickle import Sickle
from sickle.models import Identify

from stook import AGENT, PROJECT_URL
from stook.errors import HarvestError

NS_OAI = "http://www.openarchives.org/OAI/2.0/"
SECONDS_GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"
DAY_GRANULARITY = "YYYY-MM-DD"
USER_AGENT = f"{AGENT} (+{PROJECT_URL})"

# XML 1.0 (section 2.2) forbids C0 controls other than TAB, LF and CR, and U+FFFE/U+FFFF,
# whether as raw characters or as character references. Raw C0 bytes never occur inside
# a UTF-8 multi-byte sequence, so they can be removed from the bytes directly.
_ILLEGAL = re.compile(
    rb"[\x00-\x08\x0b\x0c\x0e-\x1f]"
    rb"|\xef\xbf[\xbe\xbf]"
    rb"|&#(?:[xX]0*(?:[0-8bBcCeE]|1[0-9a-fA-F]|[fF]{4}|[fF]{3}[eE])|0*(?:[0-8]|1[124-9]|2[0-9]|3[01]|6553[45]));"
)
_RETRY_STATUS = frozenset({429}) | frozenset(range(500, 600))


@dataclass
class RetryPolicy:
    """How patiently to talk to a provider.

    ``timeout`` applies to connecting and to each read; ``max_wait`` caps every single
    wait, both backoff and a provider's Retry-After.
    """

    timeout: float = 60.0
    max_retries: int = 8
    backoff: float = 1.0
    max_wait: float = 600.0


@dataclass
class Page:
    """One parsed OAI-PMH response."""

    url: str
    root: Any  # the OAI-PMH element
    response_date: str | None
    illegal_chars_removed: int
    attempts: int

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


def strip_illegal_chars(body: bytes) -> tuple[bytes, int]:
    """``body`` without XML 1.0 illegal characters, and how many were removed.

    UTF-16 bodies (with a byte order mark) are left alone: their NUL bytes are legal.
    """
    if body[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return body, 0
    cleaned, count = _ILLEGAL.subn(b"", body)
    return cleaned, count


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
        self.session = session or requests.Session()
        agent = str(self.session.headers.get("User-Agent") or "")
        if not agent or agent.startswith("python-requests"):
            self.session.headers["User-Agent"] = USER_AGENT
        self._sleep = sleep
        self._rng = rng
        self._parser = etree.XMLParser(
            resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True
        )
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

    def get(
        self, url: str, params: Mapping[str, str] | None = None, *, stream: bool = False
    ) -> requests.Response:
        """GET with retries on connection errors, timeouts, 429 and 5xx.

        Returns the first response that is not retryable (the caller checks its
        status); raises :class:`HarvestError` when the retries are used up.
        """
        full_url = url if params is None else self.url_for(params)
        attempt = 0
        while True:
            status: int | None = None
            try:
                self.requests_sent += 1
                response = self.session.get(
                    url, params=dict(params) if params else None,
                    timeout=self.policy.timeout, stream=stream,
                )
            except requests.Timeout as exc:
                problem = f"no answer within {self.policy.timeout:g} s ({type(exc).__name__})"
                wait = self.backoff(attempt)
            except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
                problem = f"connection failed ({type(exc).__name__}: {_short(exc)})"
                wait = self.backoff(attempt)
            else:
                if response.status_code not in _RETRY_STATUS:
                    return response
                status = response.status_code
                problem = f"HTTP {status} {response.reason or ''}".strip()
                advised = parse_retry_after(response.headers.get("Retry-After"))
                wait = advised if advised is not None else self.backoff(attempt)
                response.close()
            if attempt >= self.policy.max_retries:
                raise HarvestError(
                    f"{full_url}: {problem}; gave up after {attempt + 1} attempts",
                    http_status=status,
                    url=full_url,
                    hint="the provider may be down or overloaded; run the same command later "
                    "and the harvest continues from its last checkpoint (--max-retries/--timeout "
                    "give it more patience)",
                )
            attempt += 1
            self.retries += 1
            self._wait(wait)

    def fetch(self, params: Mapping[str, str]) -> Page:
        """One OAI-PMH request, parsed. Unparseable bodies are retried like server errors."""
        url = self.url_for(params)
        attempt = 0
        while True:
            response = self.get(self.base_url, params)
            if response.status_code >= 400:
                raise HarvestError(
                    f"{url}: HTTP {response.status_code} {response.reason or ''}".rstrip()
                    + "; check the base URL and the arguments",
                    http_status=response.status_code,
                    url=url,
                )
            body, removed = strip_illegal_chars(response.content)
            try:
                root = etree.fromstring(body, self._parser)
            except etree.XMLSyntaxError as exc:
                if _looks_like_html(body):
                    raise HarvestError(
                        f"{url}: the answer is an HTML page, not an OAI-PMH response",
                        http_status=response.status_code,
                        url=url,
                        hint="check that the base URL is the repository's OAI-PMH endpoint",
                    ) from exc
                if attempt >= self.policy.max_retries:
                    raise HarvestError(
                        f"{url}: the response is not well-formed XML ({exc}); gave up after "
                        f"{attempt + 1} attempts",
                        url=url,
                        hint="the provider sends a broken page; report it to the repository, "
                        "then run the same command again to continue",
                    ) from exc
                attempt += 1
                self.retries += 1
                self._wait(self.backoff(attempt - 1))
                continue
            if root.tag != f"{{{NS_OAI}}}OAI-PMH":
                raise HarvestError(
                    f"{url}: not an OAI-PMH 2.0 response (root element {root.tag!r})",
                    url=url,
                    hint="check that the base URL is the repository's OAI-PMH endpoint",
                )
            response_date = root.findtext(f"{{{NS_OAI}}}responseDate")
            return Page(url, root, response_date.strip() if response_date else None, removed, attempt + 1)

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


def _short(exc: BaseException) -> str:
    text = str(exc)
    return text if len(text) <= 200 else text[:197] + "..."


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
