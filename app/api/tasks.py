"""/api/v1/tasks: start Tasks on a Process or a Split, list, read and update their Fields.

Every read and write goes through app.permissions: a caller sees only the Tasks and Field values
their Stages allow, and writes only Fields an open Stage Run of theirs may write."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from app.api import schemas as s
from app.auth.access import actor, login_required_api, require_login, roles_required
from app import permissions
from app.errors import NotFound
from app.extensions import db
from app.models import Process, Role, StageRun, Task, Version
from app.models.tasks import OPEN_STATUSES
from app.runtime import service

blp = Blueprint("tasks", __name__, description="Tasks: rows moving through Stages")


def get_task(task_id: int, user=None) -> Task:
    task = db.session.get(Task, task_id)
    if task is None or (user is not None and not permissions.can_see_task(user, task)):
        raise NotFound(f"No task {task_id}.")
    return task


class FilteredTask:
    """A Task as one caller may see it: Field values limited to what they may read, Stage Runs
    limited to the Stages they may see."""

    def __init__(self, task: Task, user):
        self._task = task
        self.values = permissions.filter_values(task.values, permissions.visible_fields(user, task))
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
    @blp.arguments(s.TaskCreateSchema)
    @blp.response(201, s.TaskDetailSchema)
    def post(self, data):
        """Start a Task on a Process (its current Version) or through a Split. Only who the Process's
        `start.roles` name (default: its Team), setting only its `start.writes` (else 403)."""
        user = require_login()
        task = service.create_task(data, user, actor())
        db.session.commit()
        return FilteredTask(task, user)


@blp.route("/batch", methods=["POST"])
@roles_required(Role.staff, Role.designer, Role.manager)
@blp.arguments(s.TaskBatchSchema)
@blp.response(201, s.TaskSchema(many=True))
def batch(data):
    """Start many Tasks in one transaction: all start, or none (errors name the item)."""
    user = require_login()
    tasks = service.create_tasks(data["tasks"], user, actor())
    db.session.commit()
    return [FilteredTask(t, user) for t in tasks]


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
        db.session.commit()
        return FilteredTask(task, user)
