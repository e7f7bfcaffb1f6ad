"""Small fixtures for metrics tests: rows inserted directly with fixed timestamps."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

T0 = datetime(2026, 1, 5, 0, 0, 0)


def at(hours: float = 0, minutes: float = 0) -> datetime:
    return T0 + timedelta(hours=hours, minutes=minutes)


class World:
    """Team, Table, Processes A/B/C (one Version each), a Split A (legacy) vs C (new)."""

    def __init__(self):
        from app.extensions import db
        from app.models import Process, Split, SplitVariant, Table, Team, Version

        self.db = db
        team = Team(name="Ops")
        table = Table(key="clients", name="Clients")
        db.session.add_all([team, table])
        db.session.flush()
        self.table_id = table.id
        self.p, self.v = {}, {}
        for key in ("a", "b", "c"):
            p = Process(key=key, name=f"Process {key.upper()}", table_id=table.id, team_id=team.id,
                        current_version=1)
            db.session.add(p)
            db.session.flush()
            v = Version(process_id=p.id, number=1, definition={"stages": [{"key": "collect"}, {"key": "confirm"}]},
                        content_hash=key * 8)
            db.session.add(v)
            db.session.flush()
            self.p[key], self.v[key] = p.id, v.id
        split = Split(key="ab", name="A vs C", table_id=table.id, team_id=team.id)
        split.variants = [SplitVariant(key="legacy", process_id=self.p["a"], weight=80, position=0),
                          SplitVariant(key="new", process_id=self.p["c"], weight=20, position=1)]
        db.session.add(split)
        db.session.flush()
        self.variant = {v.key: v.id for v in split.variants}
        self.n = 0

    def task(self, process: str, **kw) -> int:
        from app.models import Task

        self.n += 1
        t = Task(key=f"t{self.n}", table_id=self.table_id, process_id=self.p[process], version_id=self.v[process],
                 values={}, created_at=kw.pop("created_at", T0), **kw)
        self.db.session.add(t)
        self.db.session.flush()
        return t.id

    def visit(self, task_id: int, process: str, entered, left=None, outcome=None, route_key=None, target=None,
              variant=None) -> int:
        from app.models import TaskVisit

        v = TaskVisit(task_id=task_id, process_id=self.p[process], version_id=self.v[process], entered_at=entered,
                      left_at=left, outcome=outcome, route_key=route_key,
                      target_process_id=self.p[target] if target else None,
                      variant_id=self.variant[variant] if variant else None)
        self.db.session.add(v)
        self.db.session.flush()
        return v.id

    def run(self, task_id: int, visit_id: int, process: str, stage: str, status: str, ready, started=None,
            finished=None, active=0.0, **kw) -> int:
        from app.models import StageRun

        r = StageRun(task_id=task_id, visit_id=visit_id, process_id=self.p[process], version_id=self.v[process],
                     stage_key=stage, status=status, ready_at=ready, started_at=started, finished_at=finished,
                     active_seconds=active, data={}, **kw)
        self.db.session.add(r)
        self.db.session.flush()
        return r.id

    def timer(self, run_id: int, kind: str, due, fired=None) -> None:
        from app.models import StageTimer

        self.db.session.add(StageTimer(stage_run_id=run_id, kind=kind, scope="stage", label="x", due_at=due,
                                       fired_at=fired))

    def event(self, run_id: int, task_id: int, to_status: str | None, when, type_="stage.status") -> None:
        from app.models import Event

        self.db.session.add(Event(type=type_, task_id=task_id, stage_run_id=run_id, to_status=to_status,
                                  created_at=when, data={}))

    def commit(self):
        self.db.session.commit()


@pytest.fixture
def world(app):
    w = World()
    w.commit()
    return w


@pytest.fixture
def lane(world):
    """Process A: six Tasks (four completed, one moved to B by Route "too_small", one running)
    and their Stage Runs; hand-computed expectations live in test_queries.py."""
    w = world
    t = [w.task("a") for _ in range(6)]
    v1 = w.visit(t[0], "a", at(0), at(1), "completed")
    v2 = w.visit(t[1], "a", at(1), at(3), "completed")
    v3 = w.visit(t[2], "a", at(2), at(6), "completed")
    w.visit(t[3], "a", at(3), at(11), "completed")
    v5 = w.visit(t[4], "a", at(4), at(5), "moved", route_key="too_small", target="b")
    v5b = w.visit(t[4], "b", at(5), at(7), "completed")
    v6 = w.visit(t[5], "a", at(5))
    # collect
    w.run(t[0], v1, "a", "collect", "completed", at(0), at(0, 10), at(0, 30), active=600)
    w.run(t[1], v2, "a", "collect", "completed", at(1), at(1, 20), at(2), active=900)
    w.run(t[2], v3, "a", "collect", "failed", at(2), at(2, 30), at(2, 40))
    w.run(t[4], v5, "a", "collect", "moved", at(4), at(4, 5), at(5))
    w.run(t[5], v6, "a", "collect", "pending", at(5))
    # confirm
    r1 = w.run(t[0], v1, "a", "confirm", "completed", at(0, 30), at(0, 30), at(1), active=1200,
               approval_status="approved", decided_at=at(1))
    w.event(r1, t[0], "awaiting_approval", at(0, 40))
    w.event(r1, t[0], "awaiting_approval", at(0, 50))   # asked again: the first request counts
    r2 = w.run(t[1], v2, "a", "confirm", "completed", at(2), at(2), at(3), due_at=at(10))
    r3 = w.run(t[2], v3, "a", "confirm", "in_progress", at(2, 40), at(3), due_at=at(4))
    w.timer(r3, "due", at(4), fired=at(4))
    w.timer(r3, "reminder", at(3, 30), fired=at(3, 30))
    w.event(r3, t[2], None, at(3, 30), type_="sla.reminder")
    w.event(r3, t[2], None, at(4), type_="sla.breached")
    w.timer(r2, "due", at(10))
    w.timer(r2, "reminder", at(9))
    w.timer(r2, "escalation", at(9, 30))
    # the moved Task's time in B
    w.run(t[4], v5b, "b", "refer", "completed", at(5), at(5, 30), at(7))
    w.commit()
    return w

