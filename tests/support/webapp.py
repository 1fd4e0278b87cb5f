"""A ``stook web`` app on a real store in tmp_path, and a logged-in Flask test client."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
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


class _FormReader(HTMLParser):
    """What a browser without JavaScript would send from the page's record form."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.values: dict[str, str] = {}
        self.template = 0
        self.select: str | None = None
        self.first_option: str | None = None
        self.option: dict[str, str | None] | None = None
        self.option_text = ""
        self.textarea: str | None = None
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "template":
            self.template += 1
        if self.template:
            return
        name = a.get("name")
        if tag == "input" and name and a.get("type", "text") in ("text", "hidden", "search", "password"):
            self.values[name] = a.get("value") or ""
        elif tag == "input" and name and a.get("type") == "checkbox" and "checked" in a:
            self.values[name] = a.get("value") or "on"
        elif tag == "select" and name:
            self.select, self.first_option = name, None
        elif tag == "option" and self.select:
            self.option, self.option_text = a, ""
        elif tag == "textarea" and name:
            self.textarea, self.text = name, ""

    def handle_endtag(self, tag: str) -> None:
        if tag == "template":
            self.template -= 1
        if self.template:
            return
        if tag == "option" and self.select and self.option is not None:
            value = self.option.get("value")
            value = self.option_text if value is None else value
            if self.first_option is None:
                self.first_option = value
                self.values.setdefault(self.select, value)
            if "selected" in self.option:
                self.values[self.select] = value
            self.option = None
        elif tag == "select":
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.values[self.textarea] = self.text[1:] if self.text.startswith("\n") else self.text
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.option is not None:
            self.option_text += data
        if self.textarea is not None:
            self.text += data


def form_values(page: str) -> dict[str, str]:
    """The record form's fields as the page shows them (hidden ones included), as a browser
    without JavaScript would submit them; underscore fields (the CSRF token, ...) left out."""
    start = page.index('id="record-form"')
    end = page.index("</form>", start)
    reader = _FormReader()
    reader.feed(page[start - 6:end])
    return {k: v for k, v in reader.values.items() if not k.startswith("_")}
