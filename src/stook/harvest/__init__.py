"""Harvesting OAI-PMH 2.0 into the bag store: incremental, resumable, patient with providers.

``client`` is the transport (sickle + requests, retries, parse once), the ledger keeps
checkpoints and tombstones (:mod:`stook.ledger.harvests`), ``files`` fetches linked files, ``run``
ties them together. :func:`harvest` is the whole of ``stook harvest``.
"""

from __future__ import annotations

from stook.harvest.client import (
    IdentifyInfo,
    OAIClient,
    Page,
    RetryPolicy,
    parse_retry_after,
    strip_illegal_chars,
)
from stook.harvest.run import HarvestConfig, HarvestSummary, PageProgress, harvest, normalize_datestamp
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
