"""Archive-to-archive transfer: export bags for a partner, receive bags from one.

:mod:`~stook.transfer.export` writes a verified bag as a directory, tar, gzipped
tar or zip whose bytes depend only on the bag; :mod:`~stook.transfer.receive`
takes bags in through :mod:`~stook.transfer.extract` (safe unpacking), the verify
engine and a BagIt profile check (:mod:`stook.profile`).

The names below are imported from their modules on first use, so importing the
package costs nothing a command does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stook.lazy import lazy_exports

if TYPE_CHECKING:
    from stook.transfer.export import (
        BagSource,
        ExportOptions,
        ExportResult,
        Format,
        export_bags,
        write_export,
    )
    from stook.transfer.extract import (
        DEFAULT_MAX_BYTES,
        DEFAULT_MAX_FILES,
        DEFAULT_MAX_RATIO,
        FORMATS,
        Limits,
    )
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

# Public name -> the module that defines it, imported on first use (start-up cost).
_EXPORTS = {
    "FORMATS": "stook.transfer.extract",
    "BagSource": "stook.transfer.export",
    "ExportOptions": "stook.transfer.export",
    "ExportResult": "stook.transfer.export",
    "Format": "stook.transfer.export",
    "export_bags": "stook.transfer.export",
    "write_export": "stook.transfer.export",
    "DEFAULT_MAX_BYTES": "stook.transfer.extract",
    "DEFAULT_MAX_FILES": "stook.transfer.extract",
    "DEFAULT_MAX_RATIO": "stook.transfer.extract",
    "Limits": "stook.transfer.extract",
    "ReceiveOptions": "stook.transfer.receive",
    "ReceiveResult": "stook.transfer.receive",
    "receive_bags": "stook.transfer.receive",
    "receive_one": "stook.transfer.receive",
}


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
