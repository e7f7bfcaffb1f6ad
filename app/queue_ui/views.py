"""/queue: the staff side. Views are thin: permissions decide, app.runtime.service acts."""
from __future__ import annotations

from datetime import datetime

from flask import Blueprint, Response, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import clock, exports, notifications, permissions, stages
from app.auth.access import actor
from app.errors import APIError
from app.extensions import db, limiter
from app.models import Event, Field, Process, StageRun, Table, Task, TaskVisit, User
from app.models.notifications import Notification
from app.models.portal import MagicLink
from app.models.tasks import OPEN_STATUSES
from app.notifications import threads
from app.portal import links
from app.runtime import service
from app.runtime.moves import move_tasks

bp = Blueprint("queue", __name__, url_prefix="/queue")
QUEUE_STATUSES = [s for s in OPEN_STATUSES if s != "blocked"]


def _user():
    return current_user._get_current_object()


def _back(default: str):
    target = request.form.get("next") or ""
    return redirect(target if target.startswith("/") and not target.startswith("//") else default)


def _fail(exc: APIError, default: str):
    db.session.rollback()
    if exc.status in (403, 404):   # refused by app.permissions: the same status as the API gives
        abort(exc.status, exc.message)
    flash(exc.message, "error")
    return _back(default)


# --- My work --------------------------------------------------------------------------------------

def my_work(user, *, process: str = "", stage: str = "", status: str = "") -> list[dict]:
    """Open Stage Runs of running Tasks waiting for `user`, overdue first, then by due date. Who
    matches is decided in SQL (permissions.queue_condition); Python only labels why."""
    q = (select(StageRun, Task).join(Task, Task.id == StageRun.task_id)
         .join(TaskVisit, TaskVisit.id == StageRun.visit_id)
         .where(StageRun.status.in_(QUEUE_STATUSES), Task.status == "running", TaskVisit.left_at.is_(None),
                permissions.queue_condition(user)))
    if process:
        q = q.join(Process, Process.id == StageRun.process_id).where(Process.key == process)
    if stage:
        q = q.where(StageRun.stage_key == stage)
    if status:
        q = q.where(StageRun.status == status)
    now = clock.now()
    items = []
    processes = {p.id: p for p in db.session.scalars(select(Process))}
    for run, task in db.session.execute(q).all():
        why = permissions.queue_roles(user, run)
        if not why:  # cannot happen (the SQL condition is the same rule); never show an unexplained row
            continue
        st = permissions.stage_for(run)
        items.append({"run": run, "task": task, "stage": st, "process": processes[run.process_id], "why": why,
                      "overdue": bool(run.due_at and run.due_at < now),
                      "title": _title(user, task)})
    items.sort(key=lambda i: (not i["overdue"], i["run"].due_at is None, i["run"].due_at or datetime.max,
                              i["run"].ready_at))
    return items


def _title(user, task: Task) -> str:
    keys = permissions.visible_fields(user, task)
    vals = task.values or {}
    return str(vals["name"]) if "name" in keys and vals.get("name") else f"Task {task.id}"


@bp.get("")
@login_required
def index():
    user = _user()
    args = {k: request.args.get(k, "") for k in ("process", "stage", "status")}
    items = my_work(user, **args)
    if request.args.get("partial"):
        return render_template("queue/_work.html", items=items)
    versions = permissions.visible_version_ids(user)
    procs = db.session.scalars(select(Process).where(Process.archived_at.is_(None)).order_by(Process.name)).all()
    tables = db.session.scalars(select(Table).order_by(Table.name)).all()
    return render_template("queue/index.html", items=items, args=args, processes=procs, tables=tables,
                           statuses=QUEUE_STATUSES, unread=notifications.unread_count(user),
                           visible_versions=versions)


@bp.get("/counts")
@login_required
def counts():
    items = my_work(_user())
    return jsonify({"open": len(items), "overdue": sum(i["overdue"] for i in items),
                    "unread": notifications.unread_count(_user())})


def _run_or_404(run_id: int) -> StageRun:
    run = db.session.get(StageRun, run_id)
    if run is None or not permissions.can_see_task(_user(), run.task) \
            or not permissions.can_act(_user(), run, "view"):
        abort(404)
    return run


def _require(run: StageRun, action: str) -> None:
    if not permissions.can_act(_user(), run, action):
        abort(403)


def _queue_action(run_id: int, action: str, perform):
    """Permission-check a queue action on a run, perform it, commit, and go back."""
    _require(_run_or_404(run_id), action)
    try:
        perform()
    except APIError as exc:
        return _fail(exc, url_for("queue.index"))
    db.session.commit()
    return _back(url_for("queue.index"))


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
    run = _run_or_404(run_id)
    _require(run, "reassign")
    email = request.form.get("assignee", "").strip().lower()
    assignee = db.session.scalar(select(User).where(func.lower(User.email) == email, User.active.is_(True)))
    stage = permissions.stage_for(run)
    if assignee is None or not permissions.may_work(assignee, stage, permissions.team_of(run)):
        flash(f"{email or 'Nobody'} cannot work this Stage.", "error")
        return _back(url_for("queue.index"))
    try:
        service.claim(run_id, _user(), actor(), assignee=assignee)
        notifications.notify(assignee, "assigned", f"{_user().name} assigned you {stage['name']} of Task {run.task_id}",
                             task_id=run.task_id, run_id=run.id)
    except APIError as exc:
        return _fail(exc, url_for("queue.index"))
    db.session.commit()
    flash(f"Assigned to {assignee.name}.", "info")
    return _back(url_for("queue.index"))


# --- Task page ------------------------------------------------------------------------------------

def _task_or_404(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None or not permissions.can_see_task(_user(), task):
        abort(404)
    return task


@bp.get("/tasks/<int:task_id>")
@login_required
def task(task_id):
    user = _user()
    task = _task_or_404(task_id)
    readable = permissions.visible_fields(user, task)
    writable = permissions.task_writable_fields(user, task)
    fields = db.session.scalars(select(Field).where(Field.table_id == task.table_id).order_by(Field.position)).all()
    processes = {p.id: p for p in db.session.scalars(select(Process))}
    visits = db.session.scalars(select(TaskVisit).where(TaskVisit.task_id == task.id).order_by(TaskVisit.id)).all()
    runs = permissions.visible_runs(user, task)
    open_ids = {r.id for r in permissions.current_runs(task)}
    run_info = []
    for run in runs:
        stage = permissions.stage_for(run)
        acts = [a for a in _actions_for(run) if permissions.can_act(user, run, a)] if run.id in open_ids else []
        run_info.append({"run": run, "stage": stage, "actions": acts, "comments": threads.comments_of(run),
                         "type": stages.get(stage["type"]) or stages.get("basic"),
                         "writes": permissions.writable_fields(user, run) if run.id in open_ids else set(),
                         "claimer": db.session.get(User, run.claimed_by_id) if run.claimed_by_id else None})
    visible_run_ids = {r.id for r in runs}
    events = [e for e in db.session.scalars(select(Event).where(Event.task_id == task.id).order_by(Event.id.desc())
                                             .limit(200))
              if e.stage_run_id is None or e.stage_run_id in visible_run_ids]
    links_ = db.session.scalars(select(MagicLink).where(MagicLink.task_id == task.id).order_by(MagicLink.id)).all()
    ctx = dict(task=task, fields=fields, readable=readable, writable=writable, values=task.values or {},
               visits=visits, processes=processes, runs=run_info, events=events, links=links_,
               now=clock.now(), can_move=task.status == "running" and permissions.allowed(user, "task.move", task),
               can_invite=task.status == "running")
    if request.args.get("partial"):
        return render_template("queue/_task_live.html", **ctx)
    return render_template("queue/task.html", **ctx)


def _actions_for(run: StageRun) -> list[str]:
    s = run.status
    return {
        "pending": ["complete", "pause"], "started": ["complete", "pause"], "in_progress": ["complete", "pause"],
        "paused": ["resume"], "awaiting_approval": ["approve", "reject"], "gated": ["advance"],
        "failed": ["retry"], "waiting_on_participant": ["complete"],
    }.get(s, [])


@bp.post("/runs/<int:run_id>/act")
@login_required
def act(run_id):
    run = _run_or_404(run_id)
    action = request.form.get("action", "")
    if action not in ("complete", "approve", "reject", "advance", "pause", "resume", "retry", "start"):
        abort(400)
    _require(run, action)
    back = url_for("queue.task", task_id=run.task_id)
    values = None
    if action == "complete":
        writable = permissions.writable_fields(_user(), run)
        values = {k[2:]: v for k, v in request.form.items() if k.startswith("f_") and v != ""}
        refused = set(values) - writable
        if refused:
            abort(403)
    try:
        if action == "complete":
            links.resume_from_participant(run_id, actor())
        service.act(run_id, action, actor(), user=_user(), values=values or None,
                    comment=request.form.get("comment", "")[:2000])
    except APIError as exc:
        return _fail(exc, back)
    db.session.commit()
    return _back(back)


@bp.post("/tasks/<int:task_id>/values")
@login_required
def save_values(task_id):
    task = _task_or_404(task_id)
    writable = permissions.task_writable_fields(_user(), task)
    fields = {f.key: f for f in db.session.scalars(select(Field).where(Field.table_id == task.table_id))}
    values = {k[2:]: v for k, v in request.form.items() if k.startswith("f_")}
    values = {k: v for k, v in values.items() if k in fields and (v != "" or fields[k].type == "text")
              and v != _display(task.values.get(k))}
    if set(values) - writable:
        abort(403)
    if values:
        try:
            service.update_values(task, values, _user(), actor(), allowed=writable)
        except APIError as exc:
            return _fail(exc, url_for("queue.task", task_id=task_id))
        db.session.commit()
        flash("Saved.", "info")
    return redirect(url_for("queue.task", task_id=task_id))


def _display(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


@bp.post("/tasks/<int:task_id>/move")
@login_required
def move(task_id):
    task = _task_or_404(task_id)
    user = _user()
    if not permissions.allowed(user, "task.move", task):
        abort(403)
    try:
        move_tasks([task.id], process_key=request.form.get("process") or None,
                   reason=request.form.get("reason", ""), actor=actor(), user=user)
    except APIError as exc:
        return _fail(exc, url_for("queue.task", task_id=task_id))
    db.session.commit()
    return redirect(url_for("queue.task", task_id=task_id))


@bp.post("/runs/<int:run_id>/comments")
@login_required
def comment(run_id):
    run = _run_or_404(run_id)
    if not permissions.can_act(_user(), run, "view"):
        abort(403)
    try:
        threads.add_comment(run, request.form.get("body", ""), external=request.form.get("external") == "1",
                            actor=actor(), user=_user())
    except APIError as exc:
        return _fail(exc, url_for("queue.task", task_id=run.task_id))
    db.session.commit()
    return redirect(url_for("queue.task", task_id=run.task_id) + f"#run-{run_id}")


@bp.post("/tasks/<int:task_id>/invite")
@login_required
@limiter.limit("30/hour", key_func=lambda: f"invite:{current_user.id}")
def invite(task_id):
    task = _task_or_404(task_id)
    try:
        link, secret = links.invite(task, request.form.get("email", ""), name=request.form.get("name", ""),
                                    by=_user(), actor=actor())
    except APIError as exc:
        return _fail(exc, url_for("queue.task", task_id=task_id))
    db.session.commit()
    url = url_for("portal.open_link", token=secret, _external=True)
    flash(f"Invitation sent to {link.participant.email}. Personal link (shown once): {url}", "info")
    return redirect(url_for("queue.task", task_id=task_id))


@bp.post("/links/<int:link_id>/revoke")
@login_required
def revoke(link_id):
    link = db.session.get(MagicLink, link_id)
    if link is None:
        abort(404)
    _task_or_404(link.task_id)
    links.revoke(link, actor())
    db.session.commit()
    return redirect(url_for("queue.task", task_id=link.task_id))


# --- Table view ------------------------------------------------------------------------------------

@bp.get("/tables/<key>")
@login_required
def table(key):
    user = _user()
    tbl = db.session.scalar(select(Table).where(Table.key == key))
    if tbl is None:
        abort(404)
    q = select(Task).where(Task.table_id == tbl.id)
    versions = permissions.visible_version_ids(user)
    if versions is not None:
        q = q.where(Task.version_id.in_(versions or [-1]))
    status = request.args.get("status", "")
    if status:
        q = q.where(Task.status == status)
    tasks = db.session.scalars(q.order_by(Task.id.desc()).limit(5000)).all()
    fields = db.session.scalars(select(Field).where(Field.table_id == tbl.id).order_by(Field.position)).all()
    rows = []
    readable_any: set[str] = set()
    for t in tasks:
        keys = permissions.visible_fields(user, t)
        readable_any |= keys
        rows.append({"task": t, "values": permissions.filter_values(t.values, keys)})
    columns = [f for f in fields if f.key in readable_any]
    filters = {f.key: request.args.get(f"f_{f.key}", "").strip() for f in columns if request.args.get(f"f_{f.key}")}
    for k, v in filters.items():
        rows = [r for r in rows if v.lower() in _display(r["values"].get(k)).lower()]
    sort = request.args.get("sort", "")
    if sort in {f.key for f in columns}:
        rows.sort(key=lambda r: (r["values"].get(sort) is None, _display(r["values"].get(sort)).lower()),
                  reverse=request.args.get("dir") == "desc")
    processes = {p.id: p for p in db.session.scalars(select(Process))}
    if request.args.get("format") == "csv":
        body = exports.to_csv(["task", "process", "status"] + [f.key for f in columns], (
            [r["task"].id, processes[r["task"].process_id].key, r["task"].status]
            + [_cell(r["values"].get(f.key)) for f in columns] for r in rows))
        db.session.add(Event(type="table.exported", actor=actor(), data={"table": key, "rows": len(rows)},
                             created_at=clock.now()))
        db.session.commit()
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{key}.csv"'})
    return render_template("queue/table.html", table=tbl, columns=columns, rows=rows, processes=processes,
                           sort=sort, dir=request.args.get("dir", ""), filters=filters, status=status)


def _cell(v):
    """A CSV cell: numbers as numbers, everything else as displayed (app.exports neutralises formulas)."""
    return v if isinstance(v, (int, float)) and not isinstance(v, bool) else _display(v)


# --- notifications ---------------------------------------------------------------------------------

@bp.get("/notifications")
@login_required
def notifications_page():
    rows = db.session.scalars(select(Notification).where(Notification.user_id == _user().id)
                              .order_by(Notification.id.desc()).limit(200)).all()
    return render_template("queue/notifications.html", rows=rows)


@bp.post("/notifications/read")
@login_required
def notifications_read():
    q = select(Notification).where(Notification.user_id == _user().id, Notification.read_at.is_(None))
    ident = request.form.get("id")
    if ident and ident.isdigit():
        q = q.where(Notification.id == int(ident))
    for n in db.session.scalars(q):
        n.read_at = clock.now()
    db.session.commit()
    return redirect(url_for("queue.notifications_page"))


@bp.app_template_filter("show")
def _show(v):
    if v is None or v == "":
        return "—"
    if isinstance(v, bool):
        return "Yes" if v else "No"
    return v


@bp.app_template_filter("when")
def _when(dt):
    return dt.strftime("%Y-%m-%d %H:%M") if dt else "—"




# --- alert rules ----------------------------------------------------------------------------------

def _alert_page(process_key: str, *, errors=None, form=None, status=200):
    from app import alerts

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
    return render_template("queue/alerts.html", processes=manageable, process=process,
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
    from app import alerts

    key = request.form.get("process", "")
    try:
        process = alerts.get_process(key, _user())
    except APIError as exc:
        abort(exc.status)
    form = {k: request.form.get(k, "") for k in ("event_type", "severity", "channel", "target")}
    try:
        alerts.create_rule(process, dict(form), actor())
    except APIError as exc:
        db.session.rollback()
        return _alert_page(process.key, errors=exc.details if isinstance(exc.details, dict) else {"_": [exc.message]},
                           form=form, status=exc.status)
    db.session.commit()
    flash("Alert rule added.", "info")
    return redirect(url_for("queue.alerts_page", process=process.key))


@bp.post("/alerts/rules/<int:rule_id>/delete")
@login_required
def alerts_delete(rule_id):
    from app import alerts

    try:
        rule = alerts.get_rule(rule_id, _user())
    except APIError as exc:
        abort(exc.status)
    key = db.session.get(Process, rule.process_id).key
    alerts.delete_rule(rule, actor())
    db.session.commit()
    flash("Alert rule deleted.", "info")
    return redirect(url_for("queue.alerts_page", process=key))
