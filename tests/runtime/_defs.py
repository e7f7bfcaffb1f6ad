"""Normalized definition builders and a fake condition evaluator for the runtime tests."""
from __future__ import annotations

from app.runtime.engine import RunView, TaskView


def stage(key: str, column: int, **overrides) -> dict:
    """A normalized Stage dict (every key present), as the engine receives it."""
    doc = {
        "key": key, "name": key.title(), "type": "basic", "config": {}, "column": column,
        "after": [], "start_when": None, "skip_when": None, "gate": None,
        "reads": [], "writes": [],
        "visibility": {"internal": {"teams": [], "roles": []}, "external": "none"},
        "approval": None, "sla": None,
        "roles": {"responsible": [], "approver": [], "informed": [], "delegator": []},
        "retry": {"attempts": 1, "backoff": "10s", "factor": 2.0},
    }
    unknown = set(overrides) - set(doc)
    assert not unknown, unknown
    doc.update(overrides)
    return doc


def route(key: str, trigger: str, *, stage_key: str | None = None, condition: str | None = None,
          process: str | None = None, split: str | None = None, target_stage: str | None = None) -> dict:
    process = process if process or split else "referral"
    trig = {"type": trigger, "condition": condition} if trigger == "condition" else {"type": trigger}
    return {"key": key, "name": key.title(), "stage": stage_key, "trigger": trig,
            "target": {"process": process, "split": split, "stage": target_stage}}


def definition(*stages: dict, routes: list | tuple = ()) -> dict:
    return {"stages": list(stages), "routes": list(routes)}


def evaluate(expr: str, values: dict) -> bool:
    """Fake CEL: an expression is the key of a Field; it holds when that Field is truthy."""
    return bool(values.get(expr))


def task(values: dict | None = None, *runs: tuple) -> TaskView:
    """task({"x": 1}, (1, "collect", "completed"), (2, "review", "pending", 1, None))"""
    return TaskView(dict(values or {}), tuple(RunView(*r) for r in runs))
