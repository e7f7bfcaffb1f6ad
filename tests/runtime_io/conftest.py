"""Fixtures for runtime I/O tests: a small world (Table, Team, users, Processes) and helpers that
drain the real RQ queue with an in-process AppWorker."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

FIELDS = [
    {"key": "name", "name": "Name", "type": "text"},
    {"key": "budget", "name": "Budget", "type": "number"},
    {"key": "a", "name": "A", "type": "number"},
    {"key": "b", "name": "B", "type": "number"},
    {"key": "c", "name": "C", "type": "number"},
    {"key": "d", "name": "D", "type": "number"},
    {"key": "e", "name": "E", "type": "number"},
    {"key": "ok", "name": "OK", "type": "boolean"},
    {"key": "ready", "name": "Ready", "type": "boolean"},
    {"key": "note", "name": "Note", "type": "text"},
]


def st(key, type_="basic", *, reads=(), writes=(), **extra) -> dict:
    return {"key": key, "name": key.title(), "type": type_, "reads": list(reads), "writes": list(writes), **extra}


def compute(key, assignments: dict, *, reads=None, **extra) -> dict:
    reads = reads if reads is not None else [f["key"] for f in FIELDS]
    return st(key, "compute", reads=reads, writes=list(assignments), config={"assignments": assignments}, **extra)


class World:
    def __init__(self, app, make_user, api_as):
        from app.extensions import db
        from app.models import Team
        from app.tables.operations import create_table

        self.app, self.db = app, db
        self.admin = make_user("admin", teams=("Ops",), email="admin@x.test")
        self.staff = make_user("staff", teams=("Ops",), email="staff@x.test")
        self.approver = make_user("staff", teams=("Compliance",), email="approver@x.test")
        self.designer = make_user("designer", teams=("Ops",), email="designer@x.test")
        create_table({"key": "t", "name": "T", "fields": [{"required": False, "options": {}, **f} for f in FIELDS]},
                     "system")
        db.session.commit()
        self.api_as = api_as
        self.api = api_as(self.staff)

    def process(self, key: str, stages: list, routes=(), *, team="Ops", start=None):
        from app.processes import operations, versioning
        from app.models import Process

        process = self.db.session.scalar(select(Process).where(Process.key == key))
        if process is None:
            process = operations.create_process({"key": key, "name": key.title(), "description": "", "table": "t",
                                                 "team": team}, self.admin)
        definition = {"stages": stages, "routes": list(routes), **({"start": start} if start else {})}
        version = versioning.publish(process, self.admin, "test", definition=definition)
        self.db.session.commit()
        return version

    def start(self, process: str | None = None, values=None, *, split=None, key=None):
        from app.tasks import operations as service

        task = service.create_task({"process": process, "split": split, "values": values or {}, "key": key},
                                   None, "system")
        self.db.session.commit()
        return task.id

    def drain(self):
        from app.runtime.worker import make_worker

        make_worker(self.app).work(burst=True, logging_level="WARNING")
        self.db.session.remove()

    def task(self, task_id):
        from app.models import Task

        self.db.session.expire_all()
        return self.db.session.get(Task, task_id)

    def runs(self, task_id, **where):
        from app.models import StageRun

        self.db.session.expire_all()
        q = select(StageRun).where(StageRun.task_id == task_id)
        for k, v in where.items():
            q = q.where(getattr(StageRun, k) == v)
        return list(self.db.session.scalars(q.order_by(StageRun.id)))

    def run(self, task_id, stage_key):
        found = [r for r in self.runs(task_id) if r.stage_key == stage_key]
        assert found, f"no run of {stage_key}"
        return found[-1]

    def statuses(self, task_id) -> dict:
        return {r.stage_key: r.status for r in self.runs(task_id)}

    def events(self, task_id, type_=None):
        from app.models import Event

        q = select(Event).where(Event.task_id == task_id)
        if type_:
            q = q.where(Event.type == type_)
        return list(self.db.session.scalars(q.order_by(Event.id)))

    def count(self, model, **where):
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return self.db.session.scalar(q)


@pytest.fixture
def world(app, make_user, api_as):
    return World(app, make_user, api_as)
