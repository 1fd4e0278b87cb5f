"""The Flask application: ``create_app(config)``, and ``wsgi_app`` with the OAI-PMH
provider mounted under ``/oai`` when asked.

Every error reaches the person as a plain page with one line that says what is wrong
and what to do; a :class:`~stook.errors.StookError` shows its own message, anything
unexpected is logged with its traceback and shown as an internal error, never as a
traceback. Every page is sent with a content security policy that allows only this
site's own scripts and styles.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable
from typing import Any

from flask import Flask, render_template, request
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from stook.bagwriter import human_size
from stook.errors import ReadOnlyStore, StookError, StoreError, UsageError
from stook.ledger import EVENT_TYPES, OUTCOMES
from stook.store import Store, StoreBusy
from stook.web import auth, browse, dashboard_views, entry
from stook.web.auditjob import AuditJob
from stook.web.config import SECRET_ENV, WebConfig
from stook.web.formdata import blank_values, row_indexes
from stook.web.formspec import EDTF_FORMS, FieldSpec, child_name, name_to_id, record_form
from stook.web.state import WebState, close_store, web_state
from stook.web.uploads import UploadStash
from stook.web.users import PASSWORD_ENV, USER_ENV, default_users_file, load_users

LOG = logging.getLogger("stook.web")
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none';"
       " frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
KEY_SPEC = FieldSpec("key", "Key", "text", help="A namespaced key such as wcda:collection.")
JSON_SPEC = FieldSpec("value", "Value", "json",
                      help='A JSON value: text in double quotes ("Cold War"), a number, true, false, a list'
                      " or an object.")


def create_app(config: WebConfig, *, environ: dict[str, str] | None = None) -> Flask:
    """The web application for ``config.store`` (raises StookError if it cannot be served)."""
    config.check()
    env = dict(os.environ) if environ is None else environ
    with Store.open(config.store, create=not config.read_only, read_only=True if config.read_only else None):
        pass  # a missing store is made (as stook bag makes it); a damaged one is refused now
    env_user = (env[USER_ENV], env[PASSWORD_ENV]) if env.get(USER_ENV) and env.get(PASSWORD_ENV) else None
    load_users(config.users_file or default_users_file(config.store), environ=env)  # a broken file fails now
    app = Flask(__name__)
    secret = config.secret_key or (env[SECRET_ENV].encode() if env.get(SECRET_ENV) else None)
    secret = secret or secrets.token_bytes(32)
    app.config.update(
        SECRET_KEY=secret,
        MAX_CONTENT_LENGTH=config.max_upload,
        MAX_FORM_MEMORY_SIZE=16 * 1024 * 1024,
        MAX_FORM_PARTS=20_000,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="stook_web",
        TEMPLATES_AUTO_RELOAD=False,
    )
    state = WebState(config, UploadStash(config.upload_dir), AuditJob(config.store), env_user)
    app.extensions["stook"] = state
    for blueprint in (auth.bp, browse.bp, entry.bp, dashboard_views.bp):
        app.register_blueprint(blueprint)
    app.before_request(auth.check_csrf)
    app.teardown_appcontext(close_store)
    app.after_request(_headers)
    _template_helpers(app)
    _error_pages(app)
    return app


def _headers(response: Response) -> Response:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["X-Frame-Options"] = "DENY"
    if response.mimetype == "text/html":
        response.headers["Cache-Control"] = "no-store"
    return response


def _template_helpers(app: Flask) -> None:
    app.add_template_filter(name_to_id, "fid")
    app.add_template_filter(child_name, "child")
    app.add_template_filter(lambda values, name: row_indexes(values, name), "row_indexes")
    app.add_template_filter(_blank_row, "blank_row")
    app.add_template_filter(lambda size: "?" if size is None else human_size(int(size)), "human")
    app.add_template_filter(lambda value: json.dumps(value, ensure_ascii=False, indent=2), "tojson_pretty")

    @app.context_processor
    def common() -> dict[str, Any]:
        state = web_state()
        return {
            "csrf_token": auth.csrf_token,
            "user": auth.current_user(),
            "read_only": state.config.read_only,
            "oai": state.config.oai,
            "store_path": str(state.config.store),
            "edtf_forms": EDTF_FORMS,
            "key_spec": KEY_SPEC,
            "json_spec": JSON_SPEC,
            "spec": record_form(),
            "event_types": EVENT_TYPES,
            "outcomes": OUTCOMES,
        }


def _blank_row(spec: FieldSpec, row: str) -> dict[str, str]:
    if spec.kind == "keyed":
        return {f"{row}.key": "", f"{row}.value": ""}
    assert spec.item is not None
    return blank_values(spec.item, row)


def _error_pages(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> tuple[str, int]:
        code = exc.code or 500
        if code == 413:
            limit = human_size(web_state().config.max_upload)
            message = (f"the request is larger than {limit}, the most this server accepts at once; nothing"
                       " was stored. Send fewer or smaller files, or start the server with a larger"
                       " --max-upload")
        else:
            message = exc.description or exc.name
        return render_template("error.html", code=code, title=exc.name, message=message), code

    @app.errorhandler(StookError)
    def stook_error(exc: StookError) -> tuple[str, int]:
        code = _status(exc)
        return render_template("error.html", code=code, title="Cannot do that", message=str(exc)), code

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> tuple[str, int]:
        LOG.exception("internal error answering %s %s", request.method, request.path)
        return render_template(
            "error.html", code=500, title="Internal error",
            message="stook could not answer this request because of an internal error; nothing was changed"
                    " by it. The server's log has the details: please report them.",
        ), 500


def _status(exc: StookError) -> int:
    if isinstance(exc, StoreBusy):
        return 503
    if isinstance(exc, ReadOnlyStore):
        return 403
    if isinstance(exc, UsageError):
        return 400
    if isinstance(exc, StoreError):
        return 500
    return 422 if exc.exit_code == 1 else 400


def wsgi_app(config: WebConfig, *, environ: dict[str, str] | None = None) -> Callable[..., Any]:
    """The application to serve: the web app, with the OAI-PMH provider at ``/oai`` when
    ``config.oai`` (the same store, read-only, as ``stook serve`` serves it)."""
    app = create_app(config, environ=environ)
    if not config.oai:
        return app
    from werkzeug.middleware.dispatcher import DispatcherMiddleware

    from stook.provider import make_app

    return DispatcherMiddleware(app, {"/oai": make_app(config.store)})


def stash_of(app: Any) -> UploadStash | None:
    """The upload stash of an app made here (to remove its files when the server stops)."""
    flask_app = getattr(app, "app", app)
    state = getattr(flask_app, "extensions", {}).get("stook")
    return state.stash if isinstance(state, WebState) else None
