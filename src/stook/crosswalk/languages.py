"""Languages as canonical BCP 47 tags, through the maintained ``langcodes`` library.

Codes in any ISO 639 form (``eng``, ``ger``, ``deu``), deprecated tags (``iw``, ``mo``),
macrolanguage codes (``swa``) and odd case or underscores (``pt_br``) become the
canonical tag (``en``, ``de``, ``he``, ``ro``, ``sw``, ``pt-BR``). A language name
(``English``, ``Deutsch``, ``Русский``) becomes its code only when it is exactly a
name CLDR knows, never by a near match. Anything else (``GE``, ``xx``, ``zz-ZZ``,
free text) is not a language tag and is never stored as one.

``langcodes`` is imported on the first language looked up, and every answer is
cached: a harvest sees the same few dozen values again and again.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from stook.crosswalk.common import clean

# The shape of a tag worth asking langcodes about: a 2-3 letter primary subtag
# (longer ones are language names, not tags), or a grandfathered/private form.
_TAG_SHAPE = re.compile(r"^(?:[A-Za-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})*|[ix]-[A-Za-z0-9-]+)$")
_SPLIT = re.compile(r"\s*[;,]\s*")


@lru_cache(maxsize=8192)
def _canonical(text: str) -> str | None:
    import langcodes
    from langcodes.tag_parser import LanguageTagError

    if _TAG_SHAPE.match(text):
        try:
            language = langcodes.Language.get(text.replace("_", "-"))
        except (LanguageTagError, ValueError, KeyError):
            return None
        return language.to_tag() if language.is_valid() else None
    return _by_name(text)


@lru_cache(maxsize=1)
def _names() -> Any:
    """CLDR's language names in every language (language_data's trie, loaded once)."""
    from language_data.names import load_trie
    from language_data.util import data_filename

    return load_trie(data_filename("trie/und/name_to_language.marisa"))


def _by_name(text: str) -> str | None:
    """The code of a language *named* ``text`` in some language, exact matches only.

    langcodes' own ``find`` also accepts a name with extra words ("Klingon dialect
    of the south" -> tlh); a crosswalk must not guess, so only the exact name counts.
    """
    import langcodes
    from langcodes.tag_parser import LanguageTagError
    from language_data.names import get_trie_value, normalize_name

    key = normalize_name(text)
    names = _names()
    if key not in names:
        return None
    try:
        found = langcodes.Language.get(get_trie_value(names, key))
    except (LanguageTagError, ValueError, KeyError):
        return None
    return str(found.to_tag()) if found.is_valid() else None


def normalize_language(value: str) -> dict[str, str] | None:
    """A ``languages`` entry (BCP 47 ``code``, the text as written in ``label``) or None."""
    text = clean(value)
    if not text:
        return None
    code = _canonical(text)
    if code is None:
        return None
    entry = {"code": code}
    if text != code:
        entry["label"] = text
    return entry


def language_entries(value: str) -> tuple[list[dict[str, str]], list[str]]:
    """Every language in one source value, and the parts that are not languages.

    A value naming several languages (``eng; fre``, ``English, French``) gives one
    entry per language when every part is one; otherwise the whole value is tried.
    """
    text = clean(value)
    if not text:
        return [], []
    whole = normalize_language(text)
    if whole is not None:
        return [whole], []
    parts = [p for p in _SPLIT.split(text) if p]
    if len(parts) > 1:
        entries = [normalize_language(p) for p in parts]
        if all(e is not None for e in entries):
            return [e for e in entries if e is not None], []
    return [], [text]


def language_tag(value: str | None) -> str | None:
    """A valid BCP 47 tag from an ``xml:lang`` (or MODS ``lang``) value, or None."""
    if not value:
        return None
    entry = normalize_language(value)
    return entry["code"] if entry else None
