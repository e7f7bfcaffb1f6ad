"""Starting many Tasks at once (the batch API, the CSV import), set-based.

The same rules as `operations.start_task`, item by item and in its order (exactly one of process or
split, the permission, the target, the values; a repeated `key` answers the Task already started),
but the work is shared: each distinct target, Split, Table and permission question is looked up
once per batch, sticky Split variants are read and recorded in one query each, and the Tasks,
their visits, first Stage Runs and Events are written with a few multi-row INSERTs. The jobs of
automated Stages go to Redis after COMMIT in one `enqueue_many` (app.infra.queue).

A Task whose start needs more than creating runs (a Route or condition failure at the start, an
SLA or timeout timer, assignment from data, a custom stage type's `on_ready`) is started by
`operations.start_task` instead, so the rows are always what single creates write."""
from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select, tuple_

from app import clock, permissions, stages
from app.errors import APIError, Invalid
from app.extensions import db
from app.infra.bulk_insert import insert_rows
from app.infra.queue import enqueue_after_commit, publish_after_commit, record_event
from app.lookups import find_process, find_split
from app.models import Process, SplitAssignment, StageRun, Task, TaskVisit, User, Version
from app.runtime import engine
from app.runtime.context import definition, evaluate, stage_of
from app.runtime.planning import choose_variant
from app.runtime.shell import run_row
from app.runtime.targets import startable_version
from app.runtime import signals
from app.stages import StageType
from app.tables.values import validate_values
from app.tasks.operations import fields_of, start_task
from app.vocab import refs
from app.vocab.statuses import TaskStatus

BATCH_MAX = 1000        # items per call: the batch API's bound (its schema) and the import's chunk
RUN_JOB = "app.runtime.jobs.run_stage"


@dataclass
class Plan:
    """One valid item, ready to write: where it starts and with what."""

    index: int
    data: dict
    key: str
    process: Process
    version: Version
    variant_id: int | None
    split_id: int | None
    values: dict
    decisions: list | None       # the engine's first decisions; None: start it the single way
    task_id: int | None = None
    created: bool = False


@dataclass
class Batch:
    """What one batch looks up once: targets, permissions, Field sets, sticky variants."""

    user: User | None
    targets: dict = field(default_factory=dict)
    allowed: dict = field(default_factory=dict)
    fields: dict = field(default_factory=dict)
    versions: dict = field(default_factory=dict)
    variants: dict = field(default_factory=dict)      # (split id, key) -> variant id
    new_assignments: dict = field(default_factory=dict)
    plain: dict = field(default_factory=dict)

    def target(self, kind: str, key):
        if (kind, key) not in self.targets:
            self.targets[kind, key] = find_split(key) if kind == "split" else find_process(key)
        return self.targets[kind, key]

    def check(self, operation: str, target, values: dict, prefix: str) -> None:
        """app.permissions on this item: the rules of a start depend on the target and the names of
        the values only, so the answer is asked once per (target, names); a refusal is raised again
        for the item with its own error paths."""
        ask = (operation, type(target).__name__, target.id, frozenset(values))
        if ask not in self.allowed:
            self.allowed[ask] = permissions.decide(self.user, operation, target, values=values).allowed
        if not self.allowed[ask]:
            permissions.check(self.user, operation, target, values=values, prefix=prefix)

    def version(self, process: Process, number: int | None) -> Version:
        if (process.id, number) not in self.versions:
            try:
                self.versions[process.id, number] = startable_version(process, number)
            except APIError as exc:
                self.versions[process.id, number] = exc
        found = self.versions[process.id, number]
        if isinstance(found, APIError):
            raise found
        return found

    def table_fields(self, table_id: int) -> dict:
        if table_id not in self.fields:
            self.fields[table_id] = fields_of(table_id)
        return self.fields[table_id]


def _keys(items: list[dict]) -> list[str]:
    return [(d.get("key") if isinstance(d, dict) else None) or uuid.uuid4().hex for d in items]


def _sticky(batch: Batch, items: list[dict], keys: list[str]) -> None:
    """Each Split's recorded variants of the batch's keys, one query per Split; the others chosen
    as `variants.assign` chooses (recorded only for items that start)."""
    wanted: dict[int, set[str]] = {}
    for data, key in zip(items, keys):
        split = batch.target("split", data.get("split")) if isinstance(data, dict) and data.get("split") else None
        if split is not None:
            wanted.setdefault(split.id, set()).add(key)
    for split_id, split_keys in wanted.items():
        given = list(split_keys)
        for i in range(0, len(given), BATCH_MAX):
            rows = db.session.execute(select(SplitAssignment.task_key, SplitAssignment.variant_id).where(
                SplitAssignment.split_id == split_id, SplitAssignment.task_key.in_(given[i:i + BATCH_MAX])))
            batch.variants.update({(split_id, k): v for k, v in rows})


def _variant(batch: Batch, split, key: str):
    by_id = {v.id: v for v in split.variants}
    variant_id = batch.variants.get((split.id, key))
    if variant_id is None:
        variant_id = choose_variant(split.key, key, [(v.id, v.weight) for v in split.variants])
        batch.variants[split.id, key] = variant_id
        batch.new_assignments[split.id, key] = variant_id
    return by_id[variant_id]


def _plain(batch: Batch, version: Version, key: str) -> bool:
    """Does a ready run of this Stage need no more than its row (no timer, no assignment, the stage
    type's default `on_ready`, which for a new Task means: a worker if automated, else a person)?"""
    if (version.id, key) not in batch.plain:
        doc = definition(version.id)
        stage = stage_of(doc, key)
        type_ = stages.get(stage["type"])
        batch.plain[version.id, key] = not (
            stage.get("sla") or refs.dynamic_refs(stage)
            or any(r["trigger"]["type"] == "timeout" and r["stage"] == key for r in doc["routes"])
            or (type_ is not None and type(type_).on_ready is not StageType.on_ready))
    return batch.plain[version.id, key]


def _first_decisions(batch: Batch, version: Version, values: dict) -> list | None:
    decisions = engine.advance(definition(version.id), engine.TaskView(dict(values), ()), evaluate=evaluate)
    for d in decisions:
        if isinstance(d, engine.StartStage):
            if d.status == "pending" and not _plain(batch, version, d.stage_key):
                return None
        elif not (isinstance(d, engine.SkipStage) and d.run_id is None):
            return None
    return decisions


def check_item(batch: Batch, data, key: str, index: int, prefix: str) -> Plan:
    """The item as `start_task` checks it, in its order; raises its APIError."""
    if not isinstance(data, dict) or bool(data.get("process")) == bool(data.get("split")):
        raise Invalid("Give exactly one of process or split.", {f"{prefix}process": ["give process or split"]})
    values = data.get("values") or {}
    kind = "split" if data.get("split") else "process"
    target = batch.target(kind, data[kind])
    if target is not None:
        batch.check(f"{kind}.start", target, values, prefix)
    variant_id = split_id = number = None
    if kind == "split":
        if target is None:
            raise Invalid(f'No split "{data["split"]}".', {"split": ["no such split"]})
        variant = _variant(batch, target, key)
        process, number, variant_id, split_id = variant.process, variant.version, variant.id, target.id
    else:
        process = target
        if process is None:
            raise Invalid(f'No process "{data["process"]}".', {"process": ["no such process"]})
    version = batch.version(process, number)
    clean, errors = validate_values(batch.table_fields(process.table_id), values)
    if errors:
        raise Invalid("Some values are invalid.", {f"{prefix}values.{k}": v for k, v in errors.items()})
    return Plan(index, data, key, process, version, variant_id, split_id, clean,
                _first_decisions(batch, version, clean))


def prepare(items: list, user: User | None, prefix: Callable[[int], str], *,
            first_error_only: bool = True) -> tuple[Batch, list[Plan], dict[int, APIError]]:
    """(the batch's look-ups, valid items as Plans, {index: error}). With `first_error_only`, checking stops at the first
    invalid item (all or nothing needs no more)."""
    batch, keys = Batch(user), _keys(items)
    _sticky(batch, items, keys)
    plans, errors = [], {}
    for i, (data, key) in enumerate(zip(items, keys)):
        try:
            plans.append(check_item(batch, data, key, i, prefix(i)))
        except APIError as exc:
            errors[i] = exc
            if first_error_only:
                break
    used = {(p.split_id, p.key) for p in plans if p.split_id is not None}
    batch.new_assignments = {k: v for k, v in batch.new_assignments.items() if k in used}
    return batch, plans, errors


def _existing(plans: list[Plan]) -> None:
    """A keyed item whose key already started in its Process (or earlier in this batch) answers
    with that Task."""
    keyed = [p for p in plans if p.data.get("key")]
    found: dict[tuple[int, str], int] = {}
    pairs = list({(p.process.id, p.key) for p in keyed})
    for i in range(0, len(pairs), BATCH_MAX):
        chunk = pairs[i:i + BATCH_MAX]
        found.update({(pid, k): tid for pid, k, tid in db.session.execute(
            select(Task.origin_process_id, Task.key, Task.id)
            .where(tuple_(Task.origin_process_id, Task.key).in_(chunk)))})
    first: dict[tuple[int, str], Plan] = {}
    for p in keyed:
        pair = (p.process.id, p.key)
        if pair in found:
            p.task_id = found[pair]
        elif pair in first:
            p.task_id = -1 - first[pair].index   # resolved once the first one is written
        else:
            first[pair] = p


def start(plans: list[Plan], batch: Batch, user: User | None, actor: str, *,
          one_by_one: Callable[[Plan], int] | None = None) -> None:
    """Write the Plans' Tasks (setting `task_id`, `created`). The batch's new sticky assignments
    are recorded for the items that start. `one_by_one(plan) -> task id` starts a Plan the single
    way (default: `start_task`, whose errors abort the batch; None: it did not start)."""
    _existing(plans)
    new = [p for p in plans if p.task_id is None]
    if batch.new_assignments:
        now = clock.now()
        insert_rows(db.session.connection(), SplitAssignment.__table__, [
            {"split_id": s, "task_key": k, "variant_id": v, "assigned_at": now}
            for (s, k), v in batch.new_assignments.items()])
    _write([p for p in new if p.decisions is not None], user, actor)
    for p in new:
        if p.decisions is None:
            p.task_id = one_by_one(p) if one_by_one else start_task(p.data, user, actor)[0].id
            p.created = p.task_id is not None
    by_index = {p.index: p for p in plans}
    for p in plans:
        if p.task_id is not None and p.task_id < 0:
            p.task_id = by_index[-1 - p.task_id].task_id


def _returning(table, rows: list[dict]) -> list[int]:
    return insert_rows(db.session.connection(), table, rows, ids=True)


def _write(plans: list[Plan], user: User | None, actor: str) -> None:
    """The set-based start: Tasks, visits, first Stage Runs, Events, jobs, one message per Process."""
    if not plans:
        return
    db.session.flush()
    now = clock.now()
    task_rows = [dict(key=p.key, origin_process_id=p.process.id, table_id=p.process.table_id, values=p.values,
                      process_id=p.process.id, version_id=p.version.id, split_id=p.split_id,
                      variant_id=p.variant_id, status=TaskStatus.running, needs_attention=False, lock_version=2,
                      created_by_id=getattr(user, "id", None), created_at=now, updated_at=now, finished_at=None,
                      archived_at=None) for p in plans]
    for p, task_id in zip(plans, _returning(Task.__table__, task_rows)):
        p.task_id, p.created = task_id, True
    visit_ids = _returning(TaskVisit.__table__, [
        dict(task_id=p.task_id, process_id=p.process.id, version_id=p.version.id, variant_id=p.variant_id,
             entered_at=now, left_at=None, outcome=None, route_key=None, target_process_id=None) for p in plans])
    run_rows, owners = [], []
    for p, visit_id in zip(plans, visit_ids):
        doc = definition(p.version.id)
        ref = _TaskRef(p.task_id, p.process.id, p.version.id)
        for d in p.decisions:
            status = d.status if isinstance(d, engine.StartStage) else "skipped"
            run_rows.append(run_row(ref, visit_id, stage_of(doc, d.stage_key), status, now))
            owners.append(p)
    run_ids = _returning(StageRun.__table__, run_rows) if run_rows else []
    runs_of: dict[int, list] = {}
    for p, row, run_id in zip(owners, run_rows, run_ids):
        runs_of.setdefault(p.index, []).append((run_id, row))
    rooms: dict[int, int] = {}
    for p in plans:
        def event(type_, run_id=None, before=None, after=None, **data):
            row = {"type": type_, "task_id": p.task_id, "stage_run_id": run_id, "process_id": p.process.id,
                   "actor": actor, "from_status": before, "to_status": after, "data": data, "created_at": now}
            record_event(row)
            signals.event_recorded.send(row)

        event("task.entered", process=p.process.key, version=p.version.number, stage=None)
        for run_id, row in runs_of.get(p.index, []):
            event("stage.status", run_id, None, row["status"], stage=row["stage_key"])
            if row["status"] == "pending" and row["automated"]:
                enqueue_after_commit(RUN_JOB, run_id, 1, job_id=f"run-{run_id}-1")
        event("task.created", after=TaskStatus.running, key=p.key, variant=p.variant_id)
        rooms[p.process.id] = p.task_id
    for process_id, task_id in rooms.items():   # boards and dashboards refresh on any message
        publish_after_commit("task.changed", {"task": task_id, "process": process_id, "status": TaskStatus.running},
                             room=f"process:{process_id}")


@dataclass(frozen=True)
class _TaskRef:
    id: int
    process_id: int
    version_id: int


def start_tasks(items: list[dict], user: User | None, actor: str) -> list[tuple[Task, bool]]:
    """The batch API: all or nothing, the first invalid item's error (its paths `tasks[i].…`), as
    `operations.start_tasks` answers; (Task, created) per item."""
    batch, plans, errors = prepare(items, user, lambda i: f"tasks[{i}].")
    if errors:
        raise errors[min(errors)]
    start(plans, batch, user, actor)
    ids = [p.task_id for p in plans]
    tasks = {t.id: t for t in db.session.scalars(select(Task).where(Task.id.in_(set(ids))))}
    return [(tasks[p.task_id], p.created) for p in plans]
