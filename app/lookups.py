"""Looking up objects by their key, one function per kind and one error style: `find_*` answers None,
`get_*` raises NotFound (404, 'No process "x".'). A key given in a request body that names nothing is
a validation error of that body instead (422 naming the field), raised by the operation that reads it."""
from __future__ import annotations

from sqlalchemy import inspect, select
from sqlalchemy.orm.exc import ObjectDeletedError

from app.errors import NotFound
from app.extensions import db
from app.models import Process, Split, StageRun, Table, Task, Version

MEMO = "procly_lookups"   # session.info: what this session already looked up, held (strongly) for its life


def _memo(kind: str) -> dict:
    return db.session.info.setdefault(MEMO, {}).setdefault(kind, {})


def _still(obj, **attrs) -> bool:
    """A memoised object is still this session's live row with these attribute values (a refresh
    that finds the row gone, a deletion or a rollback of its insert all mean: look it up again)."""
    state = inspect(obj)
    if not state.persistent:
        return False
    try:
        return all(getattr(obj, name) == value for name, value in attrs.items())
    except ObjectDeletedError:
        return False


def find_process(key: str | None) -> Process | None:
    """The Process with this key. A request looks the same Process up several times (the permission
    check, the start, the answer): one SELECT per session, then the session's own object (like the
    identity map, which holds objects only weakly, would give)."""
    if not isinstance(key, str):
        return None
    memo = _memo("process")
    process = memo.get(key)
    if process is not None and _still(process, key=key):
        return process
    process = db.session.scalar(select(Process).where(Process.key == key))
    if process is not None:
        memo[key] = process
    return process


def find_version(process_id: int, number: int) -> Version | None:
    """A Process's Version by number (published Versions never change): one SELECT per session."""
    memo = _memo("version")
    version = memo.get((process_id, number))
    if version is not None and _still(version, process_id=process_id, number=number):
        return version
    version = db.session.scalar(select(Version).where(Version.process_id == process_id, Version.number == number))
    if version is not None:
        memo[(process_id, number)] = version
    return version


def get_process(key: str) -> Process:
    process = find_process(key)
    if process is None:
        raise NotFound(f'No process "{key}".', {"process": ["no such process"]})
    return process


def find_split(key: str | None) -> Split | None:
    return db.session.scalar(select(Split).where(Split.key == key)) if isinstance(key, str) else None


def get_split(key: str) -> Split:
    split = find_split(key)
    if split is None:
        raise NotFound(f'No split "{key}".', {"split": ["no such split"]})
    return split


def find_table(key: str | None) -> Table | None:
    return db.session.scalar(select(Table).where(Table.key == key)) if isinstance(key, str) else None


def get_table(key: str) -> Table:
    table = find_table(key)
    if table is None:
        raise NotFound(f'No table "{key}".', {"table": ["no such table"]})
    return table


def get_version(process: Process, number: int) -> Version:
    version = find_version(process.id, number)
    if version is None:
        raise NotFound(f'Process "{process.key}" has no Version {number}.', {"version": ["no such version"]})
    return version


def get_task(task_id: int) -> Task:
    task = db.session.get(Task, task_id)
    if task is None:
        raise NotFound(f"No task {task_id}.")
    return task


def get_run(run_id: int) -> StageRun:
    run = db.session.get(StageRun, run_id)
    if run is None:
        raise NotFound(f"No stage run {run_id}.")
    return run
