"""`form` (Form Data Collect): a person fills the Stage's writable Fields, on the staff Task page or,
when a participant is invited, on the portal; `required` Fields must hold a value to complete it."""
from __future__ import annotations

import marshmallow as ma

from app.stages.base import ConfigSchema, InputKind, StageContext, StageType, Submission


class FormConfig(ConfigSchema):
    instructions = ma.fields.String(load_default="", metadata={"description": "Shown above the form."})
    required = ma.fields.List(ma.fields.String(), load_default=list, metadata={
        "default": [], "description": "Field keys that must be filled (a subset of the Stage's writes)."})


class FormType(StageType):
    key = "form"
    name = "Form Data Collect"
    icon = "📝"
    description = "Collect Field values with a form, internally or through the portal."
    config_schema = FormConfig

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        writes = set(stage.get("writes") or [])
        required = (stage.get("config") or {}).get("required") or []
        return [(f"config.required[{i}]", f'"{key}" is not in writes')
                for i, key in enumerate(required) if key not in writes]

    def receive(self, ctx: StageContext, kind: InputKind, payload: dict) -> Submission:
        submission = super().receive(ctx, kind, payload)
        return Submission(values=submission.values, required=tuple(ctx.config.get("required") or ()))
