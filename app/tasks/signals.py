"""Signals: a named message, with Field values, sent to a running Task — through the API by Task id
or by key (correlation), or by an inbound webhook. A Stage whose type waits for that signal (the
`wait` type) takes it: at once if its run is waiting, else when it becomes ready (the Signal is
kept, unless the Stage drops early Signals). The values are checked on arrival against the waiting
Stage's writes and the Fields' types, so a Signal is refused whole or kept whole."""
from __future__ import annotations

from sqlalchemy import select

from app import permissions, stages
from app.errors import Invalid
from app.extensions import db
from app.lookups import find_process
from app.models import Task, TaskSignal, User
from app.runtime import waits
from app.runtime.shell import Transition, lock_task
from app.stages.base import loaded_config
from app.tables.values import validate_values
from app.tasks.operations import fields_of
from app.vocab.statuses import OPEN, TaskStatus


def find_by_key(key: str, process_key: str | None = None) -> Task | None:
    """The Task started under `key` (in `process_key`, the Process it started in, if given)."""
    q = select(Task).where(Task.key == key)
    if process_key:
        process = find_process(process_key)
        if process is None:
            raise Invalid(f'No process "{process_key}".', {"process": ["no such process"]})
        q = q.where(Task.origin_process_id == process.id)
    found = db.session.scalars(q.limit(2)).all()
    if len(found) > 1:
        raise Invalid(f'Several Tasks have the key "{key}": name the Process it started in.',
                      {"process": ["needed: the key is not unique across Processes"]})
    return found[0] if found else None


def _listener(t: Transition, name: str) -> tuple[dict, stages.StageType, dict]:
    for stage in t.definition["stages"]:
        type_ = stages.get(stage["type"])
        if type_ is not None:
            config = loaded_config(type_, stage.get("config") or {})
            if type_.signal_name(config) == name:
                return stage, type_, config
    raise Invalid(f'No Stage of process "{t.task.process.name}" waits for the signal "{name}".',
                  {"name": ["no Stage of the Task's Process waits for this signal"]})


def send_signal(task: Task, name: str, values: dict, user: User | None, actor: str) -> dict:
    """Deliver (`delivered`), keep (`kept`) or drop (`dropped`) the Signal; the answer says which,
    with the Stage Run that took it. `user` None is the system."""
    permissions.check(user, "task.signal", task)
    task = lock_task(task.id)
    if task.status != TaskStatus.running:
        raise Invalid(f"Task {task.id} is {task.status}; it takes no more signals.", {"task": [task.status]},
                      status=409, code="conflict")
    t = Transition(task, actor=actor)
    stage, type_, config = _listener(t, name)
    outside = sorted(set(values) - set(stage["writes"]))
    clean, errors = validate_values(fields_of(task.table_id), values, allowed=set(stage["writes"]))
    if outside or errors:
        raise Invalid("The signal's values do not fit the Stage waiting for it.",
                      {**{f"values.{k}": v for k, v in errors.items()},
                       **{f"values.{k}": [f'not written by the Stage "{stage["name"]}"'] for k in outside}})
    clean = {k: v for k, v in clean.items() if k in values}
    run = next((r for r in t.runs.values() if r.stage_key == stage["key"] and r.status in OPEN
                and not (r.data or {}).get("superseded")), None)
    if run is not None and run.status in ("pending", "started", "in_progress"):
        waits.deliver(t, run, name, clean)
        result = {"outcome": "delivered", "stage_run": run.id}
    elif type_.keeps_early_signals(config):
        db.session.add(TaskSignal(task_id=task.id, name=name, values=clean, actor=actor))
        t.event("signal.kept", stage=stage["key"], signal=name)
        result = {"outcome": "kept", "stage_run": None}
    else:
        t.event("signal.dropped", stage=stage["key"], signal=name)
        result = {"outcome": "dropped", "stage_run": None}
    t.finish()
    t.queue_automated()
    return {"task": task.id, "signal": name, **result}
