"""Alert rules of a Process: who may manage them, and create / update / delete through the one schema
(app.alerts.schemas). Operations flush; the request commits."""
from __future__ import annotations

import marshmallow as ma
from sqlalchemy import select

from app import clock, permissions
from app.alerts.schemas import AlertRuleSchema
from app.errors import Forbidden, Invalid, NotFound
from app.extensions import db
from app.lookups import find_process
from app.models import AlertRule, Event, Process


def clean_rule(data: dict, *, partial_of: AlertRule | None = None) -> dict:
    """Rule fields loaded through AlertRuleSchema: a new rule, or `partial_of` with `data` applied
    (the merged rule is checked as a whole). Raises Invalid naming each bad field."""
    base = {} if partial_of is None else {"event_type": partial_of.event_type, "severity": partial_of.severity,
                                          "channel": partial_of.channel, "active": partial_of.active,
                                          "target": [t for t in (partial_of.target or "").split(",") if t]}
    merged = {**base, **{k: v for k, v in data.items() if k not in ("process", "id", "created_at")}}
    try:
        clean = AlertRuleSchema(exclude=("process",)).load(merged)
    except ma.ValidationError as exc:
        errors = exc.normalized_messages()
        raise Invalid("The alert rule is invalid: " + ", ".join(sorted(errors)) + ".", errors) from None
    clean["target"] = ",".join(clean["target"])
    return clean


def can_manage_rules(user, process: Process) -> bool:
    """Admins and the owning Team's designers (app.permissions "process.design")."""
    return user is not None and permissions.allowed(user, "process.design", process)


def get_process(key: str, user) -> Process:
    process = find_process(key)
    if process is None:
        raise NotFound(f'No process "{key}".', {"process": ["no such process"]})
    if not can_manage_rules(user, process):
        raise Forbidden(f'Only admins and designers of team {process.team.name} manage the alert rules of '
                        f'"{process.key}".')
    return process


def get_rule(rule_id: int, user) -> AlertRule:
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


def create_rule(process: Process, data: dict, actor: str) -> AlertRule:
    rule = AlertRule(process_id=process.id, created_at=clock.now(), **clean_rule(data))
    db.session.add(rule)
    db.session.flush()
    _audit("alert_rule.created", rule, actor)
    return rule


def update_rule(rule: AlertRule, data: dict, actor: str) -> AlertRule:
    for k, v in clean_rule(data, partial_of=rule).items():
        setattr(rule, k, v)
    db.session.flush()
    _audit("alert_rule.updated", rule, actor, fields=sorted(data))
    return rule


def delete_rule(rule: AlertRule, actor: str) -> None:
    _audit("alert_rule.deleted", rule, actor)
    db.session.delete(rule)
    db.session.flush()


def rules_of(process: Process) -> list[AlertRule]:
    return db.session.scalars(select(AlertRule).where(AlertRule.process_id == process.id)
                              .order_by(AlertRule.id)).all()


def dump_rule(rule: AlertRule) -> dict:
    process = db.session.get(Process, rule.process_id)
    return {"id": rule.id, "process": process.key, "event_type": rule.event_type, "severity": rule.severity,
            "channel": rule.channel, "target": [t for t in (rule.target or "").split(",") if t],
            "active": rule.active, "created_at": rule.created_at}
