"""/queue/new: starting a Task from the browser ("New task"): choose a Process, fill its start form
(the typed Fields its `start.writes` name), and — for admins — switch its public intake form on or
off. The start itself is app.tasks.starting (the API's start_task, its validation and permissions)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from app import permissions
from app.auth.access import actor
from app.errors import APIError
from app.extensions import db
from app.tables import forms
from app.tasks import starting
from app.worklist.routes import bp


def _user():
    return current_user._get_current_object()


@bp.app_template_global("may_start")
def may_start(process) -> bool:
    """For any page showing a Process: offer "New task" when the signed-in user may start one there."""
    return bool(process.current_version) and process.archived_at is None and current_user.is_authenticated \
        and permissions.allowed(_user(), "process.start", process)


def _startable_process(key: str):
    """The Process, if the caller may start Tasks in it (404 unknown or archived, 403 not theirs)."""
    try:
        process = starting.get_process(key)
        permissions.check(_user(), "process.start", process)
    except APIError as exc:
        abort(exc.status, exc.message)
    return process


def _form_page(process, *, typed=None, errors=None, status=200):
    user = _user()
    return render_template("worklist/start.html", process=process, fields=starting.start_fields(process),
                           typed=typed or {}, errors=errors or {}, processes=starting.startable(user),
                           can_switch_intake=permissions.allowed(user, "process.intake", process)), status


@bp.get("/new")
@login_required
def new_task():
    processes = starting.startable(_user())
    chosen = request.args.get("process", "")
    if chosen:
        return redirect(url_for("worklist.start_form", key=chosen))
    return render_template("worklist/start.html", process=None, processes=processes, fields=[], typed={},
                           errors={}, can_switch_intake=False)


@bp.get("/new/<key>")
@login_required
def start_form(key):
    return _form_page(_startable_process(key))


@bp.post("/new/<key>")
@login_required
def start_submit(key):
    process = _startable_process(key)
    typed, raw = starting.read_form(process, request.form)
    try:
        task = starting.start(process, raw, _user(), actor())
    except APIError as exc:
        db.session.rollback()
        if exc.status in (403, 404) and not forms.field_errors(exc.details):
            abort(exc.status, exc.message)
        errors = forms.field_errors(exc.details) or {"_": [exc.message]}
        return _form_page(process, typed=typed, errors=errors, status=exc.status)
    flash(f"Task started in {process.name}.", "info")
    if permissions.can_see_task(_user(), task):
        return redirect(url_for("worklist.task", task_id=task.id))
    return redirect(url_for("worklist.index"))


@bp.post("/new/<key>/intake")
@login_required
def intake_switch(key):
    try:
        process = starting.get_process(key)
        starting.set_intake(process, request.form.get("on") == "1", _user(), actor())
    except APIError as exc:
        db.session.rollback()
        abort(exc.status, exc.message)
    flash("The public intake form is " + ("on: anyone with the link can start a Task." if process.intake_enabled
                                          else "off."), "info")
    return redirect(url_for("worklist.start_form", key=key))


@bp.get("/new/<key>/import")
@login_required
def import_page(key):
    """Import Tasks from a CSV file: the upload, then its progress bar and refused rows (the browser
    uploads to, and polls, /api/v1/imports)."""
    process = _startable_process(key)
    return render_template("worklist/import.html", process=process, fields=starting.start_fields(process),
                           import_id=request.args.get("import", type=int))
