"""`stook web` as a real process on 127.0.0.1, and `stook web-user` managing the users file."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import EXAMPLE_DIR

from stook.cli import main
from stook.manual import bag_manual_record
from stook.names import bag_name
from stook.web.users import load_users

CODE = "import sys; from stook.cli import main; sys.exit(main())"


def _users(runner: CliRunner, store: Path, *args: str, password: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(main, ["web-user", *args, "--store", str(store)], input=password)
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout, result.stderr


def test_web_user_add_list_and_remove(tmp_path: Path) -> None:
    runner = CliRunner()
    store = tmp_path / "store"
    stdin = "--password-stdin"
    code, out, _ = _users(runner, store, "add", "registrar", stdin, password="a long passphrase\n")
    assert code == 0 and out.strip() == f"added registrar in {store / '.web-users.json'}"
    users = load_users(store / ".web-users.json", environ={})
    assert users.check("registrar", "a long passphrase")
    assert not users.check("registrar", "a long passphrase ")
    code, _, err = _users(runner, store, "add", "registrar", stdin, password="another one!\n")
    assert code == 2 and "exists already" in err and "--replace" in err
    code, _, _ = _users(runner, store, "add", "registrar", "--replace", stdin, password="another one!\n")
    assert code == 0 and load_users(store / ".web-users.json", environ={}).check("registrar", "another one!")
    code, _, err = _users(runner, store, "add", "shorty", stdin, password="short\n")
    assert code == 2 and "too short" in err
    code, _, err = _users(runner, store, "add", "../evil", stdin, password="a long passphrase\n")
    assert code == 2 and "not a usable user name" in err
    code, out, _ = _users(runner, store, "list", "--json")
    listed = json.loads(out)
    assert [u["name"] for u in listed["users"]] == ["registrar"]
    assert "hash" not in out and "scrypt" not in out
    result = runner.invoke(main, ["bag", str(EXAMPLE_DIR / "record.yaml"), "--store", str(store)])
    assert result.exit_code == 0, result.output  # the users file does not stand in the store's way
    assert _users(runner, store, "remove", "registrar")[0] == 0
    code, _, err = _users(runner, store, "remove", "registrar")
    assert code == 2 and "no user 'registrar'" in err


def test_a_users_file_that_is_not_one_is_named(tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    (store / ".web-users.json").write_text("[1, 2, 3]")
    code, _, err = _users(CliRunner(), store, "list")
    assert code == 2 and "not a stook web users file" in err


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_stook_web_serves_the_store_and_the_oai_provider(tmp_path: Path) -> None:
    store = tmp_path / "store"
    bag_manual_record(store, EXAMPLE_DIR / "record.yaml")
    env = {**os.environ, "STOOK_WEB_USER": "archivist", "STOOK_WEB_PASSWORD": "a long passphrase"}
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE, "web", "--store", str(store), "--port", "0", "--oai"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/"), url
        with urllib.request.urlopen(url + "records", timeout=10) as response:
            assert "wcda:115179" in response.read().decode()
        text_url = f"{url}records/{bag_name('wcda:115179')}/v1/data/text.txt"
        with urllib.request.urlopen(text_url, timeout=10) as r:
            assert r.read() == (EXAMPLE_DIR / "text.txt").read_bytes()
        with urllib.request.urlopen(url + "audit", timeout=10) as response:
            assert "1 never checked" in response.read().decode()
        with urllib.request.urlopen(url + "oai?verb=Identify", timeout=10) as response:
            assert b"<baseURL>" + url.encode() + b"oai</baseURL>" in response.read()
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(urllib.request.Request(url + "records/new", data=b"title=x"), timeout=10)
        assert refused.value.code == 400  # no CSRF token
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    assert "serving" in err and "Traceback" not in err


def test_stook_web_on_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(main, ["web", "--store", str(tmp_path / "s"), "--port", str(port)])
    assert result.exit_code == 2
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.output


def test_stook_web_says_when_nobody_can_log_in(tmp_path: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-c", CODE, "web", "--store", str(tmp_path / "s"), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={k: v for k, v in os.environ.items() if not k.startswith("STOOK_WEB")},
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == f"http://127.0.0.1:{port}/"
    finally:
        proc.send_signal(signal.SIGINT)
        _out, err = proc.communicate(timeout=20)
    assert "no user can log in" in err and "stook web-user add NAME" in err


def test_help_has_an_example() -> None:
    result = CliRunner().invoke(main, ["web", "--help"])
    assert result.exit_code == 0 and "stook web --store bags --port 8080 --oai" in result.output
    result = CliRunner().invoke(main, ["web-user", "add", "--help"])
    assert result.exit_code == 0 and "stook web-user add archivist --store bags" in result.output
