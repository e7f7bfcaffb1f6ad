"""Alerts raised by the runtime (escalations, SLA breaches, failures): an Event for the audit log,
then delivery per the Process's AlertRules (in-app / email / webhook). Without a matching rule the
alert's own recipients (role refs; "owner" = the Process's Team) get an in-app notification."""
from __future__ import annotations

from sqlalchemy import select

from app import clock
from app.extensions import db
from app.models import Event, Process, StageRun, Task
from app.runtime.queue import enqueue_after_commit, publish_after_commit

SEVERITIES = ("info", "warning", "critical")


def raise_alert(task: Task, type_: str, message: str, *, run: StageRun | None = None,
                recipients: list[str] | None = None, severity: str = "warning") -> None:
    db.session.add(Event(type="alert", task_id=task.id, stage_run_id=run.id if run else None,
                         process_id=task.process_id, actor="system", created_at=clock.now(),
                         data={"alert": type_, "message": message, "severity": severity,
                               "recipients": recipients or ["owner"]}))
    publish_after_commit("alert", {"task": task.id, "type": type_, "severity": severity},
                         room=f"process:{task.process_id}")
    deliver(task, type_, message, run=run, recipients=recipients or ["owner"], severity=severity)


def _refs(task: Task, refs) -> list[str]:
    out = []
    for ref in refs or ():
        if ref == "owner":
            process = db.session.get(Process, task.process_id)
            if process is not None and process.team is not None:
                out.append(f"team:{process.team.name}")
        elif ref != "automation":
            out.append(ref)
    return out


def deliver(task: Task, type_: str, message: str, *, run=None, recipients=(), severity="warning") -> None:
    from app import notifications
    from app.models.notifications import AlertRule

    rules = db.session.scalars(select(AlertRule).where(
        AlertRule.process_id == task.process_id, AlertRule.active.is_(True),
        AlertRule.event_type.in_([type_, "*"]))).all()
    text = f"[{severity}] Task {task.id}: {message}"
    run_id = run.id if run else None
    if not rules and type_ == "sla.reminder" and run is not None:
        _remind(task, run, text)
        return
    if not rules:
        for user in notifications.users_for(_refs(task, recipients)):
            notifications.notify(user, type_, text, task_id=task.id, run_id=run_id, severity=severity)
        return
    for rule in rules:
        sev = rule.severity or severity
        targets = [t.strip() for t in (rule.target or "").split(",") if t.strip()] or list(recipients)
        if rule.channel == "in_app":
            for user in notifications.users_for(_refs(task, targets)):
                notifications.notify(user, type_, text, task_id=task.id, run_id=run_id, severity=sev)
        elif rule.channel == "email":
            emails = {t for t in targets if "@" in t and ":" not in t}
            emails |= {u.email for u in notifications.users_for(_refs(task, targets))}
            for email in sorted(emails):
                notifications.queue_email(email, f"Procly alert: {type_}", text, kind="alert")
        elif rule.channel == "webhook":
            for url in targets:
                if url.startswith(("http://", "https://")):
                    enqueue_after_commit("app.notifications.webhook.post", url,
                                         {"task": task.id, "type": type_, "severity": sev, "message": message,
                                          "stage_run": run_id})


def _remind(task: Task, run: StageRun, text: str) -> None:
    """An SLA reminder goes to whoever works the run: its claimer, else its Responsible (in-app + email)."""
    from flask import current_app

    from app import notifications, permissions
    from app.models import User

    if run.claimed_by_id:
        users = [db.session.get(User, run.claimed_by_id)]
    else:
        stage = permissions.stage_for(run)
        users = notifications.users_for(_refs(task, (stage.get("roles") or {}).get("responsible") or ["owner"]))
    base = current_app.config.get("PROCLY_BASE_URL", "")
    for user in users:
        notifications.notify(user, "sla.reminder", text, task_id=task.id, run_id=run.id)
        notifications.queue_email(user.email, f"Reminder: Task {task.id} is waiting for you",
                                  f"{text}\n\n{base}/queue/tasks/{task.id}\n", kind="reminder")
