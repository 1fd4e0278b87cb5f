"""A whole store as data (every file's bytes, every ledger row), to prove a refusal changed nothing."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

LEDGER_FILE = "stook-ledger.sqlite"


def store_snapshot(root: Path) -> dict[str, Any]:
    """Files of the store (bags, quarantine; not the ledger's own files or ``.tmp``) and a
    dump of every ledger table."""
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.name.startswith(LEDGER_FILE) and ".tmp" not in p.relative_to(root).parts
    }
    conn = sqlite3.connect(f"file:{root / LEDGER_FILE}?mode=ro", uri=True)
    try:
        dump = list(conn.iterdump())
    finally:
        conn.close()
    return {"files": files, "ledger": dump}


def no_traceback(*outputs: str) -> bool:
    return not any("Traceback" in text or "MemoryError" in text for text in outputs)
