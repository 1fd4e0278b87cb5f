"""Hand entry and editing: ``/records/new`` and ``/records/<ref>/edit``.

Both show the form generated from the schema; a submit either changes the form (a row
added or removed, which works without JavaScript) or saves. Saving checks the record
and its files (:mod:`stook.web.submission`); any problem shows the form again, as
typed, with each error beside its field and all of them listed at the top, and writes
nothing. A valid record is bagged exactly as ``stook bag`` bags it. An edit saves the
next version of the record; saving it unchanged says so and writes nothing; leaving out
a file of the latest version needs a confirmation (the drop rule).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.wrappers import Response

from stook.errors import (
    ContentMismatch,
    FilesDropped,
    Problem,
    ProvenanceConflict,
    RecordInvalid,
    RecordParseError,
    StookError,
)
from stook.ledger import BagVersion
from stook.web.auth import current_user, write_access
from stook.web.bagview import stored_file, version_record
from stook.web.browse import find_versions
from stook.web.formdata import (
    Built,
    Values,
    add_row,
    blank_values,
    describe,
    remove_row,
    row_indexes,
    values_from_record,
)
from stook.web.formspec import name_to_id, record_form
from stook.web.state import store, web_state
from stook.web.submission import (
    FILE_SUFFIX,
    FROM_SUFFIX,
    STASH_SUFFIX,
    Submission,
    bag_submission,
    check_submission,
    default_paths,
)
from stook.web.uploads import Staged

bp = Blueprint("entry", __name__)
_REQUIRED_PREFIX = "is a required property"


@bp.route("/records/new", methods=["GET", "POST"])
@write_access
def new() -> Response | tuple[str, int] | str:
    if request.method == "GET":
        return _render("new", blank_values(record_form(), ""), None)
    return _submit("new", None)


@bp.route("/records/<ref>/edit", methods=["GET", "POST"])
@write_access
def edit(ref: str) -> Response | tuple[str, int] | str:
    versions = find_versions(ref)
    if ref != versions[0].name:
        return redirect(url_for("entry.edit", ref=versions[0].name))
    latest = versions[-1]
    if request.method == "GET":
        record = version_record(store(), latest)
        if record is None:
            abort(409, description=f"the record of {latest.path} cannot be read, so it cannot be edited; "
                                   "run an audit of the store")
        return _render("edit", prefill(record, latest), latest)
    return _submit("edit", latest)


def prefill(record: Mapping[str, Any], latest: BagVersion) -> Values:
    """The form for an edit: the latest record, each listed file kept from that version."""
    values = values_from_record(record)
    opened = store()
    for index in row_indexes(values, "content"):
        row = f"content[{index}]"
        path = values.get(row + ".path", "")
        if path and stored_file(opened, latest, path) is not None:
            values[row + FROM_SUFFIX] = path
    return values


def _form_values(form: Mapping[str, str]) -> Values:
    return {key: value for key, value in form.items() if not key.startswith("_")}


def _staged_list(tokens: list[str], uploads: list[FileStorage]) -> list[Staged]:
    stash = web_state().stash
    kept = [s for s in (stash.get(t) for t in tokens) if s is not None]
    kept.extend(stash.put(upload) for upload in uploads if upload and upload.filename)
    return kept


def _submit(mode: str, latest: BagVersion | None) -> Response | tuple[str, int] | str:
    stash = web_state().stash
    values = _form_values(request.form)
    for key, upload in request.files.items(multi=True):
        if key.endswith(FILE_SUFFIX) and upload and upload.filename and not key.startswith("_"):
            values[key[: -len(FILE_SUFFIX)] + STASH_SUFFIX] = stash.put(upload).token
    texts = _staged_list(request.form.getlist("_text_token"), request.files.getlist("_texts"))
    files = _staged_list(request.form.getlist("_file_token"), request.files.getlist("_files"))
    values = default_paths(values, stash)
    action = request.form.get("_action", "save")
    if action.startswith("add:"):
        return _render(mode, add_row(values, action[4:]), latest, texts=texts, files=files)
    if action.startswith("remove:"):
        return _render(mode, remove_row(values, action[7:]), latest, texts=texts, files=files)
    opened = store()
    if mode == "edit" and latest is not None:
        current = opened.latest(latest.identifier)
        if current is not None and str(current.version) != request.form.get("_base_version"):
            message = (f"version {current.version} of this record was stored while this form was open;"
                       f" saving now makes version {current.version + 1} from what is shown here. Compare"
                       " with the latest version, then save again.")
            return _render(mode, values, current, texts=texts, files=files, message=message), 409
    sub = check_submission(values, stash, store=opened, previous=latest, texts=texts, files=files)
    _check_identifier(sub, mode, latest)
    if not sub.ok:
        return _render(mode, values, latest, texts=texts, files=files, sub=sub), 422
    if mode == "edit" and latest is not None:
        sub.built.record = keep_line_breaks(sub.record, version_record(opened, latest))
    try:
        result = bag_submission(opened, sub, drop=request.form.getlist("_drop"),
                                as_new_version=request.form.get("_as_new_version") == "yes")
    except FilesDropped as exc:
        return _render(mode, values, latest, texts=texts, files=files, dropping=exc.missing), 409
    except ProvenanceConflict as exc:
        return _render(mode, values, latest, texts=texts, files=files, conflict=str(exc)), 409
    except (RecordInvalid, ContentMismatch) as exc:
        sub.problems.extend(exc.problems)
        return _render(mode, values, latest, texts=texts, files=files, sub=sub), 422
    except RecordParseError as exc:
        sub.problems.append(Problem(exc.location or "$", exc.message))
        return _render(mode, values, latest, texts=texts, files=files, sub=sub), 422
    except StookError as exc:
        return _render(mode, values, latest, texts=texts, files=files, message=str(exc)), 409
    used = [v for k, v in values.items() if k.endswith(STASH_SUFFIX)] + [s.token for s in texts + files]
    for token in used:
        stash.discard(token)
    bag = result.bag
    if result.status == "unchanged":
        flash(f"nothing changed: {bag.identifier} is already stored as version {bag.version}; nothing was"
              " written", "info")
    else:
        line = f"{result.status}: {bag.identifier} version {bag.version} stored as {bag.path}"
        if result.dropped:
            line += f" (left out of it on purpose: {', '.join(result.dropped)})"
        flash(line, "success")
    return redirect(url_for("records.record", ref=bag.name, stored=result.status))


def _check_identifier(sub: Submission, mode: str, latest: BagVersion | None) -> None:
    identifier = sub.record.get("identifier")
    if not isinstance(identifier, str):
        return
    if mode == "edit" and latest is not None and identifier != latest.identifier:
        sub.problems.append(Problem(
            "$.identifier", f"cannot change in an edit (it is {latest.identifier!r}): the identifier names"
            " the record", identifier, "the same identifier; enter a new record for another one"))
    if mode == "new":
        try:
            existing = store().latest(identifier)
        except StookError:
            existing = None
        if existing is not None:
            sub.problems.append(Problem(
                "$.identifier", f"the store holds this record already (version {existing.version})",
                identifier, "a new identifier, or edit the record to make its next version"))


def keep_line_breaks(new: Any, old: Any) -> Any:
    """``new`` with each text that differs from ``old`` only in CRLF against LF line breaks
    given back as it was (a browser sends every line break of a text area as CRLF)."""
    if isinstance(new, dict) and isinstance(old, dict):
        return {k: keep_line_breaks(v, old.get(k)) for k, v in new.items()}
    if isinstance(new, list) and isinstance(old, list):
        return [keep_line_breaks(v, old[i] if i < len(old) else None) for i, v in enumerate(new)]
    if isinstance(new, str) and isinstance(old, str) and new != old and \
            new.replace("\r\n", "\n") == old.replace("\r\n", "\n"):
        return old
    return new


Listed = list[tuple[str, str, str]]


def field_errors(built: Built, problems: list[Problem]) -> tuple[dict[str, list[str]], Listed]:
    """Messages by form name (shown beside each field) and the list shown at the top."""
    errors: dict[str, list[str]] = {}
    listed: Listed = []
    for problem in problems:
        name = built.field_of(problem)
        text = "is required" if problem.message.endswith(_REQUIRED_PREFIX) else problem.message
        if problem.expected and not text.startswith("is required"):
            text += f" (expected {problem.expected})"
        errors.setdefault(name, []).append(text)
        listed.append((describe(name), text, name_to_id(name) if name else "record-form"))
    return errors, listed


def _file_context(values: Values, latest: BagVersion | None) -> dict[str, dict[str, Any]]:
    stash = web_state().stash
    out: dict[str, dict[str, Any]] = {}
    opened = store() if latest is not None else None
    for index in row_indexes(values, "content"):
        row = f"content[{index}]"
        info: dict[str, Any] = {"staged": stash.get(values.get(row + STASH_SUFFIX))}
        origin = values.get(row + FROM_SUFFIX)
        if info["staged"] is None and origin and opened is not None and latest is not None:
            found = stored_file(opened, latest, origin)
            info["stored"] = found[1] if found else None
            info["version"] = latest.version
        out[row] = info
    return out


def _render(
    mode: str,
    values: Values,
    latest: BagVersion | None,
    *,
    texts: list[Staged] | None = None,
    files: list[Staged] | None = None,
    sub: Submission | None = None,
    message: str | None = None,
    dropping: list[str] | None = None,
    conflict: str | None = None,
) -> str:
    errors: dict[str, list[str]] = {}
    listed: list[tuple[str, str, str]] = []
    if sub is not None:
        errors, listed = field_errors(sub.built, sub.problems)
        for name, messages in sub.extra.items():
            errors.setdefault(name, []).extend(messages)
            listed.extend(("Texts to add", text, name_to_id(name)) for text in messages)
    spec = record_form()
    advanced_open = any(
        name.split(".")[0].split("[")[0] in {c.key for c in spec.children if c.advanced} for name in errors
    )
    return render_template(
        "form.html", mode=mode, spec=spec, values=values, errors=errors, problems=listed, latest=latest,
        files=_file_context(values, latest), texts=texts or [], attachments=files or [], message=message,
        dropping=dropping, conflict=conflict, advanced_open=advanced_open,
        readonly=("identifier",) if mode == "edit" else (), user=current_user(),
    )
