"""Raising and delivering alerts: `raise_alert` (escalations, SLA timers) writes an Event for the
audit log, then delivers per the Process's AlertRules (in-app / email / webhook, through the
outbox). Without a matching rule the alert's own recipients (role refs; "owner" = the Process's Team)
get an in-app notification. `on_event` is the hook through which ordinary runtime Events (a Stage
failing, a Task completing or moving, a rejected approval) reach `raise_alert` when the Process has a
rule for them."""
from __future__ import annotations

from flask import current_app
from sqlalchemy import select

from app import clock, notifications, permissions
from app.alerts import cache
from app.extensions import db
from app.infra.queue import publish_after_commit
from app.models import AlertRule, Event, Process, StageRun, Task, User
from app.notifications import outbound_webhook
from app.runtime import signals


def raise_alert(task: Task, type_: str, message: str, *, run: StageRun | None = None,
                recipients: list[str] | None = None, severity: str = "warning",
                process_id: int | None = None) -> None:
    """`process_id`: the Process whose rules apply (default: the Task's current one)."""
    process_id = process_id or task.process_id
    db.session.add(Event(type="alert", task_id=task.id, stage_run_id=run.id if run else None,
                         process_id=process_id, actor="system", created_at=clock.now(),
                         data={"alert": type_, "message": message, "severity": severity,
                               "recipients": recipients or ["owner"]}))
    publish_after_commit("alert", {"task": task.id, "type": type_, "severity": severity},
                         room=f"process:{process_id}")
    deliver(task, type_, message, run=run, recipients=recipients or ["owner"], severity=severity,
            process_id=process_id)


# --- runtime Events -> alerts -------------------------------------------------------------------

def _get(event, name: str):
    """Runtime Events come as Event objects or as plain row dicts (app.infra.queue.record_event)."""
    return event.get(name) if isinstance(event, dict) else getattr(event, name, None)


def alert_type_of(event) -> str | None:
    """The alert type an ordinary runtime Event stands for (None: not alert-worthy by itself).
    Escalations and SLA timers call raise_alert themselves, so they are not mapped here."""
    type_ = _get(event, "type")
    if type_ == "stage.status" and _get(event, "to_status") == "failed":
        return "stage.failed"
    if type_ in ("task.completed", "task.moved", "approval.rejected"):
        return type_
    return None


def _message(type_: str, data: dict, task: Task | None = None) -> str:
    """The alert in words, with the Stage's and Process's names (not their keys)."""
    stage = _stage_name(task, data.get("stage"))
    if type_ == "stage.failed":
        return f"{stage} failed: {data.get('error') or 'no error given'}"
    if type_ == "task.moved":
        target = db.session.scalar(select(Process.name).where(Process.key == data.get("to_process")))
        return f"moved to {target or data.get('to_process')}" + (f" ({data['reason']})" if data.get("reason") else "")
    if type_ == "approval.rejected":
        return f"approval of {stage} rejected" + (f": {data['comment']}" if data.get("comment") else "")
    return "completed"


def _stage_name(task: Task | None, key: str | None) -> str:
    if task is None or not key:
        return key or "a Stage"
    stage = next((s for s in permissions.definition_of(task)["stages"] if s["key"] == key), None)
    return (stage or {}).get("name") or key


def on_event(event) -> bool:
    """Call for every runtime Event as it is recorded (an Event object, or the row dict given to
    app.infra.queue.record_event by app.runtime.shell.Transition.event). When the Event's Process
    has an active AlertRule for its alert type, the alert is raised in the caller's transaction.
    Cheap for everything else (no query). Returns whether an alert was raised."""
    if isinstance(event, Event):
        if getattr(event, "_procly_alert_seen", False):
            return False   # idempotent per Event object
        event._procly_alert_seen = True
    type_ = alert_type_of(event)
    task_id, process_id = _get(event, "task_id"), _get(event, "process_id")
    if type_ is None or task_id is None or process_id is None:
        return False
    run_id = _get(event, "stage_run_id")
    with db.session.no_autoflush:
        if not cache.has_rule(process_id, type_):   # a version-stamped copy of the rules, not a SELECT
            return False
        task = db.session.get(Task, task_id)
        run = db.session.get(StageRun, run_id) if run_id else None
    if task is None:
        return False
    severity = "critical" if type_ == "stage.failed" else "info" if type_ == "task.completed" else "warning"
    raise_alert(task, type_, _message(type_, _get(event, "data") or {}, task), run=run, severity=severity,
                process_id=process_id)
    return True


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


def deliver(task: Task, type_: str, message: str, *, run=None, recipients=(), severity="warning",
            process_id: int | None = None) -> None:
    rules = db.session.scalars(select(AlertRule).where(
        AlertRule.process_id == (process_id or task.process_id), AlertRule.active.is_(True),
        AlertRule.event_type.in_([type_, "*"]))).all()
    text = f"Task {task.id}: {message}"   # the severity is the notification's own column
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
                notifications.queue_email(email, f"Procly alert: {notifications.kind_label(type_)}", text, kind="alert")
        elif rule.channel == "webhook":
            for url in targets:
                if outbound_webhook.url_problem(url) is None:
                    outbound_webhook.queue_webhook(url, {"task": task.id, "process": process_id or task.process_id,
                                                "type": type_, "severity": sev, "message": message,
                                                "stage_run": run_id, "rule": rule.id,
                                                "at": clock.now().isoformat()})


def _remind(task: Task, run: StageRun, text: str) -> None:
    """An SLA reminder goes to whoever works the run: its claimer, else its Responsible (in-app + email)."""
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




def _on_alert(task: Task, *, type_: str, message: str, run: StageRun | None = None,
              recipients: list[str] | None = None) -> None:
    raise_alert(task, type_, message, run=run, recipients=recipients)


def _on_event_recorded(row: dict) -> None:
    on_event(row)


def init_app(app) -> None:
    """Listen to the engine (app.runtime.signals): its alerts, and every Event it records."""
    signals.alert.connect(_on_alert)
    signals.event_recorded.connect(_on_event_recorded)
    cache.init_app(app)
