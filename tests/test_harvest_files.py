"""``--fetch-files`` is not a proxy into the network it runs in (issue 13.9).

Links to loopback, link-local, private, multicast, reserved and unspecified addresses
are refused before any connection (checked after DNS resolution and at every redirect
hop, and the connection goes to the address checked); a link that fails in any way is
a warning event, never a crashed harvest.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import assert_bagit_valid
from support import faulty_provider as fp
from support import hostile
from support.servers import serve_wsgi
from support.store_snapshot import no_traceback

from stook.cli import main
from stook.harvest import OAIClient, RetryPolicy
from stook.harvest.files import FetchedFile, fetch_file
from stook.harvest.netpolicy import AddressPolicy, refusal
from stook.store import Store

PDF = b"%PDF-1.4 a scanned page " * 50


@pytest.fixture
def files_server() -> Iterator[tuple[str, list[str]]]:
    """Files on 127.0.0.1: /f/doc.pdf, and redirects to file://, in a loop, to a private address."""
    seen: list[str] = []
    redirects = {"/f/to-file": "file:///etc/passwd", "/f/loop": "/f/loop", "/f/to-gopher": "gopher://x/"}
    with serve_wsgi(hostile.files_app({"/f/doc.pdf": PDF}, redirects=redirects, seen=seen), path="") as url:
        yield url, seen


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert no_traceback(result.output), result.output
    return result


def harvest_links(root: Path, links: list[str], *extra: str) -> tuple[Result, str]:
    provider = fp.FaultyProvider([hostile.hostile_record("oai:hostile:links", "A record with links")])
    provider.update("oai:hostile:links", relation=links)
    with provider.serve() as url:
        return invoke("harvest", url, "--store", str(root), "--fetch-files", "--json", *extra), url


def warnings(store: Store) -> dict[str, str]:
    return {e.data["url"]: e.data["reason"] for e in store.ledger.events(types=["cap"]) if e.outcome == "war"}


def test_private_links_are_refused_without_a_connection(
    tmp_path: Path, files_server: tuple[str, list[str]]
) -> None:
    url, seen = files_server
    port = url.rsplit(":", 1)[1]
    links = {
        f"http://127.0.0.1:{port}/f/doc.pdf": "127.0.0.1 is a loopback address",
        f"http://localhost:{port}/f/doc.pdf": "localhost resolves to 127.0.0.1, which is a loopback address",
        f"http://[::1]:{port}/f/doc.pdf": "::1 is a loopback address",
        f"http://[::ffff:127.0.0.1]:{port}/f/doc.pdf": "a loopback address (embedded in ::ffff:7f00:1)",
        f"http://0.0.0.0:{port}/f/doc.pdf": "0.0.0.0 is an unspecified address",
        "http://169.254.169.254/latest/meta-data/": "169.254.169.254 is a link-local address",
        "http://10.1.2.3/report.pdf": "10.1.2.3 is a private address",
        "http://[fd00::5]/report.pdf": "fd00::5 is a private address",
        "http://224.0.0.251/x": "224.0.0.251 is a multicast address",
        "http://240.0.0.1/x": "240.0.0.1 is a reserved address",
        "file:///etc/passwd": "only http and https links are fetched",
    }
    root = tmp_path / "store"
    result, _ = harvest_links(root, list(links))
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["new"], summary["files_fetched"], summary["files_skipped"]) == (1, 0, len(links))
    assert seen == []  # not one request reached the files server
    with Store.open(root) as store:
        noted = warnings(store)
        assert set(noted) == set(links)
        for link, reason in links.items():
            assert reason in noted[link], (link, noted[link])
        assert all("allow_private_hosts" in r for link, r in noted.items() if not link.startswith("file:"))
        bag = store.bag_path(store.latest("oai:hostile:links"))
        assert_bagit_valid(bag)
        assert not (bag / "data" / "files").exists()
        assert json.loads((bag / "data/record.json").read_text("utf-8"))["metadata_only"] is True


def test_with_allow_private_hosts_failed_links_are_warnings(
    tmp_path: Path, files_server: tuple[str, list[str]]
) -> None:
    url, seen = files_server
    links = [f"{url}/f/{name}" for name in ("doc.pdf", "to-file", "loop", "to-gopher", "missing")]
    root = tmp_path / "store"
    result, _ = harvest_links(root, links, "--allow-private-hosts")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert (summary["new"], summary["files_fetched"], summary["files_skipped"]) == (1, 1, 4)
    with Store.open(root) as store:
        noted = warnings(store)
        assert "redirected to 'file:///etc/passwd', which is not an http(s) URL" in noted[f"{url}/f/to-file"]
        assert "a redirect loop" in noted[f"{url}/f/loop"]
        assert "not an http(s) URL" in noted[f"{url}/f/to-gopher"]
        assert noted[f"{url}/f/missing"] == "HTTP 404 Not Found"
        bag = store.bag_path(store.latest("oai:hostile:links"))
        assert_bagit_valid(bag)
        assert (bag / "data/files/doc.pdf").read_bytes() == PDF
    assert "/f/doc.pdf" in "".join(seen)


def client() -> OAIClient:
    return OAIClient("http://127.0.0.1:9/oai", RetryPolicy(timeout=5.0, max_retries=0))


def test_every_redirect_hop_is_checked(tmp_path: Path) -> None:
    """127.0.0.1 stands in for a public host here; its redirect to 127.0.0.2 is refused."""
    inner_seen: list[str] = []
    outer_seen: list[str] = []
    with serve_wsgi(hostile.files_app({"/secret": b"internal"}, seen=inner_seen), host="127.0.0.2",
                    path="") as inner:
        moved = {"/go": f"{inner}/secret", "/ok": "/doc.pdf"}
        app = hostile.files_app({"/doc.pdf": PDF}, redirects=moved, seen=outer_seen)
        with serve_wsgi(app, path="") as outer:
            policy = AddressPolicy(permitted=frozenset({"127.0.0.1"}))
            refused = fetch_file(client(), f"{outer}/go", tmp_path, max_bytes=10**6, taken=set(),
                                 policy=policy)
            fetched = fetch_file(client(), f"{outer}/ok", tmp_path, max_bytes=10**6, taken=set(),
                                 policy=policy)
    assert refused == (f"{inner}/secret: 127.0.0.2 is a loopback address (files are fetched only from public "
                       "addresses; allow_private_hosts lifts this for a harvest inside a trusted network)")
    assert inner_seen == []
    assert isinstance(fetched, FetchedFile) and fetched.path.read_bytes() == PDF
    assert fetched.redirects == (f"{outer}/doc.pdf",) and fetched.name == "ok"


def test_the_connection_goes_to_the_address_that_was_checked(tmp_path: Path) -> None:
    """DNS rebinding: a name that passes the check, then resolves elsewhere, is never
    looked up again; the Host header still names it."""
    lookups: list[str] = []

    def rebinding_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.1"] if len(lookups) == 1 else ["127.0.0.2"]

    seen: list[str] = []
    with serve_wsgi(hostile.files_app({"/doc.pdf": PDF}, seen=seen), path="") as url:
        port = url.rsplit(":", 1)[1]
        policy = AddressPolicy(permitted=frozenset({"127.0.0.1"}), resolver=rebinding_dns)
        got = fetch_file(client(), f"http://files.example:{port}/doc.pdf", tmp_path, max_bytes=10**6,
                         taken=set(), policy=policy)
    assert isinstance(got, FetchedFile) and got.size == len(PDF)
    assert lookups == ["files.example"] and seen == [f"files.example:{port}/doc.pdf"]


def test_a_name_with_one_private_address_among_public_ones_is_refused(tmp_path: Path) -> None:
    policy = AddressPolicy(resolver=lambda host, port: ["93.184.215.14", "10.0.0.7"])
    got = fetch_file(client(), "http://mixed.example/doc.pdf", tmp_path, max_bytes=10**6, taken=set(),
                     policy=policy)
    assert isinstance(got, str) and got.startswith("mixed.example resolves to 10.0.0.7, which is a private")


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("8.8.8.8", None),
        ("93.184.215.14", None),
        ("2606:4700:4700::1111", None),
        ("127.0.0.53", "a loopback address"),
        ("0.0.0.0", "an unspecified address"),
        ("::", "an unspecified address"),
        ("169.254.169.254", "a link-local address"),
        ("fe80::1", "a link-local address"),
        ("192.168.1.10", "a private address"),
        ("172.16.5.4", "a private address"),
        ("fc00::1", "a private address"),
        ("100.64.0.1", "not a public address"),
        ("239.255.255.250", "a multicast address"),
        ("ff02::1", "a multicast address"),
        ("255.255.255.255", "a reserved address"),
        ("::ffff:10.0.0.1", "a private address (embedded in ::ffff:a00:1)"),
        ("2002:7f00:1::", "a loopback address (embedded in 2002:7f00:1::)"),
        ("64:ff9b::a9fe:a9fe", "a link-local address (embedded in 64:ff9b::a9fe:a9fe)"),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", "a loopback address (embedded in"),
    ],
)
def test_address_classification(address: str, reason: str | None) -> None:
    found = refusal(ipaddress.ip_address(address))
    if reason is None:
        assert found is None
    else:
        assert found is not None and found.startswith(reason), found


def test_cli_help_names_the_option(tmp_path: Path) -> None:
    help_text: Any = invoke("harvest", "--help").output
    assert "--allow-private-hosts" in help_text and "--max-response-bytes" in help_text
