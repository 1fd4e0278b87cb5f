"""``stook serve``: the store published as an OAI-PMH 2.0 data provider.

``make_app(store)`` is a WSGI application (mount it in any WSGI server);
``serve(store, ...)`` runs it under waitress; ``serve_in_thread(store)`` starts it in
a background thread and returns ``(base_url, stop)``. The pieces: ``names``
(identifier and setSpec encodings), ``protocol`` (argument rules, response writing),
``repository`` (read-only ledger queries), ``lists`` (the list verbs, paged),
``tokens`` (stateless resumption tokens), ``formats`` (oai_dc and the native
``stook`` format), ``listener`` (waitress held up against slow and oversized
clients). Tokens are signed with the store's secret (:mod:`stook.secret`).
"""

from __future__ import annotations

from stook.oainames import group_for_set_spec, oai_identifier, record_identifier, set_spec_for_group
from stook.provider.app import DEFAULT_ADMIN_EMAIL, ProviderApp, ProviderConfig, make_app
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
