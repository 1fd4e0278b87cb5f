"""The bag store: a directory of bags, one per record version, plus the ledger.

Layout::

    <store>/stook-ledger.sqlite      the ledger (bag index, sources, harvest state, PREMIS events)
    <store>/<name>/v<N>/             version N of the record whose bag name is <name>
    <store>/.tmp/                    bags being built (cleared when the store is opened)
    <store>/.lock                    held by the one process writing to the store
    <store>/.stook-store.json        how many versions the store holds (a ledger that knows
                                     fewer is older than the bags)
    <store>/quarantine/              records that could not be stored, with the reason

A bag appears whole or not at all (:mod:`stook.store.commit`); batches are built by
worker processes (:mod:`stook.store.pipeline`); :class:`Store` is the one object the
rest of stook uses (:mod:`stook.store.facade`).
"""

from __future__ import annotations

from stook.ledger import LEDGER_FILE, Source
from stook.names import RECORD_FILE
from stook.store.facade import Store
from stook.store.layout import QUARANTINE_DIR, TMP_DIR, bag_dirs
from stook.store.locking import LOCK_FILE, StoreBusy
from stook.store.model import AddResult, AddStatus, BagRequest, IncomingBag, fingerprint
from stook.store.ondisk import bag_fingerprint, bag_sizes, read_record

__all__ = [
    "LEDGER_FILE",
    "LOCK_FILE",
    "QUARANTINE_DIR",
    "RECORD_FILE",
    "TMP_DIR",
    "AddResult",
    "AddStatus",
    "BagRequest",
    "IncomingBag",
    "Source",
    "Store",
    "StoreBusy",
    "bag_dirs",
    "bag_fingerprint",
    "bag_sizes",
    "fingerprint",
    "read_record",
]
