"""Bag names from identifiers: portable, no traversal, no collisions, findable."""

from __future__ import annotations

import re
import unicodedata

import pytest

from stook.errors import UsageError
from stook.names import bag_label, bag_name, identifier_key

PORTABLE = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")
WINDOWS_RESERVED = {
    "con",
    "prn",
    "aux",
    "nul",
    *(f"com{i}" for i in range(10)),
    *(f"lpt{i}" for i in range(10)),
}

HOSTILE = [
    "../../etc/passwd",
    "CON",
    "con",
    "a/b",
    "a\\b",
    "A",
    "a",
    "x" * 300,
    "\u202eevil\u202c",
    "caf\u00e9",
    "cafe\u0301",
    "oai:example.org:rec/1",
    "..",
    ".",
    "NUL.txt",
    "Запись беседы",
    "😀",
]


@pytest.mark.parametrize("identifier", HOSTILE)
def test_names_are_portable_and_bounded(identifier: str) -> None:
    name = bag_name(identifier)
    assert PORTABLE.match(name), name
    assert len(name) <= 80
    assert name.split(".")[0] not in WINDOWS_RESERVED
    assert "/" not in name and ".." not in name


def test_no_two_identifiers_share_a_name_even_case_insensitively() -> None:
    distinct = {identifier_key(i) for i in HOSTILE}
    names = {bag_name(i).casefold() for i in distinct}
    assert len(names) == len(distinct)
    assert bag_name("A") != bag_name("a")


def test_unicode_normalization_forms_are_one_identifier() -> None:
    nfc, nfd = "caf\u00e9", "cafe\u0301"
    assert unicodedata.normalize("NFC", nfd) == nfc
    assert bag_name(nfc) == bag_name(nfd)


def test_name_is_a_pure_function_of_the_identifier() -> None:
    assert bag_name("wcda:115179") == bag_name("wcda:115179")
    assert bag_name("wcda:115179").startswith("wcda-115179-")
    assert bag_label("wcda:115179", 3) == bag_name("wcda:115179") + ".v3"


@pytest.mark.parametrize("identifier", ["a\x00b", "", "   ", "tab\there"])
def test_control_characters_and_blank_ids_are_refused(identifier: str) -> None:
    with pytest.raises(UsageError):
        bag_name(identifier)
