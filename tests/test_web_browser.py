"""stook web in a real browser (Debian's Chromium, driven by Playwright), served by waitress
on 127.0.0.1: an archivist enters the Wilson Center example by label, makes mistakes,
edits, and watches an audit find a damaged file. Every page is saved as a screenshot
under the test's tmp_path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_DIR, assert_bagit_valid
from support.browser import chromium_browser, fill_record, log_in
from support.storecheck import store_state
from support.webapp import ENV, PASSWORD, USER

from stook.cli import main
from stook.manual import bag_manual_record
from stook.names import bag_name
from stook.recordfile import read_record_file
from stook.store import Store
from stook.web.config import WebConfig
from stook.web.server import serve_web_in_thread

NAME = bag_name("wcda:115179")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    yield from chromium_browser()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def site(store: Path, tmp_path: Path) -> Iterator[str]:
    config = WebConfig(store=store, upload_dir=tmp_path / "uploads")
    url, stop = serve_web_in_thread(config, environ=dict(ENV))
    try:
        yield url
    finally:
        stop()


@pytest.fixture
def page(browser: Any, site: str, tmp_path: Path) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(15_000)
    log_in(tab, site, USER, PASSWORD)
    try:
        yield tab
    finally:
        context.close()


def _shot(page: Any, tmp_path: Path, name: str) -> Path:
    target = tmp_path / "screenshots" / f"{name}.png"
    page.screenshot(path=str(target), full_page=True)
    assert target.stat().st_size > 10_000
    return target


def test_the_wilson_example_entered_by_label_is_the_bag_stook_bag_makes(
        page: Any, site: str, store: Path, tmp_path: Path) -> None:
    record = read_record_file(EXAMPLE_DIR / "record.yaml")
    page.get_by_role("link", name="New record").click()
    chosen = {0: EXAMPLE_DIR / "text.txt", 1: EXAMPLE_DIR / "files" / "wilson-center-page.md"}
    fill_record(page, record, chosen)
    _shot(page, tmp_path, "1-new-record-filled")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{site}records/{NAME}?stored=new")
    assert page.get_by_role("status").first.inner_text() == f"new: wcda:115179 version 1 stored as {NAME}/v1"
    files = page.get_by_role("table").filter(has_text="as its manifest lists them")
    assert files.get_by_role("link", name="data/text.txt").is_visible()
    assert files.get_by_role("link", name="data/files/wilson-center-page.md").is_visible()
    _shot(page, tmp_path, "2-record")
    bag = store / NAME / "v1"
    assert_bagit_valid(bag)
    result = CliRunner().invoke(main, ["bag", str(EXAMPLE_DIR / "record.yaml"),
                                       "--store", str(tmp_path / "cli")])
    assert result.exit_code == 0, result.output
    cli_bag = Path(result.stdout.strip())
    # Nothing in record.json depends on when or how it was entered: equal byte for byte.
    assert (bag / "data" / "record.json").read_bytes() == (cli_bag / "data" / "record.json").read_bytes()
    assert (bag / "manifest-sha512.txt").read_bytes() == (cli_bag / "manifest-sha512.txt").read_bytes()
    with Store.open(store) as web, Store.open(tmp_path / "cli") as cli:
        assert [e.type for e in web.ledger.events()] == [e.type for e in cli.ledger.events()]
    page.get_by_role("link", name="Records", exact=True).click()
    assert page.get_by_role("link", name="wcda:115179").is_visible()
    _shot(page, tmp_path, "3-records")
    page.get_by_role("link", name="wcda:115179").click()
    page.get_by_role("link", name="History (PREMIS events)").click()
    assert page.get_by_role("cell", name="ing ingestion").is_visible()
    _shot(page, tmp_path, "4-history")


def test_a_bad_date_and_a_missing_title_are_shown_beside_their_fields(
        page: Any, site: str, store: Path, tmp_path: Path) -> None:
    page.goto(site + "records/new")
    unlabelled = page.evaluate(
        "() => [...document.querySelectorAll('#record-form input:not([type=hidden]), #record-form select,"
        " #record-form textarea')].filter(e => !e.closest('template') && !e.closest('[aria-hidden=true]')"
        " && ![...e.labels].some(l => l.textContent.trim())).map(e => e.name)")
    assert unlabelled == []  # every input has a visible label
    before = store_state(store)
    page.get_by_label("Identifier", exact=True).fill("local:draft-1")
    dates = page.get_by_role("group", name="Dates", exact=True)
    dates.get_by_role("button", name="Add another date").click()  # JavaScript adds Date 2 in place
    second = dates.get_by_role("group", name="Date 2", exact=True)
    second.get_by_label("Type", exact=True).select_option("created")
    second.get_by_label("Value", exact=True).fill("26 April 1961")
    page.get_by_role("button", name="Save", exact=True).click()
    alert = page.locator("#errors")
    assert alert.get_by_role("heading").inner_text() == "2 problems: nothing was stored"
    value = page.get_by_role("group", name="Date 2", exact=True).get_by_label("Value", exact=True)
    assert value.input_value() == "26 April 1961"
    assert value.get_attribute("aria-invalid") == "true"
    description = value.evaluate("e => e.getAttribute('aria-describedby').split(' ')"
                                 ".map(id => document.getElementById(id).textContent).join(' ')")
    assert "'26 April 1961' is not an EDTF date" in description
    title = page.get_by_label("Title", exact=True)
    assert title.evaluate("e => e.closest('.field').querySelector('.error').textContent") == "is required"
    assert page.get_by_label("Identifier", exact=True).input_value() == "local:draft-1"
    _shot(page, tmp_path, "5-errors")
    alert.get_by_role("link", name="Title").click()
    assert page.url.endswith("#f-title")
    assert store_state(store) == before


def test_rows_are_added_without_javascript_too(browser: Any, site: str, tmp_path: Path) -> None:
    context = browser.new_context(java_script_enabled=False)
    try:
        tab = context.new_page()
        log_in(tab, site, USER, PASSWORD)
        tab.goto(site + "records/new")
        tab.get_by_label("Identifier", exact=True).fill("local:no-script")
        agents = tab.get_by_role("group", name="Agents", exact=True)
        agents.get_by_role("group", name="Agent 1").get_by_label("Name", exact=True).fill("Ernesto Guevara")
        agents.get_by_role("button", name="Add another agent").click()  # a round trip to the server
        agents = tab.get_by_role("group", name="Agents", exact=True)
        assert agents.get_by_role("group", name="Agent 2", exact=True).is_visible()
        assert agents.get_by_role("group", name="Agent 1").get_by_label("Name", exact=True).input_value() == \
            "Ernesto Guevara"
        assert tab.get_by_label("Identifier", exact=True).input_value() == "local:no-script"
        _shot(tab, tmp_path, "6-no-javascript")
    finally:
        context.close()


def test_an_edit_makes_version_2_and_the_diff_shows_the_change(
        page: Any, site: str, store: Path, tmp_path: Path) -> None:
    bag_manual_record(store, EXAMPLE_DIR / "record.yaml")
    page.goto(f"{site}records/{NAME}")
    page.get_by_role("link", name="Edit (makes version 2)").click()
    assert page.get_by_label("Identifier", exact=True).get_attribute("readonly") is not None
    dates = page.get_by_role("group", name="Dates", exact=True)
    dates.get_by_role("group", name="Date 2", exact=True).get_by_label("Display", exact=True).fill(
        "14 April 1961 (in Havana)")
    _shot(page, tmp_path, "7-edit")
    page.get_by_role("button", name="Save", exact=True).click()
    page.wait_for_url(f"{site}records/{NAME}?stored=changed")
    flash = page.get_by_role("status").first.inner_text()
    assert flash == f"changed: wcda:115179 version 2 stored as {NAME}/v2"
    page.get_by_role("link", name="Compare versions").click()
    row = page.get_by_role("row").filter(has_text="$.dates[1].display")
    assert row.get_by_role("cell").nth(1).inner_text() == "changed"
    assert row.locator("del").inner_text() == "14 April 1961"
    assert row.locator("ins").inner_text() == "14 April 1961 (in Havana)"
    _shot(page, tmp_path, "8-diff")
    with Store.open(store) as opened:
        assert [v.version for v in opened.versions("wcda:115179")] == [1, 2]
    assert_bagit_valid(store / NAME / "v2")


def test_a_corrupted_file_shows_on_the_audit_page(page: Any, site: str, store: Path, tmp_path: Path) -> None:
    bag_manual_record(store, EXAMPLE_DIR / "record.yaml")
    text = store / NAME / "v1" / "data" / "text.txt"
    text.write_bytes(text.read_bytes().replace(b"Guevara", b"Guevera", 1))  # same size: corrupted
    page.get_by_role("link", name="Fixity").click()
    assert page.get_by_text("1 never checked").is_visible()
    page.get_by_label("Bags to check").fill("10")
    page.get_by_role("button", name="Start the audit").click()
    page.get_by_text("Finished").wait_for()  # the page refreshes itself while the audit runs
    failure = page.locator("article.failure")
    assert failure.get_by_role("link").inner_text() == "wcda:115179 version 1"
    cells = failure.get_by_role("row").filter(has_text="data/text.txt").get_by_role("cell")
    assert cells.nth(1).inner_text() == "corrupted"
    assert "sha512 checksum does not match" in cells.nth(2).inner_text()
    assert "stook repair wcda:115179 --version 1" in failure.inner_text()
    bars = page.locator("svg.chart rect[fill='#c62828'] > title")  # the legend's square has no title
    assert bars.count() == 1 and bars.text_content().endswith(": 1 failed")
    _shot(page, tmp_path, "9-audit")
