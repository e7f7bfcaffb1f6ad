"""Moving Tasks by hand (rollback and recovery) and migrating them to another Version: the operations
behind /api/v1/moves, /api/v1/migrations and the Task page. Each checks app.permissions, then applies
the engine's own `move` (app.runtime.shell) in the caller's transaction."""
from __future__ import annotations

from sqlalchemy import select

from app import lookups, permissions
from app.errors import Conflict, Invalid
from app.extensions import db
from app.lookups import find_process, find_split
from app.models import Process, StageRun, Task, Version
from app.runtime import engine, loops, planning, states
from app.runtime.context import definition, evaluate
from app.runtime.shell import Transition, lock_task, move, retry
from app.tasks.operations import act
from app.vocab.statuses import TaskStatus



def select_tasks(*, task_ids: list[int] | None = None, process: str | None = None, version: int | None = None,
                 stage: str | None = None, status: str | None = TaskStatus.running, user=None) -> list[int]:
    """Ids of the Tasks a manual move selects: an explicit list, or a filter on Process / Version /
    open Stage / Task status (running by default). A filter selects only Tasks `user` may see;
    listed ids are checked one by one when they move (an invisible one: 404)."""
    q = select(Task.id)
    if task_ids:
        q = q.where(Task.id.in_(task_ids))
    elif user is not None:
        versions = permissions.visible_version_ids(user)
        if versions is not None:
            q = q.where(Task.version_id.in_(versions or [-1]))
    if process:
        proc = find_process(process)
        if proc is None:
            raise Invalid(f'No process "{process}".', {"process": ["no such process"]})
        q = q.where(Task.process_id == proc.id)
        if version is not None:
            q = q.join(Version, Version.id == Task.version_id).where(Version.number == version)
    elif version is not None:
        raise Invalid("Selecting by version needs a process.", {"version": ["give process too"]})
    if stage:
        q = q.where(Task.id.in_(select(StageRun.task_id).where(StageRun.stage_key == stage,
                                                               StageRun.status.in_(states.OPEN))))
    if status:
        q = q.where(Task.status == status)
    if not (task_ids or process or stage):
        raise Invalid("Select Tasks by task_ids, process or stage.", {"task_ids": ["select some Tasks"]})
    return list(db.session.scalars(q.order_by(Task.id)))


def _targets(process_key: str | None, split_key: str | None) -> list[Process]:
    """The Processes a move may land in: the target Process, or every variant of the target Split."""
    if split_key:
        split = find_split(split_key)
        if split is None:
            raise Invalid(f'No split "{split_key}".', {"target.split": ["no such split"]})
        return [v.process for v in split.variants]
    process = find_process(process_key)
    if process is None:
        raise Invalid(f'No process "{process_key}".', {"target.process": ["no such process"]})
    return [process]


def move_tasks(task_ids: list[int], *, process_key: str | None, split_key: str | None = None,
               stage_key: str | None = None, reason: str, actor: str, user=None) -> list[int]:
    """Move each selected running Task to a target Process (optionally a Stage) with the same `move`
    Routes use: open runs close as moved, the visit is left, the target lane starts. One transaction.
    `user` needs rights on each Task ("task.move") and on the target ("process.move_into"); the
    target must work on the Task's Table. Nothing moves unless every Task may."""
    if not (reason or "").strip():
        raise Invalid("A reason is required.", {"reason": ["required"]})
    if bool(process_key) == bool(split_key):
        raise Invalid("Give exactly one of process or split.", {"process": ["give process or split"]})
    tasks = [lookups.get_task(task_id) for task_id in task_ids]
    for task in tasks:
        permissions.check(user, "task.move", task)
    targets = _targets(process_key, split_key)
    for target in targets:
        permissions.check(user, "process.move_into", target)
    for task in tasks:
        wrong = [p.key for p in targets if p.table_id != task.table_id]
        if wrong:
            raise Invalid(f'Process "{wrong[0]}" works on another Table than task {task.id}; a Task moves only '
                          "between Processes of its own Table.", {"target": [f'"{wrong[0]}" is on another table']})
    moved: list[int] = []
    for task_id in task_ids:
        task = lock_task(task_id)
        if task.status != TaskStatus.running:
            raise Invalid(f"Task {task_id} is {task.status}; only running Tasks move.", {"task_ids": [task_id]},
                          status=409, code="conflict")
        t = Transition(task, actor=actor)
        move(t, process_key=process_key, split_key=split_key, stage_key=stage_key, reason=f"manual: {reason}")
        t.finish()
        t.queue_automated()
        moved.append(task_id)
    return moved


def migrate_tasks(process_key: str, to_version: int, mapping: dict[str, str] | None, *, actor: str,
                  task_ids: list[int] | None = None, user=None, retry_failed: bool = True) -> list[int]:
    """Move running Tasks of `process_key` on older Versions to Version `to_version`: each open Stage
    Run is re-pointed to the same key (or `mapping[key]`) of the new Version, keeping its status,
    claim, timers and thread. All or nothing: if any Task has an open Stage the new Version lacks
    and `mapping` does not cover, nothing changes and Conflict lists them. `user` must be allowed to
    migrate the Process ("process.migrate": its admins, designers and managers). Stage Runs that had
    failed on the old Version run again on the new one (a new attempt) unless `retry_failed` is off."""
    process = find_process(process_key)
    if process is None:
        raise Invalid(f'No process "{process_key}".', {"process": ["no such process"]})
    permissions.check(user, "process.migrate", process)
    target = db.session.scalar(select(Version).where(Version.process_id == process.id,
                                                     Version.number == to_version))
    if target is None:
        raise Invalid(f'Process "{process_key}" has no Version {to_version}.', {"to_version": ["no such version"]})
    mapping = dict(mapping or {})
    new_def = target.definition
    new_keys = {s["key"] for s in new_def["stages"]}
    bad_targets = sorted(v for v in mapping.values() if v not in new_keys)
    if bad_targets:
        raise Invalid("The mapping names Stages the new Version lacks.", {"mapping": bad_targets})
    q = select(Task.id).where(Task.process_id == process.id, Task.status == TaskStatus.running,
                              Task.version_id != target.id)
    if task_ids:
        q = q.where(Task.id.in_(task_ids))
    ids = list(db.session.scalars(q.order_by(Task.id)))
    plans, offending = [], []
    for task_id in ids:
        task = lock_task(task_id)
        t = Transition(task, actor=actor)
        open_runs = [r for r in t.runs.values() if r.status in states.OPEN or r.status == "failed"]
        key_map, unmapped = planning.migration_plan(definition(task.version_id), new_def,
                                                  {r.stage_key for r in open_runs}, mapping)
        if unmapped:
            offending.append({"task_id": task_id, "stages": unmapped})
        plans.append((t, open_runs, key_map))
    if offending:
        raise Conflict(f"{len(offending)} Task(s) are in Stages Version {to_version} does not have; "
                       "map them with `mapping`.", {"tasks": offending})
    for t, open_runs, key_map in plans:
        old_version = t.task.version_id
        t.task.version_id = target.id
        if t.visit is not None:
            t.visit.version_id = target.id
        for run in open_runs:
            run.stage_key, run.version_id = key_map[run.stage_key], target.id
        t.event("task.migrated", process=process.key, from_version_id=old_version, to_version=to_version,
                stages=key_map)
        # Stages new to the lane before where the Task stands count as skipped, like entering at a Stage
        by_key = {s["key"]: s for s in new_def["stages"]}
        current = {r.stage_key for r in t.runs.values()}
        open_cols = [by_key[r.stage_key]["column"] for r in open_runs]
        if open_cols:
            for stage in new_def["stages"]:
                if stage["key"] not in current and stage["column"] < min(open_cols):
                    t.new_run(stage["key"], "skipped")
        if retry_failed:
            for run in open_runs:
                if run.status == "failed":
                    retry(t, run, reason=f"migrated to version {to_version}")
        t.apply(engine.advance(new_def, t.view(), evaluate=evaluate))
        t.finish()
        t.queue_automated()
    db.session.flush()
    return [t.task.id for t, _, _ in plans]


def reopen_stage(run: StageRun, why: str, actor: str) -> list[StageRun]:
    """Open a finished Stage again in the Task's current visit, with the Stages after it (a cancelled
    appointment is booked again): a rework loop started by the system, not by a Route. Nothing
    happens (returns []) when the Task has ended or left that visit, or the run is open already."""
    task = lock_task(run.task_id)
    if task.status != TaskStatus.running:
        return []
    t = Transition(task, actor=actor)
    current = t.runs.get(run.id)
    if current is None or (current.data or {}).get("superseded") or current.status in states.OPEN:
        return []
    t.event("task.sent_back", to_stage=run.stage_key, reason=why)
    again = loops.rerun_from(t, run.stage_key, why, "reopened")
    t.finish()
    t.queue_automated()
    return again


def drop_on_stage(task_id: int, process_id: int, stage_key: str, *, reason: str, actor: str, user=None) -> str:
    """A card dropped on a Stage of the board of Process `process_id`: "advance" when the Task waits at that Stage's manual
    gate (app.permissions "run.advance"; no reason needed), else a manual move of the Task to that
    Stage of its own Process (`move_tasks`: "task.move", a reason, the Process's current Version).
    Returns what was done: "advanced" or "moved"."""
    task = lookups.get_task(task_id)
    permissions.check(user, "task.view", task)
    if task.process_id != process_id:
        raise Invalid(f"Task {task.id} has left this board: it is in {task.process.name} now.",
                      {"task_id": ["not on this board"]}, status=409, code="conflict")
    runs = [r for r in permissions.current_runs(task) if r.stage_key == stage_key and r.status in states.OPEN]
    if runs and runs[0].status == "gated":
        act(runs[0].id, "advance", actor, user=user)
        return "advanced"
    if runs:
        raise Invalid("The Task is already in that Stage.", {"stage": ["already there"]}, status=409, code="conflict")
    process = db.session.get(Process, task.process_id)
    move_tasks([task.id], process_key=process.key, stage_key=stage_key, reason=reason, actor=actor, user=user)
    return "moved"
