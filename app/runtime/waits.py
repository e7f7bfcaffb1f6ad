"""Signals in the engine: a run whose stage type waits for a named Signal takes one that was kept for
the Task (it arrived early) when it starts waiting, and any Signal delivered to it completes it.
The values were checked against the Stage's writes and the Fields' types when the Signal arrived."""
from __future__ import annotations

from sqlalchemy import select

from app import clock, stages
from app.extensions import db
from app.models import StageRun, TaskSignal
from app.runtime import engine
from app.runtime.context import evaluate


def deliver(t, run: StageRun, name: str, values: dict, *, kept: bool = False) -> None:
    """Write the Signal's (checked) values and complete the waiting run through the engine, in the
    Transition `t` (app.runtime.shell.Transition)."""
    if values:
        t.task.values = {**(t.task.values or {}), **values}
        t.event("task.values_changed", run, fields=sorted(values), stage=run.stage_key)
    t.event("task.signalled", run, stage=run.stage_key, signal=name, kept=kept)
    if run.status == "pending":
        t.set_status(run, "started", reason=f"signal {name}")
    t.apply(engine.complete(t.definition, t.view(), run.id, evaluate=evaluate))


def take_kept(t, run: StageRun, type_: stages.StageType, config: dict) -> bool:
    """A run started waiting: the oldest Signal of its name kept for the Task, if any, completes it."""
    name = type_.signal_name(config)
    if not name:
        return False
    signal = db.session.scalar(select(TaskSignal).where(TaskSignal.task_id == t.task.id, TaskSignal.name == name,
                                                        TaskSignal.consumed_at.is_(None))
                               .order_by(TaskSignal.id).limit(1))
    if signal is None:
        return False
    signal.consumed_at, signal.stage_run_id = clock.now(), run.id
    deliver(t, run, name, dict(signal.values or {}), kept=True)
    return True
