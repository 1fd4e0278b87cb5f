"""Running the provider under waitress (a production WSGI server), blocking or in a thread."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import waitress

from stook.errors import UsageError
from stook.provider.app import DEFAULT_ADMIN_EMAIL, ProviderApp, ProviderConfig

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

    def config(self) -> ProviderConfig:
        return ProviderConfig(
            base_url=self.base_url,
            page_size=self.page_size,
            repository_name=self.repository_name,
            admin_email=self.admin_email,
            token_ttl=self.token_ttl,
        )


def _create_server(app: ProviderApp, host: str, port: int, threads: int) -> Any:
    if not 1 <= threads <= 256:
        raise UsageError(f"--threads {threads} is out of range; use 1 to 256")
    try:
        return waitress.create_server(
            app, host=host, port=port, threads=threads, ident="stook", channel_timeout=120,
            connection_limit=256,
        )
    except OSError as exc:
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; choose another --port or --host"
        ) from exc


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{OAI_PATH}"


def serve(options: ServeOptions, *, ready: Callable[[str], None] | None = None) -> None:
    """Serve the store until interrupted; ``ready(base_url)`` is called once listening."""
    app = ProviderApp(options.store, options.config())
    server = _create_server(app, options.host, options.port, options.threads)
    if ready is not None:
        ready(options.base_url or _url(options.host, server.effective_port))
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
    **app_options: Any,
) -> tuple[str, Callable[[], None]]:
    """Serve ``store`` from a daemon thread; return ``(base_url, stop)``.

    ``port=0`` picks a free port. ``app_options`` are :func:`stook.provider.make_app`
    keywords (``page_size``, ``repository_name``, ``admin_email``, ...). ``stop()``
    closes every connection and waits for the server thread to end.
    """
    app = ProviderApp(store, ProviderConfig(**app_options))
    server = _create_server(app, host, port, threads)
    thread = threading.Thread(target=server.run, name="stook-serve", daemon=True)
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

    return _url(host, server.effective_port), stop
