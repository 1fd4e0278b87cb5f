"""Start/stop helpers that put OAI-PMH providers on a free 127.0.0.1 port.

Everything is a context manager yielding the base URL, so a pytest fixture is just
``with serve_wsgi(app) as url: yield url`` and shutdown is guaranteed even when the
test fails.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import waitress

__all__ = [
    "OAI_PATH",
    "pyoai_server",
    "pyoai_subprocess",
    "serve_faulty",
    "serve_wsgi",
]

OAI_PATH = "/oai"
WSGIApp = Callable[..., Any]


@contextmanager
def serve_wsgi(
    app: WSGIApp,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    threads: int = 4,
    path: str = OAI_PATH,
) -> Iterator[str]:
    """Run ``app`` under waitress in a daemon thread; yield ``http://host:port/oai``.

    Shutdown closes every socket from inside waitress's own loop thread (via its
    trigger), so the loop exits promptly instead of waiting for idle keep-alive
    connections to time out.
    """
    server: Any = waitress.create_server(
        app,
        host=host,
        port=port,
        threads=threads,
        ident="stook-test",
        expose_tracebacks=True,
        channel_timeout=30,
    )
    thread = threading.Thread(target=server.run, name="waitress-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.effective_port}{path}"
    finally:

        def close_all() -> None:
            for dispatcher in list(server._map.values()):
                dispatcher.close()

        server.trigger.pull_trigger(close_all)
        thread.join(timeout=5)
        server.task_dispatcher.shutdown(timeout=2)


@contextmanager
def pyoai_server(
    n: int = 1000, *, batch_size: int = 100, deleted_every: int = 0, **kwargs: Any
) -> Iterator[tuple[str, Any]]:
    """Yield ``(base_url, PyoaiProvider)`` over ``n`` synthetic records."""
    from .pyoai_provider import PyoaiProvider

    provider = PyoaiProvider.synthetic(n, deleted_every=deleted_every, batch_size=batch_size, **kwargs)
    with serve_wsgi(provider) as url:
        yield url, provider


@contextmanager
def serve_faulty(provider: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run a :class:`FaultyProvider` (http.server based); yield its base URL."""
    with provider.serve(host=host, port=port) as url:
        yield url


@contextmanager
def pyoai_subprocess(
    records: int = 10_000,
    *,
    batch: int = 100,
    extra_args: Sequence[str] = (),
    python: str = sys.executable,
    startup_timeout: float = 60.0,
) -> Iterator[str]:
    """Run the pyoai provider in a child process (no GIL sharing with the harvester).

    Yields the base URL printed by the child; terminates it on exit.
    """
    script = Path(__file__).resolve().parent / "pyoai_provider.py"
    cmd = [python, str(script), "--records", str(records), "--batch", str(batch), "--port", "0"]
    with url_subprocess([*cmd, *extra_args], what="pyoai provider", startup_timeout=startup_timeout) as url:
        yield url


@contextmanager
def url_subprocess(cmd: Sequence[str], *, what: str, startup_timeout: float = 60.0) -> Iterator[str]:
    """Run a server command whose first line on stdout is its base URL; yield that URL.

    The child is terminated (then killed) on exit, whatever happened.
    """
    proc = subprocess.Popen(list(cmd), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line_holder: list[str] = []
        reader = threading.Thread(
            target=lambda: line_holder.append(proc.stdout.readline()),  # type: ignore[union-attr]
            daemon=True,
        )
        reader.start()
        reader.join(startup_timeout)
        url = line_holder[0].strip() if line_holder else ""
        if not url.startswith("http://"):
            raise RuntimeError(f"{what} did not start (exit code {proc.poll()})")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
