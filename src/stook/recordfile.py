"""Reading record files: JSON, and YAML read as the JSON subset, in bounded time and memory.

A record is JSON (``data/record.json``), so a record file may hold only what JSON can:
mappings with text keys, lists, text, finite numbers, true, false and null. YAML's
extras are refused rather than guessed at: explicit tags (``!!binary``, ``!!set``,
``!!python/...``), aliases (the billion-laughs file is refused at its first ``*``),
merge keys, keys that are not text, NaN and infinities. A plain YAML scalar becomes a
number only when it is written as a JSON number; anything else stays the text as
written (``1961-04-26``, ``0104``, ``10:30``, ``no``). A key given twice is an error in
YAML and JSON alike. Files, nesting and value counts are bounded, so a hostile file
costs little before it is refused; every refusal names the file, line and JSON path.
"""

from __future__ import annotations

import json
import math
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

from stook.errors import RecordError, RecordParseError

RECORD_SUFFIXES = {".yaml", ".yml", ".json"}
MAX_RECORD_BYTES = 8 * 1024 * 1024  # a record of one document; long texts go in text files
MAX_DEPTH = 64  # the schema needs five levels; dc and extensions a few more
MAX_VALUES = 100_000  # values (scalars, lists and mappings) in one record

# Plain YAML scalars that are not text: only the JSON forms (and YAML's null spellings).
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TRUE = re.compile(r"^(?:true|True|TRUE)$")
_FALSE = re.compile(r"^(?:false|False|FALSE)$")
_INT = re.compile(r"^-?(?:0|[1-9][0-9]*)$")
_FLOAT = re.compile(r"^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+(?:[eE][-+]?[0-9]+)?|[eE][-+]?[0-9]+)$")
_NON_FINITE = re.compile(r"^[-+]?\.(?:inf|Inf|INF|nan|NaN|NAN)$")
_SURROGATE = re.compile("[\ud800-\udfff]")
_PATH_SPECIAL = re.compile(r"[.\[\]'\" ]")
_SURROGATE_REASON = "a \\u escape for a lone surrogate: not a character, cannot be written as UTF-8"
_NON_FINITE_REASON = "is not a JSON number (NaN and infinities are not allowed)"
_TAG_HINT = (
    "records are JSON, so YAML tags (!!binary, !!set, !!timestamp, !!python/..., custom tags)"
    " are refused; write the value plainly, or in quotes to keep it as text"
)


def read_record_file(path: Path, *, max_bytes: int = MAX_RECORD_BYTES) -> dict[str, Any]:
    """Read a record file (.yaml, .yml or .json) without validating it against the schema."""
    suffix = path.suffix.lower()
    if suffix not in RECORD_SUFFIXES:
        raise RecordError(
            f"{path}: unknown record file type {suffix or '(none)'!r}; use .yaml, .yml or .json",
            path=path,
        )
    try:
        if not stat.S_ISREG(path.stat().st_mode) and not path.is_dir():  # a FIFO or device never ends
            raise RecordError(f"{path}: not a regular file; give the record as a file", path=path)
        with open(path, "rb") as handle:
            raw = handle.read(max_bytes + 1)
    except FileNotFoundError as exc:
        raise RecordError(f"{path}: record file not found", path=path) from exc
    except IsADirectoryError as exc:
        raise RecordError(f"{path}: is a directory, not a record file", path=path) from exc
    except OSError as exc:
        raise RecordError(f"{path}: cannot read record file: {exc.strerror}", path=path) from exc
    if len(raw) > max_bytes:
        raise RecordError(
            f"{path}: record file is larger than {max_bytes:,} bytes, the most a record file may"
            " hold; keep long texts in text files listed in the record's content",
            path=path,
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise RecordParseError(
            f"{path}: record file is not UTF-8 (byte {raw[exc.start]:#04x} at offset {exc.start},"
            f" line {line}); save it as UTF-8",
            path=path,
            line=line,
        ) from exc
    return parse_record_text(text, source=str(path), suffix=suffix)


def parse_record_text(text: str, *, source: str, suffix: str) -> dict[str, Any]:
    """Parse YAML or JSON text into a record dict; ``source`` names it in errors."""
    data = _parse_json(text, source) if suffix == ".json" else _parse_yaml(text, source)
    if not isinstance(data, dict):
        found = "nothing" if data is None else type(data).__name__
        raise RecordError(
            f"{source}: a record must be a mapping of fields (identifier, title, ...), found {found}",
            path=source,
        )
    return data


def check_record_value(record: Any, *, source: str) -> None:
    """Refuse a record built in Python that JSON cannot hold as it is (a web form, a script).

    Text keys only; str, int, finite float, bool, None, list and dict values only;
    bounded nesting and size; no lone surrogates (they cannot be written as UTF-8).
    """
    problem = _first_value_problem(record)
    if problem is not None:
        _code, location, message = problem
        raise RecordParseError(f"{source}: {_short(location)}: {message}", path=source, location=location)


# --- YAML ---------------------------------------------------------------------------


def _parse_yaml(text: str, source: str) -> Any:
    import yaml  # only YAML files need it

    loader = getattr(yaml, "CSafeLoader", None) or yaml.SafeLoader  # the parser alone is used
    builder = _Builder(source)
    try:
        for event in yaml.parse(text, Loader=loader):
            builder.feed(event)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        where = f" at line {line}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise RecordParseError(
            f"{source}: not valid YAML{where}: {problem}", path=source, line=line
        ) from exc
    return builder.result


def _plain_value(value: str) -> Any:
    """What a plain (unquoted, untagged) YAML scalar means in the JSON subset."""
    if _NULL.match(value):
        return None
    if _TRUE.match(value):
        return True
    if _FALSE.match(value):
        return False
    if _INT.match(value):
        return int(value)  # ValueError past Python's digit limit: reported by the caller
    if _FLOAT.match(value):
        return float(value)
    return value


class _Frame:
    """An open YAML mapping or sequence while its events arrive."""

    __slots__ = ("value", "key", "key_lines", "child")

    def __init__(self, value: dict[str, Any] | list[Any]) -> None:
        self.value = value
        self.key: str | None = None  # a mapping's key waiting for its value
        self.key_lines: dict[str, int] = {}
        self.child: str | int = 0  # where the open mapping or list inside this one sits


class _Builder:
    """Builds the record from parser events, so no node graph is kept and nothing recurses."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.stack: list[_Frame] = []
        self.result: Any = None
        self.documents = 0
        self.values = 0

    def feed(self, event: Any) -> None:
        import yaml

        line = event.start_mark.line + 1 if event.start_mark is not None else None
        if isinstance(event, yaml.AliasEvent):
            self.refuse(
                line,
                f"the alias *{event.anchor} is not allowed: records are JSON, so anchors and"
                " aliases are refused; write the value out in full",
            )
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                self.refuse(line, "a second YAML document (---): a record file holds one record")
            return
        if not isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent, yaml.CollectionEndEvent)):
            return
        if isinstance(event, yaml.CollectionEndEvent):
            self.stack.pop()
            return
        if event.tag is not None:
            tag = event.tag.replace("tag:yaml.org,2002:", "!!", 1)  # as it was written
            self.refuse(line, f"the tag {tag} is not allowed: {_TAG_HINT}")
        self.values += 1
        if self.values > MAX_VALUES:
            self.refuse(line, f"more than {MAX_VALUES:,} values: too many for one record")
        if isinstance(event, yaml.ScalarEvent):
            self.scalar(event, line)
            return
        if len(self.stack) >= MAX_DEPTH:
            self.refuse(line, f"nested deeper than {MAX_DEPTH} levels: too deep for a record")
        container: dict[str, Any] | list[Any] = {} if isinstance(event, yaml.MappingStartEvent) else []
        self.place(container, line)
        self.stack.append(_Frame(container))

    def scalar(self, event: Any, line: int | None) -> None:
        text: str = event.value
        if _SURROGATE.search(text):
            self.refuse(line, _SURROGATE_REASON)
        if not event.implicit[0]:  # quoted or block scalar: text
            self.place(text, line)
            return
        if _NON_FINITE.match(text):
            self.refuse(
                line,
                f"{text} {_NON_FINITE_REASON}; quote it to keep it as text",
            )
        try:
            value = _plain_value(text)
        except ValueError:
            self.refuse(line, f"a number with {len(text):,} digits is too long; quote it to keep it as text")
        if text == "<<" and self.expects_key():
            self.refuse(line, "merge keys (<<) are not allowed: records are JSON; write the fields out")
        self.place(value, line)

    def expects_key(self) -> bool:
        frame = self.stack[-1] if self.stack else None
        return frame is not None and isinstance(frame.value, dict) and frame.key is None

    def place(self, value: Any, line: int | None) -> None:
        if not self.stack:
            self.result = value
            return
        frame = self.stack[-1]
        if isinstance(frame.value, list):
            frame.child = len(frame.value)
            frame.value.append(value)
            return
        if frame.key is None:  # this value is a key
            if not isinstance(value, str):
                kind = _kind(value)
                shown = "" if isinstance(value, (dict, list)) else f" {_yaml_text(value)}"
                self.refuse(line, f"the key{shown} is {kind}: keys must be text; quote it")
            first = frame.key_lines.get(value)
            if first is not None:
                self.refuse(
                    line,
                    f"the key {value!r} is given twice (lines {first} and {line}); keep one",
                    key=value,
                )
            frame.key_lines[value] = line or 0
            frame.key = value
            return
        frame.value[frame.key] = value
        frame.child = frame.key
        frame.key = None

    def refuse(self, line: int | None, message: str, *, key: str | None = None) -> NoReturn:
        location = self.location(key)
        where = f"line {line}, " if line is not None else ""
        raise RecordParseError(
            f"{self.source}: {where}{_short(location)}: {message}",
            path=self.source,
            line=line,
            location=location,
        )

    def location(self, key: str | None = None) -> str:
        parts: list[str | int] = [frame.child for frame in self.stack[:-1]]
        if self.stack:
            last = self.stack[-1]
            if isinstance(last.value, list):
                parts.append(len(last.value))
            elif last.key is not None:
                parts.append(last.key)
        if key is not None:
            parts.append(key)
        return json_path(parts)


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return f"a {type(value).__name__}"


def _yaml_text(value: Any) -> str:
    return "null" if value is None else json.dumps(value)


def _short(location: str) -> str:
    """A path fit for a one-line message (the error's ``location`` keeps it whole)."""
    return location if len(location) <= 100 else f"{location[:60]}...{location[-30:]}"


def json_path(parts: list[str | int]) -> str:
    """``$.dates[0].value``, as the schema's errors name places."""
    path = "$"
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif part and part.isprintable() and not _SURROGATE.search(part) and not _PATH_SPECIAL.search(part):
            path += f".{part}"
        else:  # quoted, with escapes, so the path stays one printable line
            plain = part.isprintable() and not _SURROGATE.search(part)
            path += f"[{json.dumps(part, ensure_ascii=not plain)}]"
    return path


# --- JSON ---------------------------------------------------------------------------


class _Refused(Exception):
    """A JSON value the record rules refuse, found while the json module parses."""

    def __init__(self, what: str, token: str = "") -> None:
        super().__init__(what)
        self.what = what
        self.token = token


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) != len(pairs):
        raise _Refused("duplicate")
    return result


def _constant(token: str) -> Any:
    raise _Refused("non-finite", token)


def _float(token: str) -> float:
    value = float(token)
    if not math.isfinite(value):
        raise _Refused("non-finite", token)
    return value


def _int(token: str) -> int:
    try:
        return int(token)
    except ValueError:  # more digits than Python converts
        raise _Refused("long-number", token) from None


def _parse_json(text: str, source: str) -> Any:
    try:
        data = json.loads(
            text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float, parse_int=_int
        )
    except json.JSONDecodeError as exc:
        raise RecordParseError(
            f"{source}: not valid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
            path=source,
            line=exc.lineno,
        ) from exc
    except _Refused as exc:
        raise _json_refusal(text, source, exc.what, exc.token) from None
    except RecursionError:
        raise _json_refusal(text, source, "deep") from None
    problem = _first_value_problem(data)
    if problem is not None:  # JSON gives only text keys and JSON values: too deep, too many or a surrogate
        raise _json_refusal(text, source, problem[0])
    return data


def _first_value_problem(value: Any) -> tuple[str, str, str] | None:
    """The first place where ``value`` leaves the JSON subset or its bounds: (code, path, reason)."""
    count = 0
    todo: list[tuple[Any, list[str | int]]] = [(value, [])]
    while todo:
        item, parts = todo.pop()
        count += 1
        if count > MAX_VALUES:
            return "values", json_path(parts), f"more than {MAX_VALUES:,} values: too many for one record"
        kind = type(item)
        if kind is str:
            if _SURROGATE.search(item):
                return "surrogate", json_path(parts), _SURROGATE_REASON
            continue
        if item is None or kind is bool or kind is int:
            continue
        if kind is float:
            if not math.isfinite(item):
                return "non-finite", json_path(parts), f"{item} {_NON_FINITE_REASON}"
            continue
        if kind is not dict and kind is not list:
            return "type", json_path(parts), f"a {kind.__name__} value: records hold only JSON values"
        if len(parts) >= MAX_DEPTH:
            return "deep", json_path(parts), f"nested deeper than {MAX_DEPTH} levels: too deep for a record"
        if kind is list:
            todo.extend((sub, [*parts, n]) for n, sub in reversed(list(enumerate(item))))
            continue
        for key in item:
            if type(key) is not str:
                return "key", json_path(parts), f"the key {key!r} is {_kind(key)}: keys must be text"
            if _SURROGATE.search(key):
                return "surrogate", json_path(parts), _SURROGATE_REASON
        todo.extend((item[key], [*parts, key]) for key in reversed(list(item)))
    return None


_JSON_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{}\[\],:]|[^\s{}\[\],:"]+')


def _json_events(text: str) -> Iterator[tuple[str, int, list[str | int], Any]]:
    """(kind, offset, path parts, detail) for each key, scalar and opening bracket, in text order.

    Only run after the json module refused something, to say where: it trusts the text
    to be JSON up to that point. ``detail`` is the depth of an opening bracket, the
    offset of an earlier equal key (or None), or a scalar's token.
    """
    stack: list[list[Any]] = []  # [bracket, key or index, {key: offset}]
    expect_key = False
    for match in _JSON_TOKEN.finditer(text):
        token, pos = match.group(), match.start()
        if token in ("{", "["):
            yield "open", pos, [f[1] for f in stack if f[1] is not None], len(stack) + 1
            stack.append([token, 0 if token == "[" else None, {}])
            expect_key = token == "{"
        elif token in ("}", "]"):
            if stack:
                stack.pop()
            expect_key = False
        elif token == ",":
            if stack and stack[-1][0] == "[":
                stack[-1][1] += 1
            expect_key = bool(stack) and stack[-1][0] == "{"
        elif token == ":":
            expect_key = False
        elif expect_key and token.startswith('"') and stack:
            key = json.loads(token)
            frame = stack[-1]
            frame[1] = key
            yield "key", pos, [f[1] for f in stack if f[1] is not None], frame[2].get(key)
            frame[2].setdefault(key, pos)
        else:
            yield "scalar", pos, [f[1] for f in stack if f[1] is not None], token


def _json_refusal(text: str, source: str, what: str, token: str = "") -> RecordParseError:
    """The error for a refused JSON record, with the line and path of the first offending place."""

    def line_of(pos: int) -> int:
        return text.count("\n", 0, pos) + 1

    count = 0
    for kind, pos, parts, detail in _json_events(text):
        count += kind != "key"
        message = None
        if what == "deep" and kind == "open" and detail > MAX_DEPTH:
            message = f"nested deeper than {MAX_DEPTH} levels: too deep for a record"
        elif what == "values" and count > MAX_VALUES and kind != "key":
            message = f"more than {MAX_VALUES:,} values: too many for one record"
        elif what == "duplicate" and kind == "key" and detail is not None:
            key = parts[-1]
            message = f"the key {key!r} is given twice (lines {line_of(detail)} and {line_of(pos)}); keep one"
        elif what == "surrogate" and _has_surrogate(kind, parts, detail):
            message = _SURROGATE_REASON
        elif what in ("non-finite", "long-number") and kind == "scalar" and detail == token:
            if what == "non-finite":
                message = f"{token} {_NON_FINITE_REASON}"
            else:
                message = f"a number with {len(token):,} digits is too long; write it as text"
        if message is not None:
            location = json_path(parts)
            line = line_of(pos)
            return RecordParseError(
                f"{source}: line {line}, {_short(location)}: {message}",
                path=source,
                line=line,
                location=location,
            )
    return RecordParseError(f"{source}: refused: {what}", path=source)  # pragma: no cover


def _has_surrogate(kind: str, parts: list[str | int], detail: Any) -> bool:
    if kind == "key":
        return isinstance(parts[-1], str) and bool(_SURROGATE.search(parts[-1]))
    if kind == "scalar" and detail.startswith('"'):
        return bool(_SURROGATE.search(json.loads(detail)))
    return False
