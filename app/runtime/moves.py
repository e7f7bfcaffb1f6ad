"""Moving Tasks between Processes: by a Route, or by hand (rollback and recovery)."""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.errors import Invalid
from app.extensions import db
from app.models import Process, Split, Version
from app.runtime import states


def resolve_target(process_key: str | None, split_key: str | None, task_key: str):
    """(Process, Version, variant_id) for a target: a Process's current Version or a Split's variant."""
    from app.splits import assign

    variant_id = None
    if split_key:
        split = db.session.scalar(select(Split).where(Split.key == split_key))
        if split is None:
            raise Invalid(f'No split "{split_key}".', {"split": ["no such split"]})
        variant = assign(split, task_key)
        process, number, variant_id = variant.process, variant.version, variant.id
    else:
        process = db.session.scalar(select(Process).where(Process.key == process_key))
        if process is None:
            raise Invalid(f'No process "{process_key}".', {"process": ["no such process"]})
        number = None
    if process.archived_at is not None:
        raise Invalid(f'Process "{process.key}" is archived.', {"process": ["archived"]})
    number = number or process.current_version
    if not number:
        raise Invalid(f'Process "{process.key}" has no published Version yet.', {"process": ["not published"]})
    version = db.session.scalar(select(Version).where(Version.process_id == process.id, Version.number == number))
    return process, version, variant_id


def move(t, *, process_key: str | None, split_key: str | None, stage_key: str | None, reason: str,
         route_key: str | None = None) -> None:
    """Close the Task's open Stage Runs here (moved), leave this visit, enter the target."""
    from app.runtime.shell import enter_process, stage_of

    process, version, variant_id = resolve_target(process_key, split_key, t.task.key)
    if stage_key is not None:
        try:
            stage_of(version.definition, stage_key)
        except StopIteration:
            raise Invalid(f'Process "{process.key}" has no Stage "{stage_key}".', {"stage": ["no such stage"]}) from None
    for run in t.runs.values():
        if run.status in states.OPEN:
            t.set_status(run, "moved", reason=reason)
    now = clock.now()
    if t.visit is not None:
        t.visit.left_at, t.visit.outcome = now, "moved"
        t.visit.route_key, t.visit.target_process_id = route_key, process.id
    from_process = t.task.process_id
    t.event("task.moved", reason=reason, route=route_key, to_process=process.key, to_stage=stage_key)
    inner = enter_process(t.task, process, version, variant_id=variant_id or t.task.variant_id, actor=t.actor,
                          stage_key=stage_key)
    inner.changed = True
    t.automated.extend(inner.automated)
    t.runs, t.visit = inner.runs, inner.visit
    db.session.flush()
    from app.runtime.queue import publish_after_commit

    publish_after_commit("task.changed", {"task": t.task.id, "process": from_process, "status": "moved"},
                         room=f"process:{from_process}")
