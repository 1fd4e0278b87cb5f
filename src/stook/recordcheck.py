"""What ``stook validate`` checks: a record file, and (unless asked not to) the files it lists.

The verdict matches what ``stook bag`` would do with the same file: exit 0 when it
would be bagged, 1 when the record or a file was checked and found wrong (schema
errors, a size or digest other than declared), 2 when something cannot be read
(the record file, a listed file, a text that is not UTF-8).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stook.errors import Problem, RecordError, RecordParseError
from stook.payloadcheck import check_content
from stook.recordfile import read_record_file
from stook.schema import validate_record


@dataclass
class RecordReport:
    """One record file's verdict, with every problem found."""

    file: str
    problems: list[Problem] = field(default_factory=list)
    exit_code: int = 0
    unreadable: bool = False  # the record file itself could not be read or parsed
    line: int | None = None  # where the record file could not be parsed, when known
    record_only: bool = False
    files_checked: int = 0

    @property
    def valid(self) -> bool:
        return self.exit_code == 0

    @property
    def checked(self) -> str:
        return "record only" if self.record_only else "record and files"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "file": self.file,
            "valid": self.valid,
            "checked": self.checked,
            "errors": [p.to_dict() for p in self.problems],
        }
        if not self.record_only:
            data["files_checked"] = self.files_checked
        if self.unreadable:
            data["unreadable"] = True
            if self.line is not None:
                data["errors"][0]["line"] = self.line
        return data


def check_record_file(path: Path, *, record_only: bool = False) -> RecordReport:
    """Check a record file against the schema and, unless ``record_only``, the files its
    ``content`` lists (found relative to the record file): present, UTF-8 texts, and
    equal to any size, sha512 or sha256 the record declares."""
    report = RecordReport(str(path), record_only=record_only)
    try:
        record = read_record_file(path)
    except RecordError as exc:
        location = exc.location if isinstance(exc, RecordParseError) and exc.location else "$"
        report.problems.append(Problem(location, exc.message))
        report.exit_code = exc.exit_code
        report.unreadable = True
        report.line = exc.line if isinstance(exc, RecordParseError) else None
        return report
    report.problems.extend(validate_record(record))
    if report.problems:
        report.exit_code = 1
    if record_only:
        return report
    content = check_content(record, path.parent)
    report.files_checked = content.files
    report.problems.extend(content.problems)
    if content.mismatches:
        report.exit_code = max(report.exit_code, 1)
    if content.unreadable:
        report.exit_code = 2
    return report
