"""Identifiers as written -> ``{"scheme", "value"}``, checked where a scheme has a check digit.

DOIs in every spelling (``10.1234/x``, ``doi:``, ``info:doi/``, ``https://doi.org/``,
``dx.doi.org``) become the bare DOI; handles lose their resolver and any query
string (``?locatt=...`` is not part of the handle); ISBN-10/13, ISSN and ORCID are
recognised only with a valid check digit; arXiv and PubMed ids by their prefix or
resolver. A link to the resource is kept beside each (the URL as written, or the
resolver URL of a DOI or handle) for ``--fetch-files``.
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import unquote

from stook.crosswalk.common import clean

_DOI = r"(10\.\d{4,9}/\S+)"
_DOI_FORMS = re.compile(
    rf"^(?:https?://(?:dx\.|www\.)?doi\.org/|doi:\s*|doi\s+|info:doi/){_DOI}$|^{_DOI}$", re.IGNORECASE
)
_HANDLE_URL = re.compile(r"^https?://hdl\.handle\.net/(?:api/handles/)?([^?#\s]+)", re.IGNORECASE)
_HANDLE_PREFIXED = re.compile(r"^(?:hdl:|info:hdl/)\s*(\S+)$", re.IGNORECASE)
_ARK = re.compile(r"^(?:https?://[^/\s]+/)?(ark:/?\d{5,}/[^?#\s]+)", re.IGNORECASE)
_ISBN_LABELLED = re.compile(
    r"^isbn(?:-1[03])?[:\s]*([0-9][0-9\- ]{8,16}[0-9Xx])(?:\s*\(.*\))?$", re.IGNORECASE
)
_ISBN_BARE = re.compile(r"^([0-9][0-9\- ]{8,16}[0-9Xx])(?:\s*\(.*\))?$")
_ISSN = re.compile(r"^(?:e?issn(?:-l)?[:\s]*)?([0-9]{4}-?[0-9]{3}[0-9Xx])$", re.IGNORECASE)
_ORCID = re.compile(
    r"^(?:https?://(?:www\.)?orcid\.org/|orcid:\s*|orcid\s+)?(\d{4}-\d{4}-\d{4}-\d{3}[\dX])/?$", re.IGNORECASE
)
_ARXIV = re.compile(
    r"^(?:arxiv:\s*|https?://(?:www\.|export\.)?arxiv\.org/(?:abs|pdf)/)"
    r"(\d{4}\.\d{4,5}(?:v\d+)?|[a-z][a-z.-]*(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?)(?:\.pdf)?$",
    re.IGNORECASE,
)
_PMID = re.compile(
    r"^(?:pmid:?\s*|pubmed:?\s*|https?://(?:pubmed\.ncbi\.nlm\.nih\.gov/|www\.ncbi\.nlm\.nih\.gov/pubmed/))"
    r"(\d{1,9})/?$",
    re.IGNORECASE,
)
_URL = re.compile(r"^(?:https?|ftp)://\S+$", re.IGNORECASE)

#: Identifier type names used by MODS, MARC ``$2`` and DataCite -> stook schemes.
TYPE_SCHEMES: dict[str, str] = {
    "doi": "doi", "hdl": "handle", "handle": "handle", "ark": "ark", "isbn": "isbn", "issn": "issn",
    "eissn": "issn", "issn-l": "issn", "uri": "url", "url": "url", "purl": "url", "urn": "urn",
    "orcid": "orcid", "arxiv": "arxiv", "pmid": "pmid", "isni": "isni", "ror": "ror", "local": "local",
}


def isbn_valid(digits: str) -> bool:
    """True for a 10- or 13-character ISBN (digits, final X allowed in ISBN-10) with a valid check digit."""
    if len(digits) == 10 and re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if ch == "X" else int(ch)) for i, ch in enumerate(digits))
        return total % 11 == 0
    if len(digits) == 13 and digits.isdigit() and digits.startswith(("978", "979")):
        total = sum(int(ch) * (1 if i % 2 == 0 else 3) for i, ch in enumerate(digits))
        return total % 10 == 0
    return False


def issn_valid(value: str) -> bool:
    digits = value.replace("-", "").upper()
    if not re.fullmatch(r"\d{7}[\dX]", digits):
        return False
    total = sum((8 - i) * int(ch) for i, ch in enumerate(digits[:7]))
    check = (11 - total % 11) % 11
    return digits[7] == ("X" if check == 10 else str(check))


def orcid_valid(value: str) -> bool:
    """ISO 7064 MOD 11-2, the ORCID (and ISNI) check character."""
    digits = value.replace("-", "").upper()
    if not re.fullmatch(r"\d{15}[\dX]", digits):
        return False
    total = 0
    for ch in digits[:15]:
        total = (total + int(ch)) * 2
    result = (12 - total % 11) % 11
    return digits[15] == ("X" if result == 10 else str(result))


def _isbn(candidate: str) -> str | None:
    digits = candidate.replace("-", "").replace(" ", "").upper()
    return digits if isbn_valid(digits) else None


@lru_cache(maxsize=16384)
def _classify(text: str) -> tuple[str, str, str | None] | None:  # noqa: C901 - one branch per scheme
    """(scheme, value, link) of one identifier as written (whitespace already collapsed)."""
    url = bool(_URL.match(text))
    if m := _DOI_FORMS.match(text) or ("%" in text and _DOI_FORMS.match(unquote(text))):
        doi = m.group(1) or m.group(2)
        return "doi", doi, "https://doi.org/" + doi
    if m := _HANDLE_URL.match(text):
        return "handle", unquote(m.group(1)).rstrip("/"), text
    if m := _HANDLE_PREFIXED.match(text):
        handle = m.group(1).split("?")[0]
        return "handle", handle, "https://hdl.handle.net/" + handle
    if (m := _ORCID.match(text)) and orcid_valid(m.group(1)):
        return "orcid", m.group(1).upper(), "https://orcid.org/" + m.group(1).upper()
    if m := _ARXIV.match(text):
        return "arxiv", m.group(1), text if url else "https://arxiv.org/abs/" + m.group(1)
    if m := _PMID.match(text):
        return "pmid", m.group(1), text if url else None
    if m := _ARK.match(text):
        ark = m.group(1).rstrip("/")
        ark = ark if ark.lower().startswith("ark:/") else "ark:/" + ark[4:]
        return "ark", ark, text if url else None
    if m := _ISBN_LABELLED.match(text):
        isbn = _isbn(m.group(1))
        return ("isbn", isbn, None) if isbn else ("local", text, None)
    if m := _ISSN.match(text):
        found = m.group(1).upper()
        found = found if "-" in found else f"{found[:4]}-{found[4:]}"
        if issn_valid(found):
            return "issn", found, None
        if text.lower().startswith(("issn", "eissn")):
            return "local", text, None
    if m := _ISBN_BARE.match(text):
        isbn = _isbn(m.group(1))
        if isbn:
            return "isbn", isbn, None
    lowered = text.lower()
    if lowered.startswith("urn:"):
        return "urn", text, None
    if lowered.startswith("oai:"):
        return "oai", text, None
    if url:
        return "url", text, text
    return "local", text, None


def parse_identifier(value: str) -> tuple[dict[str, str], str | None] | None:
    """(identifiers entry, link or None) for an identifier as written, or None when empty."""
    text = clean(value)
    if not text:
        return None
    found = _classify(text)
    if found is None:
        return None
    scheme, normalized, link = found
    if link is not None and not link.lower().startswith(("http://", "https://")):
        link = None
    return {"scheme": scheme, "value": normalized}, link


def identifier_with_scheme(value: str) -> dict[str, str] | None:
    """``{"scheme", "value"}`` for one identifier as written."""
    parsed = parse_identifier(value)
    return parsed[0] if parsed else None


def scheme_for_type(type_name: str | None) -> str | None:
    """The stook scheme a source's identifier type names (``hdl`` -> handle), or None."""
    return TYPE_SCHEMES.get((type_name or "").strip().casefold())


def typed_identifier(type_name: str | None, value: str) -> tuple[dict[str, str], str | None] | None:
    """An identifier whose source names its type (MODS ``type``, MARC ``$2``, DataCite attributes).

    A known type is checked: an ISBN with a bad check digit stays ``local`` (the
    caller can compare with :func:`scheme_for_type` to say so); an unknown type
    becomes a private scheme (``lccn`` -> ``x-lccn``).
    """
    parsed = parse_identifier(value)
    if parsed is None:
        return None
    entry, link = parsed
    text = clean(value)
    generic = entry["scheme"] in ("local", "url", "urn")
    wanted = scheme_for_type(type_name)
    if wanted is None:
        slug = re.sub(r"[^a-z0-9]+", "-", (type_name or "").strip().casefold()).strip("-")
        if slug and generic and slug[0].isalpha():
            return {"scheme": f"x-{slug}", "value": text}, link
        return parsed
    if wanted == entry["scheme"] or not generic:
        return parsed
    if wanted in ("doi", "handle"):
        return typed_prefixed(wanted, text) or parsed
    if wanted in ("isni", "ror"):
        return _name_identifier(wanted, text) or parsed
    if wanted in ("url", "urn", "local"):
        return {"scheme": wanted, "value": text}, link
    return parsed


def _name_identifier(scheme: str, text: str) -> tuple[dict[str, str], str | None] | None:
    if scheme == "isni":
        digits = re.sub(r"[^0-9X]", "", text.upper().rsplit("/", 1)[-1])
        if orcid_valid(digits):
            return {"scheme": "isni", "value": digits}, "https://isni.org/isni/" + digits
        return None
    m = re.fullmatch(r"(?:https?://ror\.org/)?(0[a-z0-9]{6}\d{2})", text, re.IGNORECASE)
    if m:
        url = "https://ror.org/" + m.group(1).lower()
        return {"scheme": "ror", "value": url}, url
    return None


def typed_prefixed(scheme: str, value: str) -> tuple[dict[str, str], str | None] | None:
    """A DOI or handle given without any prefix (``2027/mdp.39015``) where the source says which."""
    text = clean(value)
    found = _classify(text) if text else None
    if found is not None and found[0] == scheme:
        return {"scheme": scheme, "value": found[1]}, found[2]
    if scheme == "handle" and re.fullmatch(r"[^/\s]+/\S+", text):
        handle = text.split("?")[0]
        return {"scheme": "handle", "value": handle}, "https://hdl.handle.net/" + handle
    if scheme == "doi" and re.fullmatch(_DOI, text):
        return {"scheme": "doi", "value": text}, "https://doi.org/" + text
    return None


def is_identifier_like(value: str) -> bool:
    """True for a value that is an identifier (URI, DOI, handle, ARK, URN) rather than a name."""
    text = clean(value)
    if not text or " " in text:
        return False
    scheme = _classify(text)
    if scheme is None:
        return False
    return scheme[0] not in ("local",) or text.lower().startswith(("info:", "ark:", "urn:"))
