"""The one way stook starts worker processes, for building bags and for checking them.

Every worker ignores Ctrl-C (the parent records what finished, then stops them),
dies with its parent however the parent dies (Linux ``PR_SET_PDEATHSIG``: a worker
orphaned by a SIGKILL would otherwise wait forever, holding the parent's pipes and
the store's lock file open), and freezes the heap it inherits by fork, so the
garbage collector never walks the parent's pages again (and never copies them).
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import os
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from concurrent.futures import Future

R = TypeVar("R")


def _worker_setup() -> None:
    gc.freeze()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):  # pragma: no cover - no prctl: nothing to arrange
            pass


def _nothing() -> int:
    return os.getpid()


class ProcessPool:
    """A pool of ``count`` worker processes (see the module docstring)."""

    def __init__(self, count: int) -> None:
        from concurrent.futures import ProcessPoolExecutor  # imported when work starts, not by stook ls

        self.count = count
        self._pool = ProcessPoolExecutor(max_workers=count, initializer=_worker_setup)
        self._pids: set[int] = set()

    def start(self) -> None:
        """Fork the workers now (the pool forks them at its first submission)."""
        self._pool.submit(_nothing)

    def submit(self, fn: Callable[..., R], *args: Any) -> Future[R]:
        return self._pool.submit(fn, *args)

    def shutdown(self) -> None:
        """Let running jobs finish, cancel the others, and end the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def terminate(self) -> None:
        """End the workers now, abandoning what they are doing (after Ctrl-C, or when
        their results would only be thrown away)."""
        for pid in self.worker_pids():
            with contextlib.suppress(OSError):  # already gone
                os.kill(pid, signal.SIGTERM)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def worker_pids(self) -> list[int]:
        """The process ids of the live workers."""
        processes = getattr(self._pool, "_processes", None) or {}  # the one private read, here
        return [p for p in processes if isinstance(p, int)]
