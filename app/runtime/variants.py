"""Which variant of a Split a new Task gets: sticky (recorded in split_assignments the first time a
Task key is assigned, so it stays even when weights change) and weighted (the pure
`planning.choose_variant`)."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import Split, SplitAssignment, SplitVariant
from app.runtime.planning import choose_variant


def assign(split: Split, task_key: str) -> SplitVariant:
    """The variant for `task_key`: the recorded one if this key was assigned before (sticky even
    if weights changed since), else a deterministic weighted choice, recorded."""
    existing = db.session.scalar(select(SplitAssignment).where(
        SplitAssignment.split_id == split.id, SplitAssignment.task_key == task_key))
    by_id = {v.id: v for v in split.variants}
    if existing is not None:
        return by_id[existing.variant_id]
    variant_id = choose_variant(split.key, task_key, [(v.id, v.weight) for v in split.variants])
    db.session.add(SplitAssignment(split_id=split.id, task_key=task_key, variant_id=variant_id))
    return by_id[variant_id]
