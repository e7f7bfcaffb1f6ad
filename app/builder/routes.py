"""The visual builder: server-rendered pages; each page's ES module talks to the JSON API."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import func, select

from app import lookups, permissions, stages
from app.permissions import can_design, check_can_design
from app.builder import presence
from app.errors import APIError
from app.extensions import db
from app.models import Process, Role, Split, Table, Team, User, Version
from app.models.tasks import StageRun, StageRunStatus, Task
from app.processes import operations as ops
from app.processes.queries import draft_payload, process_list
from app.processes.schemas import DraftSchema, DuplicateSchema, ProcessCreateSchema, ProcessSchema, StageTypeSchema
from app.splits import split_payload
from app.splits.schemas import SplitSchema
from app.tables.schemas import TableSchema
from app.vocab import statuses
from app.vocab.statuses import TaskStatus

bp = Blueprint("builder", __name__, url_prefix="/builder")

LIVE_STATUSES = statuses.LIVE


def _designer() -> bool:
    return current_user.role in (Role.admin, Role.designer)


_process = lookups.get_process   # 404 (an HTML page for pages: app.errors)


@bp.get("")
@login_required
def index():
    show_archived = request.args.get("archived") == "1"
    q = select(Process).order_by(Process.name)
    if not show_archived:
        q = q.where(Process.archived_at.is_(None))
    processes = db.session.scalars(q).all()
    running = dict(db.session.execute(
        select(Task.process_id, func.count()).where(Task.status == TaskStatus.running).group_by(Task.process_id)).all())
    last = dict(db.session.execute(
        select(Version.process_id, func.max(Version.published_at)).group_by(Version.process_id)).all())
    rows = []
    for p in processes:
        current = None
        if p.current_version:
            current = db.session.scalar(select(Version).where(Version.process_id == p.id,
                                                              Version.number == p.current_version))
        if p.draft is None:
            status = "unchanged" if current else "empty"
        elif current is None:
            status = "unpublished"
        else:
            status = "unchanged" if p.draft.definition == current.definition else "changed"
        rows.append({"p": p, "running": running.get(p.id, 0), "last": last.get(p.id), "status": status,
                     "editable": can_design(current_user, p.team_id)})
    tables = db.session.scalars(select(Table).order_by(Table.name)).all()
    teams = [t.name for t in current_user.teams] if current_user.role != Role.admin else \
        db.session.scalars(select(Team.name).order_by(Team.name)).all()
    splits = db.session.scalars(select(Split).order_by(Split.name)).all()
    variants = [{"key": r["p"].key, "name": r["p"].name, "table": r["p"].table.key,
                 "version": r["p"].current_version} for r in rows if r["p"].archived_at is None]
    return render_template("builder/list.html", rows=rows, tables=tables, teams=teams, splits=splits,
                           designer=_designer(), show_archived=show_archived, split_boot={"processes": variants})


def _form_action(fn, ok_message: str, target=None):
    try:
        result = fn()
        flash(ok_message, "info")
        return redirect(target(result) if target else url_for("builder.index"))
    except APIError as err:
        db.session.rollback()
        if err.status in (403, 404):   # refused by app.permissions: the same status as the API gives
            abort(err.status, err.message)
        details = "; ".join(f"{k}: {', '.join(map(str, v)) if isinstance(v, list) else v}"
                            for k, v in (err.details.items() if isinstance(err.details, dict) else []))
        flash(f"{err.message} {details}".strip(), "error")
        return redirect(url_for("builder.index"))


@bp.post("/create")
@login_required
def create():
    if not _designer():
        abort(403)
    f = request.form
    data = {"key": f.get("key", "").strip(), "name": f.get("name", "").strip(), "description": "",
            "table": f.get("table", ""), "team": f.get("team", "")}
    errors = ProcessCreateSchema().validate(data)
    if errors:
        flash("Could not create the process: " + "; ".join(f"{k}: {', '.join(v)}" for k, v in errors.items()),
              "error")
        return redirect(url_for("builder.index"))
    return _form_action(lambda: ops.create_process(data, current_user._get_current_object()),
                        f'Created process "{data["name"]}".', lambda p: url_for("builder.editor", key=p.key))


@bp.post("/<key>/duplicate")
@login_required
def duplicate(key):
    source = _process(key)
    new_key, name = request.form.get("key", "").strip(), request.form.get("name", "").strip()

    def run():
        check_can_design(current_user, source)
        errs = DuplicateSchema().validate({"key": new_key, "name": name})
        if errs:
            raise APIError("Invalid key or name.", errs)
        return ops.duplicate_process(source, new_key, name, current_user._get_current_object())

    return _form_action(run, f'Duplicated "{source.name}" as "{name}".')


@bp.post("/<key>/archive")
@login_required
def archive(key):
    process = _process(key)
    archived = request.form.get("restore") != "1"
    return _form_action(lambda: ops.set_archived(process, archived, current_user._get_current_object()),
                        f'{"Archived" if archived else "Restored"} "{process.name}".')


@bp.post("/<key>/retention")
@login_required
def retention(key):
    """How long finished Tasks are kept: for ever, or archived / purged N days after they finished."""
    process = _process(key)
    action, days = request.form.get("action", ""), request.form.get("days", "").strip()
    data = {"retention_action": action or None,
            "retention_days": (int(days) if days.isdigit() else days or None) if action else None}
    kept = "for ever" if not action else f"until {action}d {days} days after they finish"
    return _form_action(lambda: ops.update_process(process, data, current_user._get_current_object()),
                        f'Finished Tasks of "{process.name}" are now kept {kept}.')


@bp.get("/<key>")
@login_required
def editor(key):
    process = _process(key)
    can_edit = can_design(current_user, process.team_id)
    boot = _editor_boot(process)
    # who the role pickers offer: every Team; people only to those who may edit (names and emails)
    boot["people"] = {"teams": db.session.scalars(select(Team.name).order_by(Team.name)).all(),
                      "users": [{"name": u.name, "email": u.email} for u in db.session.scalars(
                          select(User).where(User.active.is_(True)).order_by(User.name))] if can_edit else []}
    return render_template("builder/editor.html", process=process, boot=boot, can_edit=can_edit)


def _editor_boot(process: Process) -> dict:
    """What the editor's boot used to fetch in five API calls, dumped by the same schemas as the API's
    GETs, so that opening the editor makes no round trip (issue 4: a 60-Stage Process opens in under
    300 ms). A read: it creates nothing (the draft is peeked)."""
    return {"types": StageTypeSchema(many=True).dump(stages.current().describe()),
            "table": TableSchema().dump(process.table),
            "processes": ProcessSchema(many=True).dump(process_list()),
            "draft": DraftSchema().dump(draft_payload(process)),
            "splits": SplitSchema(many=True).dump(
                [split_payload(x) for x in db.session.scalars(select(Split).order_by(Split.name))])}


@bp.get("/<key>/counts")
@login_required
def counts(key):
    """Live counts per Stage of the open Stage Runs of running Tasks on the current Process: for
    whoever may watch it (app.permissions "process.watch", as its Socket.IO room)."""
    process = _process(key)
    if not permissions.allowed(current_user._get_current_object(), "process.watch", process):
        abort(403)
    rows = db.session.execute(
        select(StageRun.stage_key, StageRun.status, func.count())
        .join(Task, Task.id == StageRun.task_id)
        .where(StageRun.process_id == process.id, Task.process_id == process.id, Task.status == TaskStatus.running,
               StageRun.finished_at.is_(None) | (StageRun.status == StageRunStatus.failed))
        .group_by(StageRun.stage_key, StageRun.status)).all()
    bucket_of = {s: b for b, statuses in LIVE_STATUSES.items() for s in statuses}
    out: dict[str, dict[str, int]] = {}
    for stage_key, status, n in rows:
        bucket = bucket_of.get(status)
        if bucket is None:
            continue
        out.setdefault(stage_key, dict.fromkeys(LIVE_STATUSES, 0))[bucket] += n
    return jsonify({"process": process.key, "id": process.id, "version": process.current_version, "stages": out})


@bp.get("/splits/<key>")
@login_required
def split_editor(key):
    split = lookups.get_split(key)
    editable = permissions.allowed(current_user._get_current_object(), "split.weights", split)
    return render_template("builder/split.html", split=split, can_edit=editable)


@bp.get("/tables/<key>")
@login_required
def table_editor(key):
    table = lookups.get_table(key)
    return render_template("builder/table.html", table=table,
                           can_edit=permissions.allowed(current_user._get_current_object(), "table.edit", table))


def init_app(app) -> None:
    app.register_blueprint(bp)
    presence.init_app(app)
