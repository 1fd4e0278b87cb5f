"""Checking a bag against a BagIt profile (bagit-profiles specification, JSON).

A profile is what two archives agree a bag must contain beyond RFC 8493: the
bag-info fields, the manifest algorithms, the tag files, fetch.txt or not, the
BagIt versions and serializations. stook publishes its own profile
(``schemas/stook-bagit-profile.json``, identifier :data:`PROFILE_IDENTIFIER`,
the value every stook bag carries in ``BagIt-Profile-Identifier``) and can check
a bag against any other profile file.

The checking is done by the ``bagit_profile`` package, given the profile as a
dict so it never fetches the profile's URL; its exceptions are turned into a list
of :class:`stook.errors.Problem`. Version 1.4.0 of the specification added
``Payload-Files-Required``, ``Payload-Files-Allowed``, ``Data-Empty`` and
``Fetch.txt-Required``, which that package does not know; they are checked here.
"""

from __future__ import annotations

import copy
import fnmatch
import json
import logging
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from stook.bagspec import first_value, read_bag_info
from stook.bagwriter import PROFILE_IDENTIFIER
from stook.errors import Problem, UsageError

PROFILE_FILE = Path(__file__).parent / "schemas" / "stook-bagit-profile.json"

PROFILE_TAG = "BagIt-Profile-Identifier"


@dataclass(frozen=True)
class BagitProfile:
    """A loaded profile: its identifier, where it came from, and the JSON as read."""

    identifier: str
    source: str
    data: dict[str, Any] = field(repr=False, hash=False, compare=False)

    @property
    def is_stook(self) -> bool:
        return self.identifier == PROFILE_IDENTIFIER

    @property
    def label(self) -> str:
        return "the stook profile" if self.is_stook else f"profile {self.identifier}"


@lru_cache(maxsize=1)
def _stook_profile_text() -> str:
    return PROFILE_FILE.read_text(encoding="utf-8")


def stook_profile() -> BagitProfile:
    """The profile every bag stook writes satisfies."""
    return _parse(_stook_profile_text(), str(PROFILE_FILE))


def load_profile(path: str | os.PathLike[str]) -> BagitProfile:
    """Read a profile file (JSON); raise :class:`UsageError` when it cannot be used."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UsageError(f"{file}: profile file not found", path=file, option="profile") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{file}: cannot read the profile file: {exc}", path=file) from exc
    return _parse(text, str(file))


def _parse(text: str, source: str) -> BagitProfile:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(
            f"{source}: not a JSON BagIt profile: {exc.msg} at line {exc.lineno} column {exc.colno}",
            path=source,
        ) from exc
    if not isinstance(data, dict):
        raise UsageError(f"{source}: a BagIt profile is a JSON object", path=source)
    info = data.get("BagIt-Profile-Info")
    identifier = info.get("BagIt-Profile-Identifier") if isinstance(info, dict) else None
    if not isinstance(identifier, str) or not identifier:
        raise UsageError(
            f"{source}: the profile has no BagIt-Profile-Info/BagIt-Profile-Identifier; "
            "every BagIt profile names its own URI there",
            path=source,
        )
    versions = data.get("Accept-BagIt-Version")
    if not isinstance(versions, list) or not versions:
        raise UsageError(
            f"{source}: the profile has no Accept-BagIt-Version list; the specification "
            "requires at least one accepted BagIt version",
            path=source,
        )
    profile = BagitProfile(identifier=identifier, source=source, data=data)
    _package_profile(profile)  # refuse a profile the package cannot use now, not per bag
    return profile


def _package_profile(profile: BagitProfile) -> Any:
    """A ``bagit_profile.Profile`` for ``profile``, built without network access."""
    import bagit_profile

    data = copy.deepcopy(profile.data)  # the package fills in defaults in place
    data.setdefault("Bag-Info", {})
    data.setdefault("Manifests-Required", [])
    try:
        with _quiet_logging():
            return _quiet_profile_class()(profile.identifier, profile=data)
    except bagit_profile.ProfileValidationError as exc:
        raise UsageError(
            f"{profile.source}: not a usable BagIt profile: {_clean(str(exc.value), '')}",
            path=profile.source,
        ) from exc
    except (TypeError, ValueError, AttributeError) as exc:
        raise UsageError(
            f"{profile.source}: not a usable BagIt profile: {exc}", path=profile.source
        ) from exc


@lru_cache(maxsize=1)
def _quiet_profile_class() -> type:
    import bagit_profile

    class QuietProfile(bagit_profile.Profile):
        """The package's profile, without logging every failure at ERROR level."""

        def _fail(self, msg: str) -> None:
            raise bagit_profile.ProfileValidationError(msg)

        def _warn(self, msg: str) -> None:
            return None

    return QuietProfile


@contextmanager
def _quiet_logging() -> Iterator[None]:
    """The package calls ``logging.info`` on the root logger, which would configure logging."""
    root = logging.getLogger()
    handler: logging.Handler | None = None
    if not root.handlers:
        handler = logging.NullHandler()
        root.addHandler(handler)
    try:
        yield
    finally:
        if handler is not None:
            root.removeHandler(handler)


def check_bag(
    bag_dir: str | os.PathLike[str],
    profile: BagitProfile | None = None,
    *,
    serialized: str | os.PathLike[str] | None = None,
) -> list[Problem]:
    """Every way the bag at ``bag_dir`` breaks ``profile`` (the stook profile by default).

    ``serialized`` is the archive file the bag arrived in, for the Serialization and
    Accept-Serialization rules; without it the bag is judged as a directory.
    An empty list means the bag conforms.
    """
    import bagit
    import bagit_profile

    profile = profile or stook_profile()
    bag_path = Path(bag_dir)
    problems: list[Problem] = []
    checker = _package_profile(profile)
    problems.extend(_check_serialization(checker, profile, Path(serialized) if serialized else bag_path))
    try:
        with _quiet_logging():
            bag = bagit.Bag(str(bag_path))
    except (bagit.BagError, OSError, UnicodeError, ValueError) as exc:
        problems.append(Problem(str(bag_path), f"cannot be read as a bag for the profile check: {exc}"))
        return problems
    problems.extend(_claim_profile(bag, profile))
    # The package stops at the first bag-info failure; checking one field at a time
    # names every missing or wrong field.
    tags = dict(checker.profile.get("Bag-Info") or {})
    errors: list[Any] = []
    try:
        with _quiet_logging():
            checker.profile["Bag-Info"] = {}
            checker.validate(bag)
            errors.extend(checker.report.errors if checker.report is not None else [])
            for tag, config in tags.items():
                checker.profile["Bag-Info"] = {tag: config}
                try:
                    checker.validate_bag_info(bag)
                except bagit_profile.ProfileValidationError as exc:
                    errors.append(exc)
    except (KeyError, TypeError, ValueError, AttributeError, OSError) as exc:
        errors.append(bagit_profile.ProfileValidationError(f"the profile check stopped: {exc!r}"))
    for error in errors:
        message = _clean(str(getattr(error, "value", error)), str(bag))
        problems.append(Problem(_location(message), message, expected=profile.label))
    problems.extend(_check_v14(bag_path, profile))
    return problems


def _claim_profile(bag: Any, profile: BagitProfile) -> list[Problem]:
    """Report the bag's own BagIt-Profile-Identifier, then set it in memory so the rest is checked.

    The package stops at a missing or different identifier; the bag on disk is
    never changed.
    """
    declared = bag.info.get(PROFILE_TAG)
    problems = []
    if declared is None:
        problems.append(Problem("bag-info.txt", f"{PROFILE_TAG} is missing: the bag does not claim "
                                                f"{profile.identifier}", expected=profile.label))
    elif declared != profile.identifier:
        shown = ", ".join(declared) if isinstance(declared, list) else declared
        problems.append(Problem("bag-info.txt", f"{PROFILE_TAG} names {shown}, not {profile.identifier}",
                                found=shown, expected=profile.label))
    bag.info[PROFILE_TAG] = profile.identifier
    return problems


def _check_serialization(checker: Any, profile: BagitProfile, path: Path) -> list[Problem]:
    import bagit_profile

    try:
        with _quiet_logging():
            checker.validate_serialization(str(path))
    except bagit_profile.ProfileValidationError:
        rule = profile.data.get("Serialization", "optional")
        if path.is_dir():
            message = f"the profile requires a serialized bag (Serialization: {rule}) but this is a directory"
        elif rule == "forbidden":
            message = "the profile forbids serialized bags (Serialization: forbidden)"
        else:
            mtype = mimetypes.guess_type(path.name)[0] or "an unknown type"
            accepted = ", ".join(profile.data.get("Accept-Serialization") or []) or "none"
            message = f"{path.name} is {mtype}, not one of the accepted serializations ({accepted})"
        return [Problem(path.name or str(path), message, expected=profile.label)]
    except OSError as exc:
        return [Problem(str(path), f"cannot be checked for serialization: {exc}", expected=profile.label)]
    return []


def _payload_files(bag_path: Path) -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    data = bag_path / "data"
    for dirpath, dirnames, filenames in os.walk(data):
        dirnames.sort()
        rel_dir = Path(dirpath).relative_to(bag_path).as_posix()
        for name in sorted(filenames):
            try:
                size = os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                size = -1
            found.append((f"{rel_dir}/{name}", size))
    return found


def _check_v14(bag_path: Path, profile: BagitProfile) -> list[Problem]:
    """The rules of specification 1.4.0 that the bagit_profile package does not check."""
    data = profile.data
    label = profile.label
    problems: list[Problem] = []
    keys = ("Payload-Files-Required", "Payload-Files-Allowed", "Data-Empty", "Fetch.txt-Required")
    if not any(k in data for k in keys):
        return problems
    payload = _payload_files(bag_path)
    names = [name for name, _size in payload]
    for pattern in data.get("Payload-Files-Required") or []:
        if not any(fnmatch.fnmatch(name, pattern) for name in names):
            problems.append(Problem(pattern, "required payload file is not in the bag", expected=label))
    allowed = data.get("Payload-Files-Allowed")
    if allowed is not None:
        for name in names:
            if not any(fnmatch.fnmatch(name, pattern) for pattern in allowed):
                problems.append(Problem(name, "payload file not listed in Payload-Files-Allowed",
                                        expected=label))
    if data.get("Data-Empty") is True and (
        len(payload) > 1 or (len(payload) == 1 and payload[0][1] != 0)
    ):
        problems.append(Problem("data/", "the profile requires an empty payload (Data-Empty: true)",
                                found=f"{len(payload)} files", expected=label))
    if data.get("Fetch.txt-Required") is True and not (bag_path / "fetch.txt").is_file():
        problems.append(Problem("fetch.txt", "required by the profile (Fetch.txt-Required) but absent",
                                expected=label))
    return problems


def _clean(message: str, bag: str) -> str:
    """Drop the package's ``<bag>: `` prefix and its hint about a Python argument."""
    if bag and message.startswith(f"{bag}: "):
        message = message[len(bag) + 2 :]
    hint = " Set 'ignore_baginfo_tag_case' to True if you wish to ignore tag case."
    return message.replace(hint, "").strip()


def _location(message: str) -> str:
    lowered = message.lower()
    if "bag-info" in lowered or "profile-identifier" in lowered:
        return "bag-info.txt"
    if "fetch.txt" in lowered:
        return "fetch.txt"
    if "tag manifest" in lowered:
        return "tag manifests"
    if "manifest" in lowered:
        return "manifests"
    if "version" in lowered:
        return "bagit.txt"
    if "tag file" in lowered:
        return "tag files"
    return "bag"


def declared_profile(bag_dir: str | os.PathLike[str]) -> str | None:
    """The BagIt-Profile-Identifier a bag declares in bag-info.txt, if any."""
    return first_value(read_bag_info(Path(bag_dir)), PROFILE_TAG)
