"""``stook serve``: the store published as an OAI-PMH 2.0 data provider.

``make_app(store)`` is a WSGI application (mount it in any WSGI server);
``serve(store, ...)`` runs it under waitress; ``serve_in_thread(store)`` starts it in
a background thread and returns ``(base_url, stop)``. The pieces: ``names``
(identifier and setSpec encodings), ``protocol`` (argument rules, response writing),
``stook.ledger.oai`` (read-only ledger queries), ``lists`` (the list verbs, paged),
``tokens`` (stateless resumption tokens), ``formats`` (oai_dc and the native
``stook`` format), ``listener`` (waitress held up against slow and oversized
clients). Tokens are signed with the store's secret (:mod:`stook.secret`).

The names below are imported from their modules on first use, so importing the
package costs nothing a command does not need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stook.lazy import lazy_exports

if TYPE_CHECKING:
    from stook.oainames import group_for_set_spec, oai_identifier, record_identifier, set_spec_for_group
    from stook.provider.app import ProviderApp, ProviderConfig, make_app
    from stook.provider.formats import (
        NATIVE_NS,
        NATIVE_PREFIX,
        NATIVE_SCHEMA_URL,
        native_schema_path,
        record_from_native,
    )
    from stook.provider.listener import ClientLimits
    from stook.provider.server import ServeOptions, serve, serve_in_thread

__all__ = [
    "ClientLimits",
    "DEFAULT_ADMIN_EMAIL",
    "NATIVE_NS",
    "NATIVE_PREFIX",
    "NATIVE_SCHEMA_URL",
    "ProviderApp",
    "ProviderConfig",
    "ServeOptions",
    "group_for_set_spec",
    "make_app",
    "native_schema_path",
    "oai_identifier",
    "record_from_native",
    "record_identifier",
    "serve",
    "serve_in_thread",
    "set_spec_for_group",
]

# Public name -> the module that defines it, imported on first use (start-up cost).
_EXPORTS = {
    "ProviderApp": "stook.provider.app",
    "ProviderConfig": "stook.provider.app",
    "make_app": "stook.provider.app",
    "NATIVE_NS": "stook.provider.formats",
    "NATIVE_PREFIX": "stook.provider.formats",
    "NATIVE_SCHEMA_URL": "stook.provider.formats",
    "native_schema_path": "stook.provider.formats",
    "record_from_native": "stook.provider.formats",
    "group_for_set_spec": "stook.oainames",
    "oai_identifier": "stook.oainames",
    "record_identifier": "stook.oainames",
    "set_spec_for_group": "stook.oainames",
    "ClientLimits": "stook.provider.listener",
    "ServeOptions": "stook.provider.server",
    "serve": "stook.provider.server",
    "serve_in_thread": "stook.provider.server",
}


#: adminEmail announced when none is given: a placeholder that cannot receive mail.
#: Defined here, not in ``app``, so ``stook serve --help`` shows it without importing lxml.
DEFAULT_ADMIN_EMAIL = "archivist@example.invalid"

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
