"""Verifying many bags in one call: bags spread over worker processes, results in order.

One bag's files can be hashed in threads (``verify_bag(workers=N)``), which helps a
bag of a few huge files. A directory of thousands of small bags is a different job:
the cost is per bag (tag parsing, listing, opening), which is Python work, so it is
spread over processes, several bags per round trip.

A caller that shows no per-file detail (``stook verify`` without ``--json``) says so with
``detail=False``: a plain, intact bag is then confirmed by the one-pass fast path
(:mod:`stook.verify.quick`, the one audit uses), anything else by the engine, and no
per-file list travels back from the workers.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from stook.errors import NotABag
from stook.executor import JobFailed, open_executor
from stook.verify.engine import verify_bag
from stook.verify.model import Mode, VerifyResult
from stook.verify.quick import Intact, plainly_intact

#: Bags per job at most: enough to make a round trip cheap, few enough to balance.
BATCH_MAX = 32


@dataclass(frozen=True)
class BagVerdict:
    """One path's answer: the engine's result, or why it is not a bag at all."""

    path: str
    result: VerifyResult | None = None
    not_a_bag: NotABag | None = None


def _verify_one(
    path: str,
    mode: Mode,
    threads: int,
    progress: Callable[[int], None] | None = None,
    detail: bool = True,
) -> BagVerdict:
    if not detail and mode == "full" and threads == 1 and progress is None:
        intact = plainly_intact(path)
        if intact is not None:
            return BagVerdict(path, _intact_result(path, intact))
    try:
        result = verify_bag(path, mode=mode, workers=threads, progress=progress)
    except NotABag as exc:
        return BagVerdict(path, not_a_bag=exc)
    return BagVerdict(path, result if detail else replace(result, files=[], payload_digests={}))


def _intact_result(path: str, intact: Intact) -> VerifyResult:
    """What the engine says of a plain, intact bag, less the per-file list."""
    return VerifyResult(
        bag=path, mode="full", valid=True, complete=True, checksums_verified=True,
        version=intact.version, errors=[], warnings=[], files_checked=intact.files_checked,
        bytes_hashed=intact.bytes_hashed, algorithms=list(intact.algorithms),
    )


def _verify_batch(job: tuple[int, tuple[str, ...], Mode, bool]) -> list[BagVerdict]:
    _, paths, mode, detail = job
    return [_verify_one(path, mode, 1, detail=detail) for path in paths]


def verify_bags(
    paths: Sequence[str | os.PathLike[str]],
    *,
    mode: Mode = "full",
    workers: int = 1,
    on_done: Callable[[BagVerdict], None] | None = None,
    byte_progress: Callable[[int], None] | None = None,
    detail: bool = True,
) -> Iterator[BagVerdict]:
    """Verify every bag in ``paths``; yield one verdict per path, in the order given.

    A single path is verified here with ``workers`` hashing threads; several paths
    go to ``workers`` processes, a batch of bags per job. ``on_done`` is called as
    each verdict arrives, in whatever order they finish (for progress bars);
    ``byte_progress`` receives byte counts as a single bag is hashed. With
    ``detail=False`` results carry no per-file list (``files``, ``payload_digests``):
    plain intact bags are then confirmed by the fast path, the rest by the engine.
    Verdicts are yielded as soon as they and every verdict before them are in.
    """
    names = [os.fspath(p) for p in paths]
    if len(names) <= 1 or workers <= 1:
        for name in names:
            if len(names) == 1:
                verdict = _verify_one(name, mode, workers, byte_progress, detail)
            else:
                verdict = _verify_one(name, mode, 1, detail=detail)
            if on_done is not None:
                on_done(verdict)
            yield verdict
        return
    per_job = max(1, min(BATCH_MAX, len(names) // (workers * 4)))
    jobs = [
        (n, tuple(names[i : i + per_job]), mode, detail)
        for n, i in enumerate(range(0, len(names), per_job))
    ]
    waiting: dict[int, list[BagVerdict]] = {}
    next_job = 0
    with open_executor(workers=workers) as runner:
        for job, answer in runner.map_unordered(_verify_batch, jobs):
            verdicts = answer if not isinstance(answer, JobFailed) else [
                BagVerdict(path, not_a_bag=NotABag(f"{path}: verification failed: {answer.error}",
                                                   path=path))
                for path in job[1]
            ]
            if on_done is not None:
                for verdict in verdicts:
                    on_done(verdict)
            waiting[job[0]] = verdicts
            while next_job in waiting:
                yield from waiting.pop(next_job)
                next_job += 1
