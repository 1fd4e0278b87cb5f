"""The fixity dashboard (/audit): failures first with their per-file problems, never
checked, oldest checks, recoveries, checks per day; and the audit of a slice started
from it, in the background, one at a time."""

from __future__ import annotations

import html
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from conftest import EXAMPLE_DIR
from support.webapp import csrf, logged_in, web_app

from stook.audit import AuditOptions, run_audit
from stook.ledger import LEDGER_FILE, utc_now
from stook.manual import bag_manual_record
from stook.names import bag_name
from stook.store import Store

NAME = bag_name("wcda:115179")


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    bag_manual_record(path, EXAMPLE_DIR / "record.yaml")
    bag_manual_record(path, {"identifier": "local:memo", "title": "A memo"})
    return path


def _audit(store: Path) -> None:
    with Store.open(store) as opened:
        run_audit(opened, AuditOptions(workers=1))


def _text_file(store: Path) -> Path:
    return store / NAME / "v1" / "data" / "text.txt"


def _page(app: Any) -> str:
    return html.unescape(app.test_client().get("/audit").get_data(as_text=True))


def test_a_store_never_audited(store: Path, tmp_path: Path) -> None:
    page = _page(web_app(store, tmp_path))
    assert "2 bag versions in the store: 0 checked at least once" in page
    assert "2 never checked" in page and "0 failing" in page
    assert "No bag failed its latest check." in page
    assert "wcda:115179 version 1</a>, stored" in page and "local:memo version 1</a>" in page
    assert '<svg class="chart"' in page and "No checks in these days." in page


def test_a_corrupted_file_is_shown_with_its_digests_and_the_repair_command(store: Path,
                                                                          tmp_path: Path) -> None:
    _audit(store)
    original = _text_file(store).read_bytes()
    _text_file(store).write_bytes(original.replace(b"Guevara", b"Guevera", 1))
    _audit(store)
    page = _page(web_app(store, tmp_path))
    assert "1 failing" in page
    failing = page.index("Failing (1)")
    assert failing < page.index("Checks per day") < page.index("Never checked (0)")
    section = page[failing:page.index("Checks per day")]
    assert "wcda:115179 version 1" in section and "data/text.txt" in section and "corrupted" in section
    with Store.open(store) as opened:
        bag = opened.latest("wcda:115179")
        assert bag is not None
        expected = opened.ledger.ingest_digests(bag.path)["data/text.txt"]
    assert "sha512 checksum does not match" in section and f"expected {expected}, found " in section
    assert f"stook repair wcda:115179 --version 1 --from <partner copy> --store {store}" in section
    today = utc_now()[:10]
    assert f"<title>{today}: 1 failed</title>" in page and f"<title>{today}: 3 intact</title>" in page
    _text_file(store).write_bytes(original)
    _audit(store)
    page = _page(web_app(store, tmp_path))
    assert "0 failing" in page and "No bag failed its latest check." in page
    recovered = page[page.index("Recovered in the last 30 days"):]
    assert "wcda:115179 version 1 (intact again)" in recovered


def test_an_audit_started_from_the_dashboard_runs_in_the_background(store: Path, tmp_path: Path) -> None:
    app = web_app(store, tmp_path)
    client = logged_in(app)
    response = client.post("/audit/run", data={"_csrf": csrf(client, "/audit"), "limit": "1"})
    assert response.status_code == 302
    app.extensions["stook"].audit.join(30)
    progress = client.get("/audit/progress.json").get_json()
    assert progress["state"] == "done" and progress["done"] == progress["total"] == 1
    page = html.unescape(client.get("/audit").get_data(as_text=True))
    assert "Finished" in page and "1 bags checked: 1 intact" in page and "1 left for a later run" in page
    assert "1 never checked" in page
    with Store.open(store) as opened:
        assert len(list(opened.ledger.events(types=["fix"]))) == 1


def test_only_one_audit_runs_at_a_time(store: Path, tmp_path: Path) -> None:
    app = web_app(store, tmp_path)
    client = logged_in(app)
    token = csrf(client, "/audit")
    blocker = sqlite3.connect(store / LEDGER_FILE, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the audit cannot record its verdicts, so it keeps running
    try:
        assert client.post("/audit/run", data={"_csrf": token, "limit": "5"}).status_code == 302
        second = client.post("/audit/run", data={"_csrf": token, "limit": "5"}, follow_redirects=True)
        assert "an audit is running already" in html.unescape(second.get_data(as_text=True))
        page = client.get("/audit").get_data(as_text=True)
        assert '<meta http-equiv="refresh"' in page
        assert '<button type="submit" disabled>Start the audit</button>' in page
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    app.extensions["stook"].audit.join(60)
    assert client.get("/audit/progress.json").get_json()["state"] == "done"
    with Store.open(store) as opened:
        assert len(list(opened.ledger.events(types=["fix"]))) == 2


def test_a_bad_slice_starts_nothing(store: Path, tmp_path: Path) -> None:
    app = web_app(store, tmp_path)
    client = logged_in(app)
    token = csrf(client, "/audit")
    for data, said in (({"limit": "lots"}, "is not a whole number"), ({"limit": "0"}, "from 1 to"),
                       ({"limit": "5", "max_age": "a while"}, "is not a duration")):
        page = client.post("/audit/run", data={"_csrf": token, **data}, follow_redirects=True)
        assert said in html.unescape(page.get_data(as_text=True))
    assert app.extensions["stook"].audit.progress().state == "idle"
    with Store.open(store) as opened:
        assert list(opened.ledger.events(types=["fix"])) == []
