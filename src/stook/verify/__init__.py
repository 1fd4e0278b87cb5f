"""Strict BagIt (RFC 8493, versions 0.93 to 1.0) validation: ``stook verify`` and its engine.

:func:`verify_bag` checks one bag and returns a :class:`VerifyResult` naming
every problem at once; audit and receive reuse it, possibly in worker
processes, so results are plain picklable dataclasses.

The names below are imported from their modules on first use, so importing the
package costs nothing a command does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stook.lazy import lazy_exports

if TYPE_CHECKING:
    from stook.verify.engine import verify_bag
    from stook.verify.model import MODES, FileOutcome, Finding, Mode, VerifyResult

__all__ = ["MODES", "FileOutcome", "Finding", "Mode", "VerifyResult", "verify_bag"]

# Public name -> the module that defines it, imported on first use (start-up cost).
_EXPORTS = {
    "verify_bag": "stook.verify.engine",
    "MODES": "stook.verify.model",
    "FileOutcome": "stook.verify.model",
    "Finding": "stook.verify.model",
    "Mode": "stook.verify.model",
    "VerifyResult": "stook.verify.model",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
