"""Serving ``stook web`` under waitress, as ``stook serve`` serves the provider: with the
same limits on slow and oversized clients (:mod:`stook.provider.listener`), blocking or
in a background thread."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from stook.errors import UsageError
from stook.provider.listener import ClientLimits, create_server, run_in_thread
from stook.web.app import stash_of, wsgi_app
from stook.web.config import DEFAULT_PORT, WebConfig

#: Room for the form fields and multipart headers around the uploads of one request.
FORM_ROOM = 1024 * 1024


@dataclass(frozen=True)
class WebServeOptions:
    """Where to listen and how patient to be, besides the app's own :class:`WebConfig`."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    threads: int = 8
    max_connections: int = 128
    request_timeout: float = 300.0  # an upload of a large scan over a slow line takes a while
    idle_timeout: float = 60.0


def _server(config: WebConfig, options: WebServeOptions, environ: dict[str, str] | None) -> tuple[Any, Any]:
    app = wsgi_app(config, environ=environ)
    limits = ClientLimits(max_body=config.max_upload + FORM_ROOM, max_connections=options.max_connections,
                          request_timeout=options.request_timeout, idle_timeout=options.idle_timeout)
    try:
        return app, create_server(app, host=options.host, port=options.port, threads=options.threads,
                                  limits=limits)
    except (OSError, ValueError) as exc:
        stash = stash_of(app)
        if stash is not None:
            stash.close()
        reason = getattr(exc, "strerror", None) or exc
        raise UsageError(f"cannot listen on {options.host}:{options.port}: {reason}; choose another port "
                         "or host") from exc


def url_of(server: Any, host: str) -> str:
    listening = getattr(server, "effective_listen", None)
    port = int(listening[0][1] if listening else server.effective_port)
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}/"


def serve_web(config: WebConfig, options: WebServeOptions, *, ready: Callable[[str], None] | None = None,
              environ: dict[str, str] | None = None) -> None:
    """Serve until interrupted; ``ready(url)`` is called once listening."""
    app, server = _server(config, options, environ)
    try:
        if ready is not None:
            ready(url_of(server, options.host))
        server.run()
    finally:
        server.task_dispatcher.shutdown(timeout=5)
        stash = stash_of(app)
        if stash is not None:
            stash.close()


def serve_web_in_thread(config: WebConfig, options: WebServeOptions | None = None, *,
                        environ: dict[str, str] | None = None) -> tuple[str, Callable[[], None]]:
    """Serve from a daemon thread (``port=0`` picks a free port); return ``(url, stop)``."""
    options = options or WebServeOptions(port=0)
    app, server = _server(config, options, environ)

    def close_stash() -> None:
        stash = stash_of(app)
        if stash is not None:
            stash.close()

    stop = run_in_thread(server, options.host, "stook-web", on_stop=close_stash)
    return url_of(server, options.host), stop
