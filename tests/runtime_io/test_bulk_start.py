"""The set-based start (app.tasks.bulk) writes exactly what N single creates write: the same Tasks,
visits, Stage Runs, timers, sticky Split assignments, Events and jobs (ids and times aside), and
refuses exactly what they refuse, with the same error."""
from __future__ import annotations

import pytest
from sqlalchemy import delete, select

from tests.runtime_io.conftest import compute, st

ROUTE_AT_START = [{"key": "vip", "name": "VIP", "stage": None, "trigger": {"type": "condition", "condition": "a > 1000"},
                   "target": {"process": "plain"}}]
OPEN = {"writes": ["name", "budget", "a", "b", "c", "ok", "note"]}
DATA_ASSIGNED = {"responsible": ["field:note"], "approver": [], "informed": [], "delegator": []}


def _world(world):
    from app.splits import create_split

    world.process("auto", [compute("score", {"a": "budget"}), st("review")], start=OPEN)
    world.process("plain", [st("left", column=0), st("right", column=0), compute("join", {"b": "1"}, column=1)], start=OPEN)
    world.process("cond", [st("wait", column=0, start_when="ok == true"), st("maybe", column=0, skip_when="a > 5"),
                           st("gate", column=0, gate={"type": "manual"}), compute("later", {"c": "1"}, column=1)], start=OPEN)
    world.process("timed", [st("call", sla={"reminders": ["2h"], "due": "4h"}), st("next")], start=OPEN)
    world.process("routed", [st("first")], routes=ROUTE_AT_START, start=OPEN)
    world.process("assigned", [st("mine", roles=DATA_ASSIGNED)], start=OPEN)
    create_split({"key": "ab", "name": "AB", "table": "t", "team": "Ops",
                  "variants": [{"key": "one", "process": "auto", "version": None, "weight": 50},
                               {"key": "two", "process": "plain", "version": None, "weight": 50}]}, world.admin)
    world.db.session.commit()


ITEMS = ([{"process": "auto", "values": {"budget": i, "name": f"N{i}"}} for i in range(3)]
         + [{"process": "plain", "key": "p-1"}, {"process": "plain", "key": "p-1", "values": {"a": 1}},
            {"process": "plain", "key": "pre-1"}]
         + [{"process": "cond", "values": {"ok": ok, "a": a}} for ok in (True, False) for a in (1, 9)]
         + [{"process": "timed", "key": "t-1"}, {"process": "routed", "values": {"a": 5000}},
            {"process": "routed", "values": {"a": 5}}, {"process": "assigned", "values": {"note": "staff@x.test"}}]
         + [{"split": "ab", "key": f"s-{i}", "values": {"budget": i}} for i in range(8)]
         + [{"split": "ab", "key": "pre-s"}, {"split": "ab", "key": "s-1", "values": {"budget": 2}}])


def _pre(world):
    """Tasks started before the batch: their keys answer the existing Task."""
    from app.tasks import operations

    operations.start_task({"process": "plain", "key": "pre-1"}, None, "system")
    operations.start_task({"split": "ab", "key": "pre-s"}, None, "system")
    world.db.session.commit()


def _snapshot(world, items, results, jobs) -> list:
    from app.models import Event, SplitAssignment, StageRun, StageTimer, Task, TaskVisit

    s = world.db.session
    s.expire_all()
    out = []
    for data, (task, created) in zip(items, results):
        task = s.get(Task, task.id)
        mine = bool(data.get("key"))
        runs = s.scalars(select(StageRun).where(StageRun.task_id == task.id).order_by(StageRun.id)).all()
        name = {r.id: r.stage_key for r in runs}
        skip = {"id", "task_id", "visit_id", "ready_at", "started_at", "finished_at", "created_at", "updated_at",
                "entered_at", "left_at", "due_at", "assigned_at", "stage_run_id"}

        def cols(row, drop=()):
            return {c.name: getattr(row, c.key) for c in row.__table__.columns if c.name not in skip | set(drop)}

        def scrub(data):
            return {k: ("<generated>" if k == "key" and not mine else v) for k, v in (data or {}).items()}

        out.append({
            "created": created,
            "task": cols(task, () if mine else ("key",)) | {"finished": task.finished_at is not None},
            "visits": [cols(v) | {"left": v.left_at is not None} for v in s.scalars(
                select(TaskVisit).where(TaskVisit.task_id == task.id).order_by(TaskVisit.id))],
            "runs": [cols(r) | {"finished": r.finished_at is not None} for r in runs],
            "timers": sorted((name[t.stage_run_id], t.kind, t.label) for t in s.scalars(
                select(StageTimer).where(StageTimer.stage_run_id.in_(list(name) or [-1])))),
            "events": [(e.type, name.get(e.stage_run_id), e.from_status, e.to_status, e.actor, scrub(e.data))
                       for e in s.scalars(select(Event).where(Event.task_id == task.id).order_by(Event.id))],
            "assignment": [(a.variant_id) for a in s.scalars(select(SplitAssignment).where(
                SplitAssignment.task_key == task.key))],
            "jobs": sorted((f, name[args[0]], args[1], jid == f"run-{args[0]}-{args[1]}", at is None, q, front)
                           for f, args, jid, at, q, front in jobs if f.endswith("run_stage") and args[0] in name),
        })
    return out


def _run(world, start, items):
    from app.models import Event, SplitAssignment, StageRun, StageTimer, Task, TaskVisit

    s = world.db.session
    for model in (Event, StageTimer, StageRun, TaskVisit, SplitAssignment, Task):
        s.execute(delete(model))
    s.commit()
    _pre(world)
    results = start(items)
    s.flush()
    jobs = list(s.info.get("procly_jobs", []))
    s.commit()
    return _snapshot(world, items, results, jobs)


def test_bulk_start_writes_what_single_creates_write(world):
    from app.tasks import bulk, operations

    _world(world)
    for who in (None, world.admin):
        single = _run(world, lambda items: operations.start_tasks(items, who, "user:1"), ITEMS)
        many = _run(world, lambda items: bulk.start_tasks(items, who, "user:1"), ITEMS)
        assert len(single) == len(ITEMS)
        for i, (a, b) in enumerate(zip(single, many)):
            for part in a:
                assert a[part] == b[part], f"item {i} {part}: {ITEMS[i]}"
    # the batch did start Tasks of every kind: plain, blocked, skipped, gated, with timers, routed, assigned
    flat = str(single)
    for word in ("'blocked'", "'skipped'", "'gated'", "'reminder'", "task.moved", "stage.assigned", "run_stage"):
        assert word in flat, word


BAD = [
    ([{"process": "auto"}, {"process": "nope"}], None),
    ([{"process": "auto"}, {"split": "nope"}], None),
    ([{"process": "auto", "split": "ab"}], None),
    ([{"process": "auto"}, {"process": "auto", "values": {"budget": "lots"}}], None),
    ([{"process": "auto", "values": {"zzz": 1}}], None),
    ([{"process": "auto"}, {"process": "plain", "values": {"note": "x"}}], "staff"),      # not a start write
    ([{"process": "auto"}, {"process": "foreign"}], "staff"),                            # another Team's
    ([{"split": "ab", "values": {"note": "x"}}], "staff"),
]


@pytest.mark.parametrize("items,who", BAD)
def test_bulk_start_refuses_what_single_creates_refuse(world, items, who):
    from app.errors import APIError
    from app.models import Task
    from app.tasks import bulk, operations

    _world(world)
    world.process("foreign", [st("x")], team="Compliance")
    for key in ("auto", "plain"):   # staff may start these, setting only budget, name and a
        world.process(key, [compute("score", {"a": "budget"}), st("review")],
                      start={"roles": ["team:Ops"], "writes": ["budget", "name", "a"]})
    user = world.staff if who else None
    errors = []
    for start in (operations.start_tasks, bulk.start_tasks):
        with pytest.raises(APIError) as exc:
            start(items, user, "user:1")
        errors.append((type(exc.value), exc.value.status, str(exc.value), exc.value.details))
        world.db.session.rollback()
    assert errors[0] == errors[1]
    assert world.db.session.scalar(select(Task.id)) is None


def test_batch_api_tasks_run_to_the_end_in_a_worker_process(world, app):
    """300 Tasks through POST /api/v1/tasks/batch (the set-based path, COPY on PostgreSQL), then a real
    `procly worker` process performs their automated Stages: every Task completes. The batch's 300
    jobs leave the request as one fan-out job on the system queue, which the worker turns into them."""
    from sqlalchemy import func

    from app.infra.queue import QUEUE, SYSTEM_QUEUE, queue
    from app.models import Task
    from tests.processes import flask_worker, wait_until, worker_env

    world.process("lane", [compute("one", {"a": "budget + 1"}), compute("two", {"b": "a * 2"})],
                  start={"writes": ["budget"]})
    api = world.api_as(world.admin)
    r = api.post("/api/v1/tasks/batch", json={"tasks": [{"process": "lane", "values": {"budget": i}}
                                                        for i in range(300)]})
    assert r.status_code == 201, r.json
    assert len(r.json) == 300 and {t["status"] for t in r.json} == {"running"}
    with app.app_context():
        fan_out = queue(SYSTEM_QUEUE).jobs
        assert [j.func_name for j in fan_out] == ["app.infra.queue.fan_out"] and queue(QUEUE).count == 0
        assert len(fan_out[0].args[1]) == 300
    env = worker_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"], app.config["PROCLY_INSTANCE"])
    proc = flask_worker(env)
    s = world.db.session

    def done():
        s.remove()
        return s.scalar(select(func.count()).select_from(Task).where(Task.status == "completed")) == 300

    try:
        wait_until(done, 240, "300 bulk-started Tasks completed", every=0.5, diagnose=lambda: proc.log()[-3000:])
    finally:
        proc.stop()
    values = {t.values["budget"]: t.values for t in s.scalars(select(Task))}
    assert all(v["b"] == (i + 1) * 2 for i, v in values.items())
