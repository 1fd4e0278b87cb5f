"""stook web without a browser: login, CSRF, read-only mode, the upload cap, browsing and
paging, downloads and exports, 404s, and error pages that never show a traceback."""

from __future__ import annotations

import html
import io
import json
import logging
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_DIR
from support.storecheck import store_state
from support.webapp import PASSWORD, USER, csrf, logged_in, login, submit, web_app

from stook.cli import main
from stook.manual import bag_manual_record
from stook.names import bag_name
from stook.recordfile import read_record_file
from stook.store import Store
from stook.web.users import add_user, remove_user

NAME = bag_name("wcda:115179")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    bag_manual_record(path, EXAMPLE_DIR / "record.yaml")
    return path


# -- login and CSRF -------------------------------------------------------------------


def test_reading_needs_no_login_but_writing_does(store: Path, tmp_path: Path) -> None:
    client = web_app(store, tmp_path).test_client()
    assert client.get("/records").status_code == 200
    assert client.get(f"/records/{NAME}").status_code == 200
    response = client.get("/records/new")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/records/new")
    response = client.get(f"/records/{NAME}/edit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_wrong_password_is_refused_and_the_right_one_logs_in(store: Path, tmp_path: Path) -> None:
    client = web_app(store, tmp_path).test_client()
    refused = login(client, USER, "not the password")
    assert refused.status_code == 401
    assert "do not match" in refused.get_data(as_text=True)
    assert client.get("/records/new").status_code == 302
    assert login(client).status_code == 302
    page = client.get("/records/new")
    assert page.status_code == 200
    assert 'for="f-title">Title</label>' in page.get_data(as_text=True)


def test_users_file_holds_hashes_and_a_removed_user_is_logged_out(store: Path, tmp_path: Path) -> None:
    users = store / ".web-users.json"
    add_user(users, "registrar", "a long enough password")
    assert "a long enough password" not in users.read_text()
    assert json.loads(users.read_text())["users"]["registrar"]["hash"].startswith("scrypt:")
    assert os.stat(users).st_mode & 0o077 == 0
    client = web_app(store, tmp_path).test_client()
    assert login(client, "registrar", "a long enough password").status_code == 302
    assert client.get("/records/new").status_code == 200
    remove_user(users, "registrar")
    response = client.get("/records/new")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_login_goes_back_only_to_this_site(store: Path, tmp_path: Path) -> None:
    client = web_app(store, tmp_path).test_client()
    token = csrf(client, "/login")
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post("/login", data={"_csrf": token, "username": USER, "password": PASSWORD,
                                               "next": target})
        assert response.headers["Location"] == "/records"
        token = csrf(client, "/records/new")


def test_a_post_without_the_csrf_token_is_refused_and_writes_nothing(store: Path, tmp_path: Path) -> None:
    app = web_app(store, tmp_path)
    client = logged_in(app)
    before = store_state(store)
    values = {"identifier": "local:csrf", "title": "Forged"}
    for data in ({**values}, {**values, "_csrf": "0" * 32}):
        response = client.post("/records/new", data=data, content_type="multipart/form-data")
        assert response.status_code == 400
        assert "CSRF" in response.get_data(as_text=True)
    other = logged_in(app)  # another session's token is no good either
    response = client.post("/records/new", data={**values, "_csrf": csrf(other)})
    assert response.status_code == 400
    assert client.post("/audit/run", data={"limit": "5"}).status_code == 400
    assert store_state(store) == before


def test_logout_needs_the_token_and_ends_the_session(store: Path, tmp_path: Path) -> None:
    client = logged_in(web_app(store, tmp_path))
    assert client.post("/logout").status_code == 400
    assert client.get("/records/new").status_code == 200
    assert client.post("/logout", data={"_csrf": csrf(client)}).status_code == 302
    assert client.get("/records/new").status_code == 302


# -- read-only mode and the upload cap ----------------------------------------------------


def test_read_only_mode_refuses_every_write(store: Path, tmp_path: Path) -> None:
    app = web_app(store, tmp_path, read_only=True)
    client = app.test_client()
    before = store_state(store)
    assert client.get("/records").status_code == 200
    page = client.get(f"/records/{NAME}").get_data(as_text=True)
    assert "read-only" in page and "/edit" not in page
    for url in ("/records/new", f"/records/{NAME}/edit", "/login"):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "read-only" in response.get_data(as_text=True)
    token = "f" * 32  # no page offers a form; give the session a token so only read-only mode refuses
    with client.session_transaction() as session:
        session["csrf"] = token
    response = client.post("/audit/run", data={"_csrf": token, "limit": "5"})
    assert response.status_code == 403
    response = client.post("/records/new", data={"_csrf": token, "identifier": "local:x", "title": "X"})
    assert response.status_code == 403
    assert store_state(store) == before


def test_an_upload_over_the_cap_is_refused_and_nothing_is_kept(store: Path, tmp_path: Path) -> None:
    app = web_app(store, tmp_path, max_upload=64 * 1024)
    client = logged_in(app)
    before = store_state(store)
    big = io.BytesIO(b"x" * (80 * 1024))
    values = {"identifier": "local:big", "title": "Too big", "content[0].kind": "attachment",
              "content[0].__file": (big, "big.bin")}
    response = submit(client, "/records/new", values)
    assert response.status_code == 413
    text = response.get_data(as_text=True)
    assert "64.0 KB" in text and "--max-upload" in text and "nothing was stored" in text
    assert store_state(store) == before
    assert not any((tmp_path / "uploads").iterdir())


# -- browsing ---------------------------------------------------------------------------


def _many(store: Path, count: int) -> None:
    for n in range(count):
        group = "letters" if n % 2 else "telegrams"
        record = {"identifier": f"local:doc-{n:02d}", "title": f"Document number {n:02d}",
                  "record_source": {"method": "manual", "set_specs": [group]}}
        bag_manual_record(store, record)


def test_records_are_searched_filtered_and_paged(store: Path, tmp_path: Path) -> None:
    _many(store, 7)
    client = web_app(store, tmp_path, page_size=3).test_client()
    first = client.get("/records").get_data(as_text=True)
    assert "Records 1–3 of 8" in first and "Page 1 of 3" in first and "Next page" in first
    last = client.get("/records?page=3").get_data(as_text=True)
    assert "Records 7–8 of 8" in last and "Previous page" in last and "Next page" not in last
    assert "Page 3 of 3" in client.get("/records?page=99").get_data(as_text=True)
    found = client.get("/records?q=NUMBER 05").get_data(as_text=True)
    assert "local:doc-05" in found and "local:doc-04" not in found and "Records 1–1 of 1" in found
    by_id = client.get("/records?q=wcda:115").get_data(as_text=True)
    assert "wcda:115179" in by_id and "local:doc" not in by_id
    letters = client.get("/records?group=letters").get_data(as_text=True)
    assert "local:doc-01" in letters and "local:doc-02" not in letters and "of 3" in letters
    assert "No record matches" in client.get("/records?q=nothing-like-this").get_data(as_text=True)


def test_a_record_page_shows_the_record_versions_and_files(store: Path, tmp_path: Path) -> None:
    client = web_app(store, tmp_path).test_client()
    by_id = client.get("/records/wcda:115179")
    assert by_id.status_code == 302 and by_id.headers["Location"].endswith(f"/records/{NAME}")
    page = client.get(f"/records/{NAME}").get_data(as_text=True)
    text = (EXAMPLE_DIR / "text.txt").read_bytes()
    with Store.open(store) as opened:
        bag = opened.latest("wcda:115179")
        assert bag is not None
        manifest = (opened.bag_path(bag) / "manifest-sha512.txt").read_text()
    for line in manifest.splitlines():
        digest, path = line.split(maxsplit=1)
        assert digest in page and path in page
    assert f"{len(text)} bytes" in page
    assert "Fond 0104, Opis 17, Folder 118, File 3, pp. 181-184" in page
    assert "Version 1 of 1" in page and f"{NAME}.v1.zip" in page


def test_downloads_come_only_from_the_manifest(store: Path, tmp_path: Path) -> None:
    client = web_app(store, tmp_path).test_client()
    response = client.get(f"/records/{NAME}/v1/data/text.txt")
    assert response.status_code == 200
    assert response.data == (EXAMPLE_DIR / "text.txt").read_bytes()
    assert response.headers["Content-Disposition"].startswith("attachment")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    page = client.get(f"/records/{NAME}/v1/data/files/wilson-center-page.md")
    assert page.data == (EXAMPLE_DIR / "files" / "wilson-center-page.md").read_bytes()
    for rel in ("../bagit.txt", "../../stook-ledger.sqlite", "%2e%2e/bagit.txt", "nothing.txt", "files"):
        assert client.get(f"/records/{NAME}/v1/data/{rel}").status_code == 404, rel
    assert client.get(f"/records/{NAME}/v2/data/text.txt").status_code == 404


def test_a_linked_file_in_a_bag_is_not_followed(store: Path, tmp_path: Path) -> None:
    with Store.open(store) as opened:
        bag = opened.latest("wcda:115179")
        assert bag is not None
        text = opened.bag_path(bag) / "data" / "text.txt"
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the web")
    text.unlink()
    text.symlink_to(secret)
    client = web_app(store, tmp_path).test_client()
    response = client.get(f"/records/{NAME}/v1/data/text.txt")
    assert response.status_code == 404
    assert b"not for the web" not in response.data


def test_export_is_the_reproducible_zip_stook_export_writes(store: Path, tmp_path: Path) -> None:
    client = web_app(store, tmp_path).test_client()
    response = client.get(f"/records/{NAME}/v1/export.zip")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == f"attachment; filename={NAME}.v1.zip"
    outbox = tmp_path / "outbox"
    result = CliRunner().invoke(main, ["export", "wcda:115179", "--store", str(store), "--to", str(outbox),
                                       "--format", "zip"])
    assert result.exit_code == 0, result.output
    assert response.data == (outbox / f"{NAME}.v1.zip").read_bytes()
    names = zipfile.ZipFile(io.BytesIO(response.data)).namelist()
    assert f"{NAME}.v1/data/record.json" in names


def test_an_invalid_bag_is_not_exported(store: Path, tmp_path: Path) -> None:
    with Store.open(store) as opened:
        bag = opened.latest("wcda:115179")
        assert bag is not None
        (opened.bag_path(bag) / "data" / "text.txt").write_text("changed behind stook's back")
    response = web_app(store, tmp_path).test_client().get(f"/records/{NAME}/v1/export.zip")
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "does not verify" in page and "data/text.txt" in page


def test_history_lists_the_premis_events(store: Path, tmp_path: Path) -> None:
    page = web_app(store, tmp_path).test_client().get(f"/records/{NAME}/history").get_data(as_text=True)
    for kind in ("validation", "message digest calculation", "ingestion"):
        assert kind in page
    assert "3 events" in page


def test_unknown_records_versions_and_pages_are_404s(store: Path, tmp_path: Path) -> None:
    client = web_app(store, tmp_path).test_client()
    missing = client.get("/records/no-such-record")
    assert missing.status_code == 404
    assert "holds no record or bag named 'no-such-record'" in html.unescape(missing.get_data(as_text=True))
    wrong_version = client.get(f"/records/{NAME}?version=9")
    assert wrong_version.status_code == 404
    assert "has no version '9'" in html.unescape(wrong_version.get_data(as_text=True))
    assert client.get(f"/records/{NAME}/diff?a=1&b=7").status_code == 404
    assert client.get("/nowhere").status_code == 404
    assert client.get(f"/records/{NAME}/v9/export.zip").status_code == 404


def test_an_internal_error_is_a_plain_page_and_a_log_line(store: Path, tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    app = web_app(store, tmp_path)

    def broken() -> str:
        raise RuntimeError("a bug that must not reach the page")

    app.add_url_rule("/broken", view_func=broken)
    with caplog.at_level(logging.ERROR, logger="stook.web"):
        response = app.test_client().get("/broken")
    assert response.status_code == 500
    page = response.get_data(as_text=True)
    assert "internal error" in page and "Traceback" not in page and "a bug that must not" not in page
    assert "a bug that must not reach the page" in caplog.text


def test_every_page_forbids_foreign_scripts(store: Path, tmp_path: Path) -> None:
    response = web_app(store, tmp_path).test_client().get("/records")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_oai_provider_is_mounted_under_oai(store: Path, tmp_path: Path) -> None:
    from werkzeug.test import Client

    from stook.web.app import wsgi_app
    from stook.web.config import WebConfig

    app = wsgi_app(WebConfig(store=store, oai=True, upload_dir=tmp_path / "up"), environ={})
    client = Client(app)
    identify = client.get("/oai?verb=Identify")
    assert identify.status_code == 200
    assert b"<baseURL>http://localhost/oai</baseURL>" in identify.data
    record = client.get("/oai?verb=GetRecord&metadataPrefix=stook&identifier=wcda:115179")
    assert b"wcda:115179" in record.data
    assert client.get("/records").status_code == 200


def test_a_store_that_does_not_exist_is_made_and_a_damaged_one_refused(tmp_path: Path) -> None:
    from stook.errors import StookError

    fresh = tmp_path / "fresh"
    client = web_app(fresh, tmp_path).test_client()
    assert "holds no records yet" in client.get("/records").get_data(as_text=True)
    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "stook-ledger.sqlite").write_bytes(b"this is not SQLite" * 100)
    with pytest.raises(StookError, match="damaged"):
        web_app(damaged, tmp_path)
    assert read_record_file(EXAMPLE_DIR / "record.yaml")["identifier"] == "wcda:115179"
