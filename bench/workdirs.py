"""Scratch directories for the benches, all deleted together when ``make bench`` ends.

On a filesystem like this machine's (ext4 without a journal), deleting many files
makes creating new ones several times slower for a minute or more afterwards: the
inode allocator skips recently freed inodes one by one. A bench that deleted its
2,000 bags on the way out would slow down the next bench's writes, so each bench
leaves its scratch directory in place and ``bench/run.py`` deletes them all at the end.
Run on their own (``python bench/bench_bag.py``), benches clean up at exit.

The same slowness can be left by whatever ran just before (a ``make test`` deletes
thousands of temporary files). :func:`settle` waits, at most a few minutes, until
creating files costs what it costs on a quiet filesystem, so that the figures compare
the tools and not the kernel's scan of recently freed inodes; it prints what it measured.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import time
from pathlib import Path

_ROOT: Path | None = None


def workdir(prefix: str) -> Path:
    """A new scratch directory that lives until the bench process ends."""
    global _ROOT
    if _ROOT is None:
        _ROOT = Path(tempfile.mkdtemp(prefix="stook-bench-"))
        atexit.register(shutil.rmtree, _ROOT, True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=_ROOT))


QUIET_CREATE_US = 80.0  # a create here: 35-60 us on a quiet filesystem, 100-900 after mass deletes


def create_cost(files: int = 300) -> float:
    """Microseconds to create (and write a few bytes to) one file: the median of three runs,
    each in a fresh scratch directory.

    The files stay until the benches end: deleting them would itself slow what follows.
    """
    costs = []
    for _ in range(3):
        probe = workdir("settle-")
        started = time.perf_counter()
        for n in range(files):
            fd = os.open(probe / f"f{n}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            os.write(fd, b"settle")
            os.close(fd)
        costs.append((time.perf_counter() - started) / files * 1e6)
    return sorted(costs)[1]


def settle(max_wait: float = 360.0, pause: float = 15.0) -> list[float]:
    """Wait until file creation runs at its quiet speed (or ``max_wait`` seconds have passed).

    Returns the costs measured, in microseconds per create.
    """
    costs = [create_cost()]
    deadline = time.monotonic() + max_wait
    while costs[-1] > QUIET_CREATE_US and time.monotonic() < deadline:
        if len(costs) == 1:
            print(f"filesystem: creating a file costs {costs[-1]:.0f} us (quiet: under"
                  f" {QUIET_CREATE_US:.0f}); waiting up to {max_wait:.0f} s for recently deleted"
                  " files to age out", flush=True)
        time.sleep(pause)
        costs.append(create_cost())
    verdict = "quiet" if costs[-1] <= QUIET_CREATE_US else "still slow: the figures below are pessimistic"
    print(f"filesystem: {costs[-1]:.0f} us per file create after {len(costs)} probe(s) ({verdict})",
          flush=True)
    return costs
