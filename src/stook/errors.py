"""One exception hierarchy for the whole toolkit.

Every error names the thing it is about (file, record id, bag, URL), says what is
wrong and, where it can, what to do. The CLI prints ``str(error)`` on one line and
exits with ``error.exit_code``: 1 when the input was checked and found bad, 2 for
usage or environment problems.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


class StookError(Exception):
    """Base of every error stook raises on purpose."""

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        record_id: str | None = None,
        url: str | None = None,
        hint: str | None = None,
        option: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = str(path) if path is not None else None
        self.record_id = record_id
        self.url = url
        self.hint = hint
        # The library parameter the error is about (``max_bytes``); the command line
        # names its own flag for it. Library messages never name command-line flags.
        self.option = option

    def __str__(self) -> str:
        text = self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return text

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": type(self).__name__, "message": self.message}
        for key in ("path", "record_id", "url", "hint", "option"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        return data


class UsageError(StookError):
    """The command was called in a way that cannot work."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where, what was found, what was expected."""

    location: str
    message: str
    found: Any = None
    expected: str | None = None
    option: str | None = None  # the parameter that would change the outcome (see StookError)

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"location": self.location, "message": self.message}
        if self.found is not None:
            data["found"] = self.found
        if self.expected is not None:
            data["expected"] = self.expected
        if self.option is not None:
            data["option"] = self.option
        return data


class RecordError(StookError):
    """A record file cannot be read or parsed."""


class RecordParseError(RecordError):
    """A record file breaks the JSON-subset rules or its syntax; ``line`` and ``location`` say where."""

    def __init__(self, message: str, *, line: int | None = None, location: str | None = None,
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.line = line
        self.location = location

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.line is not None:
            data["line"] = self.line
        if self.location is not None:
            data["location"] = self.location
        return data


class RecordInvalid(StookError):
    """A record does not satisfy the record schema; ``problems`` lists every error."""

    exit_code = 1

    def __init__(
        self,
        message: str,
        problems: list[Problem] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.problems: list[Problem] = list(problems or [])

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["problems"] = [p.to_dict() for p in self.problems]
        return data


class ContentError(StookError):
    """A text or attachment to be bagged is missing, unreadable or not UTF-8."""


class ContentMismatch(ContentError):
    """Files differ from the sizes or digests their record declares; ``problems`` lists each."""

    exit_code = 1

    def __init__(self, message: str, problems: list[Problem] | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.problems: list[Problem] = list(problems or [])

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["problems"] = [p.to_dict() for p in self.problems]
        return data


class FilesDropped(StookError):
    """A new version would leave out payload files the previous version had.

    ``missing`` holds their paths under the bag (``data/...``); ``previous`` the
    previous version's bag path in the store.
    """

    exit_code = 1

    def __init__(self, message: str, *, missing: list[str], previous: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.missing = list(missing)
        self.previous = previous

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["missing"] = self.missing
        data["previous"] = self.previous
        return data


class StoreError(StookError):
    """The bag store is missing, not a stook store, locked or damaged."""


class LedgerError(StoreError):
    """The SQLite ledger cannot be opened, migrated or written."""


class LedgerDamaged(LedgerError):
    """The ledger file is corrupt (or not an SQLite database at all)."""


class LedgerOutOfStep(LedgerError):
    """The ledger is missing, empty or older than the bags in the store: it must be rebuilt
    before anything trusts it (an empty ledger would say the store holds nothing)."""


class ReadOnlyStore(StoreError):
    """The store (or its ledger) cannot be written: a read-only filesystem or no permission."""


class NoSpace(StoreError):
    """The filesystem holding the store is full; ``needed`` bytes, when known, is what the
    step wanted to write."""

    def __init__(self, message: str, *, needed: int | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.needed = needed

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.needed is not None:
            data["needed"] = self.needed
        return data


class ProvenanceConflict(StoreError):
    """A record would be changed by a source other than the one that supplied it."""

    exit_code = 1

    def __init__(self, message: str, *, owner: str, source: str, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.owner = owner
        self.source = source

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["owner"] = self.owner
        data["source"] = self.source
        return data


class VersionCollision(StoreError):
    """A version directory the ledger does not know is already on disk where a new version
    would go: it is never reused, overwritten or adopted."""


class BagError(StookError):
    """A bag cannot be written."""


class NotABag(StookError):
    """A path is not a bag at all, or cannot be read."""


class BagInvalid(StookError):
    """A bag was checked and found invalid."""

    exit_code = 1


class HarvestError(StookError):
    """Harvesting from an OAI-PMH endpoint failed."""

    def __init__(
        self,
        message: str,
        *,
        oai_code: str | None = None,
        http_status: int | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(message, **kwargs)
        self.oai_code = oai_code
        self.http_status = http_status

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        if self.oai_code:
            data["oai_code"] = self.oai_code
        if self.http_status is not None:
            data["http_status"] = self.http_status
        return data


class TransferError(StookError):
    """An export or a receive could not be done safely."""

    exit_code = 1


class CrosswalkError(StookError, ValueError):
    """Harvested metadata cannot be read as a record at all (the record is quarantined)."""

    exit_code = 1
