"""A ``stook web`` app on a real store in tmp_path, and a logged-in Flask test client."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from stook.web.app import create_app
from stook.web.config import WebConfig

USER = "archivist"
PASSWORD = "correct horse battery"
ENV = {"STOOK_WEB_USER": USER, "STOOK_WEB_PASSWORD": PASSWORD}
_CSRF = re.compile(r'name="_csrf" value="([0-9a-f]+)"')


def web_app(store: Path, tmp_path: Path, **options: Any) -> Flask:
    config = WebConfig(store=store, upload_dir=tmp_path / "uploads", **options)
    return create_app(config, environ=dict(ENV))


def csrf(client: FlaskClient, page: str = "/records") -> str:
    """The session's CSRF token, read from a page as a browser would see it."""
    html = client.get(page).get_data(as_text=True)
    found = _CSRF.search(html)
    if found is None:  # a page without a form: the login page always has one
        found = _CSRF.search(client.get("/login").get_data(as_text=True))
    assert found is not None
    return found.group(1)


def login(client: FlaskClient, user: str = USER, password: str = PASSWORD) -> Any:
    token = csrf(client, "/login")
    data = {"_csrf": token, "username": user, "password": password, "next": "/records"}
    return client.post("/login", data=data)


def logged_in(app: Flask) -> FlaskClient:
    client = app.test_client()
    response = login(client)
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


def upload(path: Path, name: str | None = None) -> tuple[io.BytesIO, str]:
    return io.BytesIO(path.read_bytes()), name or path.name


def submit(client: FlaskClient, url: str, values: dict[str, Any], **extra: Any) -> Any:
    """POST the record form as a browser sends it (multipart, with the CSRF token)."""
    data: dict[str, Any] = {"_csrf": csrf(client, url), "_action": "save", **values, **extra}
    return client.post(url, data=data, content_type="multipart/form-data")


def field_html(html: str, name: str) -> str:
    """The HTML of the field block (label, input, help, error) of the form field ``name``."""
    from stook.web.formspec import name_to_id

    fid = name_to_id(name)
    start = html.index(f'id="{fid}"')
    block_start = html.rindex('<div class="field', 0, start)
    end = html.index("</div>", start)
    return html[block_start:end]
