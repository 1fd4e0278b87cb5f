"""Where long, independent jobs (one bag verification each) run: here, a process pool, or Dask.

The caller hands over a function and items and gets ``(item, result)`` pairs back in the
order they finish, in its own process, so one process alone writes the ledger. Only a
bounded window of jobs is in flight at a time: an interrupted run has little work
pending, and memory stays flat for stores of millions of bags.

* ``workers == 1`` runs jobs inline (no pool to start; best for tiny runs and debugging);
* otherwise a local :class:`concurrent.futures.ProcessPoolExecutor`;
* ``scheduler="tcp://HOST:PORT"`` submits to an existing Dask distributed cluster
  (the optional ``stook[dask]`` extra), never a scheduler of our own.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Generic, TypeVar

from stook.errors import UsageError
from stook.workers import ProcessPool

T = TypeVar("T")
R = TypeVar("R")


class JobFailed(Generic[T]):
    """A job that raised instead of returning; carries the error text back to the caller."""

    def __init__(self, error: BaseException) -> None:
        self.error = error

    def __repr__(self) -> str:
        return f"JobFailed({self.error!r})"


class Executor(ABC):
    """Runs ``fn(item)`` for many items; yields results as they complete."""

    #: How many jobs run at once (used to size the in-flight window and split work).
    slots: int = 1

    @abstractmethod
    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, window: int | None = None
    ) -> Iterator[tuple[T, R | JobFailed[T]]]:
        """Yield ``(item, result)`` as jobs finish; a job's exception comes back as JobFailed."""

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Release workers or connections; pending jobs are cancelled."""

    def terminate(self) -> None:
        """Stop at once, abandoning running jobs (by default, as :meth:`close`)."""
        self.close()

    def start(self) -> None:  # noqa: B027 - nothing to start by default
        """Get workers going now, so their start overlaps the caller's own preparations."""

    def aside(self, fn: Callable[..., R], *args: Any) -> Callable[[], R]:
        """Run ``fn(*args)`` next to the caller (a thread here); call the result to wait for it.

        For local work the caller needs while it prepares the jobs (listing the
        store): never sent to a remote cluster, which may not see the same disk.
        """
        pool = ThreadPoolExecutor(max_workers=1)
        future = pool.submit(fn, *args)
        pool.shutdown(wait=False)
        return future.result

    def describe(self) -> str:
        return type(self).__name__

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class InlineExecutor(Executor):
    """Runs each job in this process, one after the other."""

    slots = 1

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, window: int | None = None
    ) -> Iterator[tuple[T, R | JobFailed[T]]]:
        for item in items:
            try:
                result: R | JobFailed[T] = fn(item)
            except Exception as exc:  # a job's failure is data for the caller, not a crash
                result = JobFailed(exc)
            yield item, result

    def describe(self) -> str:
        return "inline (1 worker)"


class ProcessExecutor(Executor):
    """A local process pool of ``workers`` processes."""

    def __init__(self, workers: int) -> None:
        self.slots = workers
        self._pool = ProcessPool(workers)

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, window: int | None = None
    ) -> Iterator[tuple[T, R | JobFailed[T]]]:
        # four jobs per worker in flight: while the caller is busy with one answer (recording
        # it), every worker still has the next job queued and never waits for it
        limit = window or self.slots * 4
        source = iter(items)
        running: dict[Future[R], T] = {}
        try:
            while True:
                while len(running) < limit:
                    item = next(source, _END)
                    if item is _END:
                        break
                    running[self._pool.submit(fn, item)] = item
                if not running:
                    return
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    item = running.pop(future)
                    try:
                        result: R | JobFailed[T] = future.result()
                    except Exception as exc:
                        result = JobFailed(exc)
                    yield item, result
        finally:
            # Jobs still in flight are left to close() or terminate(), not cancelled here:
            # Python 3.11's pool thread crashes (and its shutdown then hangs) when workers
            # are killed while it holds futures cancelled from outside (InvalidStateError in
            # terminate_broken); shutdown(cancel_futures=True) cancels them safely.
            running.clear()

    def start(self) -> None:
        self._pool.start()

    def aside(self, fn: Callable[..., R], *args: Any) -> Callable[[], R]:
        # an idle local worker: no contention with this process for the GIL
        return self._pool.submit(fn, *args).result

    def close(self) -> None:
        self._pool.shutdown()

    def terminate(self) -> None:
        """Stop the workers now (after Ctrl-C: what they are doing would be dropped)."""
        self._pool.terminate()

    def describe(self) -> str:
        return f"local process pool ({self.slots} workers)"


class DaskExecutor(Executor):
    """Jobs sent to an existing Dask distributed scheduler; results come back here."""

    def __init__(self, address: str, *, timeout: float = 10.0) -> None:
        try:
            import distributed
        except ImportError as exc:
            raise UsageError(
                f"the Dask scheduler {address} needs the Dask distributed package, which is not installed",
                option="scheduler",
                hint="it comes with stook's optional extra: pip install 'stook[dask]'",
            ) from exc
        self._distributed = distributed
        self.address = address
        try:
            self._client = distributed.Client(address, timeout=timeout, set_as_default=False)
        except (OSError, TimeoutError) as exc:
            raise UsageError(
                f"cannot connect to the Dask scheduler at {address}: {exc}",
                url=address,
                hint="check that the scheduler is running and the address is tcp://HOST:PORT",
            ) from exc
        threads = sum(self._client.nthreads().values())
        self.slots = max(1, threads)

    def map_unordered(
        self, fn: Callable[[T], R], items: Iterable[T], *, window: int | None = None
    ) -> Iterator[tuple[T, R | JobFailed[T]]]:
        limit = window or self.slots * 4
        source = iter(items)
        owner: dict[Any, tuple[T, Any]] = {}
        pending = self._distributed.as_completed([], loop=self._client.loop, with_results=False)

        def submit_more() -> None:
            while pending.count() < limit:
                item = next(source, _END)
                if item is _END:
                    return
                future = self._client.submit(fn, item, pure=False)
                owner[future.key] = (item, future)
                pending.add(future)

        try:
            submit_more()
            while not pending.is_empty():
                future = next(pending)
                item, _ = owner.pop(future.key)
                try:
                    result: R | JobFailed[T] = future.result()
                except Exception as exc:
                    result = JobFailed(exc)
                future.release()
                yield item, result
                submit_more()
        finally:
            leftover = [f for _, f in owner.values()]
            if leftover:
                self._client.cancel(leftover)

    def close(self) -> None:
        self._client.close()

    def describe(self) -> str:
        return f"Dask scheduler {self.address} ({self.slots} threads)"


class _End:
    pass


_END: Any = _End()


def default_workers() -> int:
    return os.cpu_count() or 1


def open_executor(*, workers: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor for ``workers`` / ``scheduler``; raises UsageError for a bad address."""
    if scheduler:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise UsageError(
                f"{scheduler!r} is not a Dask scheduler address",
                option="scheduler",
                hint="give it as tcp://HOST:PORT",
            )
        return DaskExecutor(scheduler)
    count = workers if workers is not None else default_workers()
    if count < 1:
        raise UsageError(f"the number of workers must be at least 1, not {count}", option="workers")
    if count == 1:
        return InlineExecutor()
    return ProcessExecutor(count)
