"""What the engine derives from a definition and from a Task's runs, built once so that a transition
costs the same in a lane of 5 Stages and of 500 (docs/performance.md, "Cost per transition by
Process size").

`plan(definition)` indexes a normalized definition: Stages by key, each Stage's predecessors and
successors, Routes by trigger and Stage. It is a pure function of the definition, memoized per
definition object: a Version's definition is immutable and cached per process
(app.runtime.context.definition), so each Version is indexed once. A definition must not be
changed in place once the engine has seen it (the memo notices a changed Stage or Route list, not
an edit inside one Stage's keys that decide the lane's shape: key, column, after).

`RunIndex` is a Task's runs as the engine reads them: the run that counts per Stage, runs by id,
the Stages held back by a condition (blocked or gated), how many Stages have passed. A view built
by hand computes it on first use; the shell keeps one up to date run by run (app.runtime.shell).
"""
from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from heapq import heappush

# what lets the lane go on past a Stage: done, or withdrawn by a person (a cancelled Stage Run)
PASSED = frozenset({"completed", "skipped", "cancelled"})
HELD = frozenset({"blocked", "gated"})


@dataclass(frozen=True)
class Plan:
    stages: tuple[dict, ...]
    by_key: dict[str, dict]
    order: dict[str, int]                      # a Stage's position in the definition
    preds: dict[str, tuple[str, ...]]          # the Stages it waits for
    succs: dict[str, tuple[str, ...]]          # the Stages waiting for it
    stage_conditions: dict[str, tuple[tuple[int, dict], ...]]  # condition Routes from a Stage (position, Route)
    process_conditions: tuple[tuple[int, dict], ...]          # condition Routes without a source Stage
    first_route: dict[tuple[str, str | None], dict]           # (trigger type, Stage) -> the first such Route
    timeouts: dict[str, tuple[str, ...]]       # Stage -> the `after` of its timeout Routes


def _predecessors(stages: list[dict]) -> dict[str, tuple[str, ...]]:
    """`after` if given, else every Stage of the nearest earlier column (O(n log n), not O(n²))."""
    columns: dict[int, list[str]] = {}
    for stage in stages:
        columns.setdefault(stage["column"], []).append(stage["key"])
    ordered = sorted(columns)
    nearest = {col: tuple(columns[ordered[i - 1]]) if i else () for i, col in enumerate(ordered)}
    return {s["key"]: tuple(s["after"]) if s["after"] else nearest[s["column"]] for s in stages}


def _build(definition: dict) -> Plan:
    stages = tuple(definition["stages"])
    preds = _predecessors(list(stages))
    succs: dict[str, list[str]] = {s["key"]: [] for s in stages}
    for key, before in preds.items():
        for p in dict.fromkeys(before):
            succs.setdefault(p, []).append(key)
    stage_conditions: dict[str, list] = {}
    process_conditions, first_route, timeouts = [], {}, {}
    for i, route in enumerate(definition["routes"]):
        trigger = route["trigger"]["type"]
        first_route.setdefault((trigger, route["stage"]), route)
        if trigger == "condition":
            if route["stage"] is None:
                process_conditions.append((i, route))
            else:
                stage_conditions.setdefault(route["stage"], []).append((i, route))
        elif trigger == "timeout":
            timeouts.setdefault(route["stage"], []).append(route["trigger"].get("after"))
    return Plan(stages, {s["key"]: s for s in stages}, {s["key"]: i for i, s in enumerate(stages)}, preds,
                {k: tuple(v) for k, v in succs.items()}, {k: tuple(v) for k, v in stage_conditions.items()},
                tuple(process_conditions), first_route, {k: tuple(v) for k, v in timeouts.items()})


_PLANS: dict[int, tuple[dict, list, list, int, int, Plan]] = {}
_LOCK = threading.Lock()
_MAX = 512


def plan(definition: dict) -> Plan:
    """The definition's Plan, built once per definition object (kept alive by the memo, so its id
    cannot be reused by another dict while it is remembered)."""
    stages, routes = definition["stages"], definition["routes"]
    hit = _PLANS.get(id(definition))
    if hit is not None and hit[0] is definition and hit[1] is stages and hit[2] is routes \
            and hit[3] == len(stages) and hit[4] == len(routes):
        return hit[5]
    built = _build(definition)
    with _LOCK:
        if len(_PLANS) >= _MAX:
            _PLANS.clear()
        _PLANS[id(definition)] = (definition, stages, routes, len(stages), len(routes), built)
    return built


# --- a Task's runs, indexed ------------------------------------------------------------------------

class Layered(Mapping):
    """A read-only mapping changed by layering: `with_item` costs O(1) amortized (a small top layer,
    folded into a new base every LAYER changes), not a copy of every run of a long lane. Its length
    is kept, not counted: a view asks it on every transition."""
    __slots__ = ("base", "top", "size")
    LAYER = 32

    def __init__(self, base: dict, top: dict | None = None, size: int | None = None):
        self.base, self.top = base, top or {}
        self.size = size if size is not None else len(base) + sum(1 for k in self.top if k not in base)

    def __getitem__(self, key):
        top = self.top
        return top[key] if key in top else self.base[key]

    def get(self, key, default=None):
        top = self.top
        return top[key] if key in top else self.base.get(key, default)

    def __contains__(self, key) -> bool:
        return key in self.top or key in self.base

    def __iter__(self):
        yield from self.base
        yield from (k for k in self.top if k not in self.base)

    def __len__(self) -> int:
        return self.size

    def with_item(self, key, value) -> "Layered":
        size = self.size if key in self else self.size + 1
        top = {**self.top, key: value}
        return Layered({**self.base, **top}, None, size) if len(top) > self.LAYER else Layered(self.base, top, size)


class IndexedRuns(Sequence):
    """A Task view's runs read from its index (in id order of arrival), listed only when asked."""
    __slots__ = ("by_id", "_listed")

    def __init__(self, by_id: Layered):
        self.by_id, self._listed = by_id, None

    def _list(self) -> tuple:
        if self._listed is None:
            self._listed = tuple(self.by_id.values())
        return self._listed

    def __len__(self) -> int:
        return len(self.by_id) if self._listed is None else len(self._listed)

    def __getitem__(self, i):
        return self._list()[i]

    def __iter__(self):
        return iter(self._list())


@dataclass(frozen=True)
class RunIndex:
    """`current`: Stage key -> the run that counts (the highest id; an unsaved run, id None, is newest);
    `by_id`: id -> run (the first, for a repeated id); `held`: keys whose current run is blocked or
    gated; `passed`: how many current runs have passed (PASSED). `aligned`: the view's runs are exactly
    `by_id`'s values in order (ids unique), so a run can be replaced or added without a scan."""
    current: Layered
    by_id: Layered
    held: frozenset
    passed: int
    aligned: bool

    @classmethod
    def of(cls, runs: tuple) -> "RunIndex":
        current: dict = {}
        for run in sorted(runs, key=lambda r: (r.id is None, r.id or 0)):
            current[run.stage_key] = run
        by_id: dict = {}
        for run in runs:
            by_id.setdefault(run.id, run)
        held = frozenset(k for k, r in current.items() if r.status in HELD)
        passed = sum(1 for r in current.values() if r.status in PASSED)
        return cls(Layered(current), Layered(by_id), held, passed, len(by_id) == len(runs))

    def added(self, new) -> "RunIndex":
        """The index with a new run (a new, highest id): it counts for its Stage from now on."""
        index = RunIndex(self.current, self.by_id.with_item(new.id, new), self.held, self.passed, self.aligned)
        old = self.current.get(new.stage_key)
        return index.counting(old, new) if old is None or (old.id or 0) < (new.id or 0) else index

    def replaced(self, old, new) -> "RunIndex":
        """The index with run `old` replaced by `new` (same id and Stage)."""
        index = RunIndex(self.current, self.by_id.with_item(old.id, new), self.held, self.passed, self.aligned)
        return index.counting(old, new) if self.current.get(old.stage_key) is old else index

    def counting(self, old, new) -> "RunIndex":
        """`new` counts for its Stage instead of `old` (or None)."""
        old_status = old.status if old is not None else None
        passed = self.passed + (new.status in PASSED) - (old_status in PASSED)
        held = self.held
        if (old_status in HELD) != (new.status in HELD):
            held = held - {new.stage_key} if old_status in HELD else held | {new.stage_key}
        return RunIndex(self.current.with_item(new.stage_key, new), self.by_id, held, passed, self.aligned)


class Lane:
    """The Stages' statuses while `advance` decides: the index's, overlaid with the decisions so far;
    `pending`: Stages to look at in the next pass. A Stage skipped during a pass puts its successors
    in this pass if they come later in the definition, else in the next one, as a scan in definition
    order would."""

    def __init__(self, p: Plan, index: RunIndex):
        self.p, self.current, self.changed, self.passed = p, index.current, {}, index.passed
        self.pending: list[int] = []
        self.todo: list[int] | None = None

    def status(self, key: str) -> str | None:
        if key in self.changed:
            return self.changed[key]
        run = self.current.get(key)
        return run.status if run is not None else None

    def set(self, key: str, to: str, at: int | None = None) -> None:
        self.passed += (to in PASSED) - (self.status(key) in PASSED)
        self.changed[key] = to
        if to not in PASSED:
            return
        for j in (self.p.order[k] for k in self.p.succs.get(key, ())):
            if at is not None and j > at:
                heappush(self.todo, j)
            else:
                self.pending.append(j)

    def all_passed(self) -> bool:
        # `passed` counts current runs that passed (any Stage key): fewer than the Stages, not all passed
        return self.passed >= len(self.p.stages) and all(self.status(k) in PASSED for k in self.p.order)
