"""/api/v1/tasks: start Tasks on a Process or a Split, list, read and update their Fields."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import func, select

from app.api import schemas as s
from app.auth.access import actor, login_required_api, require_login, roles_required
from app.errors import NotFound
from app.extensions import db
from app.models import Process, Role, StageRun, Task, Version
from app.models.tasks import OPEN_STATUSES
from app.runtime import service

blp = Blueprint("tasks", __name__, description="Tasks: rows moving through Stages")


def get_task(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound(f"No task {task_id}.")
    return task


@blp.route("")
class Tasks(MethodView):
    @login_required_api
    @blp.arguments(s.TaskQuerySchema, location="query")
    @blp.response(200, s.TaskPageSchema)
    def get(self, args):
        q = select(Task)
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
        return {"items": items, "page": args["page"], "per_page": args["per_page"], "total": total}

    @roles_required(Role.staff, Role.designer, Role.manager)
    @blp.arguments(s.TaskCreateSchema)
    @blp.response(201, s.TaskDetailSchema)
    def post(self, data):
        """Start a Task on a Process (its current Version) or through a Split."""
        task = service.create_task(data, require_login(), actor())
        db.session.commit()
        service.after_commit()
        return task


@blp.route("/batch", methods=["POST"])
@roles_required(Role.staff, Role.designer, Role.manager)
@blp.arguments(s.TaskBatchSchema)
@blp.response(201, s.TaskSchema(many=True))
def batch(data):
    """Start many Tasks in one transaction: all start, or none (errors name the item)."""
    tasks = service.create_tasks(data["tasks"], require_login(), actor())
    db.session.commit()
    service.after_commit()
    return tasks


@blp.route("/<int:task_id>")
class TaskItem(MethodView):
    @login_required_api
    @blp.response(200, s.TaskDetailSchema)
    def get(self, task_id):
        return get_task(task_id)

    @roles_required(Role.staff, Role.designer)
    @blp.arguments(s.TaskUpdateSchema)
    @blp.response(200, s.TaskDetailSchema)
    def patch(self, data, task_id):
        """Update Field values (re-evaluates start rules and Routes)."""
        task = service.update_values(get_task(task_id), data["values"], require_login(), actor())
        db.session.commit()
        service.after_commit()
        return task
