"""Harvesting from hostile providers: the HTTP layer (issue 13.8).

Real loopback providers (:mod:`support.faulty_provider` with :mod:`support.hostile`):
a gzip bomb, an answer trickled a byte at a time, redirects to ``file://``, in a loop,
without end, and to another host. Every refusal leaves the store and its ledger exactly
as they were, and no output ever holds a traceback.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from conftest import assert_bagit_valid
from support import faulty_provider as fp
from support.store_snapshot import no_traceback, store_snapshot
from support.synthetic import make_records

from stook.cli import main
from stook.errors import HarvestError
from stook.harvest import HarvestConfig, harvest
from stook.harvest.netpolicy import DEFAULT_MAX_RESPONSE_BYTES
from stook.store import Store


def fast(url: str, **kwargs: Any) -> HarvestConfig:
    kwargs.setdefault("backoff", 0.01)
    kwargs.setdefault("max_wait", 1.0)
    kwargs.setdefault("timeout", 5.0)
    return HarvestConfig(url, **kwargs)


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[tuple[fp.FaultyProvider, str, Path]]:
    """A provider on loopback and a store that already holds its first harvest (6 records);
    the provider then has 4 more records for the next harvest to find."""
    provider = fp.FaultyProvider(make_records(6), batch_size=5)
    root = tmp_path / "store"
    with provider.serve() as url:
        with Store.open(root, create=True) as store:
            assert harvest(store, fast(url)).new == 6
        for _ in range(4):
            provider.add()
        provider.clear_requests()
        yield provider, url, root


def invoke(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert no_traceback(result.output), result.output
    return result


def refused(root: Path, config: HarvestConfig) -> HarvestError:
    """Run a harvest that must be refused; prove it changed nothing."""
    before = store_snapshot(root)
    with Store.open(root) as store, pytest.raises(HarvestError) as caught:
        harvest(store, config)
    assert store_snapshot(root) == before
    return caught.value


# -- size: a gzip bomb -------------------------------------------------------------------


def test_gzip_bomb_stops_at_the_cap_and_changes_nothing(seeded: tuple[fp.FaultyProvider, str, Path]) -> None:
    provider, url, root = seeded
    provider.plan.at_page(1, fp.gzip_bomb(4096))  # 4 GiB once inflated, 4 MiB on the wire
    started = time.monotonic()
    error = refused(root, fast(url, max_response_bytes=8 * 1024 * 1024))
    assert "larger than 8388608 bytes once decoded (Content-Encoding: gzip)" in error.message
    assert error.url and "verb=ListRecords" in error.url
    assert error.hint and "max_response_bytes" in error.hint
    assert [r.fault for r in provider.requests_for("ListRecords")] == ["gzip_bomb"]  # never retried
    assert time.monotonic() - started < 30


def test_gzip_bomb_in_a_child_under_an_address_space_cap(seeded: tuple[fp.FaultyProvider, str, Path]) -> None:
    """The CLI with the default cap (256 MiB) inside 1 GiB of address space: inflating the
    bomb whole (4 GiB) could not fit, streaming with the cap does, and says so in one line."""
    provider, url, root = seeded
    provider.plan.at_page(1, fp.gzip_bomb(4096))
    before = store_snapshot(root)
    limit = 1024 * 1024 * 1024

    def cap_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    stook = Path(sys.executable).parent / "stook"
    env = {**os.environ, "MALLOC_ARENA_MAX": "2", "STOOK_STORE": str(root)}
    done = subprocess.run([str(stook), "harvest", url, "--max-retries", "0"], capture_output=True, text=True,
                          env=env, preexec_fn=cap_memory, timeout=120)
    assert done.returncode == 2, done.stderr
    assert no_traceback(done.stdout, done.stderr), done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and f"larger than {DEFAULT_MAX_RESPONSE_BYTES} bytes once decoded" in lines[0]
    assert store_snapshot(root) == before


def test_cli_max_response_bytes_option(seeded: tuple[fp.FaultyProvider, str, Path]) -> None:
    provider, url, root = seeded
    provider.plan.at_page(1, fp.gzip_bomb(64))
    before = store_snapshot(root)
    result = invoke("harvest", url, "--store", str(root), "--max-response-bytes", "1048576")
    assert result.exit_code == 2
    assert "larger than 1048576 bytes once decoded" in result.output
    assert store_snapshot(root) == before
    assert "--max-response-bytes" in invoke("harvest", "--help").output


@pytest.mark.parametrize("encoding", ["gzip", "gzip-members", "deflate", "raw-deflate", "x-gzip"])
def test_compressed_pages_are_decoded(tmp_path: Path, encoding: str) -> None:
    plan = fp.FaultPlan(pages={1: fp.compressed(encoding), 3: fp.compressed(encoding)})
    provider = fp.FaultyProvider(make_records(12), batch_size=5, plan=plan)
    with provider.serve() as url, Store.open(tmp_path / "store", create=True) as store:
        summary = harvest(store, fast(url))
        assert (summary.new, summary.pages, summary.retries, summary.complete) == (12, 3, 0, True)
    assert [r.fault for r in provider.requests_for("ListRecords")] == ["compressed", None, "compressed"]


def test_an_encoding_stook_does_not_decode_is_named(seeded: tuple[fp.FaultyProvider, str, Path]) -> None:
    provider, url, root = seeded
    provider.plan.at_page(1, fp.compressed("br"))
    error = refused(root, fast(url))
    assert "encoded as 'br' (Content-Encoding), which stook does not decode" in error.message


# -- time: a trickle -------------------------------------------------------------------------


def test_trickled_body_fails_after_the_timeout_each_attempt(
    seeded: tuple[fp.FaultyProvider, str, Path]
) -> None:
    provider, url, root = seeded
    # one byte every 0.25 s: every read gets data well within the timeout
    provider.plan.at_page(1, fp.trickle(0.25), fp.trickle(0.25))
    started = time.monotonic()
    error = refused(root, fast(url, timeout=1.0, max_retries=1))
    elapsed = time.monotonic() - started
    assert "no complete answer within 1 s; gave up after 2 attempts" in error.message
    assert 1.8 <= elapsed < 20, elapsed
    assert [r.fault for r in provider.requests_for("ListRecords")] == ["trickle", "trickle"]


def test_trickled_status_line_and_headers_fail_too(seeded: tuple[fp.FaultyProvider, str, Path]) -> None:
    provider, url, root = seeded
    provider.plan.at_page(1, fp.trickle(0.2, headers=True))
    started = time.monotonic()
    error = refused(root, fast(url, timeout=1.0, max_retries=0))
    assert "no complete answer within 1 s; gave up after 1 attempt" in error.message
    assert 0.9 <= time.monotonic() - started < 15


def test_a_trickle_is_retried_like_other_timeouts(seeded: tuple[fp.FaultyProvider, str, Path]) -> None:
    provider, url, root = seeded
    provider.plan.at_page(1, fp.trickle(0.25))
    with Store.open(root) as store:
        summary = harvest(store, fast(url, timeout=1.0))
        assert summary.complete and summary.retries == 1 and summary.new == 4
        assert len(store.ledger.bags()) == 10


def test_cli_trickle_is_one_clear_line(seeded: tuple[fp.FaultyProvider, str, Path]) -> None:
    provider, url, root = seeded
    provider.plan.at_page(1, fp.trickle(0.25))
    before = store_snapshot(root)
    result = invoke("harvest", url, "--store", str(root), "--timeout", "1", "--max-retries", "0")
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "no complete answer within 1 s" in result.output
    assert store_snapshot(root) == before


# -- redirects -------------------------------------------------------------------------------


def test_cli_redirect_to_file_url_is_refused(seeded: tuple[fp.FaultyProvider, str, Path]) -> None:
    provider, url, root = seeded
    provider.plan.at_page(1, fp.redirect("file:///etc/passwd"))
    before = store_snapshot(root)
    result = invoke("harvest", url, "--store", str(root))
    assert result.exit_code == 2
    assert "redirected to 'file:///etc/passwd', which is not an http(s) URL" in result.output
    assert "root:" not in result.output
    assert store_snapshot(root) == before


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (fp.redirect_loop(), "a redirect loop"),
        (fp.redirect_endless(), "more than 10 redirects"),
        (fp.redirect("gopher://127.0.0.1:70/x"), "not an http(s) URL"),
        (fp.redirect("http://[::1"), "not a usable redirect target"),
    ],
)
def test_bad_redirects_are_clear_errors(
    seeded: tuple[fp.FaultyProvider, str, Path], fault: fp.Fault, expected: str
) -> None:
    provider, url, root = seeded
    provider.plan.at_page(1, fault)
    error = refused(root, fast(url))
    assert expected in error.message
    assert len(provider.requests_for("ListRecords")) <= 11


def test_a_provider_that_starts_redirecting_makes_no_new_versions(tmp_path: Path) -> None:
    """The redirect chain is how a record was fetched, like its retrieval time: a full
    re-harvest through a new redirect finds the same records unchanged."""
    records = make_records(5)
    mirror = fp.FaultyProvider(records, batch_size=2)
    front = fp.FaultyProvider(records, batch_size=2)
    root = tmp_path / "store"
    with mirror.serve(host="127.0.0.2") as mirror_url, front.serve() as url:
        first = invoke("harvest", url, "--store", str(root), "--json")
        assert first.exit_code == 0, first.output
        assert json.loads(first.output)["new"] == 5
        front.redirect_all_to = mirror_url
        again = invoke("harvest", url, "--store", str(root), "--from", "2000-01-01", "--json")
        assert again.exit_code == 0, again.output
        summary = json.loads(again.output)
        assert (summary["new"], summary["changed"], summary["unchanged"]) == (0, 0, 5)
        assert mirror.requests_for("ListRecords")  # the second harvest did go through the mirror
    with Store.open(root) as store:
        assert {b.version for b in store.ledger.bags()} == {1}


def test_identify_redirected_to_file_url(tmp_path: Path) -> None:
    provider = fp.FaultyProvider(make_records(3), plan=[fp.redirect("file:///etc/passwd")])
    with provider.serve() as url:
        result = invoke("harvest", url, "--store", str(tmp_path / "store"))
    assert result.exit_code == 2 and "verb=Identify" in result.output
    assert "not an http(s) URL" in result.output


def test_cross_host_redirect_is_recorded_in_the_bag_and_the_capture_event(tmp_path: Path) -> None:
    records = make_records(7)
    mirror = fp.FaultyProvider(records, batch_size=3)
    front = fp.FaultyProvider(records, batch_size=3)
    root = tmp_path / "store"
    with mirror.serve(host="127.0.0.2") as mirror_url, front.serve() as url:
        front.redirect_all_to = mirror_url
        result = invoke("harvest", url, "--store", str(root), "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.output)["new"] == 7
        again = invoke("harvest", url, "--store", str(root), "--from", "2000-01-01", "--json")
        assert json.loads(again.output)["unchanged"] == 7  # the same chain: nothing changed
    assert mirror_url.startswith("http://127.0.0.2:") and url.startswith("http://127.0.0.1:")
    assert len(mirror.requests_for("ListRecords")) == len(front.requests_for("ListRecords")) == 6
    with Store.open(root) as store:
        bags = store.ledger.bags()
        assert len(bags) == 7 and {b.version for b in bags} == {1}
        for bag in bags:
            path = store.bag_path(bag)
            assert_bagit_valid(path)
            source = json.loads((path / "data/record.json").read_text("utf-8"))["record_source"]
            assert source["base_url"] == url and source["redirects"] == [mirror_url]
        captures = [e for e in store.ledger.events(types=["cap"])]
        assert len(captures) == 7
        for event in captures:
            assert event.data["url"].startswith(url + "?verb=ListRecords")
            assert event.data["final_url"].startswith(mirror_url + "?verb=ListRecords")
            assert event.data["redirects"] == [event.data["final_url"]]
            assert f"redirected to {mirror_url}?verb=ListRecords" in event.detail
