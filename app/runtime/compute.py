"""The automated built-in stage type `compute` ("Set fields"): writable Fields from CEL expressions
over readable ones."""
from __future__ import annotations

import marshmallow as ma

from app.builder import expressions
from app.builder.stage_types import ConfigSchema, StageType, register


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

    def run(self, values: dict, config: dict) -> dict:
        from app.runtime.shell import budget_ms

        return {key: expressions.evaluate_value(expr, values, budget_ms=budget_ms())
                for key, expr in config["assignments"].items()}


register(ComputeType())
