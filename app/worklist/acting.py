"""The Task page's forms: act on a Stage Run (its typed inputs), save Field values, tick a Stage's
checklist, move the Task. On bad input the page is drawn again (status 4xx) with what was typed and
each Field's error next to it — nothing is lost, nothing half-written (the request rolls back)."""
from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import permissions
from app.auth.access import actor
from app.errors import APIError, Invalid
from app.extensions import db
from app.models import Field
from app.participants import links
from app.tables import forms
from app.tables.values import ValueError_, coerce
from app.tasks import checklist
from app.tasks import operations as service
from app.tasks.moves import move_tasks
from app.worklist import queries
from app.worklist.routes import bp, fail, go_back, require, run_or_404, task_or_404

ACTIONS = ("complete", "approve", "reject", "advance", "pause", "resume", "retry", "start")


def _user():
    return current_user._get_current_object()


def _page_again(task, exc: APIError, **state):
    """The Task page once more, with the error and what was typed (the request rolls back)."""
    db.session.rollback()
    if exc.status in (403, 404) and not forms.field_errors(exc.details):
        abort(exc.status, exc.message)
    ctx = queries.task_page(_user(), task)
    return render_template("worklist/task.html", **ctx, **state), exc.status


def _fields(task) -> dict:
    return {f.key: f for f in db.session.scalars(select(Field).where(Field.table_id == task.table_id))}


@bp.post("/runs/<int:run_id>/act")
@login_required
def act(run_id):
    run = run_or_404(run_id)
    action = request.form.get("action", "")
    if action not in ACTIONS:
        abort(400)
    require(run, action)
    task, typed, values = run.task, {}, None
    if action == "complete" or (action == "approve" and (run.data or {}).get("proposal")):   # proposal edits
        fields = _fields(task)
        typed, values = forms.submitted(request.form, fields, [k[2:] for k in request.form if k.startswith("f_")])
        if action == "complete" and set(values) - permissions.writable_fields(_user(), run):
            abort(403)
    try:
        if action == "complete":
            links.resume_from_participant(run_id, actor())
        service.act(run_id, action, actor(), user=_user(), values=values or None,
                    comment=request.form.get("comment", "")[:2000])
    except APIError as exc:
        errors = forms.field_errors(exc.details)
        if not errors or "_" in errors:   # not about one input (the checklist, the run's state): the sentence
            errors["_"] = [exc.message]
        return _page_again(task, exc, run_form={"run": run_id, "typed": typed, "errors": errors})
    return go_back(url_for("worklist.task", task_id=run.task_id))


def _unchanged(field, raw, stored) -> bool:
    try:
        return coerce(field.type, field.options or {}, raw) == stored
    except ValueError_:
        return False


@bp.post("/tasks/<int:task_id>/values")
@login_required
def save_values(task_id):
    task = task_or_404(task_id)
    writable = permissions.task_writable_fields(_user(), task)
    fields = _fields(task)
    typed, raw = forms.submitted(request.form, fields, [k[2:] for k in request.form if k.startswith("f_")],
                                 clear_text=True)
    values = {k: v for k, v in raw.items() if not _unchanged(fields[k], v, (task.values or {}).get(k))}
    if set(values) - writable:
        abort(403)
    if values:
        try:
            service.update_values(task, values, _user(), actor(), allowed=writable)
        except APIError as exc:
            errors = forms.field_errors(exc.details) or {"_": [exc.message]}
            return _page_again(task, exc, fields_form={"typed": typed, "errors": errors})
        flash("Saved.", "info")
    return redirect(url_for("worklist.task", task_id=task_id))


@bp.post("/runs/<int:run_id>/checklist")
@login_required
def tick(run_id):
    run = run_or_404(run_id)
    wanted = {int(i) for i in request.form.getlist("done") if i.isdigit() and len(i) < 4}
    try:
        checklist.set_ticks(run, wanted, _user(), actor())
    except APIError as exc:
        return fail(exc, url_for("worklist.task", task_id=run.task_id))
    return redirect(url_for("worklist.task", task_id=run.task_id) + f"#run-{run_id}")


@bp.post("/tasks/<int:task_id>/move")
@login_required
def move(task_id):
    task = task_or_404(task_id)
    user = _user()
    if not permissions.allowed(user, "task.move", task):
        abort(403)
    target, reason = request.form.get("process", ""), request.form.get("reason", "")
    try:
        if not target:
            raise Invalid("Choose the Process to move this Task to.", {"process": ["choose a Process"]})
        move_tasks([task.id], process_key=target, reason=reason, actor=actor(), user=user)
    except APIError as exc:
        return _page_again(task, exc, move_form={"process": target, "reason": reason, "error": exc.message})
    flash("The Task was moved.", "info")
    return redirect(url_for("worklist.task", task_id=task_id))
