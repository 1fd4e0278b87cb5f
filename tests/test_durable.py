"""The one directory swap behind repair and OCFL updates: both sides change in one step."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from stook.durable import exchange_directories


def test_exchange_directories_swaps_whole_trees(tmp_path: Path) -> None:
    live, staged = tmp_path / "live", tmp_path / "staged"
    (live / "data").mkdir(parents=True)
    (live / "data" / "old.txt").write_text("old", encoding="utf-8")
    staged.mkdir()
    (staged / "new.txt").write_text("new", encoding="utf-8")

    exchange_directories(staged, live)

    assert (live / "new.txt").read_text(encoding="utf-8") == "new"
    assert not (live / "data").exists()
    assert (staged / "data" / "old.txt").read_text(encoding="utf-8") == "old"


def test_exchange_directories_names_the_missing_side(tmp_path: Path) -> None:
    there = tmp_path / "there"
    there.mkdir()
    with pytest.raises(OSError) as caught:
        exchange_directories(tmp_path / "absent", there)
    assert caught.value.errno == errno.ENOENT
    assert "absent" in str(caught.value)
    assert there.is_dir()
