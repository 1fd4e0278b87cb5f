"""What a crosswalk did not map, kept in the record so nothing of the source is lost.

A crosswalk of MODS, MARCXML or DataCite reads elements and attributes through a
:class:`Tracker`, which remembers each one it used. Whatever is left (an element's
text, an attribute) is listed under ``extensions["<format>:unmapped"]``, one entry
per element: ``{"path", "value", "attributes"}``. The raw XML is in the bag as well;
this keeps the same information searchable in ``record.json``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stook.crosswalk.common import attribute_name, child_elements, clean, local, text_of

#: Attributes that describe the XML, not the record.
_IGNORED = frozenset({"xsi:schemaLocation", "xsi:noNamespaceSchemaLocation"})

PathOf = Callable[[Any, list[Any]], str]


def xml_path(element: Any, ancestors: list[Any]) -> str:
    """``titleInfo/title``: local names from below the metadata root down to ``element``
    (the root itself by its own name)."""
    return "/".join(local(e.tag)[1] for e in [*ancestors[1:], element])


class Tracker:
    """Reads a metadata tree and remembers which texts and attributes were used."""

    def __init__(self, *, ignore: frozenset[str] = frozenset(), ignore_blank: bool = False) -> None:
        """``ignore``: attribute names never reported (MARC's ``tag``, said by the path);
        ``ignore_blank``: leave out attributes whose value is blank (MARC indicators)."""
        self._ignore = _IGNORED | ignore
        self._ignore_blank = ignore_blank
        self._text: set[Any] = set()
        self._subtrees: set[Any] = set()
        self._attrs: dict[Any, set[str]] = {}

    def text(self, element: Any | None) -> str:
        """The element's whole text (children included), marked as used."""
        if element is None:
            return ""
        self.subtree(element, attributes=False)
        return text_of(element)

    def own(self, element: Any | None) -> str:
        """Only the element's own text (not its children's), marked as used."""
        if element is None:
            return ""
        self._text.add(element)
        return (element.text or "") + "".join(c.tail or "" for c in element)

    def attr(self, element: Any | None, name: str) -> str | None:
        """An attribute by Clark name (``{ns}name`` or ``name``), marked as used."""
        if element is None:
            return None
        value = element.get(name)
        if value is None:
            return None
        self._attrs.setdefault(element, set()).add(attribute_name(name))
        return str(value)

    def lang(self, element: Any | None) -> str | None:
        """``xml:lang`` (or a plain ``lang`` attribute), marked as used."""
        value = self.attr(element, "{http://www.w3.org/XML/1998/namespace}lang")
        return value if value is not None else self.attr(element, "lang")

    def subtree(self, element: Any, *, attributes: bool = True) -> None:
        """Mark an element and all it holds as used (its attributes too, unless told)."""
        for node in element.iter():
            if isinstance(node.tag, str):
                self._text.add(node)
                if attributes or node is not element:
                    self._attrs.setdefault(node, set()).update(attribute_name(k) for k in node.attrib)
        if attributes:
            self._subtrees.add(element)

    def used(self, element: Any) -> None:
        """Mark an element's own text and all its attributes as used."""
        self._text.add(element)
        self._attrs.setdefault(element, set()).update(attribute_name(k) for k in element.attrib)

    def leftovers(self, root: Any, path_of: PathOf = xml_path) -> list[dict[str, Any]]:
        """Every element with text or attributes not used, in document order.

        Iterative, so a tree nested thousands of levels deep is walked like any other.
        """
        out: list[dict[str, Any]] = []
        stack: list[tuple[Any, list[Any]]] = [(root, [])]
        while stack:
            element, ancestors = stack.pop()
            if element in self._subtrees:
                continue
            entry = self._entry(element)
            if entry:
                out.append({"path": path_of(element, ancestors), **entry})
            below = [*ancestors, element]
            stack.extend((child, below) for child in reversed(child_elements(element)))
        return out

    def _entry(self, element: Any) -> dict[str, Any]:
        entry: dict[str, Any] = {}
        if element not in self._text:
            own = clean((element.text or "") + "".join(c.tail or "" for c in element))
            if own:
                entry["value"] = own
        used = self._attrs.get(element, set())
        attributes = {
            attribute_name(k): v for k, v in element.attrib.items()
            if attribute_name(k) not in used and attribute_name(k) not in self._ignore
            and not (self._ignore_blank and not v.strip())
        }
        if attributes:
            entry["attributes"] = attributes
        return entry
