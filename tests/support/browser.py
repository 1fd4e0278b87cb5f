"""Driving ``stook web`` in Debian's Chromium with Playwright, as a person would: by label.

The browser is the system's ``/usr/bin/chromium`` (never a downloaded one), headless,
with a fresh profile. :func:`fill_record` types a record into the form the way an
archivist would: each field found by its visible label, each repeating group grown with
its own "Add another ..." button.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def chromium_browser() -> Iterator[Any]:
    """A headless Chromium (skipped when it is absent). Playwright starts it with a fresh
    temporary user-data-dir; each test then opens a context of its own (its own cookies),
    as a new person would."""
    sync_api = pytest.importorskip("playwright.sync_api")
    found = shutil.which("chromium")
    executable = CHROMIUM if CHROMIUM.exists() else Path(found) if found else None
    if executable is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed: .ci/run installs Debian's chromium for these tests")
        pytest.skip("Chromium is not installed (apt-get install chromium; .ci/run does it)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(executable), headless=True, args=ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


def log_in(page: Any, url: str, user: str, password: str) -> None:
    page.goto(url + "login")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(url + "records")


def _labels() -> Any:
    from stook.web.formspec import record_form

    return record_form()


def fill_record(page: Any, record: Mapping[str, Any], files: Mapping[int, Path] | None = None) -> None:
    """Type ``record`` into the record form; ``files`` maps a content row number to the file
    chosen for it."""
    form = page.locator("#record-form")
    spec = _labels()
    if any(child.advanced and child.key in record for child in spec.children):
        page.locator("details.advanced > summary").click()  # folded until opened, as a person would
    for child in spec.children:
        if child.key in record:
            _fill(form, child, record[child.key], files or {}, top=True)


def _fill(scope: Any, spec: Any, value: Any, files: Mapping[int, Path], *, top: bool = False,
          label: str | None = None) -> None:
    shown = label or spec.label

    def group_of(scope: Any) -> Any:
        found = scope.get_by_role("group", name=shown, exact=True)
        # a top-level group comes before any group of the same name nested in a later field
        # (agents have identifiers of their own)
        return found.first if top else found

    if spec.kind == "object":
        group = group_of(scope)
        for child in spec.children:
            if child.key in value:
                _fill(group, child, value[child.key], files)
        return
    if spec.kind == "list":
        group = group_of(scope)
        row_title = spec.row_name[:1].upper() + spec.row_name[1:]
        for index, item in enumerate(value):
            number = index + 1
            if spec.item.kind == "object":
                row = group.get_by_role("group", name=f"{row_title} {number}", exact=True)
            else:
                row = group.get_by_label(f"{row_title} {number}", exact=True)
            if row.count() == 0:
                group.locator(":scope > button.add").click()
            if spec.item.kind == "object":
                row = group.get_by_role("group", name=f"{row_title} {number}", exact=True)
                for child in spec.item.children:
                    if child.key in item:
                        _fill(row, child, item[child.key], files)
                if spec.files and index in files:
                    row.get_by_label("File to store", exact=True).set_input_files(str(files[index]))
            else:
                _set(group.get_by_label(f"{row_title} {number}", exact=True), spec.item, item)
        return
    _set(scope.get_by_label(shown, exact=True), spec, value)


def _set(control: Any, spec: Any, value: Any) -> None:
    if spec.kind in ("select", "boolean"):
        text = ("true" if value else "false") if isinstance(value, bool) else str(value)
        control.select_option(text)
    else:
        control.fill(str(value))
