"""stook installed as a user installs it: a wheel in a fresh venv, no extras, every command.

``make test`` installs the package in development mode with its test tools, so a library
imported at run time but listed only under an extra would never be missed there. These
tests build a wheel from the source tree, install it into a new venv with no extras
(pip fetches the dependencies, from its cache when it can) and run every command end
to end from that venv's ``stook`` executable, in a scratch directory, with an
environment that knows nothing of the development venv.

Skip them explicitly with ``STOOK_SKIP_INSTALL_TEST=1`` (for instance offline); they
run by default, in ``make test`` and in CI.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import bagit
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_DIR = ROOT / "examples" / "wilson-115179"
EXAMPLE_ID = "wcda:115179"
SKIP_ENV = "STOOK_SKIP_INSTALL_TEST"

pytestmark = pytest.mark.skipif(
    os.environ.get(SKIP_ENV, "") not in ("", "0"),
    reason=f"{SKIP_ENV} is set: the plain-install test was skipped on purpose",
)


@dataclass(frozen=True)
class PlainInstall:
    """A venv holding only the stook wheel and what its dependencies pull in."""

    venv: Path

    @property
    def stook(self) -> Path:
        return self.venv / "bin" / "stook"

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self) -> dict[str, str]:
        """No trace of the development venv: only this venv's bin and the system's."""
        env = {
            "PATH": f"{self.venv / 'bin'}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": os.environ.get("HOME", "/tmp"),
            "LANG": "C.UTF-8",
            "LC_ALL": "C.UTF-8",
        }
        if "TMPDIR" in os.environ:
            env["TMPDIR"] = os.environ["TMPDIR"]
        return env

    def run(self, args: Sequence[str | Path], cwd: Path, expect: int = 0) -> subprocess.CompletedProcess[str]:
        """Run ``stook ARGS``; check the exit code and that no traceback reached the user."""
        done = subprocess.run(
            [str(self.stook), *map(str, args)], cwd=cwd, env=self.env(), capture_output=True,
            text=True, timeout=300, check=False,
        )
        shown = f"stook {' '.join(map(str, args))}\nstdout:\n{done.stdout}\nstderr:\n{done.stderr}"
        assert "Traceback" not in done.stderr, shown
        assert done.returncode == expect, shown
        return done


def _pip(*args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True, text=True, timeout=900, check=False,
    )
    assert done.returncode == 0, f"pip {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def plain(tmp_path_factory: pytest.TempPathFactory) -> PlainInstall:
    work = tmp_path_factory.mktemp("plain-install")
    # Build from a copy of what the wheel is made of, so no build/ or egg-info left in the
    # tree (by an earlier build, or an editable install) can add a file to the wheel.
    source = work / "source"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src", source / "src", ignore=shutil.ignore_patterns("*.egg-info", "__pycache__")
    )
    dist = work / "dist"
    _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(dist), str(source))
    (wheel,) = dist.glob("stook-*.whl")
    venv = work / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    # the development venv's pip installs into the new venv: no pip of its own to bootstrap
    _pip("--python", str(venv / "bin" / "python"), "install", "--quiet", str(wheel))
    return PlainInstall(venv)


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """A scratch directory holding a copy of the bundled example."""
    shutil.copytree(EXAMPLE_DIR, tmp_path / "example")
    return tmp_path


def test_the_plain_venv_has_stook_and_no_extras(plain: PlainInstall, work: Path) -> None:
    code = (
        "import importlib.util, json, stook;"
        "print(json.dumps([stook.__file__, importlib.util.find_spec('distributed') is not None,"
        " importlib.util.find_spec('pytest') is not None]))"
    )
    done = subprocess.run([str(plain.python), "-c", code], cwd=work, env=plain.env(),
                          capture_output=True, text=True, check=True, timeout=60)
    location, has_dask, has_pytest = json.loads(done.stdout)
    assert Path(location).is_relative_to(plain.venv), location
    assert not has_dask and not has_pytest


def test_every_module_imports_in_the_plain_venv(plain: PlainInstall, work: Path) -> None:
    """Each module's own imports resolve with the declared dependencies alone."""
    code = (
        "import importlib, pkgutil, stook\n"
        "names = [m.name for m in pkgutil.walk_packages(stook.__path__, 'stook.')]\n"
        "for name in names:\n"
        "    importlib.import_module(name)\n"
        "print(len(names))\n"
    )
    done = subprocess.run([str(plain.python), "-c", code], cwd=work, env=plain.env(),
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 40


def test_record_commands_from_template_to_audit(plain: PlainInstall, work: Path) -> None:
    run = plain.run
    assert "validate" in run(["--help"], work).stdout
    template = run(["template"], work).stdout
    (work / "new.yaml").write_text(template, encoding="utf-8")
    assert run(["validate", "new.yaml"], work).stdout.strip() == "new.yaml: valid (record and 0 listed files)"
    # a date beyond the plain forms (196X) needs the edtf package; a bad one, jsonschema
    (work / "loose.yaml").write_text(
        "identifier: local:1\ntitle: Undated\ndates:\n  - {type: created, value: 196X}\n", encoding="utf-8"
    )
    (work / "bad.yaml").write_text(
        "identifier: local:2\ntitle: Bad\ndates:\n  - {type: created, value: April 1961}\n", encoding="utf-8"
    )
    checked = run(["validate", "example/record.yaml", "loose.yaml", "bad.yaml"], work, expect=1)
    assert "example/record.yaml: valid" in checked.stdout and "loose.yaml: valid" in checked.stdout
    assert "$.dates[0].value: 'April 1961' is not an EDTF date" in checked.stdout

    bag = Path(run(["bag", "example/record.yaml", "--store", "store"], work).stdout.strip())
    assert (work / bag / "bagit.txt").is_file()
    bagit.Bag(str(work / bag)).validate()  # the reference implementation agrees
    listing = run(["ls", "--store", "store"], work).stdout
    assert listing.startswith(f"{EXAMPLE_ID}\tv1\t")
    events = run(["events", "--store", "store", "--format", "jsonl"], work).stdout.splitlines()
    assert [json.loads(line)["type"] for line in events] == ["val", "mes", "ing"]
    premis = run(["events", "--store", "store", "--format", "premis"], work).stdout
    assert "<premis" in premis and "eventType" in premis
    history = run(["history", EXAMPLE_ID, "--store", "store"], work).stdout
    assert history.count("\n") == 3 and "\ting\t" in history

    verified = run(["verify", str(bag), str(bag)], work).stdout.splitlines()
    assert [line.split()[0] for line in verified if not line.startswith(" ")] == ["VALID", "VALID"]
    audited = run(["audit", "--store", "store"], work).stdout
    assert "1 bags checked" in audited and "1 ok, 0 failed" in audited


def _stored_identifiers(plain: PlainInstall, store: Path, cwd: Path) -> list[str]:
    listing = json.loads(plain.run(["ls", "--store", store, "--json"], cwd).stdout)
    return [b["identifier"] for b in listing]


def test_export_and_receive_every_format_and_a_bagit_python_bag(plain: PlainInstall, work: Path) -> None:
    run = plain.run
    run(["bag", "example/record.yaml", "--store", "archive-a"], work)
    for fmt in ("dir", "tar", "tar.gz", "zip"):
        outbox = work / f"outbox-{fmt}"
        exported = run(["export", EXAMPLE_ID, "--store", "archive-a", "--to", outbox, "--format", fmt], work)
        (archive,) = exported.stdout.split()
        assert (work / archive).exists()
        received = run(["receive", archive, "--store", f"archive-{fmt}"], work)
        assert (work / received.stdout.strip() / "bagit.txt").is_file()
        assert _stored_identifiers(plain, work / f"archive-{fmt}", work) == [EXAMPLE_ID]
    # a bag made by another tool: bagit-python (of the development venv), BagIt 0.97
    other = work / "from-bagit-python"
    (other / "letters").mkdir(parents=True)
    (other / "letters" / "1961-04-26.txt").write_text("Record of conversation.\n", encoding="utf-8")
    bagit.make_bag(str(other), {"External-Identifier": "urn:other:1"}, checksums=["sha512"])
    received = run(["receive", other, "--store", "archive-other"], work)
    assert "warning" in received.stderr  # what it lacks against the stook profile
    assert (work / received.stdout.strip() / "data" / "letters" / "1961-04-26.txt").is_file()
    assert run(["audit", "--store", "archive-other"], work).returncode == 0


def _first_line(process: subprocess.Popen[str], deadline: float) -> str:
    """The first line the process prints, waiting at most until ``deadline`` (a hang guard)."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if selector.select(timeout=0.5):
                return process.stdout.readline()
            if process.poll() is not None:
                break
    raise AssertionError(f"stook serve printed no URL (exit status {process.poll()})")


@pytest.fixture
def served(plain: PlainInstall, work: Path) -> Iterator[str]:
    """``stook serve`` of a store holding the example, on a free loopback port."""
    plain.run(["bag", "example/record.yaml", "--store", "served"], work)
    process = subprocess.Popen(
        [str(plain.stook), "serve", "--store", "served", "--host", "127.0.0.1", "--port", "0",
         "--admin-email", "oai@example.org"],
        cwd=work, env=plain.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        url = _first_line(process, time.monotonic() + 120).strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/oai"), url
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            _, err = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            _, err = process.communicate()
        assert "Traceback" not in err, err


def test_serve_and_harvest_back(plain: PlainInstall, work: Path, served: str) -> None:
    run = plain.run
    summary = run(["harvest", served, "--store", "copy-dc"], work).stdout
    assert "1 new" in summary, summary
    assert _stored_identifiers(plain, work / "copy-dc", work) == [EXAMPLE_ID]
    run(["harvest", served, "--prefix", "stook", "--store", "copy-native"], work)
    original = next((work / "served").glob("*/v1/data/record.json")).read_bytes()
    harvested = next((work / "copy-native").glob("*/v1/data/record.json")).read_bytes()
    assert harvested == original  # the native format is lossless
    assert "0 failed" in run(["audit", "--store", "copy-native"], work).stdout


def test_audit_on_dask_without_the_extra_says_which_extra(plain: PlainInstall, work: Path) -> None:
    run = plain.run
    run(["bag", "example/record.yaml", "--store", "store"], work)
    refused = run(["audit", "--store", "store", "--scheduler", "tcp://127.0.0.1:1"], work, expect=2)
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and "stook[dask]" in lines[0], refused.stderr
    events = run(["events", "--store", "store", "--type", "fix", "--json"], work).stdout
    assert json.loads(events) == []  # nothing audited, nothing recorded
