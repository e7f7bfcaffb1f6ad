"""Alerts raised by the runtime (escalations, SLA breaches, failures): an Event for the audit log,
then delivery per the Process's AlertRules (in-app / email / webhook). Without a matching rule the
alert's own recipients (role refs; "owner" = the Process's Team) get an in-app notification.

Also here: the alert rules themselves (validated create / update / delete, used by the REST API
/api/v1/alerts/rules and the queue page /queue/alerts) and `on_event`, the hook through which
ordinary runtime Events (a Stage failing, a Task completing or moving, a rejected approval) reach
`raise_alert` when the Process has a rule for them."""
from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy import select

from app import clock
from app.errors import Forbidden, Invalid, NotFound
from app.extensions import db
from app.models import Event, Process, StageRun, Task
from app.runtime.queue import publish_after_commit

SEVERITIES = ("info", "warning", "critical")
EVENT_TYPES = ("stage.escalated", "sla.breached", "sla.reminder", "sla.escalated", "stage.failed",
               "task.completed", "task.moved", "approval.rejected")
CHANNELS = ("in_app", "email", "webhook")
REF_KINDS = ("user", "team", "role")
MAX_URL = 254  # an outbox row's `to`


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
    """Runtime Events come as Event objects or as plain row dicts (app.runtime.queue.record_event)."""
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


def _message(type_: str, data: dict) -> str:
    stage = data.get("stage")
    if type_ == "stage.failed":
        return f"stage {stage} failed: {data.get('error') or 'no error given'}"
    if type_ == "task.moved":
        return f"moved to {data.get('to_process')}" + (f" ({data['reason']})" if data.get("reason") else "")
    if type_ == "approval.rejected":
        return f"approval of stage {stage} rejected" + (f": {data['comment']}" if data.get("comment") else "")
    return "completed"


def on_event(event) -> bool:
    """Call for every runtime Event as it is recorded (an Event object, or the row dict given to
    app.runtime.queue.record_event by app.runtime.shell.Transition.event). When the Event's Process
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
    from app.models.notifications import AlertRule

    run_id = _get(event, "stage_run_id")
    with db.session.no_autoflush:
        has_rule = db.session.scalar(select(AlertRule.id).where(
            AlertRule.process_id == process_id, AlertRule.active.is_(True),
            AlertRule.event_type.in_([type_, "*"])).limit(1))
        if has_rule is None:
            return False
        task = db.session.get(Task, task_id)
        run = db.session.get(StageRun, run_id) if run_id else None
    if task is None:
        return False
    severity = "critical" if type_ == "stage.failed" else "info" if type_ == "task.completed" else "warning"
    raise_alert(task, type_, _message(type_, _get(event, "data") or {}), run=run, severity=severity,
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
    from app import notifications
    from app.models.notifications import AlertRule

    rules = db.session.scalars(select(AlertRule).where(
        AlertRule.process_id == (process_id or task.process_id), AlertRule.active.is_(True),
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
            from app.notifications import outbound_webhook

            for url in targets:
                if webhook_url_problem(url) is None:
                    outbound_webhook.queue_webhook(url, {"task": task.id, "process": process_id or task.process_id,
                                                "type": type_, "severity": sev, "message": message,
                                                "stage_run": run_id, "rule": rule.id,
                                                "at": clock.now().isoformat()})


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


# --- alert rules (REST API and /queue/alerts) ----------------------------------------------------

def webhook_url_problem(url: str) -> str | None:
    """Why `url` may not receive webhooks (None = fine): absolute http(s) only, with a host that is not
    a literal private/loopback address or a local name (names are checked again when resolved, at
    delivery: app.notifications.egress)."""
    url = (url or "").strip()
    if not url:
        return "a URL is required"
    if len(url) > MAX_URL:
        return f"at most {MAX_URL} characters"
    if any(c.isspace() for c in url) or any(ord(c) < 32 for c in url):
        return "no spaces or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "only http:// and https:// URLs"
    if not parts.hostname:
        return "the URL needs a host"
    if parts.username or parts.password:
        return "no credentials in the URL"
    from app.notifications.egress import literal_problem

    return literal_problem(parts.hostname)


def _targets(raw) -> list[str]:
    if isinstance(raw, (list, tuple)):
        items = raw
    elif isinstance(raw, str):
        items = raw.split(",")
    elif raw is None:
        items = []
    else:
        raise Invalid("target must be a string or a list of strings.", {"target": ["must be a string or a list"]})
    if any(not isinstance(t, str) for t in items):
        raise Invalid("target must be a string or a list of strings.", {"target": ["must be strings"]})
    return [t.strip() for t in items if t.strip()]


def clean_rule(data: dict, *, partial_of=None) -> dict:
    """Validate rule input (dict from JSON or a form). Raises Invalid naming each bad field."""
    from app.tables.values import EMAIL

    base = {} if partial_of is None else {"event_type": partial_of.event_type, "severity": partial_of.severity,
                                          "channel": partial_of.channel, "target": partial_of.target,
                                          "active": partial_of.active}
    merged = {**base, **{k: v for k, v in data.items() if v is not None or k == "target"}}
    errors: dict[str, list[str]] = {}
    out: dict = {}
    event_type = merged.get("event_type")
    if event_type not in EVENT_TYPES:
        errors["event_type"] = [f"must be one of {', '.join(EVENT_TYPES)}"]
    out["event_type"] = event_type
    severity = merged.get("severity", "warning")
    if severity not in SEVERITIES:
        errors["severity"] = [f"must be one of {', '.join(SEVERITIES)}"]
    out["severity"] = severity
    channel = str(merged.get("channel", "in_app") or "").replace("-", "_")
    if channel not in CHANNELS:
        errors["channel"] = ["must be one of in_app, email, webhook"]
    out["channel"] = channel
    active = merged.get("active", True)
    if not isinstance(active, bool):
        errors["active"] = ["must be true or false"]
    out["active"] = active
    try:
        targets = _targets(merged.get("target"))
    except Invalid as exc:
        errors.update(exc.details)
        targets = []
    bad = []
    for t in targets:
        if channel == "webhook":
            problem = webhook_url_problem(t)
            if problem:
                bad.append(f"{t[:80]}: {problem}")
        else:
            kind, sep, name = t.partition(":")
            if t == "owner" or (sep and kind in REF_KINDS and name):
                continue
            if channel == "email" and EMAIL.match(t):
                continue
            bad.append(f"{t[:80]}: not a role ref (owner, user:<email>, team:<name>, role:<role>)"
                       + (" or an email address" if channel == "email" else ""))
    if channel == "webhook" and not targets and "channel" not in errors:
        bad.append("a webhook rule needs at least one http(s) URL")
    if bad:
        errors["target"] = bad
    target = ",".join(targets)
    if len(target) > 500:
        errors.setdefault("target", []).append("at most 500 characters in all")
    out["target"] = target
    if errors:
        raise Invalid("The alert rule is invalid: " + ", ".join(sorted(errors)) + ".", errors)
    return out


def can_manage_rules(user, process: Process) -> bool:
    """Admins and the owning Team's designers (app.permissions "process.design")."""
    from app import permissions

    return user is not None and permissions.allowed(user, "process.design", process)


def get_process(key: str, user) -> Process:
    process = db.session.scalar(select(Process).where(Process.key == key)) if isinstance(key, str) else None
    if process is None:
        raise NotFound(f'No process "{key}".', {"process": ["no such process"]})
    if not can_manage_rules(user, process):
        raise Forbidden(f'Only admins and designers of team {process.team.name} manage the alert rules of '
                        f'"{process.key}".')
    return process


def get_rule(rule_id: int, user):
    from app.models.notifications import AlertRule

    rule = db.session.get(AlertRule, rule_id)
    if rule is None:
        raise NotFound(f"No alert rule {rule_id}.")
    process = db.session.get(Process, rule.process_id)
    if not can_manage_rules(user, process):
        raise NotFound(f"No alert rule {rule_id}.")  # do not reveal other teams' rules
    return rule


def _audit(type_: str, rule, actor: str, **data) -> None:
    db.session.add(Event(type=type_, process_id=rule.process_id, actor=actor, created_at=clock.now(),
                         data={"rule": rule.id, "event_type": rule.event_type, "channel": rule.channel, **data}))


def create_rule(process: Process, data: dict, actor: str):
    from app.models.notifications import AlertRule

    clean = clean_rule(data)
    rule = AlertRule(process_id=process.id, created_at=clock.now(), **clean)
    db.session.add(rule)
    db.session.flush()
    _audit("alert_rule.created", rule, actor)
    return rule


def update_rule(rule, data: dict, actor: str):
    clean = clean_rule(data, partial_of=rule)
    for k, v in clean.items():
        setattr(rule, k, v)
    db.session.flush()
    _audit("alert_rule.updated", rule, actor, fields=sorted(data))
    return rule


def delete_rule(rule, actor: str) -> None:
    _audit("alert_rule.deleted", rule, actor)
    db.session.delete(rule)
    db.session.flush()


def rules_of(process: Process) -> list:
    from app.models.notifications import AlertRule

    return db.session.scalars(select(AlertRule).where(AlertRule.process_id == process.id)
                              .order_by(AlertRule.id)).all()


def dump_rule(rule) -> dict:
    process = db.session.get(Process, rule.process_id)
    return {"id": rule.id, "process": process.key, "event_type": rule.event_type, "severity": rule.severity,
            "channel": rule.channel, "target": [t for t in (rule.target or "").split(",") if t],
            "active": rule.active, "created_at": rule.created_at}
