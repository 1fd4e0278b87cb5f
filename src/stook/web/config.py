"""What ``stook web`` was asked to do, as one value the app and the server share."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from stook.errors import UsageError

DEFAULT_PORT = 8000
DEFAULT_MAX_UPLOAD = 100 * 1024 * 1024
DEFAULT_PAGE_SIZE = 50
SECRET_ENV = "STOOK_WEB_SECRET"


@dataclass(frozen=True)
class WebConfig:
    """One store served to a browser.

    ``read_only`` refuses every write (no login is offered); ``max_upload`` caps the
    bytes of one request (uploads included); ``users_file`` holds the accounts that may
    write (default ``<store>/.web-users.json``); ``secret_key`` signs the session cookie
    (default ``$STOOK_WEB_SECRET``, else a random key: a restart then logs everyone out);
    ``upload_dir`` keeps uploads between the submits of a form (default: a temporary folder).
    """

    store: Path
    read_only: bool = False
    max_upload: int = DEFAULT_MAX_UPLOAD
    users_file: Path | None = None
    secret_key: bytes | None = None
    page_size: int = DEFAULT_PAGE_SIZE
    upload_dir: Path | None = None
    audit_limit: int = 100
    oai: bool = False

    def check(self) -> None:
        if self.max_upload < 1024:
            raise UsageError(f"max_upload {self.max_upload} is too small; allow at least 1024 bytes")
        if not 1 <= self.page_size <= 1000:
            raise UsageError(f"page_size {self.page_size} is out of range; use 1 to 1000")
        if self.audit_limit < 1:
            raise UsageError(f"audit_limit {self.audit_limit} must be at least 1")
