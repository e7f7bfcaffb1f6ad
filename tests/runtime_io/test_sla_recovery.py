"""Failures, SLA timers at the right clock times (and after Redis loses everything), and recovery
of a worker killed with SIGKILL part-way through 200 Tasks."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import redis
from sqlalchemy import func, select

from app import clock
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
    from app.runtime import jobs

    return jobs.sweep(reschedule=False)


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
    assert jobs.fire_timer(timers[0].id) is True and jobs.fire_timer(timers[0].id) is False
    assert jobs.fire_timer(timers[1].id) is False  # not due yet
    frozen.advance(hours=2)
    assert jobs.fire_timer(timers[1].id) is True
    assert _fired(world, tid) == [("sla.escalated", "2h", T0 + timedelta(hours=2)),
                                  ("sla.breached", "4h", T0 + timedelta(hours=4))]


def test_sla_7_days_reminders_survive_flushall(world, frozen):
    from app.models import StageTimer
    from app.runtime.queue import queue, redis_conn

    world.process("compliance", [st("review", sla={"due": "7d", "reminders": ["24h", "72h"]})])
    tid = world.start("compliance")
    q = queue()
    assert len(q.scheduled_job_registry.get_job_ids()) == 3
    redis_conn().flushall()  # Redis loses every scheduled timer job
    assert len(q.scheduled_job_registry.get_job_ids()) == 0
    assert _sweep() == {"fired": 0, "rescheduled": 3, "requeued": 0}
    assert len(q.scheduled_job_registry.get_job_ids()) == 3
    assert _sweep()["rescheduled"] == 0  # nothing twice
    redis_conn().flushall()
    frozen.advance(hours=24)
    assert _sweep()["fired"] == 1
    frozen.advance(hours=48)
    assert _sweep()["fired"] == 1
    frozen.advance(days=4)
    assert _sweep()["fired"] == 1
    assert _fired(world, tid) == [("sla.reminder", "24h", T0 + timedelta(hours=24)),
                                  ("sla.reminder", "72h", T0 + timedelta(hours=72)),
                                  ("sla.breached", "7d", T0 + timedelta(days=7))]
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


def _worker_env(app) -> dict:
    return {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "REDIS_URL": app.config["REDIS_URL"],
            "PROCLY_INSTANCE": app.config["PROCLY_INSTANCE"], "SECRET_KEY": "test-secret"}


def _flask_worker(app, *args) -> subprocess.Popen:
    flask = Path(sys.executable).with_name("flask")
    return subprocess.Popen([str(flask), "--app", "wsgi", "procly", "worker", *args], env=_worker_env(app),
                            cwd=Path(__file__).resolve().parents[2], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)


def _shape(world, tid) -> tuple:
    from app.models import Event, StageRun

    runs = world.db.session.scalar(select(func.count()).select_from(StageRun).where(StageRun.task_id == tid))
    events = world.db.session.scalar(select(func.count()).select_from(Event).where(Event.task_id == tid))
    return runs, events


def test_separate_flask_worker_process_runs_a_lane(world):
    world.process("lane", LANE)
    ids = [world.start("lane") for _ in range(5)]
    proc = _flask_worker(world.app, "--burst")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err.decode()[-2000:]
    world.db.session.remove()
    assert all(world.task(t).status == "completed" for t in ids)
    assert world.task(ids[0]).values == {"a": 1, "b": 2, "c": 3, "d": 4, "e": 5}


@pytest.mark.slow
def test_sigkill_mid_run_every_task_finishes_exactly_once(world):
    from app.models import Task
    from app.runtime import service

    world.process("lane", LANE)
    reference = world.start("lane")
    world.drain()
    expected = _shape(world, reference)
    assert expected == (5, 2 + 5 * 4 + 1)
    service.create_tasks([{"process": "lane"} for _ in range(200)], None, "system")
    world.db.session.commit()
    proc = _flask_worker(world.app)
    deadline = time.time() + 60
    done = 0
    while time.time() < deadline:
        world.db.session.remove()
        done = world.db.session.scalar(select(func.count()).select_from(Task).where(Task.status == "completed"))
        if done >= 40:
            break
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert 40 <= done < 201, "the worker should be killed part-way"
    # restart a worker: it drains what is still queued
    world.db.session.remove()
    world.drain()
    # a job the killed worker had started is stuck "started": the sweep, once SWEEP_EVERY has passed,
    # sees its stale heartbeat and re-enqueues the run
    from app.runtime import jobs

    fc = clock.FrozenClock(clock.now() + timedelta(seconds=jobs.SWEEP_EVERY + 5))
    clock.set_clock(fc)
    try:
        result = _sweep()
    finally:
        clock.set_clock(None)
    world.drain()
    world.db.session.remove()
    statuses = dict(world.db.session.execute(select(Task.status, func.count()).group_by(Task.status)).all())
    stuck = [(t.id, [(r.stage_key, r.status, r.attempt) for r in world.runs(t.id)])
             for t in world.db.session.scalars(select(Task).where(Task.status != "completed"))]
    assert statuses == {"completed": 201}, (statuses, result, stuck)
    for tid in world.db.session.scalars(select(Task.id)):
        assert _shape(world, tid) == expected, tid
    redis.Redis.from_url(world.app.config["REDIS_URL"]).flushdb()


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
    from app.runtime import jobs
    from app.runtime.queue import queue, redis_conn

    world.process("lane", LANE)
    tid = world.start("lane")
    q, conn = queue(), redis_conn()
    popped = conn.lmove(q.key, q.intermediate_queue_key)  # what a worker's dequeue does first
    assert popped and q.count == 0
    assert _later(1)["requeued"] == 0  # too fresh: the enqueue of a just-committed run may be in flight
    assert _later(jobs.SWEEP_EVERY + 5)["requeued"] == 1
    assert _later(jobs.SWEEP_EVERY + 5)["requeued"] == 0  # now queued again: nothing twice
    world.drain()
    assert world.task(tid).status == "completed"
    assert _shape(world, tid) == (5, 2 + 5 * 4 + 1)


def test_sweep_recovers_a_run_whose_enqueue_was_lost_after_commit(world):
    """SIGKILL after COMMIT but before the after-commit enqueue (or Redis lost the job)."""
    from app.runtime.queue import queue, redis_conn

    world.process("lane", LANE)
    tid = world.start("lane")
    job_id = queue().job_ids[0]
    redis_conn().delete(queue().key, f"rq:job:{job_id}")
    assert _later(35)["requeued"] == 1
    world.drain()
    assert world.task(tid).status == "completed"


def test_sweep_recovers_a_job_left_started_by_a_killed_worker(world):
    """SIGKILL during the job: the hash says "started" with a heartbeat that goes stale."""
    from rq.job import Job

    from app.runtime.queue import queue, redis_conn

    world.process("lane", LANE)
    tid = world.start("lane")
    q, conn = queue(), redis_conn()
    job = Job.fetch(q.job_ids[0], connection=conn)
    conn.lmove(q.key, q.intermediate_queue_key)
    from datetime import timezone

    job.heartbeat(datetime.now(timezone.utc), 60)
    job.set_status("started")
    assert _later(25)["requeued"] == 0  # a live worker's heartbeat: leave it alone
    assert _later(35)["requeued"] == 1
    world.drain()
    assert world.task(tid).status == "completed"
