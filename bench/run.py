"""`make bench`: each figure is stook beside a peer measured in the same run, as a ratio.

The machine is noisy: compare the ratios, not the seconds. Each bench module exposes
``run() -> dict``; modules not present yet are skipped with a note.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from workdirs import settle  # noqa: E402

BENCHES = ["bench_startup", "bench_bag", "bench_verify", "bench_harvest", "bench_audit", "bench_provider",
           "bench_ocfl"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help="run only these (e.g. bench_bag)")
    parser.add_argument("--json", dest="json_out", help="also write all figures to this JSON file")
    parser.add_argument(
        "--quick", action="store_true", help="skip the 100,000-record harvest (peak RSS) run, ~11 min"
    )
    args = parser.parse_args()
    results = {}
    settle()  # before the first bench writes: what ran before may have left the disk slow
    for name in args.names or BENCHES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                print(f"{name}: not present, skipped")
                continue
            raise
        start = time.perf_counter()
        kwargs = {"big": True} if name == "bench_harvest" and not args.quick else {}
        results[name] = module.run(**kwargs)
        print(f"  ({name} took {time.perf_counter() - start:.0f} s)")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
