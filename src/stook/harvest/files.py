"""``--fetch-files``: downloading the files a harvested record links to.

Only http and https links from dc:identifier and dc:relation are followed. A file is
streamed into the store's ``.tmp`` while its SHA-512 is computed, refused past the
size cap, and described in the record's ``content`` (media type from the server,
size, checksum, source URL). HTML answers are landing pages, not the document's file,
and are not kept. A link that cannot be fetched does not stop the harvest: the
record is bagged without it and the capture event carries a warning.
"""

from __future__ import annotations

import hashlib
import re
import uuid
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from stook.errors import HarvestError

if TYPE_CHECKING:
    from stook.harvest.client import OAIClient  # requests, lxml, sickle: not for --help

CHUNK = 1024 * 1024
DEFAULT_MAX_FILE_SIZE = 200 * 1024 * 1024
_MEDIA_TYPE = re.compile(r"^[a-z0-9!#$&^_.+-]+/[a-z0-9!#$&^_.+-]+$")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass
class FetchedFile:
    url: str
    path: Path  # the temporary file in the store's .tmp
    name: str
    media_type: str
    size: int
    sha512: str


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


def fetch_file(
    client: OAIClient, url: str, tmp_dir: Path, *, max_bytes: int, taken: set[str]
) -> FetchedFile | str:
    """Download ``url`` into ``tmp_dir``; a :class:`FetchedFile`, or the reason it was skipped."""
    if urlsplit(url).scheme.lower() not in ("http", "https"):
        return "only http and https links are fetched"
    try:
        response = client.get(url, stream=True)
    except HarvestError as exc:
        return exc.message
    with response:
        if response.status_code != 200:
            return f"HTTP {response.status_code} {response.reason or ''}".strip()
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if media_type in ("text/html", "application/xhtml+xml"):
            return "an HTML page (landing page), not a file"
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            return f"{declared} bytes, over the size cap of {max_bytes} bytes"
        target = tmp_dir / f"download-{uuid.uuid4().hex}"
        digest = hashlib.sha512()
        size = 0
        try:
            with open(target, "xb") as handle:
                for chunk in response.iter_content(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise _TooBig
                    digest.update(chunk)
                    handle.write(chunk)
        except _TooBig:
            target.unlink(missing_ok=True)
            return f"over the size cap of {max_bytes} bytes"
        except OSError as exc:
            target.unlink(missing_ok=True)
            return f"download failed: {exc}"
    if not _MEDIA_TYPE.match(media_type):
        media_type = "application/octet-stream"
    return FetchedFile(url, target, _file_name(url, taken), media_type, size, digest.hexdigest())


class _TooBig(Exception):
    pass
