"""`basic`: a manual step with instructions and an optional checklist, worked by a person."""
from __future__ import annotations

import marshmallow as ma

from app.stages.base import ConfigSchema, StageType


class BasicConfig(ConfigSchema):
    checklist = ma.fields.List(ma.fields.String(), load_default=list, metadata={
        "default": [], "description": "Items a person ticks off before completing the Stage."})
    checklist_required = ma.fields.Boolean(load_default=False, metadata={
        "title": "Every item must be ticked", "default": False,
        "description": "The step cannot be completed until each checklist item is ticked."})
    instructions = ma.fields.String(load_default="", metadata={"description": "Shown to the assignee."})


class BasicType(StageType):
    key = "basic"
    name = "Basic"
    icon = "☑"
    description = "A manual step: instructions and an optional checklist."
    config_schema = BasicConfig
