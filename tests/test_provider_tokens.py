"""Resumption tokens and the store's token secret.

Any forged or odd token is badResumptionToken, never a 500 (a randomised barrage,
in-process and over HTTP); a token continues only its own list, only in its own store,
only under the secret it was signed with (rotation refuses old ones); each store has
its own private secret, or one from the environment, or (read-only) one per process.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import random
import shutil
import stat
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from click.testing import CliRunner
from support.provider_helpers import (
    NS,
    OAIClient,
    add_records,
    assert_valid,
    first_token,
    identifiers,
    record_dict,
    served,
)

from stook.cli import main
from stook.cli.serve import PLACEHOLDER_EMAIL
from stook.errors import StoreError, UsageError
from stook.provider import DEFAULT_ADMIN_EMAIL, make_app
from stook.provider.tokens import MAX_TOKEN_LENGTH, seal
from stook.secret import SECRET_ENV, SECRET_FILE, TokenSecret, read_secret
from stook.store import Store

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


# -- forged and odd tokens --------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


_NOT_INT: list[Any] = [None, True, -1, 2**70, 10**400, 1.5, float("nan"), "1", [], {}]
_NOT_DATE: list[Any] = [1, "", "yesterday", "2024-13-45", "2024-01-02T00:00:00", "x" * 5000, []]
# For each field of a token: values it can never hold.
_INVALID: dict[int, list[Any]] = {
    0: [None, True, 1, 3, 2.0, "2", []],  # version
    1: [*_NOT_INT, 2, 1.0],  # verb (ListRecords is 1)
    2: [None, 1, "", "mods", "oai_dc\x00", "x" * 5000, [], {}],  # metadataPrefix
    3: [1, "", "bad set!", ":history", "x" * 20000, []],  # set
    4: _NOT_DATE,  # from
    5: _NOT_DATE,  # until
    6: _NOT_INT,  # max_bag_id
    7: [None, 1, "yesterday", "x" * 5000, []],  # max_deleted_at
    8: [["a", 0, "1"], ["2024-01-01T00:00:00Z", 0, "abc"], ["2024-01-01T00:00:00Z", 2, "1"],
        ["2024-01-01T00:00:00Z", True, "000000000001"], ["2024-01-01T00:00:00Z", 1, ""],
        ["2024-01-01T00:00:00Z", 0, "9" * 30], [None, None, None], "position", [1, 2], {}],
    9: _NOT_INT,  # cursor
    10: _NOT_INT,  # completeListSize
    11: [*_NOT_INT, 0, 1],  # expiry (0 and 1: long expired)
}


def _odd_payloads(rng: random.Random, valid: list[Any]) -> Iterator[Any]:
    """JSON a forger could sign if they had the key: each field wrong in turn, then worse."""
    for index, values in _INVALID.items():
        for value in values:
            payload = list(valid)
            payload[index] = value
            yield payload
    for window in (("2024-01-01", "2024-01-01T00:00:00Z"), ("2024-02-01", "2024-01-01")):
        payload = list(valid)
        payload[4:6] = window
        yield payload
    yield valid[:-1]
    yield [*valid, 1]
    yield {"verb": 1}
    yield "string"
    yield 12
    everything = [v for values in _INVALID.values() for v in values]
    for _ in range(40):
        yield [rng.choice(everything) for _ in range(rng.randint(0, 14))]


def _garbage(rng: random.Random, token: str) -> Iterator[str]:
    alphabet = "ABCxyz019-_.=+/%& éß漢\u200b" + "".join(chr(rng.randint(0x21, 0x7e)) for _ in range(20))
    body, _, tag = token.partition(".")
    yield from ("x", ".", "..", "a.b", token + ".", "." + token, token.replace(".", ""), body, tag,
                body + "." + tag[:-1], body + "." + tag + "A", "A" + token, token.upper(), token[::-1],
                _b64(b"\x00" * 64) + "." + tag, _b64(b"[" * 5000) + "." + tag, "é" * 100 + "." + tag,
                "A" * (MAX_TOKEN_LENGTH + 1), body * 40 + "." + tag)
    for _ in range(600):
        kind = rng.randrange(4)
        if kind == 0:  # random text
            yield "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 300)))
        elif kind == 1:  # the real token, mutated
            chars = list(token)
            for _ in range(rng.randint(1, 4)):
                i = rng.randrange(len(chars))
                chars[i] = rng.choice([c for c in alphabet if c != chars[i]])  # a real change
            yield "".join(chars)
        elif kind == 2:  # base64 garbage with a plausible tag
            yield _b64(rng.randbytes(rng.randint(1, 400))) + "." + _b64(rng.randbytes(16))
        else:  # JSON of the right shape, tagged without the key
            yield _b64(json.dumps([2, 1, "oai_dc", None, None, None, rng.randint(0, 99), "", None, 0, 1,
                                   2**40]).encode()) + "." + _b64(rng.randbytes(16))


def test_forged_and_odd_tokens_are_bad_resumption_tokens_never_500(store: Path) -> None:
    app = make_app(store, page_size=3)
    client = OAIClient(app)
    token = first_token(client)
    body = token.partition(".")[0]
    valid = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    key = app.token_key()
    rng = random.Random(20240318)

    signed = []
    for payload in _odd_payloads(rng, valid):
        signed.append(seal(json.dumps(payload).encode(), key))
    signed.append(seal(b"[" * 100_000 + b"]" * 100_000, key))  # deep JSON
    signed.append(seal(b"\xff\xfe not json", key))
    signed.append(seal(b'{"a": ' * 2000 + b"1" + b"}" * 2000, key))
    tokens = [*signed, *(bad for bad in _garbage(rng, token) if bad != token)]
    assert len(tokens) > 700
    for verb in ("ListRecords", "ListIdentifiers"):
        for bad in tokens:
            code, _headers, answer = client.raw({"verb": verb, "resumptionToken": bad})
            assert code == 200, (bad[:100], answer[:300])
            codes = [e.get("code") for e in assert_valid(answer).findall("oai:error", NS)]
            assert codes == ["badResumptionToken"], (bad[:100], codes)
    # Characters XML cannot carry, or bytes that are not UTF-8, make the argument itself bad
    # (badArgument); still no 500.
    for bad in ("%00", quote(body) + "%01." + "A" * 22, "%ED%A0%80", "%FF"):
        code, _headers, answer = client.raw(f"verb=ListRecords&resumptionToken={bad}")
        assert code == 200 and [e.get("code") for e in assert_valid(answer).findall("oai:error", NS)] == [
            "badArgument"]


def test_odd_tokens_over_http_are_bad_resumption_tokens(store: Path) -> None:
    with served(store, page_size=3) as url:
        session = requests.Session()
        rng = random.Random(7)
        token = first_token(OAIClient(url))
        for bad in [b for b in _garbage(rng, token) if b != token][:150]:
            reply = session.get(f"{url}?verb=ListRecords&resumptionToken={quote(bad, safe='')}", timeout=10)
            assert reply.status_code == 200
            codes = [e.get("code") for e in assert_valid(reply.content).findall("oai:error", NS)]
            assert codes == ["badResumptionToken"]
        # A request line beyond the header cap is refused by the server (431), not 500; the
        # server may close while the client is still sending, which the client sees as a reset.
        try:
            huge = requests.get(f"{url}?verb=ListRecords&resumptionToken={'A' * 300_000}", timeout=10)
            assert huge.status_code == 431
        except requests.ConnectionError:
            pass
        assert OAIClient(url).get({"verb": "Identify"}) is not None, "and it goes on answering"


# -- tokens belong to one list, one store, one secret --------------------------------------------------------


def _resealed(token: str, change: dict[int, Any]) -> str:
    """The token with fields changed and its old tag kept (a forger without the key)."""
    body, _, tag = token.partition(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    for index, value in change.items():
        data[index] = value
    return _b64(json.dumps(data, separators=(",", ":")).encode()) + "." + tag


def test_a_token_continues_only_its_own_list(store: Path) -> None:
    client = OAIClient(make_app(store, page_size=2))
    token = first_token(client, set="history", **{"from": "2000-01-01"})
    for change in ({2: "stook"}, {3: None}, {3: "science"}, {4: None}, {4: "2000-01-02"},
                   {5: "2999-01-01"}, {9: 0}, {10: 999}, {6: 10**6}):
        forged = _resealed(token, change)
        codes = client.error_codes({"verb": "ListRecords", "resumptionToken": forged})
        assert codes == ["badResumptionToken"], change
    assert client.error_codes({"verb": "ListIdentifiers", "resumptionToken": token}) == ["badResumptionToken"]
    doc = client.get({"verb": "ListRecords", "resumptionToken": token})
    assert doc.find("oai:ListRecords/oai:record", NS) is not None, "the genuine token still works"


def test_tokens_of_another_store_are_refused_even_with_a_shared_secret(
    store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other"
    add_records(other, [record_dict(i) for i in range(N)])
    token_a = first_token(OAIClient(make_app(store, page_size=3)))
    assert OAIClient(make_app(other, page_size=3)).error_codes(
        {"verb": "ListRecords", "resumptionToken": token_a}) == ["badResumptionToken"]

    monkeypatch.setenv(SECRET_ENV, "one secret for every store on this host")
    app_a, app_b = make_app(store, page_size=3), make_app(other, page_size=3)
    assert app_a.secret.origin == app_b.secret.origin == "environment"
    token_a = first_token(OAIClient(app_a))
    assert OAIClient(app_b).error_codes({"verb": "ListRecords", "resumptionToken": token_a}) == [
        "badResumptionToken"]
    copy = tmp_path / "replica"
    shutil.copytree(store, copy)
    assert OAIClient(make_app(copy, page_size=3)).get({"verb": "ListRecords", "resumptionToken": token_a}) \
        is not None, "a copy of the same store (a replica) takes its tokens"


def test_tokens_survive_a_restart_but_not_a_rotation(store: Path) -> None:
    with served(store, page_size=3) as url:
        client = OAIClient(url)
        token = first_token(client)
    with served(store, page_size=3) as url:  # a restarted server
        client = OAIClient(url)
        assert client.get({"verb": "ListRecords", "resumptionToken": token}) is not None
        old_secret = (store / SECRET_FILE).read_bytes()
        result = CliRunner().invoke(main, ["secret", "rotate", "--store", str(store)])
        assert result.exit_code == 0, result.output
        assert "tokens issued before are now refused" in result.output
        assert (store / SECRET_FILE).read_bytes() != old_secret
        assert stat.S_IMODE((store / SECRET_FILE).stat().st_mode) == 0o600
        # The running server takes the new secret at its next request.
        assert client.error_codes({"verb": "ListRecords", "resumptionToken": token}) == ["badResumptionToken"]
        records, _ = client.list_all("ListRecords", metadataPrefix="oai_dc")
        assert identifiers(records) == _ids()


def test_secret_rotate_needs_a_store_and_explains_itself(tmp_path: Path, store: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["secret", "rotate", "--store", str(tmp_path / "nowhere")])
    assert missing.exit_code == 2 and "not a stook store" in missing.output
    assert "Traceback" not in missing.output
    helped = runner.invoke(main, ["secret", "rotate", "--help"])
    assert helped.exit_code == 0 and "stook secret rotate --store bags" in helped.output
    monkeypatch.setenv(SECRET_ENV, "x" * 32)
    result = runner.invoke(main, ["secret", "rotate", "--store", str(store), "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["overridden_by_environment"] is True
    assert SECRET_ENV in result.stderr


# -- where the secret comes from ---------------------------------------------------------------------------


def test_each_new_store_gets_its_own_private_secret(tmp_path: Path) -> None:
    secrets = []
    for name in ("a", "b"):
        with Store.open(tmp_path / name, create=True):
            pass
        file = tmp_path / name / SECRET_FILE
        assert stat.S_IMODE(file.stat().st_mode) == 0o600
        assert len(file.read_text().strip()) == 64
        secrets.append(read_secret(tmp_path / name))
    assert secrets[0] != secrets[1]


def test_a_store_without_a_secret_gets_one_when_served_with_write_access(store: Path) -> None:
    (store / SECRET_FILE).unlink()
    app = make_app(store)
    assert app.secret.origin == "file" and app.secret.warning is None
    assert stat.S_IMODE((store / SECRET_FILE).stat().st_mode) == 0o600
    assert make_app(store).token_key() == app.token_key(), "the next server signs the same way"


@contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """The directory made unwritable: chmod for a normal user, the immutable flag for root."""
    if os.geteuid() != 0:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)
        return
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(path)],
                                                        capture_output=True).returncode != 0:
        pytest.skip("running as root without a way to make a directory read-only (chattr +i)")
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_a_read_only_store_without_a_secret_warns_that_tokens_will_not_survive_a_restart(
    store: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (store / SECRET_FILE).unlink()
    with Store.open(store) as kept_open, _read_only(store), caplog.at_level(logging.WARNING):
        assert kept_open.ledger.bags()  # the ledger's WAL files stay while the store is read-only
        first, second = make_app(store, page_size=3), make_app(store, page_size=3)
        assert first.secret.origin == "process"
        warnings = [r.getMessage() for r in caplog.records if r.name == "stook.provider"]
        assert len(warnings) == 2 and "will not survive a restart" in warnings[0] and "\n" not in warnings[0]
        token = first_token(OAIClient(first))
        assert OAIClient(first).get({"verb": "ListRecords", "resumptionToken": token}) is not None
        assert OAIClient(second).error_codes({"verb": "ListRecords", "resumptionToken": token}) == [
            "badResumptionToken"]
    assert not (store / SECRET_FILE).exists()


def test_secret_from_the_environment_and_bad_secrets(store: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(UsageError, match=SECRET_ENV):
        make_app(store)
    result = CliRunner().invoke(main, ["serve", "--store", str(store), "--port", "0"])
    assert result.exit_code == 2 and SECRET_ENV in result.output and "Traceback" not in result.output
    monkeypatch.delenv(SECRET_ENV)
    (store / SECRET_FILE).write_text("not hex at all\n")
    with pytest.raises(StoreError, match="damaged"):
        make_app(store)
    result = CliRunner().invoke(main, ["serve", "--store", str(store), "--port", "0"])
    assert result.exit_code == 2 and SECRET_FILE in result.output and "secret rotate" in result.output
    assert TokenSecret.for_store(store, given=b"given").origin == "given"


def test_the_cli_placeholder_email_is_the_providers() -> None:
    assert PLACEHOLDER_EMAIL == DEFAULT_ADMIN_EMAIL
