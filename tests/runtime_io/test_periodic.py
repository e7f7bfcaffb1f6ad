"""Periodic work as it runs in production: `flask procly worker` processes over wall-clock time.

The sweep, outbox delivery and rollups run every interval for as long as a worker lives, through a
Redis FLUSHALL, with exactly one run at a time across workers (the database lease)."""
from __future__ import annotations

import signal
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app import clock
from tests.runtime_io.conftest import st
from tests.processes import wait_until
from tests.runtime_io.test_sla_recovery import _flask_worker


def _lease(world, name):
    from app.models import PeriodicLease

    world.db.session.rollback()  # a fresh snapshot
    return world.db.session.get(PeriodicLease, name, populate_existing=True)


def test_a_lease_lets_one_holder_run_at_a_time_and_once_per_interval(app):
    from app.runtime import periodic

    job = periodic.BY_NAME["rollup"]
    fc = clock.FrozenClock(clock.now())
    clock.set_clock(fc)
    try:
        assert periodic.acquire(job, "a") is True
        assert periodic.acquire(job, "b") is False          # a is running it
        periodic.release(job, "a", {"ok": 1})
        assert periodic.acquire(job, "b") is False          # just ran: not before 0.8 interval
        fc.advance(seconds=job.every() * 0.8)
        assert periodic.acquire(job, "b") is True
        # b dies without releasing: its lease runs out, then another worker takes over
        fc.advance(seconds=job.lease_seconds - 1)
        assert periodic.acquire(job, "c") is False
        fc.advance(seconds=1)
        assert periodic.acquire(job, "c") is True
        periodic.release(job, "b", None)                    # a late release by b changes nothing
        assert periodic.acquire(job, "d") is False
    finally:
        clock.set_clock(None)
    assert [s["runs"] for s in periodic.status() if s["name"] == "rollup"] == [1]


@pytest.mark.slow
def test_periodic_jobs_run_every_interval_in_two_workers_and_survive_flushall(world):
    """Two `flask procly worker` processes, sweep every second: the sweep keeps running (each run once
    across both), it fires a timer whose job Redis lost, and it goes on after a FLUSHALL."""
    from rq.job import Job
    from rq.registry import FailedJobRegistry

    from app.models import StageTimer
    from app.infra.queue import QUEUE, SYSTEM_QUEUE, queue, redis_conn

    world.process("review", [st("check", sla={"reminders": ["4s"], "due": "1h"})])
    env = {"PROCLY_SWEEP_INTERVAL": "1", "PROCLY_ROLLUP_INTERVAL": "2", "PROCLY_OUTBOX_INTERVAL": "2"}
    workers = [_flask_worker(world.app, env=env) for _ in range(2)]
    try:
        wait_until(lambda: (_lease(world, "sweep") or _Zero).runs >= 2, 60, "the first sweeps")
        started = time.time()
        tid = world.start("review")
        reminder = world.db.session.scalar(select(StageTimer).where(StageTimer.kind == "reminder"))
        due = reminder.due_at
        queue(SYSTEM_QUEUE).scheduled_job_registry.remove(f"timer-{reminder.id}", delete_job=True)  # lost by Redis
        wait_until(lambda: world.events(tid, "sla.reminder"), 20, "the reminder fired by the sweep")
        fired = world.events(tid, "sla.reminder")
        assert len(fired) == 1
        assert timedelta(0) <= fired[0].created_at - due < timedelta(seconds=4)  # next sweep
        wait_until(lambda: _lease(world, "sweep").runs >= 5, 30, "five sweeps")
        before = _lease(world, "sweep").runs
        redis_conn().flushall()
        wait_until(lambda: _lease(world, "sweep").runs >= before + 5, 30, "five more sweeps after FLUSHALL")
        elapsed = time.time() - started
        sweeps, rollups = _lease(world, "sweep").runs, _lease(world, "rollup").runs
        # one run per interval across both workers, not one per worker (the lease): at most 1 / 0.8 s
        assert sweeps <= elapsed / 0.8 + 2, (sweeps, elapsed)
        assert 2 <= rollups <= elapsed / 1.6 + 2, (rollups, elapsed)
        assert _lease(world, "outbox").runs >= 2
        # no double rollup: no job failed on the database (a unique-key clash would). The FLUSHALL
        # itself may break RQ's own bookkeeping of a job running at that instant (its hash vanished).
        for name in (QUEUE, SYSTEM_QUEUE):
            failed = FailedJobRegistry(name, connection=redis_conn())
            errors = [Job.fetch(i, connection=redis_conn()).latest_result().exc_string for i in failed.get_job_ids()]
            assert all(_flush_casualty(e) for e in errors), errors
        assert all(w.poll() is None for w in workers)
    finally:
        codes = [w.stop() for w in workers]
    assert codes == [0, 0], [w.log()[-3000:] for w in workers]
    assert len(world.events(tid, "sla.reminder")) == 1  # once, though two workers swept


def _flush_casualty(exc_string: str) -> bool:
    last = exc_string.strip().splitlines()[-1]
    return last.startswith(("rq.exceptions.InvalidJobOperation", "rq.exceptions.NoSuchJobError"))


class _Zero:
    runs = 0


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in state  # a zombie waiting to be reaped has stopped running


@pytest.mark.slow
def test_a_sigkilled_supervisor_takes_its_worker_processes_down(world):
    """No orphans: the worker processes die with their supervisor, even when it is SIGKILLed."""
    import os

    from rq import Worker

    from app.infra.queue import redis_conn

    proc = _flask_worker(world.app, "--count", "2")
    try:
        workers = wait_until(lambda: [w for w in Worker.all(connection=redis_conn()) if w.pid] if
                             len(Worker.all(connection=redis_conn())) == 2 else None, 60, "two workers",
                             diagnose=proc.log)
        pids = [int(w.pid) for w in workers]
        assert proc.pid not in pids
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        wait_until(lambda: all(_gone(p) for p in pids), 40, "the worker processes to exit")
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_purge_job_deletes_expired_idempotency_keys(world):
    """The periodic purge (run as a worker runs it: through its lease) deletes expired replays only."""
    from datetime import datetime

    from app.models import IdempotencyKey
    from app.runtime import periodic

    now = clock.now()
    for key, expires in (("old", now - timedelta(minutes=1)), ("new", now + timedelta(hours=1))):
        world.db.session.add(IdempotencyKey(scope="user:1", key=key, request_hash="x", status=201, response={},
                                            created_at=now, expires_at=expires))
    world.db.session.commit()
    assert periodic.run("purge") == {"idempotency_keys": 1}      # no Process keeps Tasks for a limited time here
    world.db.session.rollback()
    assert [k.key for k in world.db.session.scalars(select(IdempotencyKey))] == ["new"]
    assert isinstance(_lease(world, "purge").finished_at, datetime)
