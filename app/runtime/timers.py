"""SLA timers: rows in stage_timers (the source of truth) plus one RQ scheduled job each.
The sweep (app.runtime.recovery) fires anything due and re-creates jobs Redis lost, so a Redis
restart misses nothing; `fire` claims a timer with one UPDATE, so none fires twice."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import update

from app import clock
from app.extensions import db
from app.models import Event, StageRun, StageTimer, Task
from app.vocab.refs import escalation_targets
from app.runtime import signals, sla
from app.runtime.context import definition, stage_of
from app.infra.queue import SYSTEM_QUEUE, enqueue_after_commit, publish_after_commit
from app.vocab.durations import seconds as duration_seconds

EVENT_TYPES = {"due": "sla.breached", "reminder": "sla.reminder", "escalation": "sla.escalated",
               "timeout": "stage.timed_out"}
APPOINTMENT = "appointment"     # the scope of a booked appointment's reminders (app.scheduling)


def timer_job_id(timer: StageTimer) -> str:
    return f"timer-{timer.id}"


def schedule(run: StageRun, sla_def: dict | None, scope: str) -> None:
    """Create the timers of an SLA (measured from now) for a run and schedule their jobs."""
    if not sla_def:
        return
    start = clock.now()
    for t in sla.timers_for(sla_def, start):
        timer = StageTimer(stage_run_id=run.id, kind=t.kind, scope=scope, label=t.label, due_at=t.at)
        db.session.add(timer)
        db.session.flush()
        if t.kind == "due" and (run.due_at is None or t.at < run.due_at):
            run.due_at = t.at
        enqueue(timer)


def schedule_timeouts(run: StageRun, durations: list[str]) -> None:
    """One `timeout` timer per timeout Route of the run's Stage, measured from now (the run is ready):
    the clock of a deferred choice. Completing the run first cancels it like any other timer."""
    start = clock.now()
    for after in dict.fromkeys(durations):
        timer = StageTimer(stage_run_id=run.id, kind="timeout", scope="route", label=after,
                           due_at=start + timedelta(seconds=duration_seconds(after)))
        db.session.add(timer)
        db.session.flush()
        enqueue(timer)


def schedule_poll(run: StageRun, seconds: float) -> None:
    """A `poll` timer: the run's stage type looks again (`poll`) in `seconds`, on this machinery (the
    row, its scheduled job, the sweep for any Redis lost). Finishing the run cancels it."""
    seconds = max(1.0, float(seconds))
    timer = StageTimer(stage_run_id=run.id, kind="poll", scope="poll", label=f"{seconds:g}s"[:16],
                       due_at=clock.now() + timedelta(seconds=seconds))
    db.session.add(timer)
    db.session.flush()
    if not (run.data or {}).get("polling"):
        run.data = {**(run.data or {}), "polling": True}   # so that finishing the run cancels its timer
    enqueue(timer)


def enqueue(timer: StageTimer) -> None:
    """Its scheduled job, after commit, on the system queue (workers take it before Stage work)."""
    enqueue_after_commit("app.runtime.jobs.fire_timer", timer.id, job_id=timer_job_id(timer), at=timer.due_at,
                         queue_name=SYSTEM_QUEUE)


def cancel(run: StageRun) -> None:
    """A finished run needs no more reminders: mark its open timers fired-as-cancelled."""
    if run.id is None:
        return
    db.session.execute(update(StageTimer).where(StageTimer.stage_run_id == run.id, StageTimer.fired_at.is_(None))
                       .values(fired_at=clock.now()), execution_options={"synchronize_session": False})


def fire(timer_id: int) -> str:
    """Fire a timer if it is due and not yet fired (idempotent: the UPDATE claims it once).
    Returns "fired", "early" (not due yet: the caller schedules it again) or "gone"."""
    timer = db.session.get(StageTimer, timer_id)
    now = clock.now()
    if timer is None or timer.fired_at is not None:
        return "gone"
    if timer.due_at > now:
        return "early"
    claimed = db.session.execute(update(StageTimer).where(StageTimer.id == timer_id, StageTimer.fired_at.is_(None))
                                 .values(fired_at=now)).rowcount
    if not claimed:
        return "gone"
    run = db.session.get(StageRun, timer.stage_run_id)
    if timer.kind == "poll":         # no Event: the job asks the run's stage type (app.runtime.jobs)
        return "fired"
    if timer.scope == APPOINTMENT:   # a reminder of a booked appointment, not an SLA: app.scheduling mails it
        db.session.add(Event(type="appointment.reminder", task_id=run.task_id, stage_run_id=run.id,
                             process_id=run.process_id, actor="system", created_at=now,
                             data={"label": timer.label, "stage": run.stage_key, "due_at": timer.due_at.isoformat()}))
        signals.appointment_reminder.send(run, timer=timer)
        return "fired"
    type_ = EVENT_TYPES[timer.kind]
    db.session.add(Event(type=type_, task_id=run.task_id, stage_run_id=run.id, process_id=run.process_id,
                         actor="system", data={"scope": timer.scope, "label": timer.label, "stage": run.stage_key,
                                               "due_at": timer.due_at.isoformat()}, created_at=now))
    if timer.kind != "timeout":   # a timeout is a Route's clock, not a missed SLA: its Route says what follows
        # escalations and breaches follow the one escalation policy (Stage's escalate_to, else its
        # Delegators, else the owning Team: app.vocab.refs.escalation_targets); reminders
        # keep the alert's default recipients
        stage = stage_of(definition(run.version_id), run.stage_key)
        to = list(escalation_targets(stage)) if timer.kind in ("escalation", "due") else None
        signals.alert.send(db.session.get(Task, run.task_id), type_=type_, recipients=to,
                           message=sla_message(timer.kind, stage.get("name") or run.stage_key, timer.label), run=run)
    publish_after_commit("sla", {"task": run.task_id, "run": run.id, "kind": timer.kind},
                         room=f"process:{run.process_id}")
    return "fired"


def sla_message(kind: str, stage_name: str, label: str) -> str:
    """What a person reads about an SLA timer that fired: the Stage by name, in words."""
    if kind == "reminder":
        return f"{stage_name} is due soon (reminder after {label})"
    if kind == "due":
        return f"{stage_name} is overdue (it was due after {label})"
    return f"{stage_name} is escalated: not done after {label}"
