"""Fixity audit of a whole store: every bag verified, every check recorded as a PREMIS event.

A store is audited for decades, usually by cron and in slices, so an audit

* checks bags never checked first, then the ones checked longest ago (``max_age`` skips
  bags checked recently, ``limit`` caps one run), so interrupted or sliced runs carry on
  where the last one stopped without any state besides the event log;
* verifies each bag with :func:`stook.verify.verify_bag` in worker processes (or on a
  Dask cluster); results come back to this process, the only one writing the ledger;
* records one ``fix`` event per bag as results arrive (group-committed every fraction
  of a second), so Ctrl-C or SIGKILL loses at most the last moment's results;
* names every damaged file (corrupted with algorithm, expected and found digest,
  truncated, missing, unexpected, unreadable, unsafe, edited tag file), bags the ledger
  knows that are gone, bag directories the ledger never ingested, and bags that failed
  before and pass now (recovered);
* never writes inside a bag.

The modules: :mod:`.model` (options and verdicts), :mod:`.check` (one bag, in a worker,
then judged), :mod:`.run` (planning and running), :mod:`.report` (what a person reads).

The names below are imported from their modules on first use, so importing the
package costs nothing a command does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stook.lazy import lazy_exports

if TYPE_CHECKING:
    from stook.audit.check import (
        BagCheck,
        BagTask,
        PlainCheck,
        check_bag,
        check_bags,
        classify,
        fix_event,
        judge,
    )
    from stook.audit.model import (
        AuditMode,
        AuditOptions,
        AuditResult,
        BagAudit,
        BagStatus,
        FileProblem,
        FixHistory,
        SkippedBag,
        parse_duration,
    )
    from stook.audit.report import next_step, record_history
    from stook.audit.run import (
        AuditPlan,
        audit_store,
        make_jobs,
        make_tasks,
        plan_audit,
        run_audit,
        scan_store,
    )

__all__ = [
    "AuditMode",
    "AuditOptions",
    "AuditPlan",
    "AuditResult",
    "BagAudit",
    "BagCheck",
    "PlainCheck",
    "BagStatus",
    "BagTask",
    "FileProblem",
    "FixHistory",
    "SkippedBag",
    "audit_store",
    "check_bag",
    "check_bags",
    "classify",
    "fix_event",
    "next_step",
    "judge",
    "make_jobs",
    "make_tasks",
    "parse_duration",
    "plan_audit",
    "record_history",
    "run_audit",
    "scan_store",
]

# Public name -> the module that defines it, imported on first use (start-up cost).
_EXPORTS = {
    "BagCheck": "stook.audit.check",
    "PlainCheck": "stook.audit.check",
    "BagTask": "stook.audit.check",
    "check_bag": "stook.audit.check",
    "check_bags": "stook.audit.check",
    "classify": "stook.audit.check",
    "fix_event": "stook.audit.check",
    "judge": "stook.audit.check",
    "AuditMode": "stook.audit.model",
    "AuditOptions": "stook.audit.model",
    "AuditResult": "stook.audit.model",
    "BagAudit": "stook.audit.model",
    "BagStatus": "stook.audit.model",
    "FileProblem": "stook.audit.model",
    "FixHistory": "stook.audit.model",
    "SkippedBag": "stook.audit.model",
    "parse_duration": "stook.audit.model",
    "next_step": "stook.audit.report",
    "record_history": "stook.audit.report",
    "AuditPlan": "stook.audit.run",
    "audit_store": "stook.audit.run",
    "make_jobs": "stook.audit.run",
    "make_tasks": "stook.audit.run",
    "plan_audit": "stook.audit.run",
    "run_audit": "stook.audit.run",
    "scan_store": "stook.audit.run",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
