"""Running the provider under waitress (a production WSGI server), blocking or in a thread.

The server is waitress with stook's limits (:mod:`stook.provider.listener`): the
request body cap, a deadline for receiving a request, and room made at the connection
limit, so slow or oversized clients cannot starve harvesters.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from stook.errors import UsageError
from stook.provider.app import DEFAULT_ADMIN_EMAIL, MAX_BODY, ProviderApp, ProviderConfig
from stook.provider.listener import ClientLimits, create_server, run_in_thread

__all__ = ["OAI_PATH", "ServeOptions", "serve", "serve_in_thread"]

OAI_PATH = "/oai"


@dataclass(frozen=True)
class ServeOptions:
    """Everything ``stook serve`` was asked to do."""

    store: Path
    host: str = "127.0.0.1"
    port: int = 8080
    base_url: str | None = None
    page_size: int = 100
    repository_name: str | None = None
    admin_email: str = DEFAULT_ADMIN_EMAIL
    threads: int = 8
    token_ttl: timedelta = field(default=timedelta(hours=24))
    max_connections: int = 256
    request_timeout: float = 30.0
    idle_timeout: float = 60.0

    def config(self) -> ProviderConfig:
        return ProviderConfig(
            base_url=self.base_url,
            page_size=self.page_size,
            repository_name=self.repository_name,
            admin_email=self.admin_email,
            token_ttl=self.token_ttl,
        )

    def limits(self) -> ClientLimits:
        return ClientLimits(max_body=MAX_BODY, max_connections=self.max_connections,
                      request_timeout=self.request_timeout, idle_timeout=self.idle_timeout)


def _check_limits(threads: int, limits: ClientLimits) -> None:
    if not 1 <= threads <= 256:
        raise UsageError(f"threads {threads} is out of range; use 1 to 256")
    if not 8 <= limits.max_connections <= 10_000:
        raise UsageError(f"max_connections {limits.max_connections} is out of range; use 8 to 10000")
    for name, value in (("request_timeout", limits.request_timeout), ("idle_timeout", limits.idle_timeout)):
        if not 0.5 <= value <= 3600:
            raise UsageError(f"{name} {value} is out of range; use 0.5 to 3600 seconds")


def _create_server(app: ProviderApp, host: str, port: int, threads: int, limits: ClientLimits) -> Any:
    _check_limits(threads, limits)
    try:
        return create_server(app, host=host, port=port, threads=threads, limits=limits)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot listen on {host}:{port}: {reason}; choose another port or host") from exc


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{OAI_PATH}"


def _port(server: Any) -> int:
    listening = getattr(server, "effective_listen", None)  # several addresses (a host name)
    return int(listening[0][1] if listening else server.effective_port)


def serve(options: ServeOptions, *, ready: Callable[[str], None] | None = None) -> None:
    """Serve the store until interrupted; ``ready(base_url)`` is called once listening."""
    app = ProviderApp(options.store, options.config())
    server = _create_server(app, options.host, options.port, options.threads, options.limits())
    if ready is not None:
        ready(options.base_url or _url(options.host, _port(server)))
    try:
        server.run()
    finally:
        server.task_dispatcher.shutdown(timeout=5)


def serve_in_thread(
    store: str | Path,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    threads: int = 8,
    limits: ClientLimits | None = None,
    **app_options: Any,
) -> tuple[str, Callable[[], None]]:
    """Serve ``store`` from a daemon thread; return ``(base_url, stop)``.

    ``port=0`` picks a free port. ``limits`` bounds what clients may hold (default:
    as ``stook serve``). ``app_options`` are :func:`stook.provider.make_app` keywords
    (``page_size``, ``repository_name``, ``admin_email``, ...). ``stop()`` closes every
    connection and waits for the server thread to end.
    """
    app = ProviderApp(store, ProviderConfig(**app_options))
    server = _create_server(app, host, port, threads, limits or ClientLimits(max_body=MAX_BODY))
    stop = run_in_thread(server, host, "stook-serve")
    return _url(host, server.effective_port), stop
