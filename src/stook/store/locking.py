"""The store's writer lock: one process writes to a store at a time.

An ``flock`` on ``<store>/.lock``: the kernel drops it when the holder dies, however it
dies, so a killed run never leaves the store locked. Readers (ls, audit's listing,
serve) take no lock: the write protocol keeps what they can see consistent.
"""

from __future__ import annotations

import errno
import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from stook.errors import ReadOnlyStore, StoreError

LOCK_FILE = ".lock"


class StoreBusy(StoreError):
    """Another process holds the store's writer lock."""


class WriterLock:
    """The lock of one store, re-entrant within the object that holds it."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._depth = 0

    @property
    def held(self) -> bool:
        return self._depth > 0

    @contextmanager
    def hold(self, timeout: float = 30.0) -> Iterator[None]:
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        try:
            fd = os.open(self.root / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise ReadOnlyStore(
                    f"{self.root}: the store is read-only ({exc.strerror}); this step writes to it",
                    path=self.root,
                ) from exc
            raise StoreError(
                f"{self.root}: cannot take the store's lock: {exc.strerror}", path=self.root
            ) from exc
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES) or time.monotonic() >= deadline:
                    os.close(fd)
                    raise StoreBusy(
                        f"{self.root}: the store is being written by another stook process; "
                        "wait for it to finish and try again",
                        path=self.root,
                    ) from exc
                time.sleep(0.05)
        self._depth = 1
        try:
            yield
        finally:
            self._depth = 0
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
