"""The indexed engine (app.runtime.plan) decides exactly what a scan of every Stage decided: the
reference below is the engine's `advance` before the index, checked against it on generated lanes
(columns, `after`, skip_when / start_when / gates, condition Routes) at every state a Task reaches,
with a view indexed from scratch and with an index kept up to date run by run (as the shell does)."""
from __future__ import annotations

import random
from dataclasses import replace

from app.runtime import engine
from app.runtime.engine import (FinishTask, ReleaseRun, RunView, SkipStage, StartStage, TaskView, advance,
                                complete)
from app.runtime.plan import PASSED, RunIndex, plan

from ._defs import definition, evaluate, route, stage


def reference_advance(definition: dict, task: TaskView, *, evaluate, completed_stage=None,
                      fields_changed=False) -> list:
    """`advance` as it was: every Stage scanned until nothing changes."""
    current = {}
    for run in sorted(task.runs, key=lambda r: (r.id is None, r.id or 0)):
        current[run.stage_key] = run
    cond = engine._Conditions(evaluate, task.values)
    for r in definition["routes"]:
        if r["trigger"]["type"] != "condition":
            continue
        due = (completed_stage is not None and completed_stage == r["stage"]) if r["stage"] is not None \
            else (fields_changed or not task.runs)
        if due and cond.holds(r["trigger"]["condition"], r["stage"], f"route:{r['key']}"):
            return cond.report([engine._fire(r)])
    decisions, status = [], {k: r.status for k, r in current.items()}
    for s in definition["stages"]:
        key, run = s["key"], current.get(s["key"])
        if run is None:
            continue
        if run.status == "blocked":
            if s["skip_when"] and cond.holds(s["skip_when"], key, "skip_when"):
                decisions.append(SkipStage(key, run.id))
                status[key] = "skipped"
            elif not s["start_when"] or cond.holds(s["start_when"], key, "start_when"):
                to = "pending" if cond.gate_passes(s) else "gated"
                decisions.append(ReleaseRun(run.id, key, to))
                status[key] = to
        elif run.status == "gated" and s["gate"] and s["gate"]["type"] == "condition" \
                and cond.holds(s["gate"]["condition"], key, "gate"):
            decisions.append(ReleaseRun(run.id, key))
            status[key] = "pending"
    preds, changed = plan(definition).preds, True
    while changed:
        changed = False
        for s in definition["stages"]:
            key = s["key"]
            if key in status or not all(status.get(p) in PASSED for p in preds[key]):
                continue
            if s["skip_when"] and cond.holds(s["skip_when"], key, "skip_when"):
                decisions.append(SkipStage(key))
                status[key] = "skipped"
                changed = True
                continue
            if s["start_when"] and not cond.holds(s["start_when"], key, "start_when"):
                to = "blocked"
            elif not cond.gate_passes(s):
                to = "gated"
            else:
                to = "pending"
            decisions.append(StartStage(key, to))
            status[key] = to
    if all(status.get(s["key"]) in PASSED for s in definition["stages"]):
        decisions.append(FinishTask())
    return cond.report(decisions)


def _lane(rng: random.Random) -> dict:
    n = rng.randint(1, 9)
    stages, fields = [], ["x", "y", "z"]
    for i in range(n):
        key = f"s{i}"
        extra = {}
        if rng.random() < 0.3:
            extra["skip_when"] = rng.choice(fields)
        if rng.random() < 0.2:
            extra["start_when"] = rng.choice(fields)
        if rng.random() < 0.15:
            extra["gate"] = {"type": "condition", "condition": rng.choice(fields)}
        if i and rng.random() < 0.2:
            extra["after"] = rng.sample([f"s{j}" for j in range(i)], k=rng.randint(1, min(2, i)))
        stages.append(stage(key, rng.randint(1, 4), **extra))
    routes = []
    if rng.random() < 0.3:
        routes.append(route("r1", "condition", stage_key=rng.choice(stages)["key"], condition="route"))
    if rng.random() < 0.2:
        routes.append(route("r2", "condition", condition="route"))
    return definition(*stages, routes=routes)


class _Shell:
    """Applies decisions to a run index kept up to date run by run, like app.runtime.views."""

    def __init__(self):
        self.index, self.next_id = RunIndex.of(()), 1

    def put(self, run: RunView) -> None:
        old = self.index.by_id.get(run.id)
        self.index = self.index.replaced(old, run) if old is not None else self.index.added(run)

    def new(self, key: str, status: str) -> RunView:
        run = RunView(self.next_id, key, status)
        self.next_id += 1
        self.put(run)
        return run

    def apply(self, decisions: list) -> bool:
        for d in decisions:
            if isinstance(d, StartStage):
                self.new(d.stage_key, d.status)
            elif isinstance(d, SkipStage):
                if d.run_id is None:
                    self.new(d.stage_key, "skipped")
                else:
                    self.put(replace(self.index.by_id[d.run_id], status="skipped"))
            elif isinstance(d, ReleaseRun):
                self.put(replace(self.index.by_id[d.run_id], status=d.status))
            elif isinstance(d, engine.CompleteRun):
                self.put(replace(self.index.by_id[d.run_id], status="completed"))
            elif isinstance(d, (FinishTask, engine.FireRoute)):
                return False
        return True


def test_the_indexed_engine_decides_what_a_scan_of_every_stage_decided():
    rng = random.Random(18)
    compared = 0
    for _ in range(400):
        d = _lane(rng)
        values = {k: rng.random() < 0.4 for k in ("x", "y", "z", "route")}
        shell = _Shell()
        entered = advance(d, TaskView.of_index(values, shell.index), evaluate=evaluate)
        assert entered == reference_advance(d, TaskView(values, ()), evaluate=evaluate)
        going = shell.apply(entered)
        for _step in range(30):
            if not going:
                break
            pending = [r for r in shell.index.by_id.values() if r.status == "pending"]
            if rng.random() < 0.3:   # a Field changes: held runs and process-wide Routes are due
                values = {**values, rng.choice(["x", "y", "z"]): rng.random() < 0.5}
                view = TaskView.of_index(values, shell.index)
                plain = TaskView(values, tuple(shell.index.by_id.values()))
                got = advance(d, view, evaluate=evaluate, fields_changed=True)
                assert got == reference_advance(d, plain, evaluate=evaluate, fields_changed=True)
                going = shell.apply(got)
                continue
            if not pending:
                break
            run = rng.choice(pending)
            shell.put(replace(run, status="started"))
            view = TaskView.of_index(values, shell.index)
            plain = TaskView(values, tuple(shell.index.by_id.values()))
            got = complete(d, view, run.id, evaluate=evaluate)
            assert got == complete(d, plain, run.id, evaluate=evaluate)
            done = engine._replace_run(plain, plain.indexed.by_id[run.id], status="completed")
            assert got[1:] == reference_advance(d, TaskView(values, tuple(done.runs)), evaluate=evaluate,
                                                completed_stage=run.stage_key)
            compared += 1
            going = shell.apply(got)
    assert compared > 500


def test_a_long_lane_is_indexed_once_per_definition():
    d = definition(*[stage(f"s{i}", i) for i in range(1, 501)])
    assert plan(d) is plan(d)
    assert plan(d).preds["s2"] == ("s1",) and plan(d).succs["s1"] == ("s2",) and plan(d).preds["s1"] == ()
    d["stages"].append(stage("s501", 501))   # a changed Stage list is indexed again
    assert plan(d).preds["s501"] == ("s500",)
