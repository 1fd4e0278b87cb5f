"""``stook repair``: put a damaged stored bag right from a partner's copy, checked against the ledger.

:func:`repair` replaces only the damaged or missing files of one stored bag version,
only with copies whose digests equal what the store recorded (see :mod:`.plan` for
the rule on tag files), atomically, under the writer lock, with PREMIS events for
the damage found, the recovery and the repaired bag's fixity.
"""

from __future__ import annotations

from stook.repair.model import FileRepair, Reference, RepairOptions, RepairResult, RepairStatus
from stook.repair.run import repair

__all__ = ["FileRepair", "Reference", "RepairOptions", "RepairResult", "RepairStatus", "repair"]
