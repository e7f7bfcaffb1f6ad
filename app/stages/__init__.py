"""Stage types as plugins: one module per type behind one interface (`base.StageType`), and the
registry the app builds at start (`init_app`) from the built-ins and the `procly.stage_types`
entry points. The engine, the pages, the portal and the API reach stage types only through here.
See docs/stage-types.md."""
from app.stages.base import (ConfigSchema, InputInvalid, InputKind, InputRefused, Needs, OnReady, Performed, StageContext, StageFailed,
                             StageType, Submission, loaded_config)
from app.stages.registry import ENTRY_POINT_GROUP, Registry, build, current, init_app


def get(key: str) -> StageType | None:
    """The stage type `key` of the running app (None when unknown)."""
    return current().get(key)


def all_types() -> list[StageType]:
    return current().all()


__all__ = ["ConfigSchema", "InputInvalid", "InputKind", "InputRefused", "Needs", "OnReady", "Performed", "StageContext",
           "StageFailed", "StageType", "Submission", "loaded_config", "ENTRY_POINT_GROUP", "Registry", "build", "current", "init_app", "get",
           "all_types"]
