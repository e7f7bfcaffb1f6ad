"""The one schema of an alert rule: the REST API (/api/v1/alerts/rules) loads its JSON with it, the
queue page (/queue/alerts) its form, and updates their merged result."""
from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from app import fields as f
from app.notifications.outbound_webhook import url_problem
from app.tables.values import EMAIL
from app.vocab import refs as role_refs

SEVERITIES = ("info", "warning", "critical")
EVENT_TYPES = ("stage.escalated", "sla.breached", "sla.reminder", "sla.escalated", "stage.failed",
               "task.completed", "task.moved", "approval.rejected")
CHANNELS = ("in_app", "email", "webhook")
TARGET_HELP = ("in_app/email: role refs (owner, user:<email>, team:<name>, role:<role>), email also plain "
               "addresses; webhook: http(s) URLs. Empty (in_app/email): the alert's own recipients.")
MAX_TARGET = 500   # all targets together, comma-joined (the column)


def target_problem(channel: str, target: str) -> str | None:
    """Why one target cannot receive a rule's alerts on `channel` (None = fine)."""
    if channel == "webhook":
        return url_problem(target)
    if target == role_refs.OWNER or role_refs.parse(target) is not None:
        return None
    if channel == "email" and EMAIL.match(target):
        return None
    return ("not a role ref (owner, user:<email>, team:<name>, role:<role>)"
            + (" or an email address" if channel == "email" else ""))


class AlertRuleSchema(ma.Schema):
    id = f.Integer(dump_only=True)
    process = ma.fields.String(required=True, metadata={"description": "key of the Process"})
    event_type = ma.fields.String(required=True, validate=validate.OneOf(EVENT_TYPES))
    severity = ma.fields.String(load_default="warning", validate=validate.OneOf(SEVERITIES))
    channel = ma.fields.String(load_default="in_app", validate=validate.OneOf(CHANNELS))
    target = ma.fields.List(ma.fields.String(validate=validate.Length(max=MAX_TARGET)), load_default=list,
                            validate=validate.Length(max=20), metadata={"description": TARGET_HELP})
    active = ma.fields.Boolean(load_default=True, truthy={True}, falsy={False})
    created_at = f.DateTime(dump_only=True)

    @ma.pre_load
    def _tidy(self, data, **_):
        if isinstance(data, dict) and isinstance(data.get("channel"), str):
            data = {**data, "channel": data["channel"].replace("-", "_")}
        return data

    @ma.post_load
    def _strip(self, data, **_):
        if "target" in data:
            data["target"] = [t.strip() for t in data["target"] if t.strip()]
        return data

    @ma.validates_schema
    def _targets_fit_the_channel(self, data, partial=None, **_):
        if "target" not in data or "channel" not in data:
            return   # a partial update: checked again on the merged rule
        channel, targets = data["channel"], [t.strip() for t in data["target"] if t.strip()]
        bad = [f"{t[:80]}: {problem}" for t in targets if (problem := target_problem(channel, t))]
        if channel == "webhook" and not targets:
            bad.append("a webhook rule needs at least one http(s) URL")
        if len(",".join(targets)) > MAX_TARGET:
            bad.append(f"at most {MAX_TARGET} characters in all")
        if bad:
            raise ma.ValidationError(bad, "target")


class AlertRuleUpdateSchema(AlertRuleSchema):
    """A change: any of the fields (the merged rule is then checked as a whole)."""

    class Meta:
        exclude = ("process",)

    def __init__(self, **kwargs):
        super().__init__(partial=True, **kwargs)


def form_input(form) -> dict:
    """The queue page's form as the schema's input (its targets are one comma-separated text)."""
    data = {k: form.get(k, "") for k in ("process", "event_type", "severity", "channel")}
    data["target"] = [t for t in (form.get("target") or "").split(",")]
    return data
