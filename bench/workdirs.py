"""Scratch directories for the benches, all deleted together when ``make bench`` ends.

On a filesystem like this machine's (ext4 without a journal), deleting many files
makes creating new ones several times slower for a minute or more afterwards: the
inode allocator skips recently freed inodes one by one. A bench that deleted its
2,000 bags on the way out would slow down the next bench's writes, so each bench
leaves its scratch directory in place and ``bench/run.py`` deletes them all at the end.
Run on their own (``python bench/bench_bag.py``), benches clean up at exit.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

_ROOT: Path | None = None


def workdir(prefix: str) -> Path:
    """A new scratch directory that lives until the bench process ends."""
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="stook-bench-"))
        atexit.register(shutil.rmtree, _ROOT, True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_ROOT))
