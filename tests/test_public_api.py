"""The public API: every name ``stook`` exports resolves, and importing it stays cheap."""

from __future__ import annotations

import subprocess
import sys

import stook


def test_every_exported_name_resolves_to_what_its_module_defines() -> None:
    import importlib
    import importlib.util
    import types

    for name in stook.__all__:
        value = getattr(stook, name)
        assert value is not None, name
        # a name that is also a subpackage would be replaced by it once the subpackage is imported
        assert not isinstance(value, types.ModuleType), name
        assert importlib.util.find_spec(f"stook.{name}") is None, name
    assert stook.Store is importlib.import_module("stook.store").Store
    assert stook.HarvestConfig is importlib.import_module("stook.harvest.config").HarvestConfig
    assert issubclass(stook.StookError, Exception)
    assert set(stook.__all__) <= set(dir(stook))


def test_the_exports_are_exactly_the_documented_jobs() -> None:
    jobs = {"Store", "BagRequest", "bag_manual_record", "HarvestConfig", "verify_bag",
            "verify_bags", "run_audit", "AuditOptions", "export_bags", "receive_bags", "RepairOptions",
            "export_ocfl", "import_ocfl", "make_app", "StookError"}
    assert jobs <= set(stook.__all__)
    for job in jobs:
        assert job in (stook.__doc__ or ""), f"{job} is exported but the package docstring does not name it"


def test_importing_stook_imports_no_job_until_asked() -> None:
    code = ("import sys, stook; heavy = [m for m in ('stook.store', 'stook.harvest', 'lxml', 'jsonschema',"
            " 'stook.provider', 'stook.ledger') if m in sys.modules]; print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout
    assert out.strip() == "[]"


def test_an_unknown_name_is_an_attribute_error() -> None:
    try:
        stook.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("no AttributeError")
