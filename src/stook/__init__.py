"""stook: harvest, validate and preserve archival records as BagIt bags.

The public API, one name per job (each imported from its module on first use, so
``import stook`` costs almost nothing)::

    from stook import Store, BagRequest               # a bag store: add, read, adopt
    from stook import bag_manual_record               # what `stook bag` does
    from stook import HarvestConfig                   # `stook harvest`: stook.harvest.harvest
    from stook import verify_bag, verify_bags         # `stook verify`
    from stook import run_audit, AuditOptions         # `stook audit`
    from stook import export_bags, receive_bags       # `stook export` / `stook receive`
    from stook import RepairOptions                   # `stook repair`: stook.repair.repair
    from stook import export_ocfl, import_ocfl        # OCFL storage roots
    from stook import make_app                        # the OAI-PMH provider (WSGI)

``stook.harvest`` and ``stook.repair`` are packages, so their functions of the same name
are reached through them. Every error stook raises on purpose is a :class:`StookError`
(see :mod:`stook.errors`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stook.lazy import lazy_exports

__version__ = "0.1.0"
AGENT_NAME = "stook"
AGENT = f"{AGENT_NAME}/{__version__}"
PROJECT_URL = "https://stook.dev"

if TYPE_CHECKING:
    from stook.audit import AuditOptions, AuditResult, audit_store, run_audit
    from stook.errors import StookError
    from stook.harvest import HarvestConfig, HarvestSummary
    from stook.ledger import BagVersion, Event, Ledger, Source
    from stook.manual import ManualBagOptions, bag_manual_record
    from stook.ocfl.reader import OcflImportOptions, import_ocfl
    from stook.ocfl.writer import OcflExportOptions, export_ocfl
    from stook.provider import make_app
    from stook.repair import RepairOptions, RepairResult
    from stook.store import AddResult, BagRequest, IncomingBag, Store
    from stook.transfer import ExportOptions, ReceiveOptions, export_bags, receive_bags
    from stook.verify import VerifyResult, verify_bag
    from stook.verify.many import verify_bags

# Public name -> the module that defines it.
_EXPORTS = {
    "StookError": "stook.errors",
    "Store": "stook.store",
    "BagRequest": "stook.store",
    "IncomingBag": "stook.store",
    "AddResult": "stook.store",
    "Ledger": "stook.ledger",
    "BagVersion": "stook.ledger",
    "Event": "stook.ledger",
    "Source": "stook.ledger",
    "ManualBagOptions": "stook.manual",
    "bag_manual_record": "stook.manual",
    "HarvestConfig": "stook.harvest",
    "HarvestSummary": "stook.harvest",
    "verify_bag": "stook.verify",
    "VerifyResult": "stook.verify",
    "verify_bags": "stook.verify.many",
    "AuditOptions": "stook.audit",
    "AuditResult": "stook.audit",
    "audit_store": "stook.audit",
    "run_audit": "stook.audit",
    "ExportOptions": "stook.transfer",
    "ReceiveOptions": "stook.transfer",
    "export_bags": "stook.transfer",
    "receive_bags": "stook.transfer",
    "RepairOptions": "stook.repair",
    "RepairResult": "stook.repair",
    "OcflExportOptions": "stook.ocfl.writer",
    "export_ocfl": "stook.ocfl.writer",
    "OcflImportOptions": "stook.ocfl.reader",
    "import_ocfl": "stook.ocfl.reader",
    "make_app": "stook.provider",
}

__all__ = [
    "AGENT",
    "AGENT_NAME",
    "PROJECT_URL",
    "__version__",
    "AddResult",
    "AuditOptions",
    "AuditResult",
    "BagRequest",
    "BagVersion",
    "Event",
    "ExportOptions",
    "HarvestConfig",
    "HarvestSummary",
    "IncomingBag",
    "Ledger",
    "ManualBagOptions",
    "OcflExportOptions",
    "OcflImportOptions",
    "ReceiveOptions",
    "RepairOptions",
    "RepairResult",
    "Source",
    "StookError",
    "Store",
    "VerifyResult",
    "audit_store",
    "bag_manual_record",
    "export_bags",
    "export_ocfl",
    "import_ocfl",
    "make_app",
    "receive_bags",
    "run_audit",
    "verify_bag",
    "verify_bags",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
