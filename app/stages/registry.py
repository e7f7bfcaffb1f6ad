"""The registry of stage types: the built-ins plus every Python entry point in the group
`procly.stage_types`, built once per app by `init_app` (never as a side effect of an import)."""
from __future__ import annotations

import logging
from functools import lru_cache
from importlib.metadata import entry_points

from flask import current_app, has_app_context

from app.stages import ai, basic, calendar, code, compute, email, external, form, upload, wait, webhook
from app.stages.base import StageType

log = logging.getLogger(__name__)
ENTRY_POINT_GROUP = "procly.stage_types"
EXTENSION = "procly_stages"


class Registry:
    """Stage types by key."""

    def __init__(self, types: list[StageType] | None = None):
        self._types: dict[str, StageType] = {}
        for type_ in types or ():
            self.register(type_)

    def register(self, type_: StageType, *, replace: bool = False) -> StageType:
        if not isinstance(type_, StageType):
            raise TypeError(f"{type_!r} is not a StageType")
        if not getattr(type_, "key", None) or not getattr(type_, "name", None):
            raise ValueError(f"{type(type_).__name__} needs a key and a name")
        if type_.key in self._types and not replace:
            raise ValueError(f'two stage types with the key "{type_.key}": '
                             f"{self._types[type_.key]!r} and {type_!r}")
        self._types[type_.key] = type_
        return type_

    def get(self, key: str) -> StageType | None:
        return self._types.get(key)

    def __getitem__(self, key: str) -> StageType:
        return self._types[key]

    def __contains__(self, key: str) -> bool:
        return key in self._types

    def all(self) -> list[StageType]:
        return list(self._types.values())

    def describe(self) -> list[dict]:
        return [t.describe() for t in self._types.values()]


def builtin_types() -> list[StageType]:
    return [basic.BasicType(), form.FormType(), compute.ComputeType(), wait.WaitType(), code.CodeType(),
            email.EmailConversationType(), upload.UploadType(), calendar.CalendarType(),
            webhook.WebhookType(), external.ExternalServiceType(), ai.AIPromptType()]


def discovered_types(group: str = ENTRY_POINT_GROUP) -> list[StageType]:
    """The stage types installed packages declare as entry points (a StageType subclass or instance).
    A broken plugin stops the app from starting: a Process using it could not run anyway."""
    found = []
    for ep in sorted(entry_points(group=group), key=lambda e: e.name):
        obj = ep.load()
        type_ = obj() if isinstance(obj, type) else obj
        if not isinstance(type_, StageType):
            raise TypeError(f"entry point {ep.name} = {ep.value} is not a StageType")
        found.append(type_)
    return found


def build(*, discover: bool = True) -> Registry:
    registry = Registry(builtin_types())
    for type_ in discovered_types() if discover else ():
        registry.register(type_)
        log.info("stage type %s from entry point group %s", type_.key, ENTRY_POINT_GROUP)
    return registry


def init_app(app) -> Registry:
    """Build the app's registry (built-ins + entry points, unless STAGE_TYPE_ENTRY_POINTS is off)."""
    registry = build(discover=app.config.get("STAGE_TYPE_ENTRY_POINTS", True))
    app.extensions[EXTENSION] = registry
    return registry


@lru_cache(maxsize=1)
def _builtins_only() -> Registry:
    return build(discover=False)


def current() -> Registry:
    """The running app's registry; outside an app (pure unit tests, scripts) the built-ins only."""
    if has_app_context() and EXTENSION in current_app.extensions:
        return current_app.extensions[EXTENSION]
    return _builtins_only()
