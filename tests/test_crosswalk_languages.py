"""Languages -> canonical BCP 47 through langcodes; what is no language is never stored as one."""

from __future__ import annotations

import subprocess
import sys

import pytest
from support.oai_records import dc_doc, oai_record, walk

from stook.crosswalk import language_tag, normalize_language
from stook.schema import validate_record

CANONICAL = [
    ("en", "en"), ("eng", "en"), ("EN", "en"), ("rus", "ru"), ("fre", "fr"), ("fra", "fr"),
    ("swa", "sw"), ("iw", "he"), ("mo", "ro"), ("ger", "de"), ("deu", "de"), ("oci", "oc"),
    ("in", "id"), ("pt-br", "pt-BR"), ("pt_BR", "pt-BR"), ("zh-hant-tw", "zh-Hant-TW"),
    ("English", "en"), ("english", "en"), ("Deutsch", "de"), ("Русский", "ru"), ("Français", "fr"),
    ("Swahili", "sw"),
]
NOT_LANGUAGES = ["GE", "xx", "zz-ZZ", "Klingon dialect of the south", "English and some French", "123", "   "]


@pytest.mark.parametrize(("written", "code"), CANONICAL)
def test_canonical_tags(written: str, code: str) -> None:
    entry = normalize_language(written)
    assert entry is not None and entry["code"] == code
    assert entry.get("label", code) == written


@pytest.mark.parametrize("written", NOT_LANGUAGES)
def test_not_languages(written: str) -> None:
    assert normalize_language(written) is None
    assert language_tag(written) is None


def test_languages_in_a_record() -> None:
    element = oai_record("oai:x:1", dc_doc(
        ("title", "Harbour", "EN"),
        ("title", "Hafen", "ger"),
        ("language", "swa"),
        ("language", "sw"),
        ("language", "eng; fre"),
        ("language", "GE"),
        ("language", "xx"),
    ))
    record = walk(element).record
    assert validate_record(record) == []
    assert record["languages"] == [
        {"code": "sw", "label": "swa"},
        {"code": "en", "label": "eng"},
        {"code": "fr", "label": "fre"},
    ]
    assert record["additional_titles"] == [{"value": "Hafen", "type": "translated", "lang": "de"}]
    assert [v["value"] for v in record["dc"]["language"]] == ["swa", "sw", "eng; fre", "GE", "xx"]
    notes = record["extensions"]["stook:crosswalk-notes"]
    assert [n.split("'")[1] for n in notes] == ["GE", "xx"]


def test_langcodes_is_imported_only_when_a_language_is_crosswalked() -> None:
    code = (
        "import sys\n"
        "from stook.crosswalk import crosswalk_record\n"
        "assert 'langcodes' not in sys.modules\n"
        "from stook.crosswalk import normalize_language\n"
        "normalize_language('eng')\n"
        "assert 'langcodes' in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
