"""Marshmallow schemas of the Process definition document (see docs/definition.md).

``normalize`` fills every default so a normalized document is complete and canonical;
``content_hash`` is the sha256 of its canonical JSON.
"""
from __future__ import annotations

import hashlib
import json
from typing import Any

import marshmallow as ma
from marshmallow import fields as f
from marshmallow import validate as v

from app.stages import get as stage_type_of
from app.vocab import durations, refs
from app.vocab.durations import DURATION_RE
from app.vocab.refs import ROLE_NAMES

__all__ = ["StageSchema", "RouteSchema", "DefinitionSchema", "parse_duration", "normalize",
           "content_hash", "error_paths", "start_spec", "DURATION_RE", "ROLE_NAMES"]

SLUG_RE = r"^[a-z][a-z0-9_]*$"
parse_duration = durations.parse


def Slug(**kw: Any) -> f.String:
    return f.String(validate=v.Regexp(SLUG_RE, error="Must be a slug: a-z, 0-9 and _, starting with a letter."), **kw)


def Duration(**kw: Any) -> f.String:
    return f.String(validate=v.Regexp(DURATION_RE, error='Not a valid duration (e.g. "30m", "48h", "7d").'), **kw)


def _role_ref(automation: bool):
    def check(value: str) -> None:
        if value == refs.AUTOMATION:
            if not automation:
                raise ma.ValidationError('"automation" is only allowed for responsible.')
        elif not refs.is_valid(value, automation=automation):
            raise ma.ValidationError(
                'Not a valid role reference (user:<email>, team:<name>, role:<admin|designer|staff|manager>'
                + (", automation, field:<key>, round_robin:team:<name> or least_loaded:team:<name>)."
                   if automation else ")."))
    return check


def RoleRefs(automation: bool = False) -> f.List:
    return f.List(f.String(validate=_role_ref(automation)), load_default=list)


def _default(schema: type[ma.Schema]):
    return lambda: schema().load({})


def Optional(field: f.Field) -> f.Field:
    field.allow_none, field.load_default = True, None
    return field


class Base(ma.Schema):
    class Meta:
        unknown = ma.RAISE


class SLASchema(Base):
    due = Duration(required=True)
    reminders = f.List(Duration(), load_default=list)
    escalate_after = Optional(Duration())


class ApprovalSchema(Base):
    required = f.Boolean(load_default=True)
    approvers = RoleRefs()
    sla = Optional(f.Nested(SLASchema))
    # the approver may not be who completed the Stage; absent = on (see ``complete``)
    four_eyes = f.Boolean()


class GateSchema(Base):
    type = f.String(required=True, validate=v.OneOf(["approval", "condition", "manual"]))
    condition = Optional(f.String())
    approvers = RoleRefs()


class InternalVisibilitySchema(Base):
    teams = f.List(f.String(validate=v.Length(min=1)), load_default=list)
    roles = f.List(f.String(validate=v.OneOf(ROLE_NAMES)), load_default=list)


class VisibilitySchema(Base):
    internal = f.Nested(InternalVisibilitySchema, load_default=_default(InternalVisibilitySchema))
    external = f.String(load_default="none", validate=v.OneOf(["none", "status", "action"]))


class RolesSchema(Base):
    responsible = RoleRefs(automation=True)
    approver = RoleRefs()
    informed = RoleRefs()
    delegator = RoleRefs()


class RetrySchema(Base):
    attempts = f.Integer(load_default=1, validate=v.Range(min=1, max=100), strict=True)
    backoff = Duration(load_default="10s")
    factor = f.Float(load_default=2.0, validate=v.Range(min=1.0, max=10.0))


class StageSchema(Base):
    key = Slug(required=True)
    name = f.String(required=True, validate=v.Length(min=1, max=200))
    type = f.String(required=True)
    config = f.Dict(keys=f.String(), load_default=dict)
    column = Optional(f.Integer(validate=v.Range(min=0), strict=True))
    after = f.List(f.String(), load_default=list)
    start_when = Optional(f.String())
    skip_when = Optional(f.String())
    gate = Optional(f.Nested(GateSchema))
    reads = f.List(f.String(), load_default=list)
    writes = f.List(f.String(), load_default=list)
    visibility = f.Nested(VisibilitySchema, load_default=_default(VisibilitySchema))
    approval = Optional(f.Nested(ApprovalSchema))
    sla = Optional(f.Nested(SLASchema))
    roles = f.Nested(RolesSchema, load_default=_default(RolesSchema))
    retry = f.Nested(RetrySchema, load_default=_default(RetrySchema))
    # who its failures, SLA escalations and loop limits go to; absent (the default, which keeps older
    # documents' hash): its Delegators, else the owning Team (app.vocab.refs.escalation_targets)
    escalate_to = f.List(f.String(validate=_role_ref(False)))


TRIGGERS = ["condition", "stage_failed", "approval_rejected", "timeout", "sla_breached"]
ENDINGS = ["completed", "cancelled", "rejected"]
LOOP_LIMIT = 10   # times a Route may send a Task back within one visit before it escalates instead


class TriggerSchema(Base):
    type = f.String(required=True, validate=v.OneOf(TRIGGERS))
    condition = Optional(f.String())
    # timeout: how long after its Stage became ready (absent unless given: older documents keep their hash)
    after = Duration(allow_none=True)


class TargetSchema(Base):
    """Another Process (optionally at a Stage), a Split, the end of the Task (`end`: its outcome, with
    a `label`), or — a `stage` alone — an earlier Stage of this Process (a rework loop)."""
    process = Optional(f.String())
    split = Optional(f.String())
    stage = Optional(f.String())
    end = f.String(allow_none=True, validate=v.OneOf(ENDINGS))
    label = f.String(allow_none=True, validate=v.Length(max=200))


class RouteSchema(Base):
    key = Slug(required=True)
    name = f.String(required=True, validate=v.Length(min=1, max=200))
    stage = Optional(f.String())
    trigger = f.Nested(TriggerSchema, required=True)
    target = f.Nested(TargetSchema, required=True)
    max_iterations = f.Integer(allow_none=True, strict=True, validate=v.Range(min=1, max=1000))


class StartSchema(Base):
    """Who may start Tasks in the Process and which Fields a start may set (see ``start_spec``)."""
    roles = RoleRefs()
    writes = Optional(f.List(f.String()))


class DefinitionSchema(Base):
    stages = f.List(f.Nested(StageSchema), load_default=list)
    routes = f.List(f.Nested(RouteSchema), load_default=list)
    start = f.Nested(StartSchema, allow_none=True)   # absent / null = the defaults (see ``start_spec``)


def complete(loaded: dict) -> dict:
    """Fill what the schemas cannot: implicit columns and each known type's config defaults.
    Keys added after Versions were first published (``start``, ``approval.four_eyes``) are left
    out while at their default, so older documents keep their content hash."""
    start = loaded.get("start")
    if start is not None:
        for key, default in (("roles", []), ("writes", None)):
            if start.get(key, default) == default:
                start.pop(key, None)
    if "start" in loaded and not start:
        del loaded["start"]
    column = -1
    for stage in loaded["stages"]:
        if stage["column"] is None:
            stage["column"] = column + 1
        column = stage["column"]
        if stage["approval"] is not None and stage["approval"].get("four_eyes") is True:
            del stage["approval"]["four_eyes"]
        stage_type = stage_type_of(stage["type"])
        if stage_type is not None:
            try:
                stage["config"] = stage_type.validate(stage["config"])
            except ma.ValidationError:
                pass  # left as given; validation reports it
    return loaded


def normalize(doc: dict) -> dict:
    """The complete, canonical form of ``doc``; raises ``marshmallow.ValidationError`` if malformed."""
    return complete(DefinitionSchema().load(doc))


def start_spec(doc: dict, owning_team: str) -> tuple[list[str], list[str]]:
    """(roles, writes) of a normalized document's ``start``. Defaults: the owning Team's members
    (``team:<name>``; admins and the Team's designers always may), and the Fields the Stages of the
    lane's first column write (a start fills in what the first Stage would collect)."""
    start = doc.get("start") or {}
    roles = list(start.get("roles") or []) or [f"team:{owning_team}"]
    writes = start.get("writes")
    if writes is None:
        stages = doc.get("stages") or []
        first = min((s.get("column") or 0 for s in stages), default=0)
        writes = sorted({k for s in stages if (s.get("column") or 0) == first for k in s.get("writes") or []})
    return roles, list(writes)


def content_hash(doc: dict) -> str:
    """sha256 hex of the normalized document's canonical JSON."""
    text = json.dumps(normalize(doc), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def error_paths(messages: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Flatten marshmallow's nested error messages into ``(path, message)`` pairs."""
    if isinstance(messages, dict):
        out = []
        for key, sub in messages.items():
            if key == "_schema":
                path = prefix
            elif isinstance(key, int):
                path = f"{prefix}[{key}]"
            else:
                path = f"{prefix}.{key}" if prefix else str(key)
            out.extend(error_paths(sub, path))
        return out
    if isinstance(messages, (list, tuple)):
        return [pair for m in messages for pair in error_paths(m, prefix)]
    return [(prefix, str(messages))]
