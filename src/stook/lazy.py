"""Lazy re-exports for package ``__init__`` modules.

A package such as :mod:`stook.harvest` names its public API at the top, but importing
all of it would pull in requests, lxml and sickle for a command that only needs a
constant. :func:`lazy_exports` gives a package the module ``__getattr__`` and
``__dir__`` that import each name from its defining module on first use.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``, whose public names live in ``exports``
    (name -> defining module)."""

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        vars(sys.modules[package])[name] = value  # found directly from now on
        return value

    def dir_() -> list[str]:
        return sorted({*vars(sys.modules[package]), *exports})

    return getattr_, dir_
