"""/api/v1/tasks: start Tasks on a Process or a Split, list, read and update their Fields.

Every read and write goes through app.permissions: a caller sees only the Tasks and Field values
their Stages allow, and writes only Fields an open Stage Run of theirs may write."""
from flask import jsonify, request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from app.api import schemas as s
from app.api.idempotency import caller_scope, idempotent
from app.auth.access import actor, login_required_api, require_login, roles_required
from app import lookups, permissions
from app.errors import NotFound
from app.extensions import db
from app.models import Process, Role, StageRun, Task, Version
from app.vocab.statuses import OPEN as OPEN_STATUSES
from app.tasks import bulk, history, signals
from app.tasks import operations as service

blp = Blueprint("tasks", __name__, description="Tasks: rows moving through Stages")
EXISTING = "a Task with this `key` was already started in that Process: that Task (nothing changed)"
MINIMAL = "return=minimal"
PREFER = {   # RFC 7240; documented on the batch route
    "in": "header", "name": "Prefer", "required": False, "schema": {"type": "string", "enum": [MINIMAL]},
    "description": "`return=minimal`: answer each Task with its `id`, `key`, `process` and `status` only "
                   "(header `Preference-Applied: return=minimal`), for clients that start many Tasks and "
                   "need only their ids; the status code is the same.",
}


def prefers_minimal() -> bool:
    """The request's `Prefer` header asks for `return=minimal` (RFC 7240: comma-separated, `;` params)."""
    return any(p.split(";", 1)[0].strip().lower() == MINIMAL for p in request.headers.get("Prefer", "").split(","))


def get_task(task_id: int, user=None) -> Task:
    task = lookups.get_task(task_id)
    if user is not None and not permissions.can_see_task(user, task):
        raise NotFound(f"No task {task_id}.")
    return task


class FilteredTask:
    """A Task as one caller may see it: Field values limited to what they may read, Stage Runs
    limited to the Stages they may see."""

    def __init__(self, task: Task, user, readable: set[str] | None = None):
        self._task = task
        keys = readable if readable is not None else permissions.visible_fields(user, task)
        self.values = permissions.filter_values(task.values, keys)
        self._user = user

    @property
    def stage_runs(self):
        return permissions.visible_runs(self._user, self._task)

    def __getattr__(self, name):
        return getattr(self._task, name)


@blp.route("")
class Tasks(MethodView):
    @login_required_api
    @blp.arguments(s.TaskQuerySchema, location="query")
    @blp.response(200, s.TaskPageSchema)
    def get(self, args):
        user = require_login()
        q = select(Task)
        versions = permissions.visible_version_ids(user)
        if versions is not None:
            q = q.where(Task.version_id.in_(versions or [-1]))
        if "process" in args:
            q = q.join(Process, Process.id == Task.process_id).where(Process.key == args["process"])
        if "version" in args:
            q = q.join(Version, Version.id == Task.version_id).where(Version.number == args["version"])
        if "status" in args:
            q = q.where(Task.status == args["status"])
        if "needs_attention" in args:
            q = q.where(Task.needs_attention.is_(args["needs_attention"]))
        if "stage" in args:
            q = q.where(Task.id.in_(select(StageRun.task_id).where(
                StageRun.stage_key == args["stage"], StageRun.status.in_(OPEN_STATUSES))))
        total = db.session.scalar(select(func.count()).select_from(q.subquery()))
        items = db.session.scalars(q.order_by(Task.id.desc()).limit(args["per_page"])
                                   .offset((args["page"] - 1) * args["per_page"])).all()
        return {"items": [FilteredTask(t, user) for t in items], "page": args["page"], "per_page": args["per_page"], "total": total}

    @roles_required(Role.staff, Role.designer, Role.manager)
    @idempotent(caller_scope)
    @blp.arguments(s.TaskCreateSchema)
    @blp.response(201, s.TaskDetailSchema)
    @blp.alt_response(200, schema=s.TaskDetailSchema, success=True, description=EXISTING)
    def post(self, data):
        """Start a Task on a Process (its current Version) or through a Split. Only who the Process's
        `start.roles` name (default: its Team), setting only its `start.writes` (else 403).

        A `key` is unique in the Process a Task starts in: when a Task with this key was already
        started there (for a Split: in the key's sticky variant's Process), the answer is that Task
        with status 200, and nothing is created or changed (the `values` sent are not applied)."""
        user = require_login()
        task, created = service.start_task(data, user, actor())
        return FilteredTask(task, user), 201 if created else 200


@blp.route("/batch", methods=["POST"])
@roles_required(Role.staff, Role.designer, Role.manager)
@idempotent(caller_scope)
@blp.arguments(s.TaskBatchSchema)
@blp.response(201, s.TaskSchema(many=True))
@blp.alt_response(200, schema=s.TaskSchema(many=True), success=True,
                  description="every item named a key already started in its Process: those Tasks")
@blp.doc(parameters=[PREFER])
def batch(data):
    """Start many Tasks in one transaction: all start, or none (errors name the item). An item whose
    `key` was already started in its Process answers with that Task (as POST /tasks does); the status
    is 201 if any Task started, 200 if none did. With `Prefer: return=minimal` each Task of the
    answer is only its `id`, `key`, `process` and `status`."""
    user = require_login()
    started = bulk.start_tasks(data["tasks"], user, actor())
    status = 201 if any(created for _, created in started) else 200
    if prefers_minimal():    # ids for a client that loads many: no values, no per-Task permission question
        keys = {p.id: p.key for p in db.session.scalars(select(Process).where(
            Process.id.in_({t.process_id for t, _ in started})))}
        resp = jsonify([{"id": t.id, "key": t.key, "process": keys[t.process_id], "status": t.status}
                        for t, _ in started])
        resp.status_code = status
        resp.headers["Preference-Applied"] = MINIMAL
        resp.vary.add("Prefer")
        return resp
    readable: dict[int, set[str]] = {}   # what a caller reads depends on the Task's Version only
    for t, _ in started:
        if t.version_id not in readable:
            readable[t.version_id] = permissions.visible_fields(user, t)
    return [FilteredTask(t, user, readable[t.version_id]) for t, _ in started], status


@blp.route("/<int:task_id>")
class TaskItem(MethodView):
    @login_required_api
    @blp.response(200, s.TaskDetailSchema)
    def get(self, task_id):
        user = require_login()
        return FilteredTask(get_task(task_id, user), user)

    @roles_required(Role.staff, Role.designer, Role.manager)
    @blp.arguments(s.TaskUpdateSchema)
    @blp.response(200, s.TaskDetailSchema)
    def patch(self, data, task_id):
        """Update Field values (re-evaluates start rules and Routes). Only Fields writable through an
        open Stage Run the caller may work; anything else is refused (403) and nothing changes."""
        user = require_login()
        task = service.update_values(get_task(task_id, user), data["values"], user, actor())
        return FilteredTask(task, user)


@blp.route("/<int:task_id>/cancel", methods=["POST"])
@login_required_api
@blp.arguments(s.ReasonSchema)
@blp.response(200, s.TaskDetailSchema)
def cancel(data, task_id):
    """Cancel a running Task with a reason: its open and failed Stage Runs are cancelled with their
    timers, the Task ends `cancelled`. For the owning Team's managers and designers (else 403);
    a Task that is no longer running: 409."""
    user = require_login()
    task, = service.cancel_tasks([get_task(task_id, user).id], user, actor(), data["reason"])
    return FilteredTask(task, user)


@blp.route("/cancel", methods=["POST"])
@login_required_api
@blp.arguments(s.CancelTasksSchema)
@blp.response(200, s.CancelledSchema)
def cancel_many(data):
    """Cancel many running Tasks with one reason: all of them, or none (the error names the Task)."""
    user = require_login()
    return {"cancelled": [t.id for t in service.cancel_tasks(data["task_ids"], user, actor(), data["reason"])]}


@blp.route("/<int:task_id>/events")
@login_required_api
@blp.arguments(s.EventQuerySchema, location="query")
@blp.response(200, s.EventPageSchema)
def events(args, task_id):
    """The Task's history, newest first, each Event with a plain sentence (`text`). Only Events of
    Stages you may see; Fields you may not read are left out. Page with `before` = the last `next`."""
    user = require_login()
    items, next_ = history.events_of(user, get_task(task_id, user), types=args["type"], before=args["before"],
                                     limit=args["limit"])
    return {"items": items, "next": next_}


@blp.route("/<int:task_id>/signals", methods=["POST"])
@login_required_api
@blp.arguments(s.SignalSchema)
@blp.response(200, s.SignalResultSchema)
def signal(data, task_id):
    """Send a named signal with Field values to a running Task. The Stage waiting for it (a `wait`
    Stage) takes it at once, or when it becomes ready (kept), unless it drops early signals. Values
    outside that Stage's writes, or of the wrong type: 422, nothing kept. No Stage of the Task's
    Process waits for it: 422. For whoever may start Tasks in its Process and the Team's managers."""
    user = require_login()
    return signals.send_signal(get_task(task_id, user), data["name"], data["values"], user, actor())


@blp.route("/signals", methods=["POST"])
@login_required_api
@blp.arguments(s.SignalByKeySchema)
@blp.response(200, s.SignalResultSchema)
def signal_by_key(data):
    """The same, for the Task started under `key` (correlation: your own id for the case)."""
    user = require_login()
    task = signals.find_by_key(data["key"], data["process"])
    if task is None or not permissions.can_see_task(user, task):
        raise NotFound(f'No task with the key "{data["key"]}".')
    return signals.send_signal(task, data["name"], data["values"], user, actor())
