"""OAI-PMH 2.0 request checking and response writing, independent of where data comes from.

Requests are checked in the order the specification implies: the verb (badVerb),
then the arguments (badArgument: missing, illegal, repeated, empty, malformed dates,
mixed granularity, from after until, resumptionToken not exclusive). Responses are
written as UTF-8 text; values are escaped here, metadata fragments arrive
already serialized.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from xml.sax.saxutils import escape, quoteattr

from stook.oainames import has_xml_illegal, is_valid_oai_identifier, is_valid_set_spec
from stook.xmlns import NS_OAI, NS_XSI, OAI_SCHEMA

__all__ = [
    "OAI_NS",
    "GRANULARITY",
    "OAIError",
    "Request",
    "parse_request",
    "parse_window",
    "response",
]

OAI_NS = NS_OAI
XSI_NS = NS_XSI
GRANULARITY = "YYYY-MM-DDThh:mm:ssZ"

_LIST_ARGS = (frozenset({"metadataPrefix"}), frozenset({"from", "until", "set"}))
# verb -> (required, optional); "resumptionToken" is allowed (exclusively) where listed.
VERBS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "Identify": (frozenset(), frozenset()),
    "ListMetadataFormats": (frozenset(), frozenset({"identifier"})),
    "ListSets": (frozenset(), frozenset()),
    "GetRecord": (frozenset({"identifier", "metadataPrefix"}), frozenset()),
    "ListIdentifiers": _LIST_ARGS,
    "ListRecords": _LIST_ARGS,
}
RESUMABLE = frozenset({"ListSets", "ListIdentifiers", "ListRecords"})

_PREFIX_RE = re.compile(r"[A-Za-z0-9\-_.!~*'()]+")
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SECONDS_RE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class OAIError(Exception):
    """One or more OAI-PMH error conditions; answered in an OAI-PMH error response."""

    def __init__(self, code: str, message: str, *more: tuple[str, str]) -> None:
        super().__init__(f"{code}: {message}")
        self.errors: list[tuple[str, str]] = [(code, message), *more]

    @property
    def code(self) -> str:
        return self.errors[0][0]

    @property
    def echo_arguments(self) -> bool:
        """badVerb and badArgument answers carry the request element without attributes."""
        return not any(code in ("badVerb", "badArgument") for code, _ in self.errors)


@dataclass(frozen=True)
class Request:
    verb: str
    args: dict[str, str]


def parse_request(pairs: Sequence[tuple[str, str]]) -> Request:
    """Check verb and arguments; raise :class:`OAIError` (badVerb/badArgument) when wrong."""
    verbs = [value for key, value in pairs if key == "verb"]
    if not verbs:
        raise OAIError("badVerb", "the request has no verb argument; use one of " + ", ".join(VERBS))
    if len(verbs) > 1:
        raise OAIError("badVerb", "the verb argument is repeated; send exactly one verb")
    verb = verbs[0]
    if verb not in VERBS:
        shown = verb[:80]
        if has_xml_illegal(shown):
            shown = shown.encode("unicode_escape").decode("ascii")
        raise OAIError("badVerb", f"{shown!r} is not an OAI-PMH verb; use one of " + ", ".join(VERBS))
    required, optional = VERBS[verb]
    problems: list[str] = []
    args: dict[str, str] = {}
    seen: set[str] = set()
    for key, value in pairs:
        if key == "verb":
            continue
        allowed = key in required or key in optional or (key == "resumptionToken" and verb in RESUMABLE)
        if not allowed:
            shown = key if not has_xml_illegal(key) else key.encode("unicode_escape").decode()
            problems.append(f"{shown!r} is not an argument of {verb}")
            continue
        if key in seen:
            problems.append(f"the {key} argument is repeated; send it once")
            continue
        seen.add(key)
        if has_xml_illegal(value):
            problems.append(f"the {key} argument contains characters that XML cannot carry")
            continue
        if value == "":
            problems.append(f"the {key} argument is empty")
            continue
        args[key] = value
    if "resumptionToken" in seen:
        others = sorted(seen - {"resumptionToken"})
        if others:
            problems.append(
                "resumptionToken is an exclusive argument; send it without " + ", ".join(others)
            )
    else:
        for name in sorted(required - seen):
            problems.append(f"{verb} needs the {name} argument")
    if not problems:
        if "metadataPrefix" in args and not _PREFIX_RE.fullmatch(args["metadataPrefix"]):
            problems.append(f"{args['metadataPrefix']!r} is not a valid metadataPrefix")
        if "identifier" in args and not is_valid_oai_identifier(args["identifier"]):
            problems.append(f"{args['identifier']!r} is not a valid OAI identifier (it must be a URI)")
        if "set" in args and not is_valid_set_spec(args["set"]):
            problems.append(f"{args['set']!r} is not a valid setSpec (letters, digits, -_.!~*'() and ':')")
        if "from" in args or "until" in args:
            try:
                parse_window(args.get("from"), args.get("until"))
            except OAIError as exc:
                problems.extend(message for _code, message in exc.errors)
    if problems:
        raise OAIError("badArgument", problems[0], *(("badArgument", p) for p in problems[1:]))
    return Request(verb, args)


def _parse_date(name: str, value: str) -> tuple[datetime, str]:
    if _SECONDS_RE.fullmatch(value):
        fmt, granularity = "%Y-%m-%dT%H:%M:%SZ", "seconds"
    elif _DAY_RE.fullmatch(value):
        fmt, granularity = "%Y-%m-%d", "day"
    else:
        raise OAIError(
            "badArgument",
            f"{name}={value!r} is not a UTC datestamp; use YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ",
        )
    try:
        return datetime.strptime(value, fmt).replace(tzinfo=timezone.utc), granularity
    except ValueError as exc:
        raise OAIError("badArgument", f"{name}={value!r} is not a valid date ({exc})") from exc


def parse_window(from_arg: str | None, until_arg: str | None) -> tuple[str | None, str | None]:
    """The (inclusive lower, exclusive upper) ledger-time bounds of from/until, seconds precision."""
    lower = upper = None
    from_gran = until_gran = None
    start = end = None
    if from_arg is not None:
        start, from_gran = _parse_date("from", from_arg)
        lower = start.strftime("%Y-%m-%dT%H:%M:%S")
    if until_arg is not None:
        end, until_gran = _parse_date("until", until_arg)
        if until_gran == "day":
            end = end + timedelta(days=1) - timedelta(seconds=1)
    if from_gran and until_gran and from_gran != until_gran:
        raise OAIError("badArgument", "from and until have different granularities; use the same for both")
    if start is not None and end is not None and start > end:
        raise OAIError("badArgument", f"from ({from_arg}) is later than until ({until_arg})")
    if end is not None:
        try:
            upper = (end + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
        except OverflowError:
            upper = None
    return lower, upper


def utc_seconds(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def response(
    *,
    response_date: str,
    base_url: str,
    request: Request | None,
    body: Iterable[str],
) -> bytes:
    """A whole OAI-PMH response; ``request`` None writes the request element bare."""
    attrs = ""
    if request is not None:
        attrs = f" verb={quoteattr(request.verb)}" + "".join(
            f" {key}={quoteattr(value)}" for key, value in request.args.items()
        )
    head = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<OAI-PMH xmlns="{OAI_NS}" xmlns:xsi="{XSI_NS}" xsi:schemaLocation="{OAI_NS} {OAI_SCHEMA}">'
        f"<responseDate>{response_date}</responseDate>"
        f"<request{attrs}>{escape(base_url)}</request>"
    )
    return (head + "".join(body) + "</OAI-PMH>").encode("utf-8")


def error_body(error: OAIError) -> list[str]:
    return [f'<error code="{code}">{escape(message)}</error>' for code, message in error.errors]


def text(tag: str, value: str) -> str:
    return f"<{tag}>{escape(value)}</{tag}>"
