"""/queue/boards: a Process's board (its Stages as columns, its Tasks as cards), live over Socket.IO.
Who may open a board is app.permissions' "process.watch" (the same rule as the Process's live room);
a dropped card goes through app.tasks.moves.drop_on_stage, which asks app.permissions itself."""
from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app import permissions
from app.auth.access import actor
from app.errors import APIError
from app.extensions import db
from app.lookups import find_process
from app.models import Process
from app.notifications import kind_label
from app.tasks.moves import drop_on_stage
from app.worklist import board_queries as queries

bp = Blueprint("board", __name__, url_prefix="/queue/boards")
bp.add_app_template_filter(kind_label, "notice_kind")    # the notifications page: a kind by its name


def _user():
    return current_user._get_current_object()


def _process(key: str) -> Process:
    process = find_process(key)
    if process is None:
        abort(404)
    decision = permissions.decide(_user(), "process.watch", process)
    if not decision.allowed:
        abort(decision.status, decision.reason)
    return process


@bp.get("")
@login_required
def index():
    processes = db.session.scalars(select(Process).where(Process.archived_at.is_(None)).order_by(Process.name)).all()
    return render_template("worklist/boards.html",
                           processes=[p for p in processes if permissions.allowed(_user(), "process.watch", p)])


@bp.get("/<key>")
@login_required
def show(key):
    process = _process(key)
    ctx = queries.board(_user(), process, request.args)
    ctx["movable"] = movable_hints(ctx)
    if request.args.get("partial"):
        return render_template("worklist/_board.html", **ctx)
    return render_template("worklist/board.html", **ctx)


@bp.get("/<key>/stages/<stage>")
@login_required
def column(key, stage):
    process = _process(key)
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and len(page) < 6 else 1
    ctx = queries.column(_user(), process, stage, request.args, max(page, 1))
    return render_template("worklist/board_column.html", **ctx)


@bp.post("/<key>/move")
@login_required
def move(key):
    """Drop a card on a Stage. Answers JSON to the board's script and redirects a plain form. Who may
    is the Task's business (drop_on_stage asks app.permissions), not the board's: no watch check here."""
    process = find_process(key)
    if process is None:
        abort(404)
    wants_json = request.accept_mimetypes.best == "application/json"
    task_id, stage = request.form.get("task_id", ""), request.form.get("stage", "")
    back = url_for("board.show", key=process.key)
    try:
        if not (task_id.isdigit() and len(task_id) < 12):
            raise APIError("Choose a Task to move.", {"task_id": ["required"]}, status=400, code="invalid")
        if stage not in queries.stage_keys(process):
            raise APIError("Choose a Stage of this Process.", {"stage": ["not a Stage of this Process"]},
                           status=400, code="invalid")
        done = drop_on_stage(int(task_id), process.id, stage, reason=request.form.get("reason", "")[:500], actor=actor(),
                             user=_user())
    except APIError as exc:
        db.session.rollback()
        if wants_json:
            return jsonify({"error": {"code": exc.code, "message": exc.message, "details": exc.details}}), exc.status
        if exc.status in (403, 404):   # refused by app.permissions: the same status as the API gives
            abort(exc.status, exc.message)
        flash(f"Not moved: {exc.message}", "error")
        return redirect(back)
    name = queries.stage_keys(process)[stage]
    message = f"Advanced into {name}." if done == "advanced" else f"Moved to {name}."
    if wants_json:
        return jsonify({"done": done, "message": message})
    flash(message, "info")
    return redirect(back)


def movable_hints(ctx: dict) -> dict[int, str]:
    """Per card run id, what dropping it can do for this user: "advance" (a gate they may pass), "move",
    or nothing. A hint for the page only: the server decides on the drop."""
    user = _user()
    team = ctx["process"].team_id
    may_move_all = permissions.privileged_for(user, team) or permissions.manager_of(user, team)
    hints = {}
    for col in ctx["columns"]:
        for card in col["cards"]:
            run = card["run"]
            if run.status == "gated" and permissions.can_act(user, run, "advance"):
                hints[run.id] = "advance"
            elif may_move_all or "responsible" in permissions.roles_in(user, permissions.stage_for(run), team, run):
                hints[run.id] = "move"
    return hints
