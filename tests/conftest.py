"""Shared fixtures: the bundled example, fresh stores in tmp_path, bagit-python cross-checks."""

from __future__ import annotations

import shutil
from pathlib import Path

import bagit
import pytest
from click.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = ROOT / "examples" / "wilson-115179"


@pytest.fixture
def example_dir(tmp_path: Path) -> Path:
    """A private copy of the bundled example (record.yaml, text.txt, files/)."""
    target = tmp_path / "example"
    shutil.copytree(EXAMPLE_DIR, target)
    return target


@pytest.fixture
def example_record(example_dir: Path) -> Path:
    return example_dir / "record.yaml"


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def assert_bagit_valid(path: Path) -> bagit.Bag:
    """bagit-python, the reference implementation, must accept every bag stook writes."""
    bag = bagit.Bag(str(path))
    bag.validate()
    return bag


def tree_bytes(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes, to prove a tree was not touched."""
    return {str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}
