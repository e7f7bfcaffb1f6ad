"""A Transition's Stage Runs as the engine reads them (app.runtime.plan.RunIndex), kept up to date run
by run so that a transition does not rebuild the view of every run of a long lane."""
from __future__ import annotations

import weakref
from itertools import islice

from sqlalchemy import event as orm_event

from app.models import StageRun
from app.runtime import engine
from app.runtime.plan import RunIndex


def _view_of(run: StageRun) -> engine.RunView:
    return engine.RunView(run.id, run.stage_key, run.status, run.attempt, run.approval_status)


def _superseded(run: StageRun) -> bool:
    return bool((run.data or {}).get("superseded"))


class RunViews:
    """A Transition's runs as the engine reads them (app.runtime.plan.RunIndex), built once per job and
    then changed run by run: a changed attribute a view shows (ORM "set" events) or a new run. A run
    reloaded or expired, superseded, or a replaced runs dict builds it again."""

    def __init__(self, runs: dict[int, StageRun]):
        self.runs, self.count, self.changed, self.stale = runs, len(runs), [], False
        views = []
        for run in runs.values():
            _watch(run, self)
            if not _superseded(run):
                views.append(_view_of(run))
        self.index = RunIndex.of(tuple(views))

    def fresh(self, runs: dict[int, StageRun]) -> bool:
        """Bring the index up to date; False when only a rebuild can."""
        if self.stale or runs is not self.runs or len(runs) < self.count:
            return False
        if len(runs) > self.count:   # new runs (Transition.new_run) come last in the dict
            added = list(islice(reversed(runs.values()), len(runs) - self.count))
            for run in added:
                _watch(run, self)
            self.changed.extend(reversed(added))
            self.count = len(runs)
        index, done = self.index, set()
        for run in self.changed:
            if id(run) in done:
                continue
            done.add(id(run))
            old = index.by_id.get(run.id)
            if _superseded(run) or (old is not None and old.stage_key != run.stage_key):
                return False
            new = _view_of(run)
            if old is None:
                index = index.added(new)
            elif old != new:
                index = index.replaced(old, new)
        self.changed.clear()
        self.index = index
        return not self.stale


def _watch(run: StageRun, views: RunViews) -> None:
    watchers = run.__dict__.get("_procly_views")
    if watchers is None:
        watchers = run._procly_views = weakref.WeakSet()
    watchers.add(views)


def _run_changed(run: StageRun, *_args) -> None:
    for views in run.__dict__.get("_procly_views", ()):
        views.changed.append(run)


def _run_reloaded(run: StageRun, *_args) -> None:
    for views in run.__dict__.get("_procly_views", ()):
        views.stale = True


for _name in ("status", "attempt", "approval_status", "data", "stage_key", "id"):
    orm_event.listen(getattr(StageRun, _name), "set", _run_changed)
orm_event.listen(StageRun, "refresh", _run_reloaded)
orm_event.listen(StageRun, "expire", _run_reloaded)
