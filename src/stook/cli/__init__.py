"""The ``stook`` command line: thin commands over the library.

Each command lives in its own module under ``stook.cli`` and is registered here.
"""

from __future__ import annotations

from stook.cli.base import main

__all__ = ["main"]
