"""Archive-to-archive transfer: export bags for a partner, receive bags from one.

:mod:`~stook.transfer.export` writes a verified bag as a directory, tar, gzipped
tar or zip whose bytes depend only on the bag; :mod:`~stook.transfer.receive`
takes bags in through :mod:`~stook.transfer.extract` (safe unpacking), the verify
engine and a BagIt profile check (:mod:`stook.profile`).
"""

from __future__ import annotations

from stook.transfer.export import (
    FORMATS,
    BagSource,
    ExportOptions,
    ExportResult,
    Format,
    export_bags,
    write_export,
)
from stook.transfer.extract import DEFAULT_MAX_BYTES, DEFAULT_MAX_FILES, DEFAULT_MAX_RATIO, Limits
from stook.transfer.receive import ReceiveOptions, ReceiveResult, receive_bags, receive_one

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_FILES",
    "DEFAULT_MAX_RATIO",
    "FORMATS",
    "BagSource",
    "ExportOptions",
    "ExportResult",
    "Format",
    "Limits",
    "ReceiveOptions",
    "ReceiveResult",
    "export_bags",
    "receive_bags",
    "receive_one",
    "write_export",
]
