"""Runtime operations for the API, the CLI and jobs: start Tasks, change Fields, act on Stage Runs.

Each function works inside the caller's transaction (the request or job commits once); jobs for
automated Stages are enqueued after that commit."""
from __future__ import annotations

import uuid

from sqlalchemy import select

from app import clock, lookups, permissions, stages
from app.errors import APIError, Forbidden, Invalid
from app.files.operations import live_files
from app.extensions import db
from app.models import StageRun, Task, User
from app.runtime import engine, states
from app.runtime.context import evaluate, stage_context, stage_of
from app.runtime.shell import Transition, enter_process, lock_task, retry
from app.runtime.targets import resolve_target
from app.lookups import find_process, find_split
from app.models import Field, SplitVariant
from app.tables.values import validate_values
from app.tasks import checklist, proposals
from app.vocab.statuses import StageRunStatus, TaskStatus

REASON_MAX = 2000


def fields_of(table_id: int) -> dict:
    return {f.key: f for f in db.session.scalars(select(Field).where(Field.table_id == table_id))}


def _check_start(data: dict, user: User | None, prefix: str, via: str | None = None) -> None:
    """The caller may start Tasks on the target and set these values (the definition's `start`);
    `via` another rule of a Process start (the public intake form: "intake.submit")."""
    if data.get("split"):
        target, operation = find_split(data["split"]), via or "split.start"
    else:
        target, operation = find_process(data["process"]), via or "process.start"
    if target is not None:   # an unknown target is refused by resolve_target with its own error
        permissions.check(user, operation, target, values=data.get("values") or {}, prefix=prefix)


def start_task(data: dict, user: User | None, actor: str, *, prefix: str = "", via: str | None = None,
               required: tuple[str, ...] = ()) -> tuple[Task, bool]:
    """Start a Task on a Process (current Version) or through a Split (sticky variant): (Task, True).
    `user` None is the system (jobs, the demo); anyone else is checked by app.permissions first.
    A `key` already started in the Process the create resolves to (for a Split, the key's sticky
    variant's Process) answers with that Task instead: (existing Task, False); nothing changes.
    Forms pass the Fields their page marks `required` (the API requires none)."""
    if bool(data.get("process")) == bool(data.get("split")):
        raise Invalid("Give exactly one of process or split.", {f"{prefix}process": ["give process or split"]})
    _check_start(data, user, prefix, via)
    key = data.get("key") or uuid.uuid4().hex
    process, version, variant_id = resolve_target(data.get("process"), data.get("split"), key)
    values, errors = validate_values(fields_of(process.table_id), data.get("values") or {}, required=required)
    if errors:
        raise Invalid("Some values are invalid.", {f"{prefix}values.{k}": v for k, v in errors.items()})
    if data.get("key"):
        existing = db.session.scalar(select(Task).where(Task.origin_process_id == process.id, Task.key == key))
        if existing is not None:
            return existing, False
    now = clock.now()
    task = Task(key=key, table_id=process.table_id, values=values, process=process, version=version,  # held, not reloaded
                origin_process_id=process.id, split_id=None, variant_id=variant_id, status=TaskStatus.running,
                created_by_id=getattr(user, "id", None), created_at=now, updated_at=now, finished_at=None)
    if variant_id is not None:
        task.split_id = db.session.get(SplitVariant, variant_id).split_id
    db.session.add(task)
    db.session.flush()   # a concurrent create of the same key fails here (unique per origin Process)
    t = enter_process(task, process, version, variant_id=variant_id, actor=actor)
    t.event("task.created", after=TaskStatus.running, key=key, variant=variant_id)
    t.finish()
    t.queue_automated()
    return task, True


def create_task(data: dict, user: User | None, actor: str, *, prefix: str = "") -> Task:
    """The started (or, for a repeated key, existing) Task: `start_task` without the flag."""
    return start_task(data, user, actor, prefix=prefix)[0]


def start_tasks(items: list[dict], user: User | None, actor: str) -> list[tuple[Task, bool]]:
    """All or nothing: the first invalid item aborts the batch with its index in the error paths."""
    return [start_task(item, user, actor, prefix=f"tasks[{i}].") for i, item in enumerate(items)]


def create_tasks(items: list[dict], user: User | None, actor: str) -> list[Task]:
    return [task for task, _ in start_tasks(items, user, actor)]


def _writable(t: Transition) -> set[str]:
    """Fields writable through the open Stage Runs of the Task's current Process."""
    keys: set[str] = set()
    for run in t.runs.values():
        if run.status in states.OPEN:
            keys.update(stage_of(t.definition, run.stage_key)["writes"])
    return keys


def update_values(task: Task, values: dict, user: User | None, actor: str, *, allowed: set[str] | None = None) -> Task:
    """Change Field values, then re-evaluate start rules and condition Routes. A user may write
    only Fields an open Stage Run of theirs may write (app.permissions "task.write")."""
    permissions.check(user, "task.write", task, values=values)
    if user is not None:
        allowed = permissions.task_writable_fields(user, task)
    task = lock_task(task.id)
    if task.status != TaskStatus.running:
        raise Invalid(f"Task {task.id} is {task.status}; its Fields can no longer change.", {"task": [task.status]})
    t = Transition(task, actor=actor)
    clean, errors = validate_values(fields_of(task.table_id), values, allowed=allowed)
    if errors:
        raise Invalid("Some values are invalid or not writable here.", {f"values.{k}": v for k, v in errors.items()})
    before = {k: (task.values or {}).get(k) for k in clean}
    task.values = {**(task.values or {}), **clean}
    t.event("task.values_changed", before=None, after=None, fields=sorted(clean), old=before)
    t.apply(engine.advance(t.definition, t.view(), evaluate=evaluate, fields_changed=True))
    t.finish()
    t.queue_automated()
    return task


# --- acting on Stage Runs ---------------------------------------------------------------------

def release_claims_of(user: User, actor: str, reason: str) -> int:
    """Release every open Stage Run `user` holds (the system's doing: their account ended), so the work
    goes back to the queue for their team; the number released."""
    held = db.session.scalars(select(StageRun.id).where(StageRun.claimed_by_id == user.id,
                                                         StageRun.status.in_(states.OPEN))).all()
    for run_id in held:
        release(run_id, actor, reason=reason)
    return len(held)


def get_run(run_id: int, who=None) -> StageRun:
    """A Stage Run `who` may see (404 otherwise; None = the system)."""
    run = lookups.get_run(run_id)
    permissions.check(who, "run.view", run)
    return run


def _transition_for(run_id: int, actor: str, who=None, operation: str = "run.view",
                    **context) -> tuple[Transition, StageRun]:
    """Lock the run's Task and check `operation` on the fresh run: 404 / 403 before any change."""
    run = get_run(run_id)
    task = lock_task(run.task_id)
    t = Transition(task, actor=actor)
    fresh = t.runs.get(run.id)
    permissions.check(who, operation, fresh or run, **context)
    if fresh is None:
        raise Invalid(f"Stage run {run_id} belongs to an earlier Process visit of its Task.", {"run": ["closed"]},
                      status=409, code="conflict")
    return t, fresh


def _illegal(exc: states.IllegalTransition) -> APIError:
    return APIError(str(exc), {"status": [str(exc)]}, status=409, code="illegal_transition")


def _settle(t: Transition, decisions: list) -> None:
    """Apply the engine's decisions, announce the change, queue the automated runs that became ready."""
    t.apply(decisions)
    t.finish()
    t.queue_automated()


ACTIONS = ("complete", "approve", "reject", "advance", "start", "pause", "resume", "retry")


def _user_id(who) -> int | None:
    return who.id if isinstance(who, User) else None


def act(run_id: int, action: str, actor: str, *, user=None, values: dict | None = None,
        comment: str = "", kind: stages.InputKind | None = None) -> StageRun:
    """One action on a Stage Run by `user`: a User, a participant's MagicLink, or None (the
    system). app.permissions decides first (404 invisible, 403 not allowed, with the reason).
    `kind`: where the values of a completion come from (a booking completes a calendar Stage)."""
    if action not in ACTIONS:
        raise Invalid(f'Unknown action "{action}".', {"action": ["unknown"]})
    t, run = _transition_for(run_id, actor, user, f"run.{action}", values=values)
    kind = kind or (stages.InputKind.participant if permissions.is_participant(user) else stages.InputKind.submit)
    view = t.view()
    try:
        if action == "complete":
            if run.status not in ("pending", "started", "in_progress"):
                raise states.IllegalTransition(run.status, "completed")
            run.completed_by_id = _user_id(user)
            stage = stage_of(t.definition, run.stage_key)
            if user is not None:   # a person completes it (the system's own completions are not checked)
                checklist.require_ticked(run, stage)
            type_ = stages.get(stage["type"])
            if values or (type_ is not None and type_.needs.files):   # uploads become the Field's value
                write_input(t, run, dict(values or {}), stage, kind)
                view = t.view()
            if run.status in ("pending",):
                t.set_status(run, "started")
                view = t.view()
            decisions = engine.complete(t.definition, view, run.id, evaluate=evaluate)
        elif action in ("approve", "reject"):
            if run.status not in ("awaiting_approval", "gated"):
                raise states.IllegalTransition(run.status, "completed" if action == "approve" else "in_progress")
            run.decided_by_id, run.decided_at = _user_id(user), clock.now()
            if run.status == "awaiting_approval":  # a gate decision is not the Stage's own approval
                run.approval_status = "approved" if action == "approve" else "rejected"
            # proposed values (an AI's answer): written, with the approver's edits, or discarded
            written = proposals.settle(t, run, stage_of(t.definition, run.stage_key), action == "approve", values)
            t.event("approval.approved" if action == "approve" else "approval.rejected", run, stage=run.stage_key, comment=comment)
            decisions = engine.decide_approval(t.definition, t.view(), run.id, action == "approve", evaluate=evaluate)
            if written:   # Fields changed: Process-level condition Routes are due too
                visit = t.visit
                t.apply(decisions)
                decisions = engine.advance(t.definition, t.view(), evaluate=evaluate, fields_changed=True) \
                    if t.task.status == TaskStatus.running and t.visit is visit else []
        elif action == "advance":
            decisions = engine.pass_gate(t.definition, view, run.id)
        elif action == "start":
            t.set_status(run, "started")
            decisions = []
        elif action == "pause":
            t.set_status(run, "paused")
            run.paused_at = clock.now()
            decisions = []
        elif action == "resume":
            t.set_status(run, "in_progress")
            run.paused_at = None
            decisions = []
        elif action == "retry":
            if run.status != "failed":   # staff retry failed runs; a worker puts back its own
                raise states.IllegalTransition(run.status, "pending")
            retry(t, run)
            decisions = engine.advance(t.definition, t.view(), evaluate=evaluate)
    except states.IllegalTransition as exc:
        raise _illegal(exc) from None
    _settle(t, decisions)
    return run


def submission(t: Transition, run: StageRun, stage: dict, values: dict,
               kind: stages.InputKind = stages.InputKind.submit) -> stages.Submission:
    """What the run's stage type makes of an input (its values, the Fields it requires)."""
    type_ = stages.get(stage["type"])
    if type_ is None:
        return stages.Submission(values=dict(values))
    if type_.needs.files:   # the run's live uploads, with their review status, for the type to turn into values
        values = {**values, "files": [{**f.ref(), "review": f.review_status} for f in live_files(run.id)]}
    try:
        return type_.receive(stage_context(t.task, run, stage, type_, strict=False), kind, values)
    except stages.InputInvalid as exc:
        raise Invalid(str(exc), {"input": [str(exc)]}) from None
    except stages.InputRefused as exc:
        raise Invalid(str(exc), {"input": [str(exc)]}, status=409, code="conflict") from None


def write_input(t: Transition, run: StageRun, values: dict, stage: dict,
                kind: stages.InputKind = stages.InputKind.submit) -> None:
    """An input's Field writes, as the run's stage type makes of it, checked against the Stage's
    writes (403) and the Fields' types (422), then written with an Event."""
    received = submission(t, run, stage, values, kind)
    values, required = received.values, tuple(received.required)
    merged = {**{k: (t.task.values or {}).get(k) for k in required}, **values}
    clean, errors = validate_values(fields_of(t.task.table_id), merged, required=required,
                                    allowed=set(stage["writes"]) | set(required))
    disallowed = sorted(set(values) - set(stage["writes"]))
    if disallowed:
        raise Forbidden(f"Stage {run.stage_key!r} may not write {', '.join(disallowed)}.",
                        {f"values.{k}": ["not in this Stage's writes"] for k in disallowed})
    if errors:
        raise Invalid("Some values are invalid.", {f"values.{k}": v for k, v in errors.items()})
    t.task.values = {**(t.task.values or {}), **{k: v for k, v in clean.items() if k in values}}
    t.event("task.values_changed", run, fields=sorted(values), stage=run.stage_key)


def claim(run_id: int, user: User | None, actor: str, *, assignee: User | None = None) -> StageRun:
    """Claim (or, for a Delegator, assign to someone who may work the Stage) a run: time tracking
    starts now."""
    operation = "run.reassign" if assignee is not None and (user is None or assignee.id != user.id) else "run.claim"
    t, run = _transition_for(run_id, actor, user, operation, assignee=assignee)
    if run.status not in states.OPEN:
        raise APIError(f"Stage run {run_id} is {run.status}.", {"status": [run.status]}, status=409, code="conflict")
    who = assignee or user
    if who is None:
        raise Invalid("Claim for whom?", {"assignee": ["required"]})
    run.claimed_by_id, run.claimed_at = who.id, clock.now()
    t.event("stage.claimed", run, stage=run.stage_key, user=who.id)
    if run.status == "pending":
        t.set_status(run, "started")
    t.finish()
    return run


def release(run_id: int, actor: str, user: User | None = None, *, reason: str | None = None) -> StageRun:
    """Release a claim (someone else's: a Delegator only); the staff time is kept. `reason` is the
    system's, for the timeline ("deactivated": the claimer's account was deactivated)."""
    t, run = _transition_for(run_id, actor, user, "run.release")
    if run.claimed_at and run.status in ("started", "in_progress"):
        run.active_seconds += (clock.now() - run.claimed_at).total_seconds()
    run.claimed_by_id, run.claimed_at = None, None
    t.event("stage.released", run, stage=run.stage_key, **({"reason": reason} if reason else {}))
    t.finish()
    return run


# --- ending work on purpose ---------------------------------------------------------------------

def _reason(reason: str | None) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("A reason is required.", {"reason": ["required"]})
    if len(reason) > REASON_MAX:
        raise Invalid(f"The reason is longer than {REASON_MAX} characters.", {"reason": ["too long"]})
    return reason


def cancel_tasks(task_ids: list[int], user: User | None, actor: str, reason: str) -> list[Task]:
    """Cancel running Tasks (app.permissions "task.cancel"): their open and failed Stage Runs are
    cancelled with their timers, the Task ends `cancelled` (counted apart in the metrics). All or
    nothing: one Task that may not be cancelled, or is no longer running, cancels none."""
    reason = _reason(reason)
    if not task_ids:
        raise Invalid("Select the Tasks to cancel.", {"task_ids": ["select some Tasks"]})
    tasks = [lookups.get_task(task_id) for task_id in dict.fromkeys(task_ids)]
    for task in tasks:
        permissions.check(user, "task.cancel", task)
    done = []
    for task in tasks:
        task = lock_task(task.id)
        if task.status != TaskStatus.running:
            raise Invalid(f"Task {task.id} is {task.status}; only running Tasks can be cancelled.",
                          {"task_ids": [f"task {task.id} is {task.status}"]}, status=409, code="conflict")
        t = Transition(task, actor=actor)
        t.cancel(reason)
        t.finish()
        done.append(task)
    return done


def withdraw_run(run_id: int, to: str, user: User | None, actor: str, reason: str) -> StageRun:
    """Skip (not needed) or cancel (withdrawn) one open or failed Stage Run, with a reason
    (app.permissions "run.skip" / "run.cancel"); the lane goes on past it."""
    if to not in (StageRunStatus.skipped, StageRunStatus.cancelled):
        raise Invalid(f"A run is skipped or cancelled, not {to}.", {"action": ["skip or cancel"]})
    reason = _reason(reason)
    t, run = _transition_for(run_id, actor, user, "run.skip" if to == StageRunStatus.skipped else "run.cancel")
    try:
        decisions = engine.withdraw(t.definition, t.view(), run.id, to, reason, evaluate=evaluate)
    except states.IllegalTransition as exc:
        raise _illegal(exc) from None
    _settle(t, decisions)
    return run


def receive_input(run_id: int, kind: stages.InputKind, payload: dict, actor: str, *, user=None,
                  before=None) -> StageRun:
    """An input for a run that waits on one (in progress after `perform` returned complete=False): a
    callback (an email reply…), a signal, or staff finishing it. Its stage type's `receive` says what
    to write (checked here against the Stage's writes) and whether the input completes the run.
    `before(t, run)`: the caller's own checks of the fresh run under the Task's lock (raise to refuse)."""
    t, run = _transition_for(run_id, actor, user, "run.complete" if user is not None else "run.view")
    if before is not None:
        before(t, run)
    if run.status != "in_progress":
        raise APIError(f"Stage run {run_id} is {run.status}; it is not waiting for input.", {"status": [run.status]},
                       status=409, code="conflict")
    stage = stage_of(t.definition, run.stage_key)
    received = submission(t, run, stage, payload, kind)
    if received.values:
        disallowed = sorted(set(received.values) - set(stage["writes"]))
        clean, errors = validate_values(fields_of(t.task.table_id), received.values, allowed=set(stage["writes"]))
        if disallowed or errors:
            raise Invalid("The input writes values this Stage may not write.",
                          {f"values.{k}": ["not writable here"] for k in disallowed}
                          | {f"values.{k}": v for k, v in errors.items()})
        t.task.values = {**(t.task.values or {}), **clean}
        t.event("task.values_changed", run, fields=sorted(clean), stage=run.stage_key)
    t.event("stage.input", run, stage=run.stage_key, kind=str(kind), completes=received.complete)
    if received.complete:
        run.completed_by_id = _user_id(user)
        t.apply(engine.complete(t.definition, t.view(), run.id, evaluate=evaluate))
    _settle(t, [])
    return run
