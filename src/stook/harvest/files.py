"""``--fetch-files``: downloading the files a harvested record links to.

Only http and https links from dc:identifier and dc:relation are followed. A file is
streamed into the store's ``.tmp`` while its SHA-512 is computed, refused past the
size cap, and described in the record's ``content`` (media type from the server,
size, checksum, source URL). HTML answers are landing pages, not the document's file,
and are not kept. A link that cannot be fetched does not stop the harvest: the
record is bagged without it and the capture event carries a warning.

A harvest must not become a proxy into the network it runs in, so before each hop
(the link, then every redirect) the host's addresses are checked against
:class:`~stook.harvest.netpolicy.AddressPolicy` (loopback, link-local, private,
multicast, reserved and unspecified addresses are refused unless
``allow_private_hosts``), and the connection goes to the address that was checked.
Environment proxies are not used for these downloads: a proxy would make the
connection to the host itself, out of reach of that check.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from stook.errors import HarvestError
from stook.harvest.netpolicy import REDIRECT_STATUS, AddressPolicy, check_http_url, next_hop

if TYPE_CHECKING:
    from stook.harvest.client import OAIClient

CHUNK = 1024 * 1024
DEFAULT_MAX_FILE_SIZE = 200 * 1024 * 1024
_MEDIA_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
_LINK_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass
class FetchedFile:
    url: str
    path: Path  # the temporary file in the store's .tmp
    name: str
    media_type: str
    size: int
    sha512: str
    redirects: tuple[str, ...] = field(default=())  # the URLs the link was redirected to, in order


def _file_name(url: str, taken: set[str]) -> str:
    base = PurePosixPath(unquote(urlsplit(url).path)).name
    name = _UNSAFE.sub("_", base).strip("._") or "file"
    name = name[:120]
    candidate = name
    n = 2
    while candidate.casefold() in taken:
        stem, dot, ext = name.rpartition(".")
        candidate = f"{stem}-{n}.{ext}" if dot and stem else f"{name}-{n}"
        n += 1
    taken.add(candidate.casefold())
    return candidate


def other_scheme_links(record: dict[str, Any]) -> list[str]:
    """Links in dc:identifier and dc:relation with a scheme stook never fetches (file://, ftp://...),
    so they can be noted rather than silently passed over."""
    found: list[str] = []
    dc = record.get("dc") or {}
    for element in ("identifier", "relation"):
        for item in dc.get(element) or []:
            value = str(item.get("value") or "").strip()
            match = _LINK_SCHEME.match(value)
            if match and match.group(1).lower() not in ("http", "https") and value not in found:
                found.append(value)
    return found


def fetch_file(
    client: OAIClient,
    url: str,
    tmp_dir: Path,
    *,
    max_bytes: int,
    taken: set[str],
    policy: AddressPolicy | None = None,
) -> FetchedFile | str:
    """Download ``url`` into ``tmp_dir``; a :class:`FetchedFile`, or the reason it was skipped.

    Never raises for anything the link or its server does: every failure is a reason.
    """
    rules = policy or AddressPolicy()
    try:
        check_http_url(url, what="link")
        fetched, _attempts = client.retrying(url, lambda: _download(client, url, tmp_dir, max_bytes, rules))
    except HarvestError as exc:
        reason = str(exc)
        return reason[len(url) + 2 :] if reason.startswith(f"{url}: ") else reason
    except (OSError, ValueError) as exc:  # nothing a link does may stop the harvest
        return f"download failed ({type(exc).__name__}: {exc})"
    if isinstance(fetched, str):
        return fetched
    fetched.name = _file_name(url, taken)
    return fetched


def _download(
    client: OAIClient, url: str, tmp_dir: Path, max_bytes: int, policy: AddressPolicy
) -> FetchedFile | str:
    """One attempt: every hop checked and pinned, the body streamed to a temporary file."""
    from stook.harvest.transport import Deadline, Transient, decoded_chunks, open_pinned

    headers = {"User-Agent": str(client.session.headers.get("User-Agent")), "Accept-Encoding": "identity"}
    chain = [url]
    with Deadline(client.policy.timeout) as deadline:
        while True:
            parts = urlsplit(chain[-1])
            port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
            address = policy.connect_address(chain[-1], parts.hostname or "", port)
            response, pool = open_pinned(chain[-1], address, deadline=deadline, headers=headers)
            try:
                status = response.status
                if status in REDIRECT_STATUS:
                    chain.append(next_hop(chain, response.headers.get("Location"),
                                          max_redirects=client.policy.max_redirects))
                    continue
                if status == 429 or status >= 500:
                    raise Transient(f"HTTP {status} {response.reason or ''}".strip(), status=status)
                if status != 200:
                    return f"HTTP {status} {response.reason or ''}".strip()
                media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
                if media_type in ("text/html", "application/xhtml+xml"):
                    return "an HTML page (landing page), not a file"
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > max_bytes:
                    return f"{declared} bytes, over the size cap of {max_bytes} bytes"
                encoding = response.headers.get("Content-Encoding")
                chunks = decoded_chunks(response, encoding, url=url, deadline=deadline)
                got = _save(chunks, tmp_dir, max_bytes)
                if isinstance(got, str):
                    return got
                target, size, sha512 = got
            finally:
                response.release_conn()
                pool.close()
            if not _MEDIA_TYPE.match(media_type):
                media_type = "application/octet-stream"
            return FetchedFile(url, target, "", media_type, size, sha512, tuple(chain[1:]))


def _save(chunks: Any, tmp_dir: Path, max_bytes: int) -> tuple[Path, int, str] | str:
    target = tmp_dir / f"download-{uuid.uuid4().hex}"
    digest = hashlib.sha512()
    size = 0
    try:
        with open(target, "xb") as handle:
            for chunk in chunks:
                size += len(chunk)
                if size > max_bytes:
                    target.unlink(missing_ok=True)
                    return f"over the size cap of {max_bytes} bytes"
                digest.update(chunk)
                handle.write(chunk)
    except OSError as exc:
        target.unlink(missing_ok=True)
        return f"download failed: {exc}"
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, size, digest.hexdigest()
