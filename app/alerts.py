"""Alerts raised by the runtime (escalations, SLA breaches, failures). For now an Event-backed
in-app record per recipient; rules and channels (email, webhook) build on this one entry point."""
from __future__ import annotations

from app import clock
from app.extensions import db
from app.models import Event, StageRun, Task
from app.runtime.queue import publish_after_commit


def raise_alert(task: Task, type_: str, message: str, *, run: StageRun | None = None,
                recipients: list[str] | None = None, severity: str = "warning") -> None:
    db.session.add(Event(type="alert", task_id=task.id, stage_run_id=run.id if run else None,
                         process_id=task.process_id, actor="system", created_at=clock.now(),
                         data={"alert": type_, "message": message, "severity": severity,
                               "recipients": recipients or ["owner"]}))
    publish_after_commit("alert", {"task": task.id, "type": type_, "severity": severity},
                         room=f"process:{task.process_id}")
