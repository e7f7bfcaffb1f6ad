"""RQ job entry points. Each job is one unit of work: it loads by id, acts, and commits once.

`run_stage` performs an automated Stage Run attempt. Its job id and the run's (status, attempt)
make it idempotent: a duplicate delivery, or a run already performed eagerly, is a no-op. The
Stage's work, its completion and every decision that follows (next Stages, skips, joins, finish)
commit together; if the worker dies first, nothing of the attempt is kept and the sweep
(app.runtime.recovery) re-enqueues it."""
from __future__ import annotations

import logging
import time
import uuid
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from app import stages
from app.errors import Invalid
from app.extensions import db
from app.models import StageRun
from app.runtime import engine
from app.runtime.context import evaluate, stage_context, stage_of
from app.runtime.shell import Transition, lock_task
from app.vocab.statuses import TaskStatus
from app.models import StageTimer
from app.infra import logs
from app.infra.queue import SYSTEM_QUEUE, at_utc, queue, retry_policy
from app.runtime import timers, waits

log = logging.getLogger(__name__)
EAGER_LIMIT = 100  # automated Stages one job may perform in a row before handing off to the queue


# SQLSTATEs of a lost race on PostgreSQL: serialization failure, deadlock, lock not available
_CONFLICT_STATES = {"40001", "40P01", "55P03"}


def is_conflict(exc: Exception) -> bool:
    """A lost race worth retrying at once, as opposed to a database that cannot be reached."""
    if isinstance(exc, StaleDataError):
        return True
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) in _CONFLICT_STATES or "database is locked" in str(orig)


def _retrying(fn, *args):
    """Run fn in a transaction; a lost race (stale lock_version, SQLite busy, PG deadlock) retries.
    An unreachable database raises at once: RQ retries the whole job with backoff
    (app.infra.queue.retry_policy), and the sweep re-enqueues anything left over."""
    for attempt in range(8):
        try:
            result = fn(*args)
            db.session.commit()
            return result
        except (StaleDataError, OperationalError) as exc:
            db.session.rollback()
            if not is_conflict(exc):
                raise
            log.info("transaction conflict (%s), retrying", type(exc).__name__)
            time.sleep(0.005 * (2 ** attempt))
    raise RuntimeError("could not apply the transition after 8 attempts")


def run_stage(run_id: int, attempt: int) -> str:
    """Perform the run, then the Task's automated runs that follow it (eagerly, same transaction).
    Parallel siblings are handed back to the queue (their jobs enqueued after the commit, at the
    front), and then this job takes them itself at once, each in a transaction of its own: the
    sibling's own job, when a worker reaches it, finds the run done and is a no-op (the run's
    status and attempt under the Task lock decide, as for any duplicate delivery). Killed before or
    during a sibling, nothing of that sibling is committed and its queued job performs it. One job
    performs at most EAGER_LIMIT runs in all, as a lane performed eagerly does."""
    message, performed, handed = _retrying(_run_stage_no_autoflush, run_id, attempt, EAGER_LIMIT)
    taken = 0
    while handed and performed < EAGER_LIMIT:
        sibling_id, sibling_attempt, task_id = handed.pop(0)
        try:
            _, done, more = _retrying(_run_stage_no_autoflush, sibling_id, sibling_attempt,
                                      EAGER_LIMIT - performed, task_id)
        except Invalid:   # the Task is gone since (deleted): nothing left to do for its sibling
            db.session.rollback()
            continue
        performed += done
        taken += 1 if done else 0
        handed.extend(more)
    if not taken:
        return message
    return f"performed {performed} ({taken} parallel sibling(s) handed back, then taken by this job)"


def _run_stage_no_autoflush(run_id: int, attempt: int, limit: int,
                            task_id: int | None = None) -> tuple[str, int, list]:
    # every row the job reads is loaded up front; what it writes goes out in one flush at the end
    with db.session.no_autoflush:
        return _run_stage(run_id, attempt, limit, task_id)


def _run_stage(run_id: int, attempt: int, limit: int, task_id: int | None) -> tuple[str, int, list]:
    """(what happened, runs performed, the (id, attempt, Task id) of the parallel siblings handed back).
    A first look at the run before the Task lock spares a duplicate delivery the lock; a sibling this
    job handed back itself (`task_id` known) goes straight to the lock."""
    if task_id is None:   # three columns, not an ORM object: the runs load below builds it anyway
        first = db.session.execute(select(StageRun.task_id, StageRun.status, StageRun.attempt)
                                   .where(StageRun.id == run_id)).first()
        if first is None or first.status != "pending" or first.attempt != attempt:
            return "skipped: already handled", 0, []
        task_id = first.task_id
    logs.bind(task_id=task_id)   # on the job's log lines from here on (app.infra.logs)
    t = Transition(lock_task(task_id), actor="system")
    run = t.runs.get(run_id)
    if run is None or run.status != "pending" or run.attempt != attempt:
        return "skipped: already handled", 0, []
    performed = 0
    handed: list[tuple[int, int, int]] = []
    queue_: list[StageRun] = [run]
    while queue_ and performed < limit:
        current = queue_.pop(0)
        if current.status != "pending" or t.task.status != TaskStatus.running or current.id not in t.runs:
            continue
        _perform(t, current)
        performed += 1
        # eager execution: take the next automated run ourselves; parallel siblings go to the queue
        queue_.extend(t.automated)
        t.automated = []
        if len(queue_) > 1:   # ahead of Tasks not started yet: this one is under way
            t.automated = queue_[1:]
            handed.extend((r.id, r.attempt, r.task_id) for r in t.automated)
            t.queue_automated(at_front=True)
            queue_ = queue_[:1]
    t.automated = queue_
    t.queue_automated(at_front=True)
    t.finish()
    return f"performed {performed}", performed, handed


def _perform(t: Transition, run: StageRun) -> None:
    """Perform one automated run through its stage type."""
    t.set_status(run, "started", attempt=run.attempt)
    _follow(t, run, lambda type_, ctx: type_.perform(ctx))


def _follow(t: Transition, run: StageRun, hook) -> None:
    """Call a stage type's hook on the run (`perform`, or `poll` when its timer fires) and apply what
    it returned. The type sees only the Stage's readable Fields; what it asks to write is checked here
    against the Stage's writes. Raising fails the attempt: retries with backoff, then escalation."""
    stage = stage_of(t.definition, run.stage_key)
    try:
        type_ = stages.get(stage["type"])
        if type_ is None:
            raise LookupError(f'stage type "{stage["type"]}" is not installed')
        performed = hook(type_, stage_context(t.task, run, stage, type_))
        if not isinstance(performed, stages.Performed):
            performed = stages.Performed(writes=performed or {})
        writes = dict(performed.writes)
        outside = set(writes) - set(stage["writes"])
        if outside:
            raise PermissionError(f"wrote fields outside writes: {sorted(outside)}")
        nul = sorted(k for k, v in writes.items() if _holds_nul(v))
        if nul:   # PostgreSQL cannot store it: the Stage fails with the reason, not the job with a DataError
            raise ValueError(f"wrote a NUL character (\\x00) into {', '.join(nul)}")
    except Exception as exc:  # a Stage's own failure is data for the engine, not a job crash
        if isinstance(exc, stages.StageFailed):   # a reason in plain words, and the attempt's log
            run.error = str(exc)
            _keep_log(run, exc.log)
        else:
            run.error = f"{type(exc).__name__}: {exc}"
        t.apply(engine.fail(t.definition, t.view(), run.id, run.error, evaluate=evaluate))
        return
    _keep_log(run, performed.log)
    if performed.state is not None:
        run.data = {**(run.data or {}), "state": performed.state}
    if performed.proposed:   # held for an approver (an AI's answer): nothing is written yet
        _hold_proposal(t, run, writes)
        return
    if writes:
        t.task.values = {**(t.task.values or {}), **writes}
        t.event("task.values_changed", run, fields=sorted(writes), stage=run.stage_key)
    if not performed.complete:   # started elsewhere: an input (callback, signal, reply) or a poll completes it
        if performed.poll_after:
            timers.schedule_poll(run, performed.poll_after)
        if run.status != "in_progress":
            t.set_status(run, "in_progress", reason="waiting for input")
            waits.take_kept(t, run, type_, stage_context(t.task, run, stage, type_).config)
        return
    visit = t.visit
    t.apply(engine.complete(t.definition, t.view(), run.id, evaluate=evaluate))
    if writes and t.task.status == TaskStatus.running and t.visit is visit:
        # the Stage changed Fields: Process-level condition Routes (no source Stage) are due too
        t.apply(engine.advance(t.definition, t.view(), evaluate=evaluate, fields_changed=True))


def _hold_proposal(t: Transition, run: StageRun, writes: dict) -> None:
    """The run's writes become its proposal (app.tasks.proposals settles it) and it awaits approval."""
    run.data = {**(run.data or {}), "proposal": {"values": writes, "status": "pending"}}
    t.event("proposal.made", run, stage=run.stage_key, fields=sorted(writes))
    t.apply([engine.AwaitApproval(run.id, run.stage_key)])


def _keep_log(run: StageRun, lines) -> None:
    if lines:
        run.data = {**(run.data or {}), "log": [*(run.data or {}).get("log", []), *lines][-200:]}


def _holds_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(v) for v in value)
    return False


def fire_timer(timer_id: int) -> str:
    """RQ job of one SLA timer. A job that starts before the timer is due (another machine's clock,
    or RQ's whole-second rounding) schedules itself again under another id — re-using its own id
    while it runs would let RQ's clean-up of this job delete the new schedule."""
    result = fire_due_timer(timer_id)
    if result == "early":
        due = db.session.get(StageTimer, timer_id).due_at
        db.session.rollback()
        queue(SYSTEM_QUEUE).enqueue_at(at_utc(due + timedelta(seconds=1)), "app.runtime.jobs.fire_timer", timer_id,
                                       job_id=f"timer-{timer_id}-again-{uuid.uuid4().hex[:8]}", result_ttl=0,
                                       retry=retry_policy())
    return result


def fire_due_timer(timer_id: int) -> str:
    return _retrying(_fire_and_follow, timer_id)


def _fire_and_follow(timer_id: int) -> str:
    """Fire the timer; a `timeout` timer, or the due time of a Stage's SLA, then follows the Stage's
    `timeout` / `sla_breached` Route if the run is still open (in the same transaction)."""
    result = timers.fire(timer_id)
    timer = db.session.get(StageTimer, timer_id) if result == "fired" else None
    if timer is None or (timer.kind, timer.scope) not in (("timeout", "route"), ("due", "stage"), ("poll", "poll")):
        return result
    run = db.session.get(StageRun, timer.stage_run_id)
    t = Transition(lock_task(run.task_id), actor="system")
    if t.task.status != TaskStatus.running or run.id not in t.runs:
        return result
    if timer.kind == "poll":
        run = t.runs[run.id]
        if run.status == "in_progress":   # still waiting: its stage type looks again
            _follow(t, run, lambda type_, ctx: type_.poll(ctx))
            t.finish()
            t.queue_automated()
        return result
    trigger = "timeout" if timer.kind == "timeout" else "sla_breached"
    t.apply(engine.timed_out(t.definition, t.view(), run.id, trigger, timer.label))
    t.finish()
    t.queue_automated()
    return result
