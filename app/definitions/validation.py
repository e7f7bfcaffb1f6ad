"""Validate a Process definition document against its Table and the other Processes.

Every error is returned with its JSON path (``stages[2].reads[0]: unknown field "budget"``).
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import marshmallow as ma

from app.stages import get as stage_type_of
from app.cel import expressions
from app.definitions.definition import DefinitionSchema, complete, error_paths
from app.cel.expressions import FieldInfo
from app.vocab import refs

__all__ = ["Context", "DefinitionError", "validate_definition", "validate_for_publish"]


@dataclass(frozen=True)
class Context:
    """What a definition is checked against."""
    fields: dict[str, FieldInfo]
    process_key: str
    processes: dict[str, frozenset[str]]  # other Process keys -> Stage keys of their current Version (or draft)
    splits: frozenset[str] = field(default_factory=frozenset)
    other_table: frozenset[str] = field(default_factory=frozenset)  # Process / Split keys on another Table


@dataclass(frozen=True)
class DefinitionError:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message

    @property
    def too_complex(self) -> bool:
        """An expression over a size or nesting limit: a draft with one is refused, not saved."""
        return self.message.startswith(expressions.TOO_COMPLEX)


class _Errors(list):
    def add(self, path: str, message: str) -> None:
        error = DefinitionError(path, message)
        if error not in self:
            self.append(error)

    def condition(self, path: str, expr: str | None, ctx: Context) -> None:
        if expr is not None:
            for message in expressions.check(expr, ctx.fields):
                self.add(path, message)


def validate_definition(doc: dict, ctx: Context) -> tuple[dict | None, list[DefinitionError]]:
    """The normalized document (None if its shape is invalid) and every error found."""
    errors = _Errors()
    try:
        loaded = DefinitionSchema().load(doc)
    except ma.ValidationError as exc:
        for path, message in error_paths(exc.messages):
            errors.add(path, message)
        return None, list(errors)
    stages = loaded["stages"]
    explicit_columns = [s["column"] is not None for s in stages]
    complete(loaded)
    _check_stages(stages, explicit_columns, ctx, errors)
    _check_order(stages, errors)
    _check_routes(loaded["routes"], stages, ctx, errors)
    _check_fields("start.writes", (loaded.get("start") or {}).get("writes") or [], ctx, errors)
    return loaded, list(errors)


def validate_for_publish(doc: dict, ctx: Context) -> tuple[dict | None, list[DefinitionError]]:
    """Like ``validate_definition``, and a published Process needs at least one Stage."""
    normalized, errors = validate_definition(doc, ctx)
    stages = normalized["stages"] if normalized is not None else (doc.get("stages") if isinstance(doc, dict) else None)
    if not stages:
        errors.append(DefinitionError("stages", "a Process needs at least one Stage"))
    return normalized, errors


def _check_stages(stages: list[dict], explicit_columns: list[bool], ctx: Context, errors: _Errors) -> None:
    seen: set[str] = set()
    previous_column = 0
    for i, stage in enumerate(stages):
        at = f"stages[{i}]"
        if stage["key"] in seen:
            errors.add(f"{at}.key", f'duplicate stage key "{stage["key"]}"')
        seen.add(stage["key"])
        if explicit_columns[i] and stage["column"] < previous_column:
            errors.add(f"{at}.column", f"columns must not decrease (the previous Stage is in column {previous_column})")
        previous_column = stage["column"]
        for attr in ("reads", "writes"):
            _check_fields(f"{at}.{attr}", stage[attr], ctx, errors)
        _check_assignment(at, stage, ctx, errors)
        errors.condition(f"{at}.start_when", stage["start_when"], ctx)
        errors.condition(f"{at}.skip_when", stage["skip_when"], ctx)
        gate = stage["gate"]
        if gate is not None:
            if gate["type"] == "condition" and not gate["condition"]:
                errors.add(f"{at}.gate.condition", "a condition gate needs a condition")
            elif gate["type"] != "condition" and gate["condition"] is not None:
                errors.add(f"{at}.gate.condition", "only a condition gate has a condition")
            else:
                errors.condition(f"{at}.gate.condition", gate["condition"], ctx)
        stage_type = stage_type_of(stage["type"])
        if stage_type is None:
            errors.add(f"{at}.type", f'unknown stage type "{stage["type"]}"')
            continue
        try:
            stage_type.validate(stage["config"])
        except ma.ValidationError as exc:
            for path, message in error_paths(exc.messages, f"{at}.config"):
                errors.add(path, message)
            continue
        for path, message in stage_type.check(stage, ctx.fields):
            errors.add(f"{at}.{path}", message)


def _check_fields(at: str, keys: list[str], ctx: Context, errors: _Errors) -> None:
    seen: set[str] = set()
    for j, key in enumerate(keys):
        if key not in ctx.fields:
            errors.add(f"{at}[{j}]", f'unknown field "{key}"')
        elif key in seen:
            errors.add(f"{at}[{j}]", f'duplicate field "{key}"')
        seen.add(key)


def _check_order(stages: list[dict], errors: _Errors) -> None:
    """``after`` references, and no cycles in the dependency graph (lane order + after)."""
    index = {}
    for i, stage in enumerate(stages):
        index.setdefault(stage["key"], i)
    by_column: dict[int, list[str]] = defaultdict(list)
    for stage in stages:
        by_column[stage["column"]].append(stage["key"])
    preds: dict[str, set[str]] = {}
    for i, stage in enumerate(stages):
        at, key = f"stages[{i}].after", stage["key"]
        if stage["after"]:
            valid = set()
            for j, other in enumerate(stage["after"]):
                if other == key:
                    errors.add(f"{at}[{j}]", "a Stage cannot come after itself")
                elif other not in index:
                    errors.add(f"{at}[{j}]", f'unknown stage "{other}"')
                elif other in valid:
                    errors.add(f"{at}[{j}]", f'duplicate stage "{other}"')
                else:
                    valid.add(other)
            preds.setdefault(key, set()).update(valid)
        else:
            lower = [c for c in by_column if c < stage["column"]]
            preds.setdefault(key, set()).update(by_column[max(lower)] if lower else ())
    for i, stage in enumerate(stages):
        for other in stage["after"]:
            if other != stage["key"] and other in index and _reaches(other, stage["key"], preds):
                errors.add(f"stages[{i}].after", f'cycle through "{other}"')
                break


def _reaches(start: str, target: str, preds: dict[str, set[str]]) -> bool:
    """Whether ``start`` (transitively) waits for ``target``."""
    stack, seen = [start], set()
    while stack:
        node = stack.pop()
        if node == target:
            return True
        if node not in seen:
            seen.add(node)
            stack.extend(preds.get(node, ()))
    return False


ASSIGNABLE_TYPES = ("email", "text", "user")   # a Field naming a person: their email (or a user id)


def _check_assignment(at: str, stage: dict, ctx: Context, errors: _Errors) -> None:
    """`field:<key>` must name a Field holding a person; one assignment reference per Responsible."""
    dynamic = [r for r in stage["roles"]["responsible"] if refs.is_dynamic(r)]
    if len(dynamic) > 1:
        errors.add(f"{at}.roles.responsible", "name at most one assignment (field:, round_robin:, least_loaded:)")
    for ref in dynamic:
        kind, _, key = ref.partition(":")
        if kind == "field":
            info = ctx.fields.get(key)
            if info is None:
                errors.add(f"{at}.roles.responsible", f'unknown field "{key}"')
            elif info.type not in ASSIGNABLE_TYPES:
                errors.add(f"{at}.roles.responsible", f'field "{key}" is a {info.type}; assign from an email field')


def _check_routes(routes: list[dict], stages: list[dict], ctx: Context, errors: _Errors) -> None:
    by_key = {s["key"]: s for s in reversed(stages)}
    seen: set[str] = set()
    timeouts: set[tuple] = set()
    for i, route in enumerate(routes):
        at, trigger, target = f"routes[{i}]", route["trigger"], route["target"]
        if route["key"] in seen:
            errors.add(f"{at}.key", f'duplicate route key "{route["key"]}"')
        seen.add(route["key"])
        source = route["stage"]
        if source is not None and source not in by_key:
            errors.add(f"{at}.stage", f'unknown stage "{source}"')
        elif source is None and trigger["type"] != "condition":
            errors.add(f"{at}.stage", f"a {trigger['type']} trigger needs a stage")
        elif trigger["type"] == "sla_breached" and not (by_key[source].get("sla") or {}).get("due"):
            errors.add(f"{at}.stage", f'"{source}" has no SLA due time to breach')
        elif trigger["type"] == "approval_rejected":
            stage = by_key[source]
            type_ = stage_type_of(stage["type"])
            proposes = type_ is not None and type_.holds_proposals(stage.get("config") or {})
            if not ((stage["approval"] or {}).get("required") or (stage["gate"] or {}).get("type") == "approval"
                    or proposes):
                errors.add(f"{at}.stage", f'"{source}" has no approval or approval gate')
        if trigger["type"] == "condition":
            if not trigger["condition"]:
                errors.add(f"{at}.trigger.condition", "a condition trigger needs a condition")
            errors.condition(f"{at}.trigger.condition", trigger["condition"] or None, ctx)
        elif trigger["condition"] is not None:
            errors.add(f"{at}.trigger.condition", "only a condition trigger has a condition")
        if trigger["type"] == "timeout":
            if not trigger.get("after"):
                errors.add(f"{at}.trigger.after", 'a timeout trigger needs a duration (e.g. "5d")')
            elif (source, trigger["after"]) in timeouts:
                errors.add(f"{at}.trigger.after", f'another timeout Route of "{source}" has this duration')
            timeouts.add((source, trigger.get("after")))
        elif trigger.get("after") is not None:
            errors.add(f"{at}.trigger.after", "only a timeout trigger has a duration")
        if _is_loop(target):
            _check_loop(at, route, by_key, errors)
        elif route.get("max_iterations") is not None:
            errors.add(f"{at}.max_iterations", "only a Route back to a Stage of this Process loops")
        else:
            _check_target(f"{at}.target", target, ctx, errors)


def _is_loop(target: dict) -> bool:
    return bool(target["stage"]) and not (target["process"] or target["split"] or target.get("end"))


def _check_loop(at: str, route: dict, by_key: dict, errors: _Errors) -> None:
    """A rework loop: back to a Stage of this Process at or before the Route's own Stage."""
    stage, source = route["target"]["stage"], route["stage"]
    if stage not in by_key:
        errors.add(f"{at}.target.stage", f'unknown stage "{stage}"')
    elif source is None:
        errors.add(f"{at}.stage", "a Route back to an earlier Stage needs a source Stage")
    elif source in by_key and by_key[stage]["column"] > by_key[source]["column"]:
        errors.add(f"{at}.target.stage", f'"{stage}" comes after "{source}": a Route may only send a Task back')


def _check_target(at: str, target: dict, ctx: Context, errors: _Errors) -> None:
    process, split, stage = target["process"], target["split"], target["stage"]
    if target.get("end"):
        if process or split or stage:
            errors.add(at, "an end target names no process, split or stage")
        return
    if target.get("label") is not None:
        errors.add(f"{at}.label", "only an end target has a label")
    if (process is None) == (split is None):
        errors.add(at, "give exactly one of process, split or end, or a stage of this Process alone")
        return
    if split is not None:
        if split not in ctx.splits:
            errors.add(f"{at}.split", f'no such split "{split}"')
        elif split in ctx.other_table:
            errors.add(f"{at}.split", f'split "{split}" works on another table')
        if stage is not None:
            errors.add(f"{at}.stage", "a Split target cannot name a Stage")
        return
    if process == ctx.process_key:
        errors.add(f"{at}.process", "a Route may not target its own Process")
    elif process not in ctx.processes:
        errors.add(f"{at}.process", f'no such process "{process}"')
    elif process in ctx.other_table:
        errors.add(f"{at}.process", f'process "{process}" works on another table')
    elif stage is not None and stage not in ctx.processes[process]:
        errors.add(f"{at}.stage", f'no such stage "{stage}" in process "{process}"')
