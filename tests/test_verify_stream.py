"""``stook verify`` at the speed of the work: lines stream out as verdicts arrive, in the
order given; text comes from the results themselves; plain bags take the fast path and
read exactly as the engine would have them read."""

from __future__ import annotations

import json
import os
import queue
import random
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

import pytest
from bagcorpus import bagit_python_bag, retag, write_bag
from click.testing import CliRunner
from test_verify_quick import BENIGN, DAMAGE, FILES, assert_agrees

from stook.cli import main
from stook.cli.verify import render
from stook.errors import NotABag
from stook.verify import VerifyResult, verify_bag
from stook.verify.quick import plainly_intact


def _engine_text(path: Path) -> str:
    """The text ``stook verify`` prints for one path, computed by the engine alone."""
    try:
        return render(verify_bag(path))
    except NotABag as exc:
        return f"NOT A BAG  {exc}"


def _mixed_bags(tmp_path: Path) -> list[Path]:
    """Plain bags of both versions the fast path takes, and bags it must leave to the engine."""
    stook_like = write_bag(tmp_path / "plain-1.0", FILES, algorithms=("sha512",), tag_algorithms=("sha512",))
    from_bagit = bagit_python_bag(tmp_path / "bagit-0.97", FILES, checksums=("sha512",), version="0.97")
    damaged = write_bag(tmp_path / "damaged", FILES)
    (damaged / "data/text.txt").write_bytes(b"X" + FILES["data/text.txt"][1:])
    warned = write_bag(tmp_path / "warned", FILES)
    manifest = warned / "manifest-sha256.txt"
    manifest.write_bytes(manifest.read_bytes().replace(b"  data/text.txt", b" *data/text.txt"))
    retag(warned)
    old = write_bag(tmp_path / "old-0.95", FILES, version="0.95")
    missing = write_bag(tmp_path / "missing", FILES)
    (missing / "data/record.json").unlink()
    return [stook_like, from_bagit, damaged, warned, old, missing, tmp_path / "nowhere", from_bagit]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_text_output_is_what_the_engine_says_whichever_path_confirms(tmp_path: Path, workers: str) -> None:
    bags = _mixed_bags(tmp_path)
    assert plainly_intact(str(bags[0])) is not None and plainly_intact(str(bags[1])) is not None
    result = CliRunner().invoke(main, ["verify", "--workers", workers, *map(str, bags)])
    assert result.exit_code == 2  # a path that is not a bag
    assert result.output == "".join(_engine_text(bag) + "\n" for bag in bags)
    assert "VALID      " + str(bags[1]) + " (BagIt 0.97;" in result.output


def test_json_keeps_every_file_and_text_builds_no_dicts(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bags = _mixed_bags(tmp_path)[:4]
    calls: list[str] = []
    to_dict = VerifyResult.to_dict

    def counted(self: VerifyResult) -> dict[str, object]:
        calls.append(self.bag)
        return to_dict(self)

    monkeypatch.setattr(VerifyResult, "to_dict", counted)
    text = CliRunner().invoke(main, ["verify", "--workers", "1", *map(str, bags)])
    assert text.exit_code == 1 and calls == []
    as_json = CliRunner().invoke(main, ["verify", "--json", "--workers", "1", *map(str, bags)])
    assert as_json.exit_code == 1 and len(calls) == len(bags)
    reports = json.loads(as_json.output)
    assert [r["status"] for r in reports] == ["valid", "valid", "invalid", "valid"]
    assert {f["path"] for f in reports[1]["files"]} >= {"bagit.txt", "data/text.txt", "manifest-sha512.txt"}
    assert reports[0]["files"] == [f.to_dict() for f in verify_bag(bags[0]).files]


# -- the fast path on BagIt 0.97, as bagit-python writes it --------------------------------------------


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_damaged_097_bags_are_left_to_the_engine(tmp_path: Path, name: str) -> None:
    bag = write_bag(tmp_path / "bag", FILES, version="0.97")
    DAMAGE[name](bag)
    assert plainly_intact(str(bag)) is None or assert_agrees(bag)


@pytest.mark.parametrize("name", sorted(BENIGN))
def test_plain_097_bags_take_the_fast_path_and_agree(tmp_path: Path, name: str) -> None:
    bag = write_bag(tmp_path / "bag", FILES, version="0.97")
    BENIGN[name](bag)
    assert assert_agrees(bag), f"{name}: the fast path refused a plain, intact 0.97 bag"
    intact = plainly_intact(str(bag))
    assert intact is not None and intact.version == verify_bag(bag).version  # some rewrite it as 1.0


def test_random_edits_of_097_tag_files_never_fool_the_fast_path(tmp_path: Path) -> None:
    rng = random.Random(97)
    base = bagit_python_bag(tmp_path / "base", FILES, checksums=("sha256", "sha512"), version="0.97")
    pieces = [b" ", b"\t", b"\r", b"\n", b":", b"%", b"*", b"./", b"\\", b"A", b"0", b"data/",
              b"Payload-Oxum: ", b"\xef\xbb\xbf", b"0.97", b"1.0", b"BagIt-Version: ", b"\n "]
    names = ["bag-info.txt", "manifest-sha256.txt", "manifest-sha512.txt", "bagit.txt",
             "tagmanifest-sha256.txt"]
    accepted = refused = 0
    for n in range(200):
        bag = tmp_path / f"b{n}"
        shutil.copytree(base, bag)
        name = rng.choice(names)
        data = (bag / name).read_bytes()
        at = rng.randrange(len(data) + 1)
        piece = rng.choice(pieces)
        how = rng.choice(("insert", "delete", "replace"))
        if how == "insert":
            data = data[:at] + piece + data[at:]
        elif how == "delete":
            data = data[:at] + data[at + rng.randint(1, 3):]
        else:
            data = data[:at] + piece + data[at + len(piece):]
        (bag / name).write_bytes(data)
        if name != "tagmanifest-sha256.txt" and rng.random() < 0.7:
            retag(bag)
        if assert_agrees(bag):
            accepted += 1
        else:
            refused += 1
        shutil.rmtree(bag)
    assert accepted > 10 and refused > 80, (accepted, refused)


# -- streaming ----------------------------------------------------------------------------------------

# Runs ``stook verify`` with one bag held back until a marker file appears: the lines
# before it must be out while it waits (workers are forked, so they inherit the hold).
_HELD = """
import multiprocessing, os, sys, time
from pathlib import Path
import stook.verify.many as many

marker, held = Path(sys.argv[1]), sys.argv[2]
verify_bag, plainly_intact = many.verify_bag, many.plainly_intact

def wait_for_marker(path):
    while os.fspath(path) == held and not marker.exists():
        time.sleep(0.01)

def held_verify(path, **kwargs):
    wait_for_marker(path)
    return verify_bag(path, **kwargs)

def held_quick(path):
    wait_for_marker(path)
    return plainly_intact(path)

many.verify_bag, many.plainly_intact = held_verify, held_quick
multiprocessing.set_start_method("fork", force=True)
from stook.cli import main
main(sys.argv[3:], prog_name="stook")
"""


class _Lines:
    """The lines a process prints, gathered by a thread as they come."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put("")

    def take(self, count: int, wait: float = 120.0) -> list[str]:
        """The next ``count`` lines; ``wait`` seconds at most for each (a hang guard)."""
        lines = []
        for _ in range(count):
            try:
                line = self._queue.get(timeout=wait)
            except queue.Empty:
                raise AssertionError(f"only {len(lines)} more lines arrived: {lines}") from None
            assert line, f"output ended after {len(lines)} more lines: {lines}"
            lines.append(line)
        return lines


@pytest.mark.parametrize("workers", ["1", "2"])
def test_lines_stream_out_as_verdicts_arrive_in_the_order_given(tmp_path: Path, workers: str) -> None:
    bags = [write_bag(tmp_path / f"bag-{n}", {"data/n.txt": f"bag {n}\n".encode()}) for n in range(6)]
    marker = tmp_path / "go"
    process = subprocess.Popen(
        [sys.executable, "-c", _HELD, str(marker), str(bags[3]), "verify", "--workers", workers,
         *map(str, bags)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env={**os.environ, "CI": "1"},
        start_new_session=True,  # its workers too can be stopped, should the test fail
    )
    assert process.stdout is not None
    lines = _Lines(process.stdout)
    try:
        before = lines.take(3)
        assert process.poll() is None  # still held at the fourth bag, yet three lines are out
        marker.touch()
        after = lines.take(3)
        assert process.wait(timeout=120) == 0
    finally:
        marker.touch()  # releases a held worker
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    assert [line.split()[:2] for line in before + after] == [["VALID", str(bag)] for bag in bags]
