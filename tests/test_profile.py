"""The stook BagIt profile: every bag stook writes satisfies it, checked with the bagit_profile package."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import bagit
import bagit_profile
import pytest
from support.transfer_helpers import example_store, simple_request

from stook.bagwriter import ALGORITHMS, PROFILE_IDENTIFIER
from stook.errors import UsageError
from stook.profile import PROFILE_FILE, check_bag, load_profile, stook_profile
from stook.store import Store

PROFILE_JSON = json.loads(PROFILE_FILE.read_text(encoding="utf-8"))


def _package_says_valid(bag_dir: Path, serialized: Path | None = None) -> bool:
    """The bagit_profile package on its own, as a partner would run it."""
    profile = bagit_profile.Profile(PROFILE_IDENTIFIER, profile=json.loads(PROFILE_FILE.read_text()))
    assert profile.validate_serialization(str(serialized or bag_dir))
    ok = profile.validate(bagit.Bag(str(bag_dir)))
    assert ok, profile.report
    return bool(ok)


def test_profile_identifier_is_what_stook_writes() -> None:
    assert PROFILE_JSON["BagIt-Profile-Info"]["BagIt-Profile-Identifier"] == PROFILE_IDENTIFIER
    assert stook_profile().identifier == PROFILE_IDENTIFIER and stook_profile().is_stook
    assert PROFILE_JSON["Allow-Fetch.txt"] is False
    assert PROFILE_JSON["Manifests-Required"] == ["sha512"] == PROFILE_JSON["Tag-Manifests-Required"]
    assert "1.0" in PROFILE_JSON["Accept-BagIt-Version"]


@pytest.mark.parametrize(
    "algorithms,organization",
    [(("sha512",), None), (ALGORITHMS, "Wilson Center"), (("sha512", "md5"), None)],
)
def test_every_bag_stook_writes_satisfies_the_profile(
    tmp_path: Path, algorithms: tuple[str, ...], organization: str | None
) -> None:
    store, bag = example_store(tmp_path / "store", algorithms=algorithms, organization=organization)
    store.close()
    assert (bag / "data" / "files").is_dir()  # attachments included
    assert check_bag(bag) == []
    assert _package_says_valid(bag)


def test_harvested_style_bags_with_groups_and_versions_satisfy_the_profile(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store", create=True)
    source = {"method": "harvest", "base_url": "https://example.org/oai", "metadata_prefix": "oai_dc",
              "set_specs": ["letters", "letters:1961"]}
    first = store.add(simple_request("oai:example.org:1", record_source=source))
    second = store.add(simple_request("oai:example.org:1", "changed\n", record_source=source))
    store.close()
    for result in (first, second):
        text = (result.path / "bag-info.txt").read_text()
        assert text.count("Bag-Group-Identifier") == 2
        assert check_bag(result.path) == []
        assert _package_says_valid(result.path)


def test_archives_stook_exports_are_accepted_serializations(tmp_path: Path) -> None:
    store, bag = example_store(tmp_path / "store")
    store.close()
    for name in ("x.tar", "x.tar.gz", "x.tgz", "x.zip"):
        archive = tmp_path / name
        archive.write_bytes(b"not really")
        assert check_bag(bag, serialized=archive) == [], name
        assert _package_says_valid(bag, archive)
    rar = tmp_path / "x.rar"
    rar.write_bytes(b"")
    problems = check_bag(bag, serialized=rar)
    assert len(problems) == 1 and "accepted serializations" in problems[0].message


def test_foreign_bag_problems_are_listed_readably(tmp_path: Path) -> None:
    source = tmp_path / "foreign"
    source.mkdir()
    (source / "a.txt").write_text("a")
    bagit.make_bag(str(source), {"Contact-Name": "Someone"}, checksums=["md5"])
    (source / "bagit.txt").write_text("BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n")
    bagit.Bag(str(source)).save(manifests=True)
    (source / "fetch.txt").write_text("")
    (source / "notes.txt").write_text("extra tag file")
    problems = check_bag(source)
    text = "\n".join(str(p) for p in problems)
    for expected in ("BagIt-Profile-Identifier is missing", "External-Identifier",
                     "Internal-Sender-Identifier", "'sha512' is not present", "0.97", "Fetch.txt",
                     "notes.txt", "data/record.json"):
        assert expected in text, (expected, text)
    assert all(p.expected == "the stook profile" for p in problems)
    assert not any(str(source) in p.message for p in problems)  # the bag path prefix is dropped
    # the bag on disk was not changed by the in-memory identifier trick
    assert "BagIt-Profile-Identifier" not in (source / "bag-info.txt").read_text()


def test_changed_stook_bag_breaks_the_profile(tmp_path: Path) -> None:
    store, bag = example_store(tmp_path / "store")
    store.close()
    copy = tmp_path / "copy"
    shutil.copytree(bag, copy)
    (copy / "tagmanifest-sha512.txt").unlink()
    info = (copy / "bag-info.txt").read_text().replace("External-Identifier", "X-Identifier")
    (copy / "bag-info.txt").write_text(info)
    text = "\n".join(str(p) for p in check_bag(copy))
    assert "tag manifest type 'sha512'" in text and "External-Identifier" in text


def test_other_profiles_and_v14_rules(tmp_path: Path) -> None:
    store, bag = example_store(tmp_path / "store")
    store.close()
    data = {
        "BagIt-Profile-Info": {"BagIt-Profile-Identifier": "https://p.example/x.json",
                               "Source-Organization": "P", "Version": "1", "BagIt-Profile-Version": "1.4.0"},
        "Accept-BagIt-Version": ["1.0"],
        "Payload-Files-Required": ["data/mets.xml"],
        "Payload-Files-Allowed": ["data/*.txt", "data/*.json"],
        "Data-Empty": True,
        "Fetch.txt-Required": True,
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(data))
    problems = check_bag(bag, load_profile(path))
    text = "\n".join(str(p) for p in problems)
    assert "BagIt-Profile-Identifier names " + PROFILE_IDENTIFIER in text
    assert "data/mets.xml: required payload file" in text
    assert "data/files/wilson-center-page.md: payload file not listed" in text
    assert "Data-Empty" in text and "fetch.txt" in text
    assert "data/text.txt: payload file not listed" not in text


def test_unusable_profiles_are_usage_errors(tmp_path: Path) -> None:
    cases = {
        "missing.json": None,
        "bad.json": "{not json",
        "list.json": "[]",
        "noid.json": json.dumps({"BagIt-Profile-Info": {}, "Accept-BagIt-Version": ["1.0"]}),
        "noversions.json": json.dumps({"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x"}}),
        "noorg.json": json.dumps({"BagIt-Profile-Info": {"BagIt-Profile-Identifier": "x", "Version": "1"},
                                  "Accept-BagIt-Version": ["1.0"]}),
    }
    for name, text in cases.items():
        path = tmp_path / name
        if text is not None:
            path.write_text(text)
        with pytest.raises(UsageError) as caught:
            load_profile(path)
        assert name in str(caught.value)


def test_profile_check_never_touches_the_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the profile URL was fetched")

    monkeypatch.setattr(bagit_profile, "urlopen", refuse)
    store, bag = example_store(tmp_path / "store")
    store.close()
    assert check_bag(bag) == []
