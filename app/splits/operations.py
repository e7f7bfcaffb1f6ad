"""Splits: weighted, sticky assignment of new Tasks among variant Processes or Versions."""
from __future__ import annotations

from sqlalchemy import func, select

from app import clock, permissions
from app import lookups
from app.errors import Conflict, Invalid
from app.extensions import db
from app.lookups import find_process
from app.runtime import variants
from app.models import Event, Split, SplitAssignment, SplitVariant, Table, Task, Team, User


get_split = lookups.get_split


def check_can_edit(user: User, split: Split) -> None:
    permissions.check(user, "split.design", split)


def _variants(table_id: int, rows: list[dict]) -> list[SplitVariant]:
    out, errors = [], {}
    for i, row in enumerate(rows):
        process = find_process(row["process"])
        if process is None:
            errors[f"variants[{i}].process"] = [f'no such process "{row["process"]}"']
            continue
        if process.table_id != table_id:
            errors[f"variants[{i}].process"] = ["works on another table"]
        if row.get("version") and not (process.current_version or 0) >= row["version"]:
            errors[f"variants[{i}].version"] = [f"process has no Version {row['version']}"]
        out.append(SplitVariant(key=row["key"], process_id=process.id, version=row.get("version"),
                                weight=row["weight"], position=i))
    keys = [r["key"] for r in rows]
    if len(set(keys)) != len(keys):
        errors["variants"] = ["variant keys must be unique"]
    if sum(r["weight"] for r in rows) <= 0:
        errors.setdefault("variants", []).append("weights must add up to more than 0")
    if errors:
        raise Invalid("The split is invalid: see details.", errors)
    return out


def create_split(data: dict, user: User) -> Split:
    if db.session.scalar(select(Split.id).where(Split.key == data["key"])):
        raise Conflict(f'A split "{data["key"]}" already exists.', {"key": ["already exists"]})
    table = db.session.scalar(select(Table).where(Table.key == data["table"]))
    team = db.session.scalar(select(Team).where(Team.name == data["team"]))
    if table is None or team is None:
        raise Invalid("Unknown table or team.", {k: ["not found"] for k, row in
                                                  (("table", table), ("team", team)) if row is None})
    permissions.check(user, "split.create", team)
    split = Split(key=data["key"], name=data["name"], table_id=table.id, team_id=team.id)
    split.variants = _variants(table.id, data["variants"])
    db.session.add(split)
    db.session.flush()
    db.session.add(Event(type="split.created", actor=f"user:{user.id}",
                         data={"split": split.key, "weights": weights_of(split)}))
    return split


def weights_of(split: Split) -> dict[str, int]:
    return {v.key: v.weight for v in split.variants}


def set_weights(split: Split, weights: dict[str, int], user: User, actor: str, reason: str = "") -> Split:
    """Change weights (gradual rollout). Tasks already assigned keep their variant. Audited.
    The owning Team's designers and managers (the A/B view promotes winners) may; others 403."""
    permissions.check(user, "split.weights", split)
    known = {v.key: v for v in split.variants}
    unknown = sorted(set(weights) - set(known))
    if unknown:
        raise Invalid("Unknown variants.", {"weights": [f'no variant "{k}"' for k in unknown]})
    before = weights_of(split)
    after = {**before, **weights}
    if sum(after.values()) <= 0:
        raise Invalid("Weights must add up to more than 0.", {"weights": ["all zero"]})
    for k, w in weights.items():
        known[k].weight = w
    split.updated_at = clock.now()
    db.session.add(Event(type="split.weights_changed", actor=actor,
                         data={"split": split.key, "before": before, "after": after, "reason": reason}))
    return split


def assigned(split: Split) -> dict[str, int]:
    """How many Tasks each variant was given so far."""
    counts = dict(db.session.execute(
        select(SplitAssignment.variant_id, func.count()).where(SplitAssignment.split_id == split.id)
        .group_by(SplitAssignment.variant_id)).all())
    return {v.key: counts.get(v.id, 0) for v in split.variants}


def shares(split: Split) -> dict[str, float]:
    """The share of assigned Tasks per variant so far."""
    counts = assigned(split)
    total = sum(counts.values()) or 1
    return {k: n / total for k, n in counts.items()}


assign = variants.assign   # the engine assigns new Tasks (app.runtime.variants)


def tasks_assigned(split: Split) -> int:
    return db.session.scalar(select(func.count()).select_from(Task).where(Task.split_id == split.id)) or 0


def split_payload(split: Split) -> dict:
    """A Split as the API and the builder show it: its variants with weights and shares so far."""
    counts = assigned(split)
    total = sum(counts.values()) or 1
    return {"key": split.key, "name": split.name, "table": split.table.key, "team": split.team.name,
            "variants": [{"key": v.key, "process": v.process.key, "process_name": v.process.name,
                          "version": v.version, "weight": v.weight, "share": counts[v.key] / total,
                          "tasks": counts[v.key]} for v in split.variants]}
