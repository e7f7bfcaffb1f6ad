"""The I/O shell around the pure engine: load a Task's state, ask the engine, apply its decisions
(Stage Runs, Events, visits, timers) in the caller's transaction, and defer jobs and messages
until commit. Nothing here commits; `app.tasks.operations` and the jobs own the transaction."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import make_transient_to_detached

from app import clock, stages
from app.errors import Invalid
from app.extensions import db
from app.infra.queue import enqueue_after_commit, publish_after_commit, record_event
from app.models import Process, StageRun, Task, TaskVisit, Version
from app.runtime import assignment, engine, loops, signals, states, timers
from app.runtime.context import definition_of, evaluate, stage_context, stage_of
from app.runtime.plan import plan
from app.runtime.run_writes import write_runs
from app.runtime.targets import resolve_target
from app.runtime.views import RunViews
from app.vocab import refs
from app.vocab.statuses import TaskStatus


def lock_task(task_id: int) -> Task:
    """Load a Task for a transition, row-locked on PostgreSQL; everywhere the lock_version
    counter makes a concurrent second writer fail (StaleDataError) and retry."""
    # populate_existing: a copy already in the session (loaded before the lock, e.g. by a job's first
    # look at its run) must not hide a transition another worker committed meanwhile
    task = db.session.scalar(select(Task).where(Task.id == task_id).with_for_update()
                             .execution_options(populate_existing=True))
    if task is None:
        raise Invalid(f"No task {task_id}.", status=404, code="not_found")
    return task


def open_visit(task: Task) -> TaskVisit:
    return db.session.scalar(select(TaskVisit).where(TaskVisit.task_id == task.id, TaskVisit.left_at.is_(None))
                             .order_by(TaskVisit.id.desc()).execution_options(populate_existing=True))


@dataclass
class Transition:
    """Applies engine decisions to one Task. `automated` collects runs a worker should perform."""

    task: Task
    actor: str = "system"
    visit: TaskVisit | None = None
    runs: dict[int, StageRun] = field(default_factory=dict)
    automated: list[StageRun] = field(default_factory=list)
    changed: bool = False
    resolved: bool = False   # a run whose failure flagged the Task got done, or the Task ended
    views: "RunViews | None" = field(default=None, repr=False)

    def __post_init__(self):
        self.visit = self.visit or open_visit(self.task)
        if self.visit is not None and not self.runs:
            # fresh rows, read after the Task lock: a run loaded earlier may have been completed since
            rows = db.session.scalars(select(StageRun).where(StageRun.visit_id == self.visit.id)
                                      .order_by(StageRun.id).execution_options(populate_existing=True)).all()
            self.runs = {r.id: r for r in rows}

    @property
    def definition(self) -> dict:
        return definition_of(self.task)

    def view(self) -> engine.TaskView:
        """The Task as the engine sees it: runs a rework loop sent back (`superseded`) no longer count.
        Its run index is kept up to date run by run (RunViews), not rebuilt per transition."""
        views = self.views
        if views is None or not views.fresh(self.runs):
            views = self.views = RunViews(self.runs)
        return engine.TaskView.of_index(dict(self.task.values or {}), views.index)

    # --- events ---------------------------------------------------------------------------------
    def event(self, type_: str, run: StageRun | None = None, before: str | None = None,
              after: str | None = None, **data) -> None:
        # a plain row, written with the transaction's other Events in one executemany (app.infra.queue)
        row = {"type": type_, "task_id": self.task.id, "stage_run_id": run.id if run else None,
               "process_id": self.task.process_id, "actor": self.actor, "from_status": before,
               "to_status": after, "data": data, "created_at": clock.now()}
        record_event(row)
        signals.event_recorded.send(row)  # app.alerts.on_event listens (no query unless alertable)
        self.changed = True

    def set_status(self, run: StageRun, to: str, **data) -> None:
        before = run.status
        states.check(before, to)
        run.status = to
        now = clock.now()
        if to in ("started", "in_progress") and run.started_at is None:
            run.started_at = now
        if to in states.TERMINAL and (run.data or {}).get("failed"):
            self.resolved = True
        if to in states.TERMINAL or to == "failed":
            run.finished_at = now
            if self._may_have_timers(run):  # skip a needless UPDATE (and autoflush) on the hot path
                timers.cancel(run)
        elif run.finished_at is not None:   # a failed run tried again is open again: not finished
            run.finished_at = None
        working = ("started", "in_progress")
        if run.claimed_at is not None and before in working and to not in working:
            # staff time tracking: claimed_at marks "active since" (reset on resume), pauses excluded
            run.active_seconds += (now - run.claimed_at).total_seconds()
        if to in working and before not in working and before != "pending" and run.claimed_by_id:
            # back to work (resume, rework after a rejected approval, retry): the clock restarts now
            run.claimed_at = now
        self.event("stage.status", run, before, to, stage=run.stage_key, **data)

    def _may_have_timers(self, run: StageRun) -> bool:
        if run.due_at is not None or run.version_id != self.task.version_id or (run.data or {}).get("polling"):
            return True
        try:
            stage = stage_of(self.definition, run.stage_key)
        except StopIteration:
            return True
        return bool(stage.get("sla") or (stage.get("approval") or {}).get("sla")
                    or plan(self.definition).timeouts.get(run.stage_key))

    # --- applying decisions ------------------------------------------------------------------------
    def apply(self, decisions: list) -> None:
        for d in decisions:
            getattr(self, "_" + type(d).__name__)(d)

    def new_run(self, key: str, status: str) -> StageRun:
        """INSERT the run with Core (one statement, its id back) instead of add + flush: a flush would
        also write every pending change of the transaction and costs ~4x the statement itself."""
        row = run_row(self.task, self.visit.id, stage_of(self.definition, key), status, clock.now())
        result = db.session.connection().execute(_INSERT_RUN, row)  # no autoflush, a cached statement
        # the object as a load would build it (no constructor: its ~25 attribute events cost more than the
        # INSERT's Python), then persistent with every column set: nothing to re-load
        run = _NEW_RUN()
        run.__dict__.update(row, id=result.inserted_primary_key[0])
        make_transient_to_detached(run)
        db.session.add(run)
        self.runs[run.id] = run
        self.event("stage.status", run, None, status, stage=key)
        return run

    def _StartStage(self, d: engine.StartStage) -> None:
        run = self.new_run(d.stage_key, d.status)
        if d.status == "pending":
            self.ready(run)

    def ready(self, run: StageRun) -> None:
        """A run became ready (pending): its SLA starts, and its stage type says who does the work."""
        stage = stage_of(self.definition, run.stage_key)
        run.ready_at = clock.now()
        timers.schedule(run, stage.get("sla"), "stage")
        timers.schedule_timeouts(run, list(plan(self.definition).timeouts.get(run.stage_key, ())))
        if refs.dynamic_refs(stage) and run.claimed_by_id is None:
            self.assign(run, stage)
        type_ = stages.get(stage["type"])
        if type_ is None:   # its type is no longer installed: it waits for a person
            return
        on_ready = type_.on_ready(stage_context(self.task, run, stage, type_, strict=False))
        if on_ready == stages.OnReady.worker:
            self.automated.append(run)
        elif on_ready == stages.OnReady.participant:
            # the portal form of an invited participant is this Stage's work
            for status in ("started", "in_progress", "waiting_on_participant"):
                self.set_status(run, status, reason="participant invited")

    def assign(self, run: StageRun, stage: dict) -> None:
        """Assignment from data (app.runtime.assignment): the run goes to the person it names."""
        user, how = assignment.pick(stage, dict(self.task.values or {}), run)
        if user is None:
            self.apply([engine.FlagAttention(f"stage {run.stage_key!r} could not be assigned: {how}")])
            return
        run.claimed_by_id = user.id
        self.event("stage.assigned", run, stage=run.stage_key, user=user.id, how=how)

    def _SkipStage(self, d: engine.SkipStage) -> None:
        if d.run_id is None:
            self.new_run(d.stage_key, "skipped")
        else:
            self.set_status(self.runs[d.run_id], "skipped")

    def _ReleaseRun(self, d: engine.ReleaseRun) -> None:
        run = self.runs[d.run_id]
        self.set_status(run, d.status)
        if d.status == "pending":
            self.ready(run)

    def _CompleteRun(self, d: engine.CompleteRun) -> None:
        run = self.runs[d.run_id]
        self.set_status(run, "completed")

    def _AwaitApproval(self, d: engine.AwaitApproval) -> None:
        run = self.runs[d.run_id]
        run.approval_status = "pending"
        self.set_status(run, "awaiting_approval")
        approval = stage_of(self.definition, run.stage_key).get("approval") or {}
        timers.schedule(run, approval.get("sla"), "approval")

    def _ReturnForRework(self, d: engine.ReturnForRework) -> None:
        run = self.runs[d.run_id]
        run.approval_status = "rejected"
        self.set_status(run, "in_progress", reason="approval rejected")

    def _RetryRun(self, d: engine.RetryRun) -> None:
        run = self.runs[d.run_id]
        self.set_status(run, "pending", attempt=d.attempt, delay_seconds=d.delay_seconds, error=run.error)
        run.attempt = d.attempt
        at = run.run_after = clock.now() + timedelta(seconds=d.delay_seconds)
        enqueue_after_commit("app.runtime.jobs.run_stage", run.id, run.attempt, job_id=run_job_id(run), at=at)

    def _CloseRun(self, d: engine.CloseRun) -> None:
        self.set_status(self.runs[d.run_id], d.status, reason=d.reason)

    def cancel(self, reason: str) -> None:
        """End the Task here on purpose: its open (and failed) runs are cancelled with their timers,
        the visit closes as cancelled, the Task is `cancelled` for good."""
        self.end(TaskStatus.cancelled, reason=reason)

    def end(self, outcome: str, *, reason: str, route_key: str | None = None, label: str | None = None) -> None:
        """The Task ends here with `outcome` (completed, cancelled or rejected): its open and failed runs
        are cancelled with their timers, the visit closes with that outcome."""
        for run in self.runs.values():
            if run.status in states.OPEN or run.status == "failed":
                self.set_status(run, "cancelled", reason=reason)
        now = clock.now()
        self.task.status, self.task.finished_at = TaskStatus(outcome), now
        if self.visit is not None:
            self.visit.left_at, self.visit.outcome = now, outcome
            self.visit.route_key = route_key
        extra = {"route": route_key, "label": label} if route_key else {}
        self.event(f"task.{outcome}", before=TaskStatus.running, after=outcome, reason=reason, **extra)

    def _FailRun(self, d: engine.FailRun) -> None:
        run = self.runs[d.run_id]
        run.error = d.error
        run.data = {**(run.data or {}), "failed": True}   # its success later clears the Task's flag
        self.set_status(run, "failed", error=d.error)

    def _ConditionFailed(self, d: engine.ConditionFailed) -> None:
        run = next((r for r in self.runs.values() if r.stage_key == d.stage_key), None) if d.stage_key else None
        self.event("condition.failed", run, stage=d.stage_key, condition=d.condition, reason=d.reason)

    def _FlagAttention(self, d: engine.FlagAttention) -> None:
        self.task.needs_attention = True
        self.event("task.needs_attention", reason=d.reason)

    def _Escalate(self, d: engine.Escalate) -> None:
        run = self.runs.get(d.run_id)
        self.event("stage.escalated", run, to=list(d.to), reason=d.reason, stage=d.stage_key)
        signals.alert.send(self.task, type_="stage.escalated", message=d.reason, run=run, recipients=list(d.to))
        db.session.flush()  # the alert's ORM Event after the buffered ones, so ids keep their order

    def _FireRoute(self, d: engine.FireRoute) -> None:
        if d.end:
            self.end(d.end, reason=f"route {d.route_key} ({d.reason})", route_key=d.route_key, label=d.label)
        elif d.loop:
            loops.send_back(self, d)
        else:
            move(self, process_key=d.process, split_key=d.split, stage_key=d.stage,
                 reason=f"route {d.route_key} ({d.reason})", route_key=d.route_key)

    def _FinishTask(self, d: engine.FinishTask) -> None:
        now = clock.now()
        self.task.status = "completed"
        self.task.finished_at = now
        self.visit.left_at, self.visit.outcome = now, "completed"
        self.event("task.completed", before=TaskStatus.running, after="completed")

    def _clear_attention(self) -> None:
        """`needs_attention` goes once its cause is resolved: the Task ended, or a run whose failure
        flagged it got done (completed, skipped, cancelled) and no other run of the Task is failed."""
        if not self.task.needs_attention:
            return
        ended = self.task.status != TaskStatus.running
        if ended or (self.resolved and not any(r.status == "failed" for r in self.runs.values()
                                               if not (r.data or {}).get("superseded"))):
            self.task.needs_attention = False
            self.event("task.attention_cleared", reason="the Task ended" if ended else "the failed step is done")

    # --- after applying ----------------------------------------------------------------------------
    def queue_automated(self, *, at_front: bool = False) -> None:
        """Enqueue (after commit) a job for each automated run that became ready; `at_front`: before the
        jobs already waiting (a worker handing back parallel work of a Task under way, which should not
        wait behind every Task started since)."""
        for run in self.automated:
            enqueue_after_commit("app.runtime.jobs.run_stage", run.id, run.attempt, job_id=run_job_id(run),
                                 at_front=at_front)
        self.automated = []

    def finish(self) -> None:
        """Bump the Task (optimistic lock), announce the change and queue automated runs."""
        if not self.changed:
            return
        self._clear_attention()
        self.task.updated_at = clock.now()
        write_runs(self.runs.values())   # the runs' changes by Core UPDATEs (app.runtime.run_writes)
        db.session.flush()  # the Task (lock_version), the visit, and the buffered Events (before_flush hook)
        publish_after_commit("task.changed", {"task": self.task.id, "process": self.task.process_id,
                                              "status": self.task.status}, room=f"process:{self.task.process_id}")
        publish_after_commit("task.changed", {"task": self.task.id, "status": self.task.status},
                             room=f"task:{self.task.id}")


_INSERT_RUN = insert(StageRun.__table__)
_NEW_RUN = StageRun.__mapper__.class_manager.new_instance


def run_row(task, visit_id: int, stage: dict, status: str, now) -> dict:
    """The columns of a new Stage Run of `task` (anything with id, process_id, version_id) in `stage`."""
    type_ = stages.get(stage["type"])
    return dict(task_id=task.id, visit_id=visit_id, process_id=task.process_id, version_id=task.version_id,
                stage_key=stage["key"], status=status, attempt=1, automated=bool(type_ and type_.automated),
                ready_at=now, run_after=None, started_at=None, finished_at=now if status == "skipped" else None,
                due_at=None, claimed_by_id=None, claimed_at=None, paused_at=None, active_seconds=0.0,
                approval_status=None, decided_by_id=None, decided_at=None, error=None, data={})


def retry(t: Transition, run: StageRun, **data) -> None:
    """A failed run gets a new attempt: ready (pending) again, its error cleared, its job queued."""
    t.set_status(run, "pending", manual_retry=True, **data)
    run.attempt += 1
    run.error = None
    t.ready(run)


def run_job_id(run: StageRun) -> str:
    """One job id per Stage Run attempt: the idempotency key of its side effects."""
    return f"run-{run.id}-{run.attempt}"


def enter_process(task: Task, process: Process, version: Version, *, variant_id: int | None, actor: str,
                  stage_key: str | None = None) -> Transition:
    """Open a new visit of `process` for the Task and start its lane (or a named Stage)."""
    task.process_id, task.version_id = process.id, version.id
    task.status, task.finished_at = TaskStatus.running, None
    visit = TaskVisit(task_id=task.id, process_id=process.id, version_id=version.id, variant_id=variant_id,
                      entered_at=clock.now())
    db.session.add(visit)
    db.session.flush()
    t = Transition(task, actor=actor, visit=visit, runs={})
    t.event("task.entered", process=process.key, version=version.number, stage=stage_key)
    if stage_key is None:
        t.apply(engine.advance(t.definition, t.view(), evaluate=evaluate))
    else:
        start_at(t, stage_key)
    return t


def start_at(t: Transition, stage_key: str) -> None:
    """Enter a lane at a named Stage: earlier columns (and its column's siblings) count as skipped."""
    target = stage_of(t.definition, stage_key)
    for stage in t.definition["stages"]:
        if stage["column"] < target["column"] or (stage["column"] == target["column"] and stage is not target):
            t.new_run(stage["key"], "skipped")
    t.apply(engine.advance(t.definition, t.view(), evaluate=evaluate))


# --- Routes: moving a Task to another Process (its target: app.runtime.targets) -------------------

def move(t: Transition, *, process_key: str | None, split_key: str | None, stage_key: str | None, reason: str,
         route_key: str | None = None) -> None:
    """Close the Task's open Stage Runs here (moved), leave this visit, enter the target."""
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
    publish_after_commit("task.changed", {"task": t.task.id, "process": from_process, "status": "moved"},
                         room=f"process:{from_process}")
