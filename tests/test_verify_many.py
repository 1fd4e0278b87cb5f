"""Many bags in one call: spread over processes, answered in the order given, nothing lost."""

from __future__ import annotations

import json
import os
from pathlib import Path

from bagcorpus import write_bag
from click.testing import CliRunner

from stook.cli import main
from stook.verify.many import verify_bags


def _corpus(tmp_path: Path, count: int) -> list[Path]:
    bags = []
    for n in range(count):
        bag = write_bag(tmp_path / f"bag-{n:03d}", {"data/n.txt": f"bag {n}\n".encode()})
        bags.append(bag)
    return bags


def test_processes_give_the_same_verdicts_in_the_same_order(tmp_path: Path) -> None:
    bags = _corpus(tmp_path, 40)
    (bags[7] / "data/n.txt").write_bytes(b"BAG 7\n")  # same size: only the digest differs
    (bags[31] / "data/n.txt").unlink()
    paths = [*bags, tmp_path / "nowhere", bags[3]]  # a non-bag and a repeat among them
    inline = list(verify_bags(paths, workers=1))
    spread = list(verify_bags(paths, workers=2))
    assert [v.path for v in spread] == [os.fspath(p) for p in paths]
    assert [v.result.to_dict() if v.result else str(v.not_a_bag) for v in spread] == [
        v.result.to_dict() if v.result else str(v.not_a_bag) for v in inline
    ]
    statuses = [v.result.status if v.result else "not-a-bag" for v in spread]
    assert statuses.count("valid") == 39
    assert statuses[7] == "invalid" and statuses[31] == "incomplete" and statuses[40] == "not-a-bag"
    assert spread[7].result is not None
    assert [f.code for f in spread[7].result.errors] == ["checksum-mismatch"]


def test_on_done_sees_every_bag_once(tmp_path: Path) -> None:
    bags = _corpus(tmp_path, 12)
    seen: list[str] = []
    verdicts = list(verify_bags(bags, workers=2, on_done=lambda v: seen.append(v.path)))
    assert sorted(seen) == sorted(v.path for v in verdicts) == sorted(map(os.fspath, bags))


def test_cli_verifies_a_directory_of_bags_with_several_workers(tmp_path: Path) -> None:
    bags = _corpus(tmp_path, 20)
    (bags[5] / "data/n.txt").write_bytes(b"BAG 5\n")
    result = CliRunner().invoke(main, ["verify", "--json", "--workers", "2", *map(str, bags)])
    assert result.exit_code == 1, result.output
    reports = json.loads(result.output)
    assert [r["bag"] for r in reports] == [str(b) for b in bags]
    assert [r["status"] for r in reports].count("valid") == 19
    assert reports[5]["errors"][0]["path"] == "data/n.txt"
