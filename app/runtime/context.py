"""What the engine reads besides the Task row: the (immutable, cached) definition of a Version,
conditions evaluated within their CPU budget, and the context a stage type's hooks see of a run."""
from __future__ import annotations

from functools import lru_cache

import marshmallow as ma
from flask import current_app, has_app_context
from sqlalchemy import select

from app import clock, stages
from app.cel import expressions
from app.extensions import db
from app.models import MagicLink, StageRun, Task, Version
from app.runtime import callbacks, engine, secrets
from app.runtime.plan import plan


def evaluate(expr: str, values: dict) -> bool | engine.Undecided:
    """CEL condition; one that errors (e.g. compares a missing Field) counts as false. One stopped by
    its CPU-time budget (CEL_BUDGET_MS) or over the size limits is Undecided: it counts as false too,
    and the engine reports it (a condition.failed Event) and flags the Task."""
    try:
        return expressions.evaluate(expr, values, budget_ms=budget_ms())
    except (expressions.BudgetExceeded, expressions.TooComplex) as exc:
        return engine.Undecided(str(exc))
    except expressions.ExpressionError:
        return False


def budget_ms() -> float:
    config = current_app.config if has_app_context() else {}
    return float(config.get("CEL_BUDGET_MS", expressions.DEFAULT_BUDGET_MS))


@lru_cache(maxsize=4096)
def definition(version_id: int) -> dict:
    """The normalized document of a Version. Versions are immutable, so caching them per process is
    safe (`definition.cache_clear()` forgets them, e.g. when a test empties the tables)."""
    return db.session.get(Version, version_id).definition


def definition_of(obj) -> dict:
    """The document of the Version a Task, Stage Run or visit is on."""
    return definition(obj.version_id)


def stage_of(definition: dict, key: str) -> dict:
    """The Stage `key` of a definition (StopIteration if it has none), by the definition's index."""
    try:
        return plan(definition).by_key[key]
    except KeyError:
        raise StopIteration(key) from None


def participant_invited(task_id: int) -> bool:
    """Is a participant invited to this Task right now (an unrevoked, unexpired magic link)?"""
    return db.session.scalar(select(MagicLink.id).where(
        MagicLink.task_id == task_id, MagicLink.revoked_at.is_(None), MagicLink.expires_at > clock.now()
    ).limit(1)) is not None


def stage_context(task: Task, run: StageRun, stage: dict, type_: stages.StageType, *,
                  strict: bool = True) -> stages.StageContext:
    """What a stage type's hooks see of a run: the Stage, its loaded config, only its readable Fields.
    A config its type no longer accepts raises (`strict`) or is passed as it is."""
    values, config = task.values or {}, stage.get("config") or {}
    try:
        config = stages.loaded_config(type_, config)
    except ma.ValidationError:
        if strict:
            raise
    return stages.StageContext(stage=stage, config=config,
                               values={k: values.get(k) for k in stage.get("reads") or ()}, task_id=task.id,
                               run_id=run.id, attempt=run.attempt, budget_ms=budget_ms(),
                               invited=lambda: participant_invited(task.id),
                               secret_values=lambda names: secrets.secret_values(task, run, stage, names),
                               state=dict((run.data or {}).get("state") or {}),
                               make_callback_url=lambda valid_for: callbacks.issue(run, valid_for))
