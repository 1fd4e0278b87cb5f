"""Strict BagIt (RFC 8493, versions 0.93 to 1.0) validation: ``stook verify`` and its engine.

:func:`verify_bag` checks one bag and returns a :class:`VerifyResult` naming
every problem at once; audit and receive reuse it, possibly in worker
processes, so results are plain picklable dataclasses.
"""

from __future__ import annotations

from stook.verify.engine import verify_bag
from stook.verify.model import MODES, FileOutcome, Finding, Mode, VerifyResult

__all__ = ["MODES", "FileOutcome", "Finding", "Mode", "VerifyResult", "verify_bag"]
