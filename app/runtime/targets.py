"""Where a new visit starts: a Process's current Version, or a Split's sticky variant for a Task key
(for a start, a Route, a manual move, a bulk start)."""
from __future__ import annotations

from app.errors import Invalid
from app.lookups import find_process, find_split, find_version
from app.models import Process, Version
from app.runtime import variants


def resolve_target(process_key: str | None, split_key: str | None, task_key: str):
    """(Process, Version, variant_id) for a target: a Process's current Version or a Split's variant."""
    variant_id = None
    if split_key:
        split = find_split(split_key)
        if split is None:
            raise Invalid(f'No split "{split_key}".', {"split": ["no such split"]})
        variant = variants.assign(split, task_key)
        process, number, variant_id = variant.process, variant.version, variant.id
    else:
        process = find_process(process_key)
        if process is None:
            raise Invalid(f'No process "{process_key}".', {"process": ["no such process"]})
        number = None
    return process, startable_version(process, number), variant_id


def startable_version(process: Process, number: int | None) -> Version:
    """The Version a new Task starts on in `process` (`number`, else the current one); 422 when the
    Process is archived or has none published."""
    if process.archived_at is not None:
        raise Invalid(f'Process "{process.key}" is archived.', {"process": ["archived"]})
    number = number or process.current_version
    if not number:
        raise Invalid(f'Process "{process.key}" has no published Version yet.', {"process": ["not published"]})
    return find_version(process.id, number)
