"""`stook serve` holds up against slow and oversized clients.

waitress runs on 127.0.0.1 (``serve_in_thread``); the clients are real sockets,
requests and `stook harvest`, every OAI-PMH answer validated against the XSDs.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from support.provider_helpers import (
    OAIClient,
    SlowClients,
    add_records,
    identifiers,
    port_of,
    record_dict,
    served,
)

from stook.cli import main
from stook.provider import ClientLimits
from stook.provider.app import MAX_BODY

N = 12


def _ids(n: int = N) -> list[str]:
    return [f"test:rec-{i:04d}" for i in range(n)]


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("provider") / "store"
    add_records(path, [record_dict(i, groups=("history",) if i % 2 else ()) for i in range(N)])
    return path


@pytest.fixture
def store(pristine: Path, tmp_path: Path) -> Path:
    path = tmp_path / "store"
    shutil.copytree(pristine, path)
    return path


# -- slow clients ---------------------------------------------------------------------------------------


def test_three_hundred_slow_clients_do_not_starve_harvesters(store: Path, tmp_path: Path) -> None:
    """Slowloris on loopback: 300 sockets each sending an endless request a line at a time,
    more than the connection limit. Real harvests still answer promptly, page after page."""
    with served(store, page_size=3) as url, SlowClients("127.0.0.1", port_of(url), 300, interval=0.5) as slow:
        time.sleep(1.5)  # every slow socket connected and trickling
        assert slow.open_count() >= 200, "the attack holds the server's connections"
        started = time.monotonic()
        records, tokens = OAIClient(url, timeout=10).list_all("ListRecords", metadataPrefix="oai_dc")
        assert identifiers(records) == _ids() and len(tokens) == 4
        assert time.monotonic() - started < 20
        result = CliRunner().invoke(main, ["harvest", url, "--store", str(tmp_path / "copy"),
                                           "--timeout", "10", "--max-retries", "0", "--json"])
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["new"] == N
        assert slow.open_count() >= 200, "the slow clients were there throughout"


def test_a_request_must_arrive_whole_within_the_deadline(store: Path) -> None:
    limits = ClientLimits(max_body=MAX_BODY, request_timeout=1, idle_timeout=2)
    with served(store, limits=limits) as url:
        trickler = socket.create_connection(("127.0.0.1", port_of(url)), timeout=2)
        idle = socket.create_connection(("127.0.0.1", port_of(url)), timeout=2)
        trickler.sendall(b"GET /oai?verb=Identify HTTP/1.1\r\n")
        deadline = time.monotonic() + 20
        cut_off = idle_closed = False
        while time.monotonic() < deadline and not (cut_off and idle_closed):
            try:
                if not cut_off:
                    trickler.sendall(b"X: y\r\n")
            except OSError:
                cut_off = True
            for sock in ([] if idle_closed else [idle]):
                sock.setblocking(False)
                try:
                    idle_closed = sock.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    idle_closed = True
            time.sleep(0.2)
        trickler.close()
        idle.close()
        assert cut_off, "a request sent a line every 0.2 s is cut off after its deadline"
        assert idle_closed, "an idle connection is closed"
        assert OAIClient(url).get({"verb": "Identify"}) is not None


def _raw_post(port: int, headers: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"POST /oai HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                 f"Content-Type: application/x-www-form-urlencoded\r\n{headers}\r\n".encode())
    return sock


def _send_until_refused(sock: socket.socket, limit: int) -> int:
    """Send body bytes until the server stops taking them (or ``limit``); how many were sent."""
    chunk = b"verb=Identify&" * 75_000  # ~1 MiB
    sent = 0
    try:
        while sent < limit:
            sock.sendall(chunk)
            sent += len(chunk)
    except OSError:
        pass
    return sent


def test_an_oversized_post_is_refused_before_its_body_is_read(store: Path) -> None:
    with served(store) as url:
        port = port_of(url)
        sock = _raw_post(port, f"Content-Length: {400 * 1024 * 1024}\r\n")
        answer = sock.recv(4096)  # before a single body byte was sent
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        taken = _send_until_refused(sock, 400 * 1024 * 1024)
        assert taken < 64 * 1024 * 1024, "nothing near 400 MiB taken in"
        sock.close()

        chunked = _raw_post(port, "Transfer-Encoding: chunked\r\n")
        piece = b"a" * 65536
        sent = 0
        try:
            while sent < 400 * 1024 * 1024:
                chunked.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
                sent += len(piece)
        except OSError:
            pass
        assert sent < 64 * 1024 * 1024, "a chunked body is cut off past the cap too"
        chunked.settimeout(10)
        try:
            answer = chunked.recv(4096)
        except OSError:
            answer = b""
        assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
        chunked.close()

        # A body within the cap is still answered.
        body = "verb=ListIdentifiers&metadataPrefix=oai_dc&set=" + "a" * (MAX_BODY - 100)
        reply = requests.post(url, data=body, timeout=10,
                              headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert reply.status_code == 200 and b"noRecordsMatch" in reply.content


def test_the_connection_limit_fits_the_open_file_limit() -> None:
    """In a process allowed 256 files (512 at most), the limit is raised to 512 and 1000
    connections are cut to what fits beside the server's own files."""
    code = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_NOFILE, (256, 512))\n"
        "from stook.provider.listener import SPARE_DESCRIPTORS, connections_that_fit\n"
        "print(connections_that_fit(1000), connections_that_fit(100), SPARE_DESCRIPTORS,"
        " resource.getrlimit(resource.RLIMIT_NOFILE)[0])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    fits, small, spare, soft = map(int, out.stdout.split())
    assert soft == 512 and fits == 512 - spare and small == 100
