"""What one running ``stook web`` keeps between requests, and the store each request opens.

A :class:`~stook.store.Store` is opened per request (cheap) and closed at its end, so
no SQLite connection is shared between server threads. Writes take the store's writer
lock through the library, like every stook command.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import current_app, g

from stook.store import Store
from stook.web.config import WebConfig
from stook.web.throttle import LoginThrottle
from stook.web.uploads import UploadStash
from stook.web.users import PASSWORD_ENV, USER_ENV, Users, default_users_file, load_users

if TYPE_CHECKING:
    from stook.web.auditjob import AuditJob


@dataclass
class WebState:
    """The app's own state: its configuration, kept uploads, the background audit and the
    count of failed logins."""

    config: WebConfig
    stash: UploadStash
    audit: AuditJob
    env_user: tuple[str, str] | None = None
    throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def users(self) -> Users:
        """The users that may log in now (the file is read again: it may have changed)."""
        path = self.config.users_file or default_users_file(self.config.store)
        environ = {USER_ENV: self.env_user[0], PASSWORD_ENV: self.env_user[1]} if self.env_user else {}
        return load_users(path, environ=environ)

    def open_store(self) -> Store:
        return Store.open(self.config.store, read_only=True if self.config.read_only else None)


def web_state() -> WebState:
    state: WebState = current_app.extensions["stook"]
    return state


def store() -> Store:
    """This request's store (opened on first use, closed when the request ends)."""
    opened: Store | None = g.get("stook_store")
    if opened is None:
        opened = web_state().open_store()
        g.stook_store = opened
    return opened


def close_store(_exc: BaseException | None = None) -> None:
    opened = g.pop("stook_store", None)
    if opened is not None:
        opened.close()
