"""When a description is the document's full text rather than an abstract.

Dublin Core has no element for a document's text, so repositories put it in
``dc:description``, beside abstracts that can themselves run to 3,400 characters in
several paragraphs. Length and a blank line alone do not tell them apart, so a
description is taken as the full text only on stronger evidence:

* it opens with a full-text heading on a line of its own (``Full text:``,
  ``Full text of the letter:``, ``Transcript:``, ``Transcription:``, ``Volltext:``,
  ``Texte intégral :``, ``Полный текст:``) and has at least
  ``marked_full_text_min_chars`` characters (default 1,000); or
* it has at least ``full_text_min_chars`` characters (default 8,000, well beyond
  any abstract) and more than one line.

The text goes to the bag's ``data/text.txt``; the description stays in the record
(and in ``dc``) all the same.
"""

from __future__ import annotations

import re

from stook.crosswalk.common import CrosswalkOptions

_HEADING = re.compile(
    r"^\s*(?:full[ -]?text|transcript|transcription|volltext|texte int[ée]gral|texto completo"
    r"|testo completo|полный текст|текст документа)\b[^\n]{0,80}:[ \t]*\r?\n",
    re.IGNORECASE,
)


def is_full_text(value: str, options: CrosswalkOptions | None = None) -> bool:
    """The documented full-text rule for one description (see the module docstring)."""
    options = options or CrosswalkOptions()
    length = len(value.strip())
    if _HEADING.match(value) and length >= options.marked_full_text_min_chars:
        return True
    return length >= options.full_text_min_chars and "\n" in value.strip()
