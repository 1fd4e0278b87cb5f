"""Commands run as a user runs them: the venv's own executables, with compiled bytecode.

A user's ``pip install`` compiles every module to bytecode once. A development shell
may set PYTHONDONTWRITEBYTECODE, which would make each stook subprocess compile its
sources afresh (tens of milliseconds) and the start-up figures measure the compiler:
the benches compile stook once (:func:`compile_stook`) and run commands without it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
STOOK = str(BIN / "stook")
BAGIT_PY = str(BIN / "bagit.py")


def user_env() -> dict[str, str]:
    """This process's environment, less what a user's shell would not have set."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def compile_stook() -> None:
    """Compile stook's modules to bytecode, as ``pip install`` does for a user."""
    import stook

    subprocess.run([sys.executable, "-m", "compileall", "-q", *stook.__path__], check=True,
                   capture_output=True, env=user_env())
