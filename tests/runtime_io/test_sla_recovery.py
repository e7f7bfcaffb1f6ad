"""Failures, SLA timers at the right clock times (and after Redis loses everything), and recovery
of a worker killed with SIGKILL part-way through 200 Tasks."""
from __future__ import annotations

import os
import signal
import time
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from app import clock
from tests.processes import Worker, flask_worker, wait_until, worker_env
from tests.runtime_io.conftest import compute, st

T0 = datetime(2026, 3, 2, 9, 0)


@pytest.fixture
def frozen():
    fc = clock.FrozenClock(T0)
    clock.set_clock(fc)
    yield fc
    clock.set_clock(None)


def _fired(world, tid):
    return [(e.type, e.data["label"], e.created_at) for e in world.events(tid) if e.type.startswith("sla.")]


def _sweep():
    from app.runtime import recovery

    return recovery.sweep()


def test_retry_then_escalate_without_blocking_parallel_stage_or_other_tasks(world, frozen):
    world.process("p", [compute("bad", {"a": "int(note)"}, reads=["note"], column=0,
                                retry={"attempts": 2, "backoff": "10s", "factor": 2.0},
                                roles={"responsible": ["automation"], "approver": [], "informed": [],
                                       "delegator": ["role:manager"]}),
                        compute("good", {"b": "1"}, column=0), st("after", column=1)])
    world.process("healthy", [compute("x", {"a": "1"}), compute("y", {"b": "2"})])
    tid = world.start("p", {"note": "oops"})
    others = [world.start("healthy") for _ in range(3)]
    world.drain()
    bad = world.run(tid, "bad")
    assert bad.status == "pending" and bad.attempt == 2  # retry scheduled with backoff
    assert world.run(tid, "good").status == "completed"  # the parallel Stage carried on
    assert all(world.task(o).status == "completed" for o in others)
    from app.runtime import jobs

    frozen.advance(seconds=10)
    jobs.run_stage(bad.id, 2)
    assert world.run(tid, "bad").status == "failed"
    task = world.task(tid)
    assert task.needs_attention and task.status == "running" and "after" not in world.statuses(tid)
    esc = world.events(tid, "stage.escalated")
    assert len(esc) == 1 and esc[0].data["to"] == ["role:manager"]
    # staff retry the failed run once the data is fixed
    world.db.session.remove()
    r = world.api.post(f"/api/v1/runs/{bad.id}/retry")
    assert r.status_code == 200, r.json
    assert world.run(tid, "bad").status == "pending" and world.run(tid, "bad").attempt == 3


def test_sla_48h_approval(world, frozen):
    world.process("ap", [st("decide", approval={"required": True, "approvers": ["role:staff"], "sla": {"due": "48h"}})])
    tid = world.start("ap")
    run = world.run(tid, "decide")
    frozen.advance(hours=1)
    world.api.post(f"/api/v1/runs/{run.id}/complete", json={})  # awaiting approval from 10:00
    frozen.advance(hours=47, minutes=59)
    assert _sweep()["fired"] == 0
    frozen.advance(minutes=1)
    assert _sweep()["fired"] == 1
    assert _fired(world, tid) == [("sla.breached", "48h", T0 + timedelta(hours=49))]
    assert _sweep()["fired"] == 0  # once


def test_sla_4h_with_escalation_after_2h(world, frozen):
    world.process("urgent", [st("decide", sla={"due": "4h", "escalate_after": "2h"})])
    tid = world.start("urgent")
    assert world.run(tid, "decide").due_at == T0 + timedelta(hours=4)
    from app.models import StageTimer
    from app.runtime import jobs

    timers = world.db.session.scalars(select(StageTimer).order_by(StageTimer.due_at)).all()
    frozen.advance(hours=2)
    assert jobs.fire_timer(timers[0].id) == "fired" and jobs.fire_timer(timers[0].id) == "gone"
    assert jobs.fire_timer(timers[1].id) == "early"  # not due yet: it puts itself back for its time
    frozen.advance(hours=2)
    assert jobs.fire_timer(timers[1].id) == "fired"
    assert _fired(world, tid) == [("sla.escalated", "2h", T0 + timedelta(hours=2)),
                                  ("sla.breached", "4h", T0 + timedelta(hours=4))]


def test_sla_7_days_reminders_survive_flushall(world, frozen):
    from app.models import StageTimer
    from app.infra.queue import SYSTEM_QUEUE, queue, redis_conn
    from app.runtime.recovery import HORIZON

    world.process("compliance", [st("review", sla={"due": "7d", "reminders": ["24h", "72h"]})])
    tid = world.start("compliance")
    q = queue(SYSTEM_QUEUE)
    assert len(q.scheduled_job_registry.get_job_ids()) == 3
    redis_conn().flushall()  # Redis loses every scheduled timer job
    assert len(q.scheduled_job_registry.get_job_ids()) == 0
    assert _sweep() == {"fired": 0, "rescheduled": 0, "requeued": 0}  # far off: the database keeps them
    frozen.advance(hours=24, seconds=-HORIZON + 10)
    assert _sweep() == {"fired": 0, "rescheduled": 1, "requeued": 0}  # due soon: its job is back
    first = world.db.session.scalar(select(StageTimer).order_by(StageTimer.due_at))
    assert q.scheduled_job_registry.get_job_ids() == [f"timer-{first.id}"]
    assert _sweep()["rescheduled"] == 0  # nothing twice
    redis_conn().flushall()
    frozen.advance(seconds=HORIZON)
    assert _sweep()["fired"] == 1
    frozen.advance(hours=48)
    assert _sweep()["fired"] == 1
    frozen.advance(days=4)
    assert _sweep()["fired"] == 1
    fired = _fired(world, tid)
    assert [(k, label) for k, label, _ in fired] == [
        ("sla.reminder", "24h"), ("sla.reminder", "72h"), ("sla.breached", "7d")]
    for (_, _, at), due in zip(fired, (timedelta(hours=24), timedelta(hours=72), timedelta(days=7))):
        assert timedelta(0) <= at - (T0 + due) <= timedelta(seconds=HORIZON)  # by the next sweep
    assert world.count(StageTimer, fired_at=None) == 0


def test_completing_a_run_cancels_its_timers(world, frozen):
    from app.models import StageTimer

    world.process("c", [st("s", sla={"due": "1h", "reminders": ["30m"]})])
    tid = world.start("c")
    world.api.post(f"/api/v1/runs/{world.run(tid, 's').id}/complete", json={})
    frozen.advance(hours=2)
    assert _sweep()["fired"] == 0 and world.count(StageTimer, fired_at=None) == 0


# --- worker processes -----------------------------------------------------------------------------

LANE = [compute(f"s{i}", {k: f"{i}"}) for i, k in enumerate("abcde", start=1)]


def _flask_worker(app, *args, env: dict | None = None) -> Worker:
    return flask_worker(worker_env(app.config["SQLALCHEMY_DATABASE_URI"], app.config["REDIS_URL"],
                                   app.config["PROCLY_INSTANCE"], **(env or {})), *args)


def _shape(world, tid) -> tuple:
    from app.models import Event, StageRun

    runs = world.db.session.scalar(select(func.count()).select_from(StageRun).where(StageRun.task_id == tid))
    events = world.db.session.scalar(select(func.count()).select_from(Event).where(Event.task_id == tid))
    return runs, events


def test_separate_flask_worker_process_runs_a_lane(world):
    world.process("lane", LANE)
    ids = [world.start("lane") for _ in range(5)]
    proc = _flask_worker(world.app, "--burst")
    assert proc.wait(60) == 0, proc.log()[-2000:]
    world.db.session.remove()
    assert all(world.task(t).status == "completed" for t in ids)
    assert world.task(ids[0]).values == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


def _busy_worker_pid(conn, deadline: float) -> int:
    """The pid of a worker process that is inside a job right now (RQ marks it busy)."""
    from rq import Worker

    while time.time() < deadline:
        for w in Worker.all(connection=conn):
            if w.get_state() == "busy" and w.pid:
                return w.pid
        time.sleep(0.005)
    raise AssertionError("no worker was ever seen inside a job")


@pytest.mark.slow
def test_sigkill_of_a_worker_inside_a_job_every_task_finishes_exactly_once(world):
    """The real thing: `flask procly worker --count 2` in its own process, a worker process SIGKILLed
    while it performs a job. The supervisor starts a new worker, the periodic sweep re-enqueues the
    run whose job died: every Task finishes with exactly the Stage Runs and Events of a calm run."""
    from app.models import Task
    from app.tasks import operations as service
    from app.infra.queue import redis_conn

    world.process("lane", LANE)
    reference = world.start("lane")
    world.drain()
    expected = _shape(world, reference)
    assert expected == (5, 2 + 5 * 4 + 1)
    service.create_tasks([{"process": "lane"} for _ in range(200)], None, "system")
    world.db.session.commit()
    proc = _flask_worker(world.app, "--count", "2")
    try:
        wait_until(lambda: _completed(world) >= 40, 60, "40 Tasks done", diagnose=proc.log)
        victim = _busy_worker_pid(redis_conn(), time.time() + 30)
        os.kill(victim, signal.SIGKILL)
        killed_at = _completed(world)
        wait_until(lambda: _completed(world) == 201, 90, "every Task done after the kill",
                   diagnose=lambda: f"{stuck_runs(world)}\n{proc.log()[-3000:]}")
        assert proc.poll() is None, "the supervisor lives on"
    finally:
        code = proc.stop()
    assert code == 0, proc.log()[-3000:]
    assert killed_at < 201, "the worker should be killed part-way"
    assert f"worker process {victim} exited" in proc.log()
    for tid in world.db.session.scalars(select(Task.id)):
        assert _shape(world, tid) == expected, tid


def stuck_runs(world) -> str:
    """Open Stage Runs of unfinished Tasks, with what Redis says of their job (for failure messages)."""
    from app.models import StageRun, Task
    from app.infra.queue import redis_conn

    world.db.session.rollback()
    rows = world.db.session.execute(select(StageRun.id, StageRun.task_id, StageRun.stage_key, StageRun.status,
                                           StageRun.attempt).join(Task, Task.id == StageRun.task_id)
                                    .where(Task.status != "completed", StageRun.finished_at.is_(None))
                                    .limit(20)).all()
    conn = redis_conn()
    return "\n".join(f"run {r.id} task {r.task_id} {r.stage_key} {r.status} attempt {r.attempt}: job "
                     f"{conn.hgetall(f'rq:job:run-{r.id}-{r.attempt}').get(b'status')}" for r in rows) or "none"


def _completed(world) -> int:
    from app.models import Task

    world.db.session.remove()
    return world.db.session.scalar(select(func.count()).select_from(Task).where(Task.status == "completed"))


def _later(seconds: int):
    """Run the sweep as if `seconds` had passed (a killed worker's heartbeat goes stale)."""
    fc = clock.FrozenClock(clock.now() + timedelta(seconds=seconds))
    clock.set_clock(fc)
    try:
        return _sweep()
    finally:
        clock.set_clock(None)


def test_sweep_recovers_a_job_popped_by_a_worker_killed_before_it_started(world):
    """SIGKILL between RQ's BLMOVE (the id moves to the queue's ":intermediate" list) and its "started"
    bookkeeping: the job hash still says "queued" but no queue holds the id any more."""
    from app.infra.queue import queue, redis_conn
    from app.runtime.recovery import GRACE

    world.process("lane", LANE)
    tid = world.start("lane")
    q, conn = queue(), redis_conn()
    popped = conn.lmove(q.key, q.intermediate_queue_key)  # what a worker's dequeue does first
    assert popped and q.count == 0
    assert _later(1)["requeued"] == 0  # too fresh: the enqueue of a just-committed run may be in flight
    assert _later(GRACE + 1)["requeued"] == 1
    assert _later(GRACE + 1)["requeued"] == 0  # now queued again: nothing twice
    world.drain()
    assert world.task(tid).status == "completed"
    assert _shape(world, tid) == (5, 2 + 5 * 4 + 1)


def test_sweep_recovers_a_run_whose_enqueue_was_lost_after_commit(world):
    """SIGKILL after COMMIT but before the after-commit enqueue (or Redis lost the job)."""
    from app.infra.queue import queue, redis_conn

    world.process("lane", LANE)
    tid = world.start("lane")
    job_id = queue().job_ids[0]
    redis_conn().delete(queue().key, f"rq:job:{job_id}")
    assert _later(35)["requeued"] == 1
    world.drain()
    assert world.task(tid).status == "completed"


def test_sweep_leaves_a_live_workers_job_alone_and_recovers_a_dead_ones(world):
    """A job "started" by a worker counts as alive while that worker's alive key exists (its process
    refreshes it every few seconds); SIGKILL stops the refresh, the key expires, the run is re-enqueued."""
    from rq.job import Job

    from app.infra.queue import queue, redis_conn
    from app.runtime.recovery import ALIVE_KEY

    world.process("lane", LANE)
    tid = world.start("lane")
    q, conn = queue(), redis_conn()
    job = Job.fetch(q.job_ids[0], connection=conn)
    conn.lmove(q.key, q.intermediate_queue_key)
    conn.lrem(q.intermediate_queue_key, 0, job.id)
    job.set_status("started")
    conn.hset(job.key, "worker_name", "w1")
    conn.set(ALIVE_KEY.format("w1"), "1", ex=10)
    assert _later(60)["requeued"] == 0  # a live worker, however long its job takes: leave it alone
    conn.delete(ALIVE_KEY.format("w1"))   # what the key's TTL does once the worker is gone
    assert _later(6)["requeued"] == 1
    world.drain()
    assert world.task(tid).status == "completed"
    assert _shape(world, tid) == (5, 2 + 5 * 4 + 1)
