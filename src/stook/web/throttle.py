"""Failed logins slow down a password guesser: after a few failures a user name, or a client
address, must wait before it may try again.

Each password check already costs a deliberate scrypt hash, but an online guesser can
still try hundreds of passwords an hour. :class:`LoginThrottle` counts failures per user
name and per client address in a sliding window; at the limit, further attempts are
refused (HTTP 429) without checking the password until the oldest failure leaves the
window. A success clears the name and the address. The counts live in memory: a restart
forgets them, and they are shared by the server's threads under a lock.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

MAX_FAILURES = 5
WINDOW_SECONDS = 15 * 60
_MAX_KEYS = 10_000  # bound the memory a flood of made-up names can take


@dataclass
class LoginThrottle:
    """Failures per key (``user:NAME`` and ``addr:ADDRESS``) within ``window`` seconds."""

    max_failures: int = MAX_FAILURES
    window: float = WINDOW_SECONDS
    clock: Callable[[], float] = time.monotonic
    _failures: dict[str, deque[float]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def wait_seconds(self, name: str, address: str) -> float:
        """How long the name or the address must still wait (0 when it may try now)."""
        now = self.clock()
        with self._lock:
            return max(self._wait(key, now) for key in _keys(name, address))

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._failures) >= _MAX_KEYS:
                self._forget_expired(now)
            for key in _keys(name, address):
                times = self._failures.setdefault(key, deque())
                times.append(now)
                while len(times) > self.max_failures:
                    times.popleft()

    def succeeded(self, name: str, address: str) -> None:
        with self._lock:
            for key in _keys(name, address):
                self._failures.pop(key, None)

    @property
    def tracked(self) -> int:
        """How many names and addresses have failures on record."""
        with self._lock:
            return len(self._failures)

    def _wait(self, key: str, now: float) -> float:
        times = self._failures.get(key)
        if not times:
            return 0.0
        while times and now - times[0] >= self.window:
            times.popleft()
        if len(times) < self.max_failures:
            return 0.0
        return self.window - (now - times[0])

    def _forget_expired(self, now: float) -> None:
        for key in [k for k, times in self._failures.items() if not times or now - times[-1] >= self.window]:
            del self._failures[key]
        if len(self._failures) >= _MAX_KEYS:  # still full of live keys: drop the oldest
            oldest = sorted(self._failures, key=lambda k: self._failures[k][-1])
            for key in oldest[: len(oldest) // 2]:
                del self._failures[key]


def _keys(name: str, address: str) -> tuple[str, str]:
    return f"user:{name.casefold()}", f"addr:{address}"
