"""``/audit``: the fixity dashboard, and the button that audits a slice in the background."""

from __future__ import annotations

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from stook.audit import parse_duration
from stook.errors import UsageError
from stook.web.auth import current_user, write_access
from stook.web.dashboard import build_dashboard
from stook.web.state import store, web_state

bp = Blueprint("audit", __name__)
MAX_SLICE = 100_000


@bp.route("/audit")
def dashboard() -> str:
    state = web_state()
    progress = state.audit.progress()
    return render_template("audit.html", board=build_dashboard(store()), progress=progress,
                           default_limit=state.config.audit_limit)


@bp.route("/audit/progress.json")
def progress_json() -> Response:
    progress = web_state().audit.progress()
    return jsonify(state=progress.state, done=progress.done, total=progress.total, failed=progress.failed,
                   percent=progress.percent, message=progress.message, started=progress.started,
                   finished=progress.finished)


@bp.route("/audit/run", methods=["POST"])
@write_access
def run() -> Response:
    """Start auditing at most N bags (never checked first, then the oldest checks)."""
    raw_limit = request.form.get("limit", "")
    raw_age = request.form.get("max_age", "").strip()
    try:
        limit = int(raw_limit)
        if not 1 <= limit <= MAX_SLICE:
            raise ValueError
    except ValueError:
        flash(f"bags to check: {raw_limit!r} is not a whole number from 1 to {MAX_SLICE}; nothing started",
              "error")
        return redirect(url_for("audit.dashboard"))
    try:
        max_age = parse_duration(raw_age) if raw_age else None
    except UsageError as exc:
        said = exc.message.replace("--max-age ", "")
        flash(f"skip bags checked within: {said}; {exc.hint}; nothing started", "error")
        return redirect(url_for("audit.dashboard"))
    if web_state().audit.start(limit=limit, max_age=max_age, user=current_user()):
        flash(f"audit started: at most {limit} bags, never checked first, then the oldest checks", "info")
    else:
        flash("an audit is running already; wait for it to finish (its progress is shown below)", "error")
    return redirect(url_for("audit.dashboard"))
