"""Start-up: how long a command takes before it does anything, beside ``bagit.py --help``.

Every command pays its start-up once per run, so for a person at a terminal, and for a
script that calls stook per bag, it is part of the work. Each figure is the median of
5 runs of the command as a subprocess (the installed ``stook`` executable), each run
paired with a run of ``bagit.py --help``, the pairs in mirrored order (A B, then B A),
printed as a ratio to the median of ``bagit.py --help``. Target: each at most 2x.
"""

from __future__ import annotations

import statistics
import subprocess
import time
from pathlib import Path
from typing import Any

from userenv import BAGIT_PY, STOOK, compile_stook, user_env
from workdirs import workdir

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "wilson-115179" / "record.yaml"
TARGET = 2.0


def _seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True, env=user_env())
    return time.perf_counter() - start


def run(runs: int = 5) -> dict[str, Any]:
    store = workdir("startup-") / "store"
    compile_stook()
    stook = STOOK
    subprocess.run([stook, "bag", str(EXAMPLE), "--store", str(store)], check=True, capture_output=True,
                   env=user_env())
    peer = [BAGIT_PY, "--help"]
    commands = {
        "stook --help": [stook, "--help"],
        "stook ls": [stook, "ls", "--store", str(store)],
        "stook validate": [stook, "validate", str(EXAMPLE)],
        "stook verify --help": [stook, "verify", "--help"],
    }
    for command in [peer, *commands.values()]:  # warm the page cache (and bytecode) alike
        _seconds(command)
    times: dict[str, list[float]] = {name: [] for name in ["bagit.py --help", *commands]}
    for round_ in range(runs):
        for name, command in commands.items():
            # the peer first in one round, second in the next (A B, B A, ...): a slow spell
            # of this shared machine weighs on both alike
            pair = [("bagit.py --help", peer), (name, command)]
            for label, argv in pair if round_ % 2 == 0 else reversed(pair):
                times[label].append(_seconds(argv))
    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["bagit.py --help"]
    ratios = {name: medians[name] / base for name in commands}
    shown = " | ".join(f"{name} {medians[name] * 1000:.0f} ms ({ratios[name]:.2f}x)" for name in commands)
    print(f"start-up (median of {runs}): bagit.py --help {base * 1000:.0f} ms | {shown}"
          f" (target <= {TARGET:.0f}x)")
    return {"median_s": medians, "ratio_vs_bagit_help": ratios, "target_ratio": TARGET}


if __name__ == "__main__":
    run()
