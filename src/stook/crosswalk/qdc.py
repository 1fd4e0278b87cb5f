"""Qualified Dublin Core: dc and dcterms elements under any wrapper element.

Repositories wrap qualified DC in elements of their own (DSpace's
``qdc:qualifieddc``, ``dcterms:...`` under a ``metadata`` root, ...), so it is
recognised by its content: a root whose children are Dublin Core elements, at least
one of them from the dcterms namespace. The crosswalk is :mod:`stook.crosswalk.dc`'s,
with dcterms refinements kept under the element they refine; anything else under
the root is kept in ``extensions["qdc:other-elements"]``.
"""

from __future__ import annotations

from typing import Any

from stook.crosswalk.common import (
    child_elements,
    local,
)
from stook.xmlns import NS_DC, NS_DCTERMS

#: Wrapper namespaces known to hold qualified DC.
QDC_NAMESPACES = (
    "http://dspace.org/qualifieddc/",
    "http://epubs.cclrc.ac.uk/xmlns/qdc/",
    "http://www.openarchives.org/OAI/2.0/qdc/",
    "http://purl.org/dc/qualifieddc/",
    NS_DCTERMS,
)


def is_qualified_dc(root: Any) -> bool:
    """True for a root holding Dublin Core with dcterms elements (see the module docstring)."""
    ns, _name = local(root.tag)
    children = child_elements(root)
    if not children:
        return False
    spaces = [local(c.tag)[0] for c in children]
    dublin = sum(1 for s in spaces if s in (NS_DC, NS_DCTERMS))
    if ns in QDC_NAMESPACES:
        return dublin > 0
    return NS_DCTERMS in spaces and dublin * 2 > len(children)
