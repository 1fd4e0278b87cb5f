"""A fixity audit started from the dashboard: one slice at a time, in the background.

The audit is :func:`stook.audit.run_audit`, as ``stook audit --limit N`` runs it, in a
thread of the server with its own store and one worker (the server never forks from
its threads). Its progress is read by the dashboard while it runs; every verdict is a
fixity event in the ledger as soon as it is made, so stopping the server loses none.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Literal

from stook.errors import StookError
from stook.ledger import utc_now

LOG = logging.getLogger("stook.web")
JobState = Literal["idle", "running", "done", "failed"]


@dataclass(frozen=True)
class AuditProgress:
    """Where the dashboard's audit stands."""

    state: JobState = "idle"
    user: str | None = None
    limit: int = 0
    total: int = 0  # bags this run will look at (known once it is planned)
    done: int = 0
    failed: int = 0
    started: str | None = None
    finished: str | None = None
    message: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def percent(self) -> int:
        return int(100 * self.done / self.total) if self.total else (100 if self.state == "done" else 0)


class AuditJob:
    """Runs at most one audit at a time for one store."""

    def __init__(self, store_path: Path) -> None:
        self.store_path = store_path
        self._lock = threading.Lock()
        self._progress = AuditProgress()
        self._thread: threading.Thread | None = None

    def progress(self) -> AuditProgress:
        with self._lock:
            return self._progress

    def start(self, *, limit: int, max_age: timedelta | None, user: str | None) -> bool:
        """Start an audit of at most ``limit`` bags; False when one is running already."""
        with self._lock:
            if self._progress.running:
                return False
            self._progress = AuditProgress("running", user, limit, started=utc_now(),
                                           message="planning which bags are due")
            self._thread = threading.Thread(target=self._run, args=(limit, max_age), name="stook-web-audit",
                                            daemon=True)
            self._thread.start()
        return True

    def join(self, timeout: float | None = None) -> None:
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _update(self, **changes: object) -> None:
        with self._lock:
            self._progress = replace(self._progress, **changes)  # type: ignore[arg-type]

    def _run(self, limit: int, max_age: timedelta | None) -> None:
        from stook.audit import AuditOptions, BagAudit, plan_audit, run_audit
        from stook.store import Store

        options = AuditOptions(max_age=max_age, limit=limit, workers=1)
        try:
            with Store.open(self.store_path) as store:
                plan = plan_audit(store, options)
                self._update(total=len(plan.due) + len(plan.missing) + len(plan.unknown),
                             message="checking bags")

                def seen(audit: BagAudit) -> None:
                    with self._lock:
                        now = self._progress
                        self._progress = replace(now, done=now.done + 1,
                                                 failed=now.failed + (1 if audit.failed else 0))

                result = run_audit(store, options, on_result=seen)
            counts = result.summary()
            self._update(
                state="done", finished=utc_now(),
                message=(f"{counts['checked']} bags checked: {counts['ok']} intact,"
                         f" {counts['failed']} failed, {counts['missing']} missing,"
                         f" {counts['unknown']} unknown,"
                         f" {counts['recovered']} recovered; {counts['deferred']} left for a later run"),
            )
        except StookError as exc:
            self._update(state="failed", finished=utc_now(), message=str(exc))
        except Exception:  # the server must go on; the log has the details
            LOG.exception("the audit started from the dashboard stopped with an internal error")
            self._update(state="failed", finished=utc_now(),
                         message="the audit stopped with an internal error; the server's log has the details")
