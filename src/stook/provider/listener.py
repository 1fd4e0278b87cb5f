"""waitress, held up against slow and oversized clients.

waitress reads requests on one event loop and answers them from a thread pool; out of
the box a few hundred sockets that send a request a byte at a time fill its connection
limit, after which it stops accepting, and every real harvester times out. Here:

* **The body cap is stook's own** (``MAX_BODY``): waitress answers 413 as soon as a
  request announces a longer body (or a chunked one grows past it), before reading or
  spooling any of it. Headers are capped too.
* **A whole request must arrive within ``request_timeout``** seconds of its first
  byte; slower senders are cut off, however often they send a byte. Idle keep-alive
  connections close after ``idle_timeout``.
* **At ``max_connections``, the new connection makes room** instead of waiting: the
  channel that has waited longest while sending an unfinished request (else the one
  idle longest) is closed. Channels being answered are never closed. Only when every
  channel is busy answering does the server stop accepting until one finishes.
"""

from __future__ import annotations

import logging
import resource
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import MultiSocketServer, TcpWSGIServer
from waitress.task import ThreadedTaskDispatcher

from stook.errors import UsageError

__all__ = ["ClientLimits", "create_server"]

MAX_HEADER = 128 * 1024  # a request line with the longest resumption token fits easily
SPARE_DESCRIPTORS = 64  # listening sockets, ledger connections, bag files being read
LOG = logging.getLogger("stook.provider")


@dataclass(frozen=True)
class ClientLimits:
    """How much one client may hold of the server."""

    max_body: int
    max_connections: int = 256
    request_timeout: float = 30.0
    idle_timeout: float = 60.0


class GuardedChannel(HTTPChannel):
    """A waitress channel that remembers when the request it is receiving began."""

    request_started: float | None = None

    def received(self, data: bytes) -> Any:
        before = self.request
        result = super().received(data)
        if self.request is None:
            self.request_started = None
        elif self.request is not before or self.request_started is None:
            self.request_started = time.time()
        return result

    def waiting_since(self) -> float | None:
        """Since when this channel holds a slot without work for the server (None: it is
        being answered or closing, so it is never closed to make room)."""
        if self.requests or self.total_outbufs_len or self.will_close or self.close_when_flushed:
            return None
        return self.request_started if self.request_started is not None else self.last_activity


class GuardedServer(TcpWSGIServer):
    """A waitress TCP server with a request deadline and room-making at the connection limit."""

    channel_class = GuardedChannel
    limits = ClientLimits(max_body=64 * 1024)
    next_channel_cleanup = 0.0

    def maintenance(self, now: float) -> None:
        super().maintenance(now)  # idle keep-alive channels (channel_timeout)
        cutoff = now - self.limits.request_timeout
        for channel in list(self.active_channels.values()):
            started = getattr(channel, "request_started", None)
            if started is not None and started < cutoff and not channel.requests:
                channel.will_close = True  # closed by the event loop on its next pass

    def readable(self) -> bool:
        now = time.time()
        if now >= self.next_channel_cleanup:
            self.next_channel_cleanup = now + self.adj.cleanup_interval
            self.maintenance(now)
        if not self.accepting:
            return False
        if len(self.active_channels) < self.limits.max_connections:
            return True
        return any(self._since(c) is not None for c in self.active_channels.values())

    @staticmethod
    def _since(channel: Any) -> float | None:
        waiting = getattr(channel, "waiting_since", None)
        return waiting() if waiting is not None else None

    def handle_accept(self) -> None:
        before = set(self.active_channels)
        super().handle_accept()
        while len(self.active_channels) > self.limits.max_connections:
            # Unfinished requests first (oldest start), then idle connections (longest idle).
            candidates = [
                (getattr(c, "request_started", None) is None, since, fd)
                for fd, c in self.active_channels.items()
                if fd in before and (since := self._since(c)) is not None
            ]
            if not candidates:
                break
            _idle, _since, fd = min(candidates)
            before.discard(fd)
            # Closed here, between select and dispatch: the loop skips descriptors it no longer maps.
            self.active_channels[fd].handle_close()


def connections_that_fit(wanted: int) -> int:
    """How many connections the process can hold open: the soft limit on open files is
    raised toward ``wanted`` (within the hard limit) first."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = wanted + SPARE_DESCRIPTORS
    if soft != resource.RLIM_INFINITY and soft < need:
        target = need if hard == resource.RLIM_INFINITY else min(need, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return wanted
    return max(1, min(wanted, soft - SPARE_DESCRIPTORS))


def create_server(app: Any, *, host: str, port: int, threads: int, limits: ClientLimits) -> Any:
    """A waitress server for ``app`` on ``host:port`` under ``limits`` (not yet running).

    Raises what waitress raises for an address it cannot use (OSError, ValueError).
    """
    fits = connections_that_fit(limits.max_connections)
    if fits < limits.max_connections:
        LOG.warning("max_connections lowered from %d to %d: the process may not open more files "
                    "(raise its limit with ulimit -n)", limits.max_connections, fits)
        limits = replace(limits, max_connections=fits)
    adj = Adjustments(
        host=host,
        port=port,
        threads=threads,
        ident="stook",
        max_request_body_size=limits.max_body + 1,  # waitress refuses a body of this size or more
        max_request_header_size=MAX_HEADER,
        channel_timeout=max(1, round(limits.idle_timeout)),
        cleanup_interval=1,
        connection_limit=limits.max_connections + 64,  # waitress's own stop, never reached here
        asyncore_use_poll=True,  # select() cannot watch descriptors above 1023
    )
    socket_map: dict[int, Any] = {}
    dispatcher = ThreadedTaskDispatcher()
    dispatcher.set_thread_count(threads)
    servers = []
    try:
        for sockinfo in adj.listen:
            server = GuardedServer(app, socket_map, dispatcher=dispatcher, adj=adj, sockinfo=sockinfo)
            server.limits = limits
            servers.append(server)
    except BaseException:
        for server in servers:
            server.close()
        dispatcher.shutdown(timeout=1)
        raise
    if len(servers) == 1:
        return servers[0]
    listening = [(s.effective_host, s.effective_port) for s in servers]
    return MultiSocketServer(socket_map, adj, listening, dispatcher, servers[-1].log_info)


def run_in_thread(server: Any, host: str, name: str,
                  on_stop: Callable[[], None] | None = None) -> Callable[[], None]:
    """Run a server made by :func:`create_server` in a daemon thread; return ``stop``, which
    closes every connection from inside the server's loop, waits for the thread, ends the
    request threads and then calls ``on_stop``. Idempotent."""
    if not hasattr(server, "trigger"):
        server.close()
        raise UsageError(f"{host} names several addresses; serving from a thread needs one (e.g. 127.0.0.1)")
    thread = threading.Thread(target=server.run, name=name, daemon=True)
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()

        def close_all() -> None:
            for channel in list(server._map.values()):
                channel.close()

        server.trigger.pull_trigger(close_all)
        thread.join(timeout=10)
        server.task_dispatcher.shutdown(timeout=5)
        if on_stop is not None:
            on_stop()

    return stop
