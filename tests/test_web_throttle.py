"""Failed logins: a guesser is slowed down per user name and per client address."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import EXAMPLE_DIR
from support.webapp import PASSWORD, USER, login, web_app

from stook.manual import bag_manual_record
from stook.web.throttle import MAX_FAILURES, WINDOW_SECONDS, LoginThrottle


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "store"
    bag_manual_record(path, EXAMPLE_DIR / "record.yaml")
    return path


def test_the_limit_locks_the_name_and_the_address_until_the_oldest_failure_expires(clock: Clock) -> None:
    throttle = LoginThrottle(max_failures=3, window=600, clock=clock)
    for _ in range(2):
        throttle.failed("archivist", "10.0.0.1")
        clock.now += 10
    assert throttle.wait_seconds("archivist", "10.0.0.1") == 0
    throttle.failed("archivist", "10.0.0.1")
    assert throttle.wait_seconds("archivist", "10.0.0.1") == pytest.approx(580)
    assert throttle.wait_seconds("ARCHIVIST", "10.0.0.9") == pytest.approx(580)  # the name, anywhere
    assert throttle.wait_seconds("registrar", "10.0.0.1") == pytest.approx(580)  # the address, any name
    assert throttle.wait_seconds("registrar", "10.0.0.9") == 0
    clock.now += 580
    assert throttle.wait_seconds("archivist", "10.0.0.1") == 0  # the first failure left the window


def test_a_success_clears_the_name_and_the_address(clock: Clock) -> None:
    throttle = LoginThrottle(max_failures=2, window=600, clock=clock)
    throttle.failed("archivist", "10.0.0.1")
    throttle.succeeded("archivist", "10.0.0.1")
    throttle.failed("archivist", "10.0.0.1")
    assert throttle.wait_seconds("archivist", "10.0.0.1") == 0


def test_made_up_names_do_not_grow_memory_without_bound(clock: Clock) -> None:
    throttle = LoginThrottle(max_failures=2, window=600, clock=clock)
    for n in range(25_000):
        throttle.failed(f"guess-{n}", f"10.{n // 65536}.{n // 256 % 256}.{n % 256}")
    assert 0 < throttle.tracked <= 10_000


def test_the_web_login_refuses_a_guesser_even_with_the_right_password(
    store: Path, tmp_path: Path, clock: Clock
) -> None:
    app = web_app(store, tmp_path)
    app.extensions["stook"].throttle = LoginThrottle(clock=clock)
    client = app.test_client()
    for _ in range(MAX_FAILURES):
        assert login(client, USER, "a guess").status_code == 401
    refused = login(client, USER, PASSWORD)
    assert refused.status_code == 429
    assert "too many failed logins" in refused.get_data(as_text=True)
    assert "wait 15 minutes" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) == WINDOW_SECONDS + 1
    assert client.get("/records/new").status_code == 302  # not logged in

    other = app.test_client()  # the same name from another address is refused too
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert login(other, USER, PASSWORD).status_code == 429

    clock.now += WINDOW_SECONDS
    assert login(client, USER, PASSWORD).status_code == 302
    assert client.get("/records/new").status_code == 200
    assert login(app.test_client(), USER, "a guess").status_code == 401  # counting starts afresh
