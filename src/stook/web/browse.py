"""Browsing the store: the list of records, one record with its versions and files, the
difference between two versions, downloads, an export, and the record's PREMIS history.

Records are named in URLs by their bag name (``wcda-115179-00e6896c9b37d041``: portable
and derived from the identifier); an identifier or a store path given instead is looked
up and redirected to that name. Every lookup goes through the store's ledger.
"""

from __future__ import annotations

import mimetypes
import shutil
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, send_file, url_for
from werkzeug.wrappers import Response

from stook.ledger import BagVersion
from stook.names import bag_label
from stook.web.bagview import bag_files, file_changes, record_changes, stored_file, version_record
from stook.web.state import store, web_state

bp = Blueprint("records", __name__)


def find_versions(ref: str) -> list[BagVersion]:
    """Every stored version of the record ``ref`` names (bag name, identifier or store
    path), oldest first; 404 when it names none."""
    opened = store()
    first = opened.ledger.bag_by_path(f"{ref}/v1") if "/" not in ref else None
    if first is not None and first.state == "stored":
        versions = opened.versions(first.identifier)
    else:
        found = opened.resolve(ref)
        versions = opened.versions(found[0].identifier) if found else []
    if not versions:
        abort(404, description=f"this store holds no record or bag named {ref!r}; find it in the list of"
                               " records")
    return versions


def pick(versions: list[BagVersion], raw: str | None) -> BagVersion:
    """The version the query asks for (``?version=N``), else the latest."""
    if raw is None or raw == "":
        return versions[-1]
    for bag in versions:
        if str(bag.version) == raw:
            return bag
    abort(404, description=f"{versions[0].identifier!r} has no version {raw!r}; it has versions 1 to "
                           f"{versions[-1].version}")


def _canonical(versions: list[BagVersion], ref: str, endpoint: str, **args: Any) -> Response | None:
    name = versions[0].name
    if ref == name:
        return None
    query: dict[str, Any] = {**args, **request.args.to_dict(), "ref": name}
    return redirect(url_for(endpoint, **query))


@bp.route("/")
def home() -> Response:
    return redirect(url_for("records.index"))


@bp.route("/records")
def index() -> str:
    config = web_state().config
    query = request.args.get("q", "").strip()
    group = request.args.get("group", "")
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    bags = store().ledger.bags(latest_only=True)
    groups = sorted({g for b in bags for g in b.groups})
    wanted = query.casefold()
    shown = [
        b for b in bags
        if (not wanted or wanted in b.identifier.casefold() or wanted in (b.title or "").casefold())
        and (not group or group in b.groups)
    ]
    size = config.page_size
    pages = max(1, -(-len(shown) // size))
    page = min(page, pages)
    return render_template(
        "records.html", bags=shown[(page - 1) * size: page * size], total=len(shown), all_count=len(bags),
        page=page, pages=pages, query=query, group=group, groups=groups, first=(page - 1) * size + 1,
    )


@bp.route("/records/<ref>")
def record(ref: str) -> Response | str:
    versions = find_versions(ref)
    moved = _canonical(versions, ref, "records.record")
    if moved is not None:
        return moved
    bag = pick(versions, request.args.get("version"))
    opened = store()
    return render_template(
        "record.html", versions=versions, bag=bag, record=version_record(opened, bag),
        files=bag_files(opened, bag), label=bag_label(bag.identifier, bag.version, bag.name),
        on_disk=str(opened.bag_path(bag)), stored=request.args.get("stored"),
    )


@bp.route("/records/<ref>/diff")
def diff(ref: str) -> Response | str:
    versions = find_versions(ref)
    moved = _canonical(versions, ref, "records.diff")
    if moved is not None:
        return moved
    after = pick(versions, request.args.get("b"))
    default_before = str(max(1, after.version - 1))
    before = pick(versions, request.args.get("a") or default_before)
    opened = store()
    changes = record_changes(version_record(opened, before), version_record(opened, after))
    files = file_changes(bag_files(opened, before), bag_files(opened, after))
    return render_template("diff.html", versions=versions, before=before, after=after, changes=changes,
                           files=files, bag=after)


@bp.route("/records/<ref>/history")
def history(ref: str) -> Response | str:
    from stook.audit.report import record_history

    versions = find_versions(ref)
    moved = _canonical(versions, ref, "records.history")
    if moved is not None:
        return moved
    _identifier, events = record_history(store(), versions[-1].path)
    return render_template("history.html", versions=versions, bag=versions[-1], events=events)


@bp.route("/records/<ref>/v<int:version>/data/<path:rel>")
def download(ref: str, version: int, rel: str) -> Response:
    versions = find_versions(ref)
    bag = pick(versions, str(version))
    found = stored_file(store(), bag, rel)
    if found is None:
        abort(404, description=f"version {bag.version} of {bag.identifier!r} lists no file data/{rel} "
                               "in its manifest (or it is missing from the bag: run an audit)")
    path, _entry = found
    media, _ = mimetypes.guess_type(path.name)
    return send_file(path, mimetype=media or "application/octet-stream", as_attachment=True,
                     download_name=path.name, max_age=0)


@bp.route("/records/<ref>/v<int:version>/export.zip")
def export(ref: str, version: int) -> Response | tuple[str, int]:
    """The version as a reproducible zip (what ``stook export --format zip`` writes),
    verified in full first. A download is not recorded as a transfer: use ``stook export``
    for one."""
    from stook.transfer.export import BagSource, export_one

    versions = find_versions(ref)
    bag = pick(versions, str(version))
    opened = store()
    label = bag_label(bag.identifier, bag.version, bag.name)
    folder = Path(tempfile.mkdtemp(prefix="stook-web-export-"))
    try:
        target = folder / f"{label}.zip"
        result = export_one(BagSource(label, opened.bag_path(bag), label, bag), target, "zip", None)
        if result.status != "exported":
            return render_template("export_refused.html", bag=bag, errors=result.errors, label=label), 409
        handle = open(target, "rb")  # noqa: SIM115 (closed by the response once sent)
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the open handle keeps the bytes readable
    response = send_file(handle, mimetype="application/zip", as_attachment=True, download_name=f"{label}.zip",
                         max_age=0)
    if result.sha512:
        response.headers["X-Stook-SHA512"] = result.sha512
    return response
