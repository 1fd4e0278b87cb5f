"""Hand entry and editing through stook web (Flask test client, real store): the same
record and bag as `stook bag`, every error beside its field with nothing written, rows
added and removed without JavaScript, uploads checked and kept, edits as new versions."""

from __future__ import annotations

import html
import io
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_DIR, assert_bagit_valid
from support.storecheck import store_state
from support.webapp import csrf, field_html, form_values, logged_in, submit, web_app

from stook.cli import main
from stook.ledger import Source
from stook.manual import bag_manual_record
from stook.names import bag_name
from stook.recordfile import read_record_file
from stook.store import BagRequest, Store
from stook.web.formdata import values_from_record

NAME = bag_name("wcda:115179")
TEXT = EXAMPLE_DIR / "text.txt"
PAGE = EXAMPLE_DIR / "files" / "wilson-center-page.md"


def _wilson_values() -> dict[str, Any]:
    values: dict[str, Any] = dict(values_from_record(read_record_file(EXAMPLE_DIR / "record.yaml")))
    values["content[0].__file"] = (io.BytesIO(TEXT.read_bytes()), "text.txt")
    values["content[1].__file"] = (io.BytesIO(PAGE.read_bytes()), "wilson-center-page.md")
    return values


def _cli_bag(tmp_path: Path, record: Path, *extra: str) -> Path:
    store = tmp_path / "cli-store"
    result = CliRunner().invoke(main, ["bag", str(record), "--store", str(store), *extra])
    assert result.exit_code == 0, result.output
    return Path(result.stdout.strip())


def _versions(store: Path, identifier: str = "wcda:115179") -> list[Any]:
    with Store.open(store) as opened:
        return opened.versions(identifier)


def _text(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def test_hand_entry_bags_exactly_what_stook_bag_writes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    client = logged_in(web_app(store, tmp_path))
    response = submit(client, "/records/new", _wilson_values())
    assert response.status_code == 302, _text(response)
    assert response.headers["Location"] == f"/records/{NAME}?stored=new"
    page = _text(client.get(response.headers["Location"]))
    assert "new: wcda:115179 version 1 stored as" in page
    web_bag = store / NAME / "v1"
    cli_bag = _cli_bag(tmp_path, EXAMPLE_DIR / "record.yaml")
    assert_bagit_valid(web_bag)
    assert (web_bag / "data" / "record.json").read_bytes() == (cli_bag / "data" / "record.json").read_bytes()
    assert (web_bag / "manifest-sha512.txt").read_bytes() == (cli_bag / "manifest-sha512.txt").read_bytes()
    with Store.open(store) as web, Store.open(tmp_path / "cli-store") as cli:
        web_events = [e.type for e in web.ledger.events()]
        assert web_events == [e.type for e in cli.ledger.events()] == ["val", "mes", "ing"]
    assert not any((store / ".tmp").iterdir())
    assert not any((tmp_path / "uploads").iterdir())


def test_errors_show_beside_their_fields_keep_what_was_typed_and_write_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    bag_manual_record(store, {"identifier": "local:other", "title": "Another record"})
    client = logged_in(web_app(store, tmp_path))
    before = store_state(store)
    values = {"identifier": "local:new-doc", "title": "", "dates[0].type": "", "dates[0].value": "",
              "dates[1].type": "created", "dates[1].value": "1961-13-45", "dates[1].display": "as written",
              "agents[0].name": "Che Guevara", "agents[0].roles[0]": "participant"}
    response = submit(client, "/records/new", values)
    assert response.status_code == 422
    page = _text(response)
    assert "2 problems: nothing was stored" in page
    date = field_html(page, "dates[1].value")
    assert "'1961-13-45' is not an EDTF date" in date and 'aria-invalid="true"' in date
    assert 'value="1961-13-45"' in date
    title = field_html(page, "title")
    assert "is required" in title
    assert 'href="#f-dates-1-value">Dates › Date 2 › Value</a>' in page
    assert 'href="#f-title">Title</a>' in page
    assert 'value="as written"' in page and 'value="Che Guevara"' in page and 'value="local:new-doc"' in page
    assert "is not an EDTF date" not in field_html(page, "dates[0].value")
    assert store_state(store) == before


def test_rows_are_added_and_removed_without_javascript(tmp_path: Path) -> None:
    client = logged_in(web_app(tmp_path / "store", tmp_path))
    values = form_values(client.get("/records/new").get_data(as_text=True))
    assert "dates[0].value" in values and "dates[1].value" not in values
    values["dates[0].value"] = "1961-04-26"
    added = submit(client, "/records/new", values, _action="add:dates")
    assert added.status_code == 200
    values = form_values(_text(added))
    assert values["dates[0].value"] == "1961-04-26" and values["dates[1].value"] == ""
    nested = form_values(_text(submit(client, "/records/new", values, _action="add:agents[0].roles")))
    assert "agents[0].roles[1]" in nested
    removed = form_values(_text(submit(client, "/records/new", nested, _action="remove:dates[0]")))
    assert "dates[0].value" not in removed and removed["dates[1].value"] == ""
    values = {**removed, "identifier": "local:rows", "title": "Rows", "dates[1].type": "issued",
              "dates[1].value": "1961"}
    assert submit(client, "/records/new", values).status_code == 302
    stored = tmp_path / "store" / bag_name("local:rows") / "v1" / "data" / "record.json"
    record = json.loads(stored.read_text())
    assert record["dates"] == [{"type": "issued", "value": "1961"}]
    assert "agents" not in record  # blank rows are left out


def test_a_text_that_is_not_utf8_is_refused_with_its_byte_offset(tmp_path: Path) -> None:
    store = tmp_path / "store"
    client = logged_in(web_app(store, tmp_path))
    latin1 = "Caf\u00e9 con le\u00f1a".encode("latin-1")
    values = {"identifier": "local:latin", "title": "Latin-1 text", "content[0].kind": "text",
              "content[0].__file": (io.BytesIO(latin1), "notes.txt")}
    response = submit(client, "/records/new", values)
    assert response.status_code == 422
    page = _text(response)
    assert "notes.txt: text is not valid UTF-8 (byte 0xe9 at offset 3)" in page
    assert 'value="text.txt"' in field_html(page, "content[0].path")  # the path it would have had
    quick = {"identifier": "local:latin", "title": "Latin-1 text",
             "_texts": (io.BytesIO(latin1), "notes.txt")}
    response = submit(client, "/records/new", quick)
    assert response.status_code == 422
    assert "notes.txt: text is not valid UTF-8 (byte 0xe9 at offset 3)" in _text(response)
    assert not (store / bag_name("local:latin")).exists()


def test_an_upload_is_kept_across_a_refused_submit(tmp_path: Path) -> None:
    store = tmp_path / "store"
    client = logged_in(web_app(store, tmp_path))
    values = {"identifier": "local:kept", "title": "", "content[0].kind": "translation",
              "content[0].__file": (io.BytesIO(TEXT.read_bytes()), "text.txt")}
    refused = _text(submit(client, "/records/new", values))
    assert "Chosen: text.txt (7.4 KB)" in refused
    again = form_values(refused)
    assert len(again["content[0].__stash"]) == 32
    again["title"] = "Now with a title"
    assert submit(client, "/records/new", again).status_code == 302
    stored = store / bag_name("local:kept") / "v1" / "data" / "text.txt"
    assert stored.read_bytes() == TEXT.read_bytes()
    forged = {**again, "identifier": "local:forged", "content[0].__stash": "../../etc/passwd"}
    response = submit(client, "/records/new", forged)
    assert response.status_code == 422 and "no file to store as text.txt" in _text(response)


def test_quick_texts_and_attachments_are_added_as_stook_bag_adds_them(tmp_path: Path) -> None:
    store = tmp_path / "store"
    scan = tmp_path / "scan:001.tif"
    scan.write_bytes(b"II*\x00 a scanned page")
    client = logged_in(web_app(store, tmp_path))
    values = {"identifier": "local:quick", "title": "Quick",
              "_texts": (io.BytesIO(TEXT.read_bytes()), "translation.txt"),
              "_files": (io.BytesIO(scan.read_bytes()), scan.name)}
    assert submit(client, "/records/new", values).status_code == 302
    record_file = tmp_path / "quick.yaml"
    record_file.write_text('identifier: "local:quick"\ntitle: "Quick"\n')
    cli_bag = _cli_bag(tmp_path, record_file, "--text", str(TEXT), "--file", str(scan))
    web_bag = store / bag_name("local:quick") / "v1"
    assert (web_bag / "data" / "record.json").read_bytes() == (cli_bag / "data" / "record.json").read_bytes()
    record = json.loads((web_bag / "data" / "record.json").read_text())
    assert record["content"][1]["original_name"] == scan.name


# -- editing -------------------------------------------------------------------------------


@pytest.fixture
def wilson(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    bag_manual_record(store, EXAMPLE_DIR / "record.yaml")
    return store


def _edit_form(client: Any) -> dict[str, str]:
    page = client.get(f"/records/{NAME}/edit").get_data(as_text=True)
    assert 'name="identifier" readonly' in page or "readonly" in field_html(page, "identifier")
    return form_values(page)


def _edit(client: Any, values: dict[str, Any], **extra: Any) -> Any:
    token = csrf(client, f"/records/{NAME}/edit")
    data = {"_csrf": token, "_action": "save", "_base_version": "1", **values, **extra}
    return client.post(f"/records/{NAME}/edit", data=data, content_type="multipart/form-data")


def test_an_unchanged_edit_writes_nothing(wilson: Path, tmp_path: Path) -> None:
    client = logged_in(web_app(wilson, tmp_path))
    values = _edit_form(client)
    assert values["content[0].__from"] == "text.txt"
    before = store_state(wilson)
    response = _edit(client, values)
    assert response.status_code == 302
    shown = _text(client.get(response.headers["Location"]))
    assert "nothing changed: wcda:115179 is already stored as version 1" in shown
    assert store_state(wilson) == before


def test_an_edit_makes_the_next_version_and_the_diff_shows_it(wilson: Path, tmp_path: Path) -> None:
    client = logged_in(web_app(wilson, tmp_path))
    values = _edit_form(client)
    values["title"] = "Record of Conversation with Che Guevara, 14 April 1961"
    response = _edit(client, values)
    assert response.status_code == 302
    versions = _versions(wilson)
    assert [v.version for v in versions] == [1, 2]
    v1, v2 = (wilson / v.path for v in versions)
    assert (v1 / "data" / "text.txt").read_bytes() == (v2 / "data" / "text.txt").read_bytes()
    assert_bagit_valid(v2)
    diff = _text(client.get(f"/records/{NAME}/diff?a=1&b=2"))
    assert "<code>$.title</code></td><td>changed</td>" in diff
    assert "<ins>Record of Conversation with Che Guevara, 14 April 1961</ins>" in diff
    assert "The same files, with the same digests." in diff


def test_an_edit_can_replace_a_file(wilson: Path, tmp_path: Path) -> None:
    client = logged_in(web_app(wilson, tmp_path))
    values: dict[str, Any] = dict(_edit_form(client))
    values["content[0].__file"] = (io.BytesIO(b"A corrected translation.\n"), "corrected.txt")
    assert _edit(client, values).status_code == 302
    v2 = wilson / _versions(wilson)[-1].path
    assert (v2 / "data" / "text.txt").read_bytes() == b"A corrected translation.\n"
    diff = _text(client.get(f"/records/{NAME}/diff"))
    assert "<code>data/text.txt</code>: changed" in diff


def test_leaving_out_a_file_needs_a_confirmation_and_is_recorded(wilson: Path, tmp_path: Path) -> None:
    client = logged_in(web_app(wilson, tmp_path))
    values = {k: v for k, v in _edit_form(client).items() if not k.startswith("content[1]")}
    before = store_state(wilson)
    refused = _edit(client, values)
    assert refused.status_code == 409
    page = _text(refused)
    assert "Files would be left out" in page and "Leave out data/files/wilson-center-page.md" in page
    assert store_state(wilson) == before
    confirmed = _edit(client, values, _drop="data/files/wilson-center-page.md")
    assert confirmed.status_code == 302
    shown = _text(client.get(confirmed.headers["Location"]))
    assert "left out of it on purpose: data/files/wilson-center-page.md" in shown
    v2 = wilson / _versions(wilson)[-1].path
    assert not (v2 / "data" / "files").exists()
    with Store.open(wilson) as opened:
        deletions = list(opened.ledger.events(types=["del"]))
    assert len(deletions) == 1 and "wilson-center-page.md" in deletions[0].detail


def test_an_edit_cannot_change_the_identifier_or_overwrite_a_newer_version(wilson: Path,
                                                                          tmp_path: Path) -> None:
    client = logged_in(web_app(wilson, tmp_path))
    values = _edit_form(client)
    before = store_state(wilson)
    renamed = _edit(client, {**values, "identifier": "wcda:999"})
    assert renamed.status_code == 422
    assert "cannot change in an edit" in field_html(_text(renamed), "identifier")
    stale = _edit(client, values, _base_version="0")
    assert stale.status_code == 409
    assert "version 1 of this record was stored while this form was open" in _text(stale)
    assert store_state(wilson) == before


def test_a_new_record_may_not_reuse_a_stored_identifier(wilson: Path, tmp_path: Path) -> None:
    client = logged_in(web_app(wilson, tmp_path))
    before = store_state(wilson)
    response = submit(client, "/records/new", {"identifier": "wcda:115179", "title": "Another"})
    assert response.status_code == 422
    assert "the store holds this record already (version 1)" in field_html(_text(response), "identifier")
    assert store_state(wilson) == before


def test_a_record_another_source_supplied_is_changed_only_when_asked(tmp_path: Path) -> None:
    store = tmp_path / "store"
    harvested = {"identifier": "oai:example.org:7", "title": "A harvested letter",
                 "record_source": {"method": "harvest", "base_url": "https://example.org/oai"}}
    with Store.open(store, create=True) as opened:
        opened.add(BagRequest(harvested, source=Source.harvest("https://example.org/oai", "oai_dc")))
    name = bag_name("oai:example.org:7")
    client = logged_in(web_app(store, tmp_path))
    values = form_values(client.get(f"/records/{name}/edit").get_data(as_text=True))
    values["title"] = "A harvested letter, described by hand"
    before = store_state(store)
    data = {"_csrf": csrf(client), "_action": "save", "_base_version": "1", **values}
    refused = client.post(f"/records/{name}/edit", data=data, content_type="multipart/form-data")
    assert refused.status_code == 409
    page = _text(refused)
    assert "Another source supplied this record" in page and "harvest of https://example.org/oai" in page
    assert store_state(store) == before
    data["_as_new_version"] = "yes"
    stored = client.post(f"/records/{name}/edit", data=data, content_type="multipart/form-data")
    assert stored.status_code == 302
    assert [v.version for v in _versions(store, "oai:example.org:7")] == [1, 2]
