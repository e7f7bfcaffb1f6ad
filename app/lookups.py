"""Looking up objects by their key, one function per kind and one error style: `find_*` answers None,
`get_*` raises NotFound (404, 'No process "x".'). A key given in a request body that names nothing is
a validation error of that body instead (422 naming the field), raised by the operation that reads it."""
from __future__ import annotations

from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.models import Process, Split, StageRun, Table, Task, Version


def find_process(key: str | None) -> Process | None:
    return db.session.scalar(select(Process).where(Process.key == key)) if isinstance(key, str) else None


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
    version = db.session.scalar(select(Version).where(Version.process_id == process.id, Version.number == number))
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
