"""Pure orchestration decisions: given a normalized definition and a Task's state, say what happens next.

Nothing here reads the database, the clock or Redis; conditions are evaluated by an
injected ``evaluate(expr, values) -> bool`` (the CEL evaluator lives elsewhere and
treats an erroring condition as false). An evaluator that could not decide (its budget
ran out) returns ``Undecided``: the condition does not hold, and the decisions report
it (``ConditionFailed``) and flag the Task. The I/O shell applies the returned
decisions, in order, in one transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from heapq import heapify, heappop
from collections.abc import Callable, Sequence
from functools import cached_property

from app.vocab.refs import escalation_targets
from app.runtime.plan import PASSED, IndexedRuns, Lane, RunIndex, plan
from app.runtime.states import IllegalTransition, check
from app.vocab.statuses import StageRunStatus
from app.vocab.durations import seconds as duration_seconds


@dataclass(frozen=True)
class Undecided:
    """What an evaluator returns when it could not decide a condition (e.g. over its budget).
    Falsy: the condition counts as not holding."""
    reason: str

    def __bool__(self) -> bool:
        return False


Evaluate = Callable[[str, dict], "bool | Undecided"]


# --- state views ------------------------------------------------------------------------------

@dataclass(frozen=True)
class RunView:
    id: int | None
    stage_key: str
    status: str
    attempt: int = 1
    approval_status: str | None = None


@dataclass(frozen=True)
class TaskView:
    values: dict
    runs: Sequence[RunView] = ()  # runs of the current Process visit only (a tuple, or IndexedRuns)
    # the runs indexed (app.runtime.plan.RunIndex): given by the shell, else computed on first use
    index: RunIndex | None = field(default=None, compare=False, repr=False)

    @classmethod
    def of_index(cls, values: dict, index: RunIndex) -> "TaskView":
        """A view of the runs an index holds (aligned: ids unique), without listing them."""
        return cls(values, IndexedRuns(index.by_id), index)

    @cached_property
    def indexed(self) -> RunIndex:
        return self.index if self.index is not None else RunIndex.of(self.runs)


# --- decisions (applied by the shell, in list order) ------------------------------------------

@dataclass(frozen=True)
class StartStage:
    """Create the stage's run: "pending" (ready), "blocked" (start_when false) or "gated"."""
    stage_key: str
    status: str


@dataclass(frozen=True)
class SkipStage:
    """skip_when holds: create the run directly as skipped, or skip the given blocked run."""
    stage_key: str
    run_id: int | None = None


@dataclass(frozen=True)
class _RunDecision:
    run_id: int | None
    stage_key: str


@dataclass(frozen=True)
class ReleaseRun(_RunDecision):
    """A blocked/gated run may go on: to "pending", or to "gated" if a released blocked run meets its gate."""
    status: str = "pending"


@dataclass(frozen=True)
class CompleteRun(_RunDecision):
    pass


@dataclass(frozen=True)
class AwaitApproval(_RunDecision):
    pass


@dataclass(frozen=True)
class ReturnForRework(_RunDecision):
    pass


@dataclass(frozen=True)
class RetryRun(_RunDecision):
    """Put the run back to pending as `attempt`, not before `delay_seconds`."""
    attempt: int
    delay_seconds: float


@dataclass(frozen=True)
class CloseRun(_RunDecision):
    """A person closed an open (or failed) run: `skipped` (not needed) or `cancelled` (withdrawn)."""
    status: str
    reason: str


@dataclass(frozen=True)
class FailRun(_RunDecision):
    error: str


@dataclass(frozen=True)
class Escalate(_RunDecision):
    """Hand to roles.delegator refs, or ("owner",): the Process owner team."""
    to: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class FlagAttention:
    reason: str


@dataclass(frozen=True)
class FireRoute:
    """Follow a Route: to another Process or Split (the shell closes open runs as moved), to the
    end of the Task (`end`: its outcome), or back to an earlier Stage of this Process (`loop`)."""
    route_key: str
    process: str | None
    split: str | None
    stage: str | None
    reason: str  # the trigger type: condition | stage_failed | approval_rejected | timeout | sla_breached
    end: str | None = None
    label: str | None = None
    loop: bool = False
    max_iterations: int | None = None


@dataclass(frozen=True)
class FinishTask:
    pass


@dataclass(frozen=True)
class ConditionFailed:
    """A condition could not be evaluated (Undecided) and counted as not holding."""
    stage_key: str | None  # the Stage it belongs to (a Route's stage; None for a process-wide Route)
    condition: str         # "skip_when", "start_when", "gate" or "route:<key>"
    reason: str


# --- helpers ----------------------------------------------------------------------------------

def _stage(definition: dict, key: str) -> dict:
    try:
        return plan(definition).by_key[key]
    except KeyError:
        raise KeyError(f"no stage {key!r} in the definition") from None


def _run(task: TaskView, run_id: int | None) -> RunView:
    try:
        return task.indexed.by_id[run_id]
    except KeyError:
        raise KeyError(f"no run {run_id!r} in the Task's current visit") from None


def _fire(route: dict) -> FireRoute:
    target = route["target"]
    loop = bool(target.get("stage")) and not (target.get("process") or target.get("split") or target.get("end"))
    return FireRoute(route["key"], target.get("process"), target.get("split"), target.get("stage"),
                     route["trigger"]["type"], end=target.get("end"), label=target.get("label"), loop=loop,
                     max_iterations=route.get("max_iterations"))


def _route_for(definition: dict, trigger: str, stage_key: str) -> FireRoute | None:
    route = plan(definition).first_route.get((trigger, stage_key))
    return _fire(route) if route is not None else None


# --- lane order -------------------------------------------------------------------------------

def predecessors(definition: dict) -> dict[str, tuple[str, ...]]:
    """Stage key -> keys it waits for: `after` if given, else every stage of the nearest earlier column
    (computed once per definition: app.runtime.plan)."""
    return dict(plan(definition).preds)


# --- advancing --------------------------------------------------------------------------------

class _Conditions:
    """Evaluates a Task's conditions, collecting those the evaluator could not decide."""

    def __init__(self, evaluate: Evaluate, values: dict):
        self.evaluate, self.values, self.failed = evaluate, values, {}

    def holds(self, expr: str, stage_key: str | None, condition: str) -> bool:
        result = self.evaluate(expr, self.values)
        if isinstance(result, Undecided):
            self.failed.setdefault((stage_key, condition), ConditionFailed(stage_key, condition, result.reason))
            return False
        return bool(result)

    def gate_passes(self, stage: dict) -> bool:
        gate = stage["gate"]
        return gate is None or (gate["type"] == "condition" and self.holds(gate["condition"], stage["key"], "gate"))

    def report(self, decisions: list) -> list:
        """The decisions, preceded by a ConditionFailed per undecided condition and one FlagAttention."""
        if not self.failed:
            return decisions
        failed = list(self.failed.values())
        where = ", ".join(f"{f.condition} of stage {f.stage_key!r}" if f.stage_key else f.condition for f in failed)
        flag = FlagAttention(f"could not evaluate {where} ({failed[0].reason}); treated as not holding")
        return [*failed, flag, *decisions]


def advance(definition: dict, task: TaskView, *, evaluate: Evaluate,
            completed_stage: str | None = None, fields_changed: bool = False) -> list:
    """Everything that follows from the Task's current state: a Route, or releases, starts, skips, finish.

    After a Stage's completion (or a change of Fields) only what that can affect is looked at: its
    condition Routes, the runs held back by a condition, its successors (and theirs, through skips).
    Every other Stage's readiness is unchanged since the last decision, so the cost does not grow with
    the Process. Without such a cue (a Task entering a lane, a move) every Stage is looked at."""
    p, index = plan(definition), task.indexed
    cond = _Conditions(evaluate, task.values)
    routes = list(p.stage_conditions.get(completed_stage, ())) if completed_stage is not None else []
    if fields_changed or not task.runs:
        routes = sorted(routes + list(p.process_conditions), key=lambda item: item[0])
    for _, route in routes:
        if cond.holds(route["trigger"]["condition"], route["stage"], f"route:{route['key']}"):
            return cond.report([_fire(route)])

    decisions: list = []
    lane = Lane(p, index)
    for key in sorted((k for k in index.held if k in p.order), key=p.order.__getitem__):
        stage, run = p.by_key[key], index.current[key]   # existing runs held back by a condition
        if run.status == "blocked":
            if stage["skip_when"] and cond.holds(stage["skip_when"], key, "skip_when"):
                decisions.append(SkipStage(key, run.id))
                lane.set(key, "skipped")
            elif not stage["start_when"] or cond.holds(stage["start_when"], key, "start_when"):
                to = "pending" if cond.gate_passes(stage) else "gated"
                decisions.append(ReleaseRun(run.id, key, to))
                lane.set(key, to)
        elif run.status == "gated" and stage["gate"] and stage["gate"]["type"] == "condition" \
                and cond.holds(stage["gate"]["condition"], key, "gate"):
            decisions.append(ReleaseRun(run.id, key))
            lane.set(key, "pending")

    if completed_stage is None and not fields_changed or not task.runs:
        lane.pending.extend(range(len(p.stages)))
    elif completed_stage is not None:
        lane.pending.extend(p.order[k] for k in p.succs.get(completed_stage, ()))
    while lane.pending:  # skipping a stage may make its successors ready: repeat until nothing new
        todo, lane.pending = lane.pending, []
        heapify(todo)
        lane.todo = todo
        while todo:
            i = heappop(todo)
            stage = p.stages[i]
            key = stage["key"]
            if lane.status(key) is not None or not all(lane.status(k) in PASSED for k in p.preds[key]):
                continue
            if stage["skip_when"] and cond.holds(stage["skip_when"], key, "skip_when"):
                decisions.append(SkipStage(key))
                lane.set(key, "skipped", at=i)
                continue
            if stage["start_when"] and not cond.holds(stage["start_when"], key, "start_when"):
                to = "blocked"
            elif not cond.gate_passes(stage):
                to = "gated"
            else:
                to = "pending"
            decisions.append(StartStage(key, to))
            lane.set(key, to)

    if lane.all_passed():
        decisions.append(FinishTask())
    return cond.report(decisions)


def _replace_run(task: TaskView, run: RunView, **changes) -> TaskView:
    """The Task view with one run changed: the state a decision will leave behind."""
    new = replace(run, **changes)
    index = task.indexed
    if index.aligned and index.by_id.get(run.id) is run:   # no scan of the runs
        return TaskView.of_index(task.values, index.replaced(run, new))
    return TaskView(task.values, tuple(new if r is run else r for r in task.runs))


def _complete_and_advance(definition: dict, task: TaskView, run: RunView, evaluate: Evaluate) -> list:
    check(run.status, "completed")
    after = advance(definition, _replace_run(task, run, status="completed"), evaluate=evaluate,
                    completed_stage=run.stage_key)
    return [CompleteRun(run.id, run.stage_key), *after]


def complete(definition: dict, task: TaskView, run_id: int | None, *, evaluate: Evaluate) -> list:
    """The work of a run is done: hold it for approval if required, else complete it and advance."""
    run = _run(task, run_id)
    approval = _stage(definition, run.stage_key)["approval"]
    if approval and approval.get("required") and run.approval_status != "approved":
        check(run.status, "awaiting_approval")
        return [AwaitApproval(run.id, run.stage_key)]
    return _complete_and_advance(definition, task, run, evaluate)


def decide_approval(definition: dict, task: TaskView, run_id: int | None, approved: bool, *,
                    evaluate: Evaluate) -> list:
    """An approver decided: complete and advance, or route away / send back for rework.

    A run held at an approval gate is released when approved; when rejected it stays
    gated (flagged) unless an approval_rejected Route takes the Task elsewhere.
    """
    run = _run(task, run_id)
    route = None if approved else _route_for(definition, "approval_rejected", run.stage_key)
    if run.status == "gated":
        gate = _stage(definition, run.stage_key)["gate"]
        if gate is None or gate["type"] != "approval":
            raise IllegalTransition(run.status, "pending")
        if approved:
            return [ReleaseRun(run.id, run.stage_key)]
        return [route] if route else [FlagAttention(f"approval gate of stage {run.stage_key!r} rejected")]
    if run.status != "awaiting_approval":
        raise IllegalTransition(run.status, "completed" if approved else "in_progress")
    if approved:
        return _complete_and_advance(definition, task, run, evaluate)
    return [route] if route else [ReturnForRework(run.id, run.stage_key)]


def fail(definition: dict, task: TaskView, run_id: int | None, error: str, *, evaluate: Evaluate) -> list:
    """A run failed: retry with exponential backoff, then fail, flag, escalate and maybe route.

    A failed run is not done, so only its successors wait; parallel stages carry on.
    """
    run = _run(task, run_id)
    stage = _stage(definition, run.stage_key)
    retry = stage["retry"]
    if run.attempt < retry["attempts"]:
        check(run.status, "pending")
        delay = duration_seconds(retry["backoff"]) * retry["factor"] ** (run.attempt - 1)
        return [RetryRun(run.id, run.stage_key, run.attempt + 1, delay)]
    check(run.status, "failed")
    reason = f"stage {run.stage_key!r} failed after {run.attempt} attempt(s): {error}"
    to = escalation_targets(stage)
    decisions: list = [FailRun(run.id, run.stage_key, error), FlagAttention(reason),
                       Escalate(run.id, run.stage_key, to, reason)]
    route = _route_for(definition, "stage_failed", run.stage_key)
    return decisions + ([route] if route else [])


def withdraw(definition: dict, task: TaskView, run_id: int | None, to: str, reason: str, *,
             evaluate: Evaluate) -> list:
    """A person skips (`skipped`) or cancels (`cancelled`) one Stage Run, open or failed; either way the
    lane goes on past it, as it would after the Stage's completion (its condition Routes excepted)."""
    if to not in (StageRunStatus.skipped, StageRunStatus.cancelled):
        raise ValueError(f"a run is withdrawn as skipped or cancelled, not {to!r}")
    run = _run(task, run_id)
    check(run.status, to)
    after = advance(definition, _replace_run(task, run, status=to), evaluate=evaluate)
    return [CloseRun(run.id, run.stage_key, to, reason), *after]


def timed_out(definition: dict, task: TaskView, run_id: int | None, trigger: str, after: str | None = None) -> list:
    """A clock won the race against a run still open (deferred choice): its `timeout` Route of that
    duration, or its `sla_breached` Route, fires; nothing happens if the run finished first."""
    run = task.indexed.by_id.get(run_id)   # gone: sent back by a loop
    if run is None or run.status in PASSED or run.status in ("moved", "failed"):
        return []
    for route in definition["routes"]:
        t = route["trigger"]
        if t["type"] == trigger and route["stage"] == run.stage_key and (trigger != "timeout" or t.get("after") == after):
            return [_fire(route)]
    return []


def pass_gate(definition: dict, task: TaskView, run_id: int | None) -> list:
    """A person passes a run's gate (approval or manual advance; staff may also override a condition)."""
    run = _run(task, run_id)
    if run.status != "gated":
        raise IllegalTransition(run.status, "pending")
    return [ReleaseRun(run.id, run.stage_key)]
