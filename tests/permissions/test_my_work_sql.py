"""My work is selected in SQL (permissions.queue_condition). It must select exactly what the former
Python filter (reproduced here as the reference) selected, for every kind of user and run."""
from datetime import datetime

from sqlalchemy import func, select

from app import clock, permissions
from app.extensions import db
from app.models import Process, StageRun, Task, TaskVisit
from app.worklist.queries import QUEUE_STATUSES, my_work


def reference(user, *, process="", stage="", status=""):
    q = (select(StageRun, Task).join(Task, Task.id == StageRun.task_id)
         .join(TaskVisit, TaskVisit.id == StageRun.visit_id)
         .where(StageRun.status.in_(QUEUE_STATUSES), Task.status == "running", TaskVisit.left_at.is_(None)))
    if process:
        q = q.join(Process, Process.id == StageRun.process_id).where(Process.key == process)
    if stage:
        q = q.where(StageRun.stage_key == stage)
    if status:
        q = q.where(StageRun.status == status)
    items = []
    for run, task in db.session.execute(q).all():
        why = permissions.queue_roles(user, run)
        if not why or not permissions.stage_visible(user, permissions.stage_for(run), permissions.team_of(run)):
            continue
        if run.status == "awaiting_approval" and "approver" not in why:
            continue
        if "approver" in why and "responsible" not in why and run.status != "awaiting_approval":
            continue
        items.append((run, why))
    items.sort(key=lambda i: (not (i[0].due_at and i[0].due_at < clock.now()), i[0].due_at is None,
                              i[0].due_at or datetime.max, i[0].ready_at))
    return [(r.id, frozenset(w)) for r, w in items]


def _got(user, **kw):
    return [(i["run"].id, frozenset(i["why"])) for i in my_work(user, **kw)]


def _states(new_task, users, matrix):
    """Runs in many states: pending, claimed (by several people), awaiting approval, on hidden Stages."""
    from app.tasks import operations as service

    values = {"name": "Jo", "email": "jo@example.com", "location": "in_area", "budget": 2000,
              "documents_complete": True}
    tasks = [new_task({"name": f"T{i}"}) for i in range(4)]

    def run(task, key):
        return db.session.scalar(select(StageRun).where(StageRun.task_id == task.id, StageRun.stage_key == key))

    service.claim(run(tasks[1], "collect").id, users["staff"], "user:3")
    service.act(run(tasks[2], "collect").id, "complete", "user:3", user=users["staff"], values=values)
    service.claim(run(tasks[2], "confirm").id, users["manager"], "user:5")
    service.act(run(tasks[3], "collect").id, "complete", "user:3", user=users["staff"], values=values)
    service.act(run(tasks[3], "confirm").id, "complete", "user:3", user=users["staff"])   # awaiting approval
    # a hidden Stage claimed by someone who cannot see it (the claim itself is refused, so the
    # state is written directly, as an old claim from before a visibility change): never in their queue
    ops = run(matrix["hidden"], "ops")
    ops.claimed_by_id, ops.claimed_at, ops.status = users["staff"].id, clock.now(), "started"
    db.session.commit()


def test_sql_selects_exactly_what_python_did(app, new_task, users, matrix, make_user):
    _states(new_task, users, matrix)
    people = list(users.values()) + [make_user("staff", teams=["Compliance"]), make_user("staff", teams=["Operations"]),
                                     make_user("manager"), make_user("staff"), make_user("designer", teams=["Intake"])]
    checked = 0
    for user in people:
        for kw in ({}, {"process": "intake"}, {"process": "matrix"}, {"stage": "confirm"},
                   {"status": "awaiting_approval"}, {"status": "started"}, {"process": "nope"}):
            assert _got(user, **kw) == reference(user, **kw), (user.email, kw)
            checked += len(reference(user, **kw))
    assert checked > 10    # the fixtures really put runs in queues


def test_each_role_sees_its_own(app, new_task, users, matrix):
    _states(new_task, users, matrix)
    statuses = lambda u: sorted({i["run"].status for i in my_work(u)})   # noqa: E731
    assert "awaiting_approval" in statuses(users["approver"])           # team Compliance approves confirm
    assert "awaiting_approval" not in statuses(users["staff"])         # responsible, but not the approver
    assert all(i["stage"]["key"] != "ops" for i in my_work(users["staff"]))   # hidden Stage, though claimed
    mgr = [(i["stage"]["key"], sorted(i["why"])) for i in my_work(users["manager"])]
    assert ("mgr", ["responsible"]) in mgr and ("confirm", ["responsible"]) in mgr   # role ref and claim


def test_one_query_whatever_the_number_of_runs(app, new_task, users, matrix):
    """The selection happens in the database: the statement carries the (Version, Stage) pairs."""
    from sqlalchemy.dialects import sqlite

    _states(new_task, users, matrix)
    cond = permissions.queue_condition(users["staff"])
    sql = str(cond.compile(dialect=sqlite.dialect(), compile_kwargs={"literal_binds": True}))
    assert "stage_runs.version_id" in sql and "stage_runs.stage_key IN" in sql
    n = db.session.scalar(select(func.count()).select_from(StageRun).where(cond))
    assert n >= len(my_work(users["staff"]))
