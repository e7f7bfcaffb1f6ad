"""`compute` (Set fields), automated: writable Fields from CEL expressions over the readable ones."""
from __future__ import annotations

import marshmallow as ma

from app.cel import expressions
from app.stages.base import ConfigSchema, StageContext, StageType


class ComputeConfig(ConfigSchema):
    assignments = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), load_default=dict,
                                 metadata={"description": "Field key → CEL expression over the Stage's reads"})


class ComputeType(StageType):
    key = "compute"
    name = "Set fields"
    icon = "ƒ"
    description = "Automated: set Fields from expressions over other Fields."
    automated = True
    config_schema = ComputeConfig

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        problems = []
        reads = {k: fields[k] for k in stage.get("reads") or [] if k in fields}
        for key, expr in (stage.get("config") or {}).get("assignments", {}).items():
            if key not in (stage.get("writes") or []):
                problems.append((f"config.assignments.{key}", f'"{key}" is not in writes'))
            for msg in expressions.check(expr, reads, want="any"):
                problems.append((f"config.assignments.{key}", msg))
        return problems

    def perform(self, ctx: StageContext) -> dict:
        return {key: expressions.evaluate_value(expr, ctx.values, budget_ms=ctx.budget_ms)
                for key, expr in ctx.config["assignments"].items()}
