"""The stage-type registry: every stage type, built-in or custom, implements ``StageType``.

Adding a type is one call::

    register(MyType())      # a StageType subclass with key, name, icon, ... and config_schema

Config schemas must load to plain JSON values (they become part of the normalized document).
"""
from __future__ import annotations

from typing import Any, ClassVar

import marshmallow as ma
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.openapi import OpenAPIConverter

__all__ = ["StageType", "ConfigSchema", "register", "get", "all_types", "BasicType", "FormType"]


class ConfigSchema(ma.Schema):
    """Base for config schemas: unknown keys are errors."""

    class Meta:
        unknown = ma.RAISE


class StageType:
    """One stage type. Subclass, set the class attributes, override ``run``/``check`` as needed."""

    key: ClassVar[str]
    name: ClassVar[str]
    icon: ClassVar[str] = "▢"
    description: ClassVar[str] = ""
    automated: ClassVar[bool] = False
    config_schema: ClassVar[type[ma.Schema]] = ConfigSchema

    def load_config(self, config: Any) -> dict:
        """The config with defaults filled; raises ``marshmallow.ValidationError``."""
        return self.config_schema().load(config)

    def config_json_schema(self) -> dict:
        """JSON Schema of the config, generated from ``config_schema``."""
        spec = APISpec("procly", "1", "3.1.0", plugins=[MarshmallowPlugin()])
        converter = OpenAPIConverter(openapi_version="3.1.0", schema_name_resolver=lambda s: None,
                                     spec=spec)
        return converter.schema2jsonschema(self.config_schema)

    def check(self, stage: dict, fields: dict) -> list[tuple[str, str]]:
        """Cross-checks of a normalized Stage (config vs reads/writes, Fields…).

        Returns ``(path relative to the Stage, message)`` pairs, e.g. ``("config.required[1]", …)``.
        """
        return []

    def run(self, values: dict, config: dict) -> dict:
        """Perform an automated Stage: given the permitted Field values, return Field writes."""
        raise NotImplementedError(f"stage type {self.key!r} is not automated")

    def describe(self) -> dict:
        """A JSON-ready description for the builder palette and the API."""
        return {"key": self.key, "name": self.name, "icon": self.icon,
                "description": self.description, "automated": self.automated,
                "config_schema": self.config_json_schema()}

    def __repr__(self) -> str:
        return f"<StageType {self.key}>"


_REGISTRY: dict[str, StageType] = {}


def register(stage_type: StageType) -> StageType:
    """Add (or replace) a stage type under its ``key``; returns it."""
    _REGISTRY[stage_type.key] = stage_type
    return stage_type


def get(key: str) -> StageType | None:
    return _REGISTRY.get(key)


def all_types() -> list[StageType]:
    return list(_REGISTRY.values())


# --- built-in types ---------------------------------------------------------------------------

class BasicConfig(ConfigSchema):
    checklist = ma.fields.List(ma.fields.String(), load_default=list, metadata={
        "default": [], "description": "Items a person ticks off before completing the Stage."})
    instructions = ma.fields.String(load_default="", metadata={"description": "Shown to the assignee."})


class BasicType(StageType):
    key = "basic"
    name = "Basic"
    icon = "☑"
    description = "A manual step: instructions and an optional checklist."
    config_schema = BasicConfig


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


register(BasicType())
register(FormType())
