"""Harvesting OAI-PMH 2.0 into the bag store: incremental, resumable, patient with providers.

``client`` is the transport (sickle + requests, retries, parse once), the ledger keeps
checkpoints and tombstones (:mod:`stook.ledger.harvests`), ``files`` fetches linked files, ``run``
ties them together. :func:`harvest` is the whole of ``stook harvest``.

The names below are imported from their modules on first use, so importing the
package costs nothing a command does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stook.lazy import lazy_exports

if TYPE_CHECKING:
    from stook.harvest.client import (
        IdentifyInfo,
        OAIClient,
        Page,
        RetryPolicy,
        parse_retry_after,
        strip_illegal_chars,
    )
    from stook.harvest.config import HarvestConfig, HarvestSummary, PageProgress, normalize_datestamp
    from stook.harvest.run import harvest
    from stook.ledger import HarvestState

__all__ = [
    "HarvestConfig",
    "HarvestState",
    "HarvestSummary",
    "IdentifyInfo",
    "OAIClient",
    "Page",
    "PageProgress",
    "RetryPolicy",
    "harvest",
    "normalize_datestamp",
    "parse_retry_after",
    "strip_illegal_chars",
]

# Public name -> the module that defines it, imported on first use (start-up cost).
_EXPORTS = {
    "IdentifyInfo": "stook.harvest.client",
    "OAIClient": "stook.harvest.client",
    "Page": "stook.harvest.client",
    "RetryPolicy": "stook.harvest.client",
    "parse_retry_after": "stook.harvest.client",
    "strip_illegal_chars": "stook.harvest.client",
    "HarvestConfig": "stook.harvest.config",
    "HarvestSummary": "stook.harvest.config",
    "PageProgress": "stook.harvest.config",
    "harvest": "stook.harvest.run",
    "normalize_datestamp": "stook.harvest.config",
    "HarvestState": "stook.ledger",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
