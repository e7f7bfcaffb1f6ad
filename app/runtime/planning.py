"""Pure planning outside a Task's lane: the sticky weighted choice of a Split variant and where a
Task's open Stages go when it migrates to a new Version. No I/O, like app.runtime.engine."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable


def choose_variant(split_key: str, task_key: str, variants: list[tuple[int, int]]) -> int:
    """Sticky weighted choice of (variant_id, weight): the same Task key always lands on the same variant."""
    if any(weight < 0 for _, weight in variants):
        raise ValueError("variant weights must be non-negative")
    total = sum(weight for _, weight in variants)
    if total <= 0:
        raise ValueError("variant weights must add up to more than 0")
    bucket = int(hashlib.sha256(f"{split_key}:{task_key}".encode()).hexdigest(), 16) % 10000
    cumulative = 0
    for variant_id, weight in variants:
        cumulative += weight
        if bucket * total < cumulative * 10000:  # bucket / 10000 < cumulative / total, exactly
            return variant_id
    raise AssertionError("unreachable: the last positive weight covers every bucket")


def migration_plan(old_def: dict, new_def: dict, open_stage_keys: Iterable[str],
                   mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    """Where each open stage of a Task goes in the new Version: same key, or `mapping[key]`.

    Returns (old key -> new key, sorted unmapped old keys); the caller refuses to migrate
    while anything is unmapped.
    """
    old_keys = {s["key"] for s in old_def["stages"]}
    new_keys = {s["key"] for s in new_def["stages"]}
    key_map: dict[str, str] = {}
    unmapped: list[str] = []
    for key in sorted(open_stage_keys):
        if key not in old_keys:
            raise ValueError(f"stage {key!r} is not in the old Version")
        target = mapping.get(key, key)
        if target in new_keys:
            key_map[key] = target
        else:
            unmapped.append(key)
    return key_map, unmapped
