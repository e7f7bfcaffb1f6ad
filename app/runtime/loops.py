"""Rework loops inside one Process: a Route sends the Task back to an earlier Stage of its lane.

The target Stage and every Stage of a later column run again as new Stage Runs of the same visit;
the runs they replace stay in the history, marked `superseded` (the engine no longer counts them);
the ones still open are cancelled. A Route that has sent the Task back `max_iterations` times in
this visit (default 10) escalates instead of looping again."""
from __future__ import annotations

from app.definitions.definition import LOOP_LIMIT
from app.vocab.refs import escalation_targets
from app.runtime import engine, states
from app.runtime.context import evaluate, stage_of


def iterations(t, route_key: str) -> int:
    """How many times this Route has already sent the Task back in this visit."""
    return max((int((r.data or {}).get("loop", {}).get("iteration", 0)) for r in t.runs.values()
                if (r.data or {}).get("loop", {}).get("route") == route_key), default=0)


def send_back(t, d: engine.FireRoute) -> None:
    """Apply a loop Route to the Transition `t` (app.runtime.shell.Transition)."""
    done = iterations(t, d.route_key)
    limit = d.max_iterations or LOOP_LIMIT
    source = next((r for r in t.runs.values() if (r.data or {}).get("superseded") is None
                   and r.stage_key == _source_of(t, d.route_key)), None)
    if done >= limit:
        reason = (f"route {d.route_key!r} sent the Task back to {d.stage!r} {done} times "
                  f"(its limit); it needs a person now")
        to = escalation_targets(stage_of(t.definition, source.stage_key)) if source else ("owner",)
        t.apply([engine.FlagAttention(reason),
                 engine.Escalate(source.id if source else None, source.stage_key if source else d.stage, to, reason)])
        return
    route = next(r for r in t.definition["routes"] if r["key"] == d.route_key)
    t.event("task.sent_back", route=d.route_key, to_stage=d.stage, iteration=done + 1, reason=d.reason)
    for run in rerun_from(t, d.stage, f"by Route “{route['name']}”", d.route_key):
        run.data = {**(run.data or {}), "loop": {"route": d.route_key, "iteration": done + 1}}


def rerun_from(t, stage_key: str, why: str, mark: str) -> list:
    """Run `stage_key` and every Stage of a later column again as new Stage Runs of this visit: the
    runs they replace stay in the history marked `superseded` (= `mark`), open ones are cancelled.
    Returns the new runs."""
    target = stage_of(t.definition, stage_key)
    again = {s["key"] for s in t.definition["stages"] if s["column"] > target["column"]} | {stage_key}
    reason = f"sent back to {target['name']} {why}"
    for run in list(t.runs.values()):
        if run.stage_key not in again or (run.data or {}).get("superseded"):
            continue
        if run.status in states.OPEN or run.status == "failed":
            t.set_status(run, "cancelled", reason=reason)
        run.data = {**(run.data or {}), "superseded": mark}
    before = set(t.runs)
    t.apply(engine.advance(t.definition, t.view(), evaluate=evaluate))
    return [t.runs[run_id] for run_id in set(t.runs) - before]


def _source_of(t, route_key: str) -> str | None:
    return next((r["stage"] for r in t.definition["routes"] if r["key"] == route_key), None)
