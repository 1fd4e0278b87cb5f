"""Logging in, and the two guards of every write: a logged-in user and a CSRF token.

Reading the store needs no login. Every POST must carry the session's CSRF token (a
form from another site cannot), and every view that writes is wrapped in
:func:`write_access`: refused outright in read-only mode, and sent to the login page
without a user.
"""

from __future__ import annotations

import functools
import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from stook.web.state import web_state

F = TypeVar("F", bound=Callable[..., Any])
CSRF_FIELD = "_csrf"

bp = Blueprint("auth", __name__)


def csrf_token() -> str:
    """The session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_hex(16)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Refuse a POST whose CSRF token is missing or not this session's (400)."""
    if request.method != "POST":
        return
    sent = request.form.get(CSRF_FIELD, "")
    token = session.get("csrf")
    if not isinstance(token, str) or not hmac.compare_digest(sent.encode(), token.encode()):
        abort(400, description="the form had expired or did not come from this site (its CSRF token "
                               "does not match); go back, reload the page and submit it again")


def current_user() -> str | None:
    user = session.get("user")
    return user if isinstance(user, str) else None


def write_access(view: F) -> F:
    """Only a logged-in user, and never in read-only mode."""

    @functools.wraps(view)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if web_state().config.read_only:
            abort(403, description="this server is read-only (stook web --read-only): nothing can be "
                                   "changed through it")
        user = current_user()
        if user is not None and user not in web_state().users().names:
            session.clear()  # the user was removed (stook web-user remove) since logging in
            user = None
        if user is None:
            flash("log in to make changes", "info")
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return guarded  # type: ignore[return-value]


def safe_next(target: str | None) -> str:
    """Where to go after logging in: only a path on this site."""
    if not target:
        return url_for("records.index")
    parts = urlsplit(target)
    foreign = parts.scheme or parts.netloc or target.startswith("//") or "\\" in target
    if foreign or not target.startswith("/"):
        return url_for("records.index")
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Response | str | tuple[str, int, dict[str, str]]:
    state = web_state()
    if state.config.read_only:
        abort(403, description="this server is read-only (stook web --read-only): there is nothing to log in"
                               " for")
    users = state.users()
    error = None
    name = ""
    status, wait = 401, 0.0
    if request.method == "POST":
        name = request.form.get("username", "")
        password = request.form.get("password", "")
        address = request.remote_addr or "unknown"
        wait = state.throttle.wait_seconds(name, address)
        if wait > 0:  # the password is not even checked
            minutes = max(1, -(-int(wait) // 60))
            error = (f"too many failed logins for this user name or from this address; wait {minutes} "
                     f"minute{'s' if minutes != 1 else ''} and try again")
            status = 429
        elif users.check(name, password):
            state.throttle.succeeded(name, address)
            session.clear()
            session["user"] = name
            csrf_token()
            flash(f"logged in as {name}", "info")
            return redirect(safe_next(request.form.get("next")))
        else:
            state.throttle.failed(name, address)
            error = "that user name and password do not match; check both and try again"
    page = render_template(
        "login.html", error=error, username=name, next=safe_next(request.values.get("next")),
        nobody=not users.anyone,
    )
    if error is None:
        return page
    return page, status, ({"Retry-After": str(int(wait) + 1)} if status == 429 else {})


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    session.clear()
    flash("logged out", "info")
    return redirect(url_for("records.index"))
