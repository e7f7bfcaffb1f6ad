"""/queue: the staff side. Views are thin: app.permissions decides, the operations act, queries read."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import alerts, exports, lookups, notifications, permissions
from app.alerts.schemas import form_input
from app.auth.access import actor
from app.errors import APIError
from app.extensions import db, limiter
from app.models import Process, StageRun, Table, Task
from app.models.portal import MagicLink
from app.notifications import mail, threads
from app.conversations import operations as conversations
from app.participants import links
from app.tasks import operations as service
from app.tasks import recovery
from app.worklist import filters, operations, queries

bp = Blueprint("worklist", __name__, url_prefix="/queue")
bp.add_app_template_filter(filters.show, "show")
bp.add_app_template_filter(filters.when, "when")


def _user():
    return current_user._get_current_object()


def go_back(default: str):
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else default)


def fail(exc: APIError, default: str):
    db.session.rollback()
    if exc.status in (403, 404):   # refused by app.permissions: the same status as the API gives
        abort(exc.status, exc.message)
    flash(exc.message, "error")
    return go_back(default)


# --- My work --------------------------------------------------------------------------------------

def page_number(value: str | None) -> int:
    """A `page` argument: a positive number, anything else page 1 (a page past the end shows the last)."""
    value = value or "1"
    return int(value) if value.isdigit() and len(value) < 7 else 1


@bp.get("")
@login_required
def index():
    user = _user()
    args = {k: request.args.get(k, "") for k in ("process", "stage", "status")}
    view = queries.my_work_page(user, args, page_number(request.args.get("page")))
    if request.args.get("partial"):
        return render_template("worklist/_work.html", args=args, **view)
    return render_template("worklist/index.html", args=args, unread=notifications.unread_count(user),
                           **view, **queries.index_choices(user))


@bp.get("/counts")
@login_required
def counts():
    total, overdue = queries.my_work_counts(_user())
    return jsonify({"open": total, "overdue": overdue, "unread": notifications.unread_count(_user())})


def run_or_404(run_id: int) -> StageRun:
    run = lookups.get_run(run_id)
    if not permissions.can_see_task(_user(), run.task) or not permissions.can_act(_user(), run, "view"):
        abort(404)
    return run


def require(run: StageRun, action: str) -> None:
    if not permissions.can_act(_user(), run, action):
        abort(403)


def _queue_action(run_id: int, action: str, perform):
    """Permission-check a queue action on a run, perform it, and go back (the request commits)."""
    require(run_or_404(run_id), action)
    try:
        perform()
    except APIError as exc:
        return fail(exc, url_for("worklist.index"))
    return go_back(url_for("worklist.index"))


@bp.post("/runs/<int:run_id>/claim")
@login_required
def claim(run_id):
    return _queue_action(run_id, "claim", lambda: service.claim(run_id, _user(), actor()))


@bp.post("/runs/<int:run_id>/release")
@login_required
def release(run_id):
    return _queue_action(run_id, "release", lambda: service.release(run_id, actor(), _user()))


@bp.post("/runs/<int:run_id>/reassign")
@login_required
def reassign(run_id):
    run = run_or_404(run_id)
    require(run, "reassign")
    try:
        assignee = operations.reassign(run, request.form.get("assignee", ""), _user(), actor())
    except APIError as exc:
        return fail(exc, url_for("worklist.index"))
    flash(f"Assigned to {assignee.name}.", "info")
    return go_back(url_for("worklist.index"))


# --- Task page ------------------------------------------------------------------------------------

def task_or_404(task_id: int) -> Task:
    task = lookups.get_task(task_id)
    if not permissions.can_see_task(_user(), task):
        abort(404)
    return task


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id):
    ctx = queries.task_page(_user(), task_or_404(task_id))
    if request.args.get("partial"):
        return render_template("worklist/_task_live.html", **ctx)
    return render_template("worklist/task.html", **ctx)


@bp.post("/tasks/<int:task_id>/cancel")
@login_required
def cancel(task_id):
    task = task_or_404(task_id)
    try:
        service.cancel_tasks([task.id], _user(), actor(), request.form.get("reason", ""))
    except APIError as exc:
        return fail(exc, url_for("worklist.task", task_id=task_id))
    flash("The Task was cancelled.", "info")
    return redirect(url_for("worklist.task", task_id=task_id))


@bp.post("/runs/<int:run_id>/withdraw")
@login_required
def withdraw(run_id):
    run = run_or_404(run_id)
    to = {"skip": "skipped", "cancel": "cancelled"}.get(request.form.get("action", ""))
    if to is None:
        abort(400)
    try:
        service.withdraw_run(run_id, to, _user(), actor(), request.form.get("reason", ""))
    except APIError as exc:
        return fail(exc, url_for("worklist.task", task_id=run.task_id))
    return redirect(url_for("worklist.task", task_id=run.task_id))


@bp.post("/runs/<int:run_id>/comments")
@login_required
def comment(run_id):
    run = run_or_404(run_id)
    if not permissions.can_act(_user(), run, "view"):
        abort(403)
    try:
        threads.add_comment(run, request.form.get("body", ""), external=request.form.get("external") == "1",
                            actor=actor(), user=_user())
    except APIError as exc:
        return fail(exc, url_for("worklist.task", task_id=run.task_id))
    return redirect(url_for("worklist.task", task_id=run.task_id) + f"#run-{run_id}")


@bp.post("/runs/<int:run_id>/email/reply")
@login_required
def email_reply(run_id):
    """A staff reply in an email conversation (app.conversations asks app.permissions)."""
    run = run_or_404(run_id)
    try:
        conversations.reply(run_id, request.form.get("body", ""), _user(), actor())
    except APIError as exc:
        return fail(exc, url_for("worklist.task", task_id=run.task_id))
    flash("Reply queued for sending.", "info")
    return redirect(url_for("worklist.task", task_id=run.task_id) + f"#run-{run_id}")


@bp.post("/runs/<int:run_id>/email/done")
@login_required
def email_done(run_id):
    run = run_or_404(run_id)
    try:
        conversations.mark_done(run_id, _user(), actor())
    except APIError as exc:
        return fail(exc, url_for("worklist.task", task_id=run.task_id))
    return redirect(url_for("worklist.task", task_id=run.task_id) + f"#run-{run_id}")


@bp.post("/tasks/<int:task_id>/invite")
@login_required
@limiter.limit("30/hour", key_func=lambda: f"invite:{current_user.id}")
def invite(task_id):
    task = task_or_404(task_id)
    try:
        link, secret = links.invite(task, request.form.get("email", ""), name=request.form.get("name", ""),
                                    by=_user(), actor=actor())
    except APIError as exc:
        return fail(exc, url_for("worklist.task", task_id=task_id))
    url = url_for("portal.open_link", token=secret, _external=True)
    if mail.dev_mailbox_on():   # say what really happens to the email
        where = ("No mail server is configured, so the invitation email was not sent: it is kept in the "
                 "development mailbox (admins).")
    else:
        where = "The invitation email is queued; a worker sends it in a moment."
    flash(f"{link.participant.name or link.participant.email} was invited. {where} "
          f"Their personal link (shown once): {url}", "info")
    return redirect(url_for("worklist.task", task_id=task_id))


@bp.post("/links/<int:link_id>/revoke")
@login_required
def revoke(link_id):
    link = db.session.get(MagicLink, link_id)
    if link is None:
        abort(404)
    task_or_404(link.task_id)
    links.revoke(link, actor())
    return redirect(url_for("worklist.task", task_id=link.task_id))


# --- Table view ------------------------------------------------------------------------------------

@bp.get("/tables/<key>")
@login_required
def table(key):
    tbl = db.session.scalar(select(Table).where(Table.key == key))
    if tbl is None:
        abort(404)
    csv = request.args.get("format") == "csv"
    view = queries.table_view(_user(), tbl, request.args, paged=not csv)
    if csv:
        body = exports.to_csv(*filters.split_header(queries.table_csv_rows(view)))
        exports.log_export("table", key, len(view["rows"]), actor())
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{key}.csv"'})
    return render_template("worklist/table.html", **view)


@bp.post("/tables/<key>/cancel")
@login_required
def cancel_selected(key):
    back = url_for("worklist.table", key=key)
    ids = [int(i) for i in request.form.getlist("task_ids") if i.isdigit() and len(i) < 10]
    try:
        done = service.cancel_tasks(ids, _user(), actor(), request.form.get("reason", ""))
    except APIError as exc:
        return fail(exc, back)
    flash(f"{len(done)} Task(s) cancelled.", "info")
    return redirect(back)


@bp.post("/tables/<key>/retry")
@login_required
def retry_selected(key):
    back = url_for("worklist.table", key=key)
    ids = [int(i) for i in request.form.getlist("task_ids") if i.isdigit() and len(i) < 10]
    tasks = [task_or_404(i) for i in ids]
    runs = [run_id for task in tasks for run_id in queries.failed_runs_of(_user(), task)]
    try:
        recovery.retry_runs(runs, _user(), actor())
    except APIError as exc:
        return fail(exc, back)
    flash(f"{len(runs)} failed step(s) retried.", "info")
    return redirect(back)


# --- notifications ---------------------------------------------------------------------------------

@bp.get("/notifications")
@login_required
def notifications_page():
    return render_template("worklist/notifications.html", rows=queries.notifications_of(_user()))


@bp.post("/notifications/read")
@login_required
def notifications_read():
    operations.mark_read(_user(), request.form.get("id"))
    return redirect(url_for("worklist.notifications_page"))


# --- alert rules ----------------------------------------------------------------------------------

def _alert_page(process_key: str, *, errors=None, form=None, status=200):
    user = _user()
    if process_key:   # the same decision as the API: no such Process 404, not yours 403
        try:
            alerts.get_process(process_key, user)
        except APIError as exc:
            abort(exc.status)
    manageable = [p for p in db.session.scalars(select(Process).where(Process.archived_at.is_(None))
                                                .order_by(Process.name)) if alerts.can_manage_rules(user, p)]
    if not manageable:
        abort(403)
    process = next((p for p in manageable if p.key == process_key), None)
    if process_key and process is None:
        abort(404)
    process = process or manageable[0]
    return render_template("worklist/alerts.html", processes=manageable, process=process,
                           rules=alerts.rules_of(process), event_types=alerts.EVENT_TYPES,
                           severities=alerts.SEVERITIES, channels=alerts.CHANNELS, errors=errors or {},
                           form=form or {}), status


@bp.get("/alerts")
@login_required
def alerts_page():
    return _alert_page(request.args.get("process", ""))


@bp.post("/alerts/rules")
@login_required
def alerts_add():
    key = request.form.get("process", "")
    try:
        process = alerts.get_process(key, _user())
    except APIError as exc:
        abort(exc.status)
    form = {k: request.form.get(k, "") for k in ("event_type", "severity", "channel", "target")}
    try:
        alerts.create_rule(process, form_input(request.form), actor())
    except APIError as exc:
        db.session.rollback()
        return _alert_page(process.key, errors=exc.details if isinstance(exc.details, dict) else {"_": [exc.message]},
                           form=form, status=exc.status)
    flash("Alert rule added.", "info")
    return redirect(url_for("worklist.alerts_page", process=process.key))


@bp.post("/alerts/rules/<int:rule_id>/delete")
@login_required
def alerts_delete(rule_id):
    try:
        rule = alerts.get_rule(rule_id, _user())
    except APIError as exc:
        abort(exc.status)
    key = db.session.get(Process, rule.process_id).key
    alerts.delete_rule(rule, actor())
    flash("Alert rule deleted.", "info")
    return redirect(url_for("worklist.alerts_page", process=key))
