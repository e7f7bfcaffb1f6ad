"""The portal's side of File upload: a participant uploads into, lists, withdraws and downloads the
files of their one Task's File upload Stage, and finishes it. The same operations as the API's
(app.files), asked as the participant's magic link; writes carry the portal's per-session form
token (`X-Form-Token` for the script's requests, `form_token` for the finish form)."""
from __future__ import annotations

import hmac

from flask import abort, jsonify, redirect, request, session, url_for

from app.errors import APIError
from app.extensions import db, limiter
from app.files import downloads, operations
from app.files.names import request_filename
from app.files.schemas import StoredFileSchema
from app.participants import links
from app.portal.routes import actor_of, bp, check_form, client_ip, current_link, portal_run, render_page
from app.tasks import operations as service


def _check_header_token() -> None:
    expected = session.get("portal_form", "")
    if not expected or not hmac.compare_digest(expected, request.headers.get("X-Form-Token", "")):
        abort(400, "This page has expired: reload it.")


@bp.post("/runs/<int:run_id>/files")
@limiter.limit("60/minute", key_func=client_ip)
def upload(run_id: int):
    link = current_link()
    _check_header_token()
    portal_run(link, run_id)
    f = operations.upload(run_id, link, request.stream.read, filename=request_filename(),
                          content_length=request.content_length, actor=actor_of(link))
    return jsonify(StoredFileSchema().dump(f)), 201


@bp.get("/runs/<int:run_id>/files")
def run_files(run_id: int):
    link = current_link()
    ps = portal_run(link, run_id)
    return jsonify(StoredFileSchema(many=True).dump(operations.live_files(ps.run.id)))


@bp.delete("/files/<int:file_id>")
@limiter.limit("60/minute", key_func=client_ip)
def remove(file_id: int):
    link = current_link()
    _check_header_token()
    return jsonify(StoredFileSchema().dump(operations.remove(file_id, link, actor_of(link))))


@bp.get("/files/<int:file_id>")
def download(file_id: int):
    link = current_link()
    return downloads.response(operations.get_file(file_id, link), inline=request.args.get("inline") == "1")


@bp.post("/runs/<int:run_id>/files/done")
@limiter.limit("30/minute", key_func=client_ip)
def done(run_id: int):
    """Finish uploading: the Stage completes with the files as its Field's value, or, when staff
    review the files, goes back to staff (a `file.submitted` Event) who complete it."""
    link = current_link()
    check_form()
    ps = portal_run(link, run_id)
    if ps.mode != "action":
        abort(403)
    try:
        _, config = operations.upload_stage(ps.run)
        links.resume_from_participant(run_id, actor_of(link))
        if config["needs_review"]:
            operations.submitted(run_id, link, actor_of(link))
        else:
            service.act(run_id, "complete", actor_of(link), user=link, values={})
    except APIError as exc:
        db.session.rollback()
        return render_page(link, errors={"_": [exc.message]}, status=exc.status)
    return redirect(url_for("portal.home", done=run_id))
