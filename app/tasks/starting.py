"""A Process's start form: the Fields a start may set (the definition's `start.writes`), typed, for
the staff "New task" page and the public intake form; and starting a Task from what such a form
sent. Both go through `operations.start_task` — the same validation and permissions as
POST /api/v1/tasks — the intake form under its own rule ("intake.submit": switched on, start writes
only) instead of "process.start"."""
from __future__ import annotations

from sqlalchemy import select

from app import permissions
from app.definitions.definition import start_spec
from app.extensions import db
from app.lookups import find_process
from app.errors import NotFound
from app.models import Event, Field, Process, Task, User, Version
from app.tables import forms
from app.tasks.operations import start_task

NOT_ON_A_FORM = ("file", "json")   # a file needs a Task to belong to; JSON is for integrations


def current_version(process: Process) -> Version | None:
    if not process.current_version:
        return None
    return db.session.scalar(select(Version).where(Version.process_id == process.id,
                                                   Version.number == process.current_version))


def start_fields(process: Process) -> list[Field]:
    """The Fields of the start form, in the Table's order."""
    version = current_version(process)
    if version is None:
        return []
    writes = set(start_spec(version.definition, process.team.name)[1])
    return [f for f in db.session.scalars(select(Field).where(Field.table_id == process.table_id)
                                          .order_by(Field.position, Field.id))
            if f.key in writes and f.type not in NOT_ON_A_FORM]


def startable(user: User) -> list[Process]:
    """Published, live Processes `user` may start Tasks in ("process.start"), by name."""
    q = select(Process).where(Process.archived_at.is_(None), Process.current_version.is_not(None)) \
        .order_by(Process.name)
    return [p for p in db.session.scalars(q) if permissions.allowed(user, "process.start", p)]


def get_process(key: str) -> Process:
    process = find_process(key)
    if process is None or process.archived_at is not None:
        raise NotFound(f'No process "{key}".')
    return process


def read_form(process: Process, form) -> tuple[dict, dict]:
    """(what was typed, the raw values) of a start form: its Fields, plus any other Field of the Table
    the form names (a start may not set it: the permission check refuses it with its name)."""
    table = {f.key: f for f in db.session.scalars(select(Field).where(Field.table_id == process.table_id))}
    keys = [k[2:] for k in form if k.startswith("f_") and k[2:] in table]
    return forms.submitted(form, table, keys)


def start(process: Process, raw: dict, who, actor: str, *, public: bool = False) -> Task:
    """Start a Task in `process` with a start form's raw values; the form's required Fields must be
    filled. Raises the APIError of start_task (Invalid with per-Field details, Forbidden, NotFound)."""
    required = tuple(f.key for f in start_fields(process) if f.required)
    return start_task({"process": process.key, "values": raw}, who, actor, required=required,
                      via="intake.submit" if public else None)[0]


def set_intake(process: Process, on: bool, user: User, actor: str) -> None:
    """Switch the public intake form on or off (admins: "process.intake"), with an Event saying who."""
    permissions.check(user, "process.intake", process)
    if process.intake_enabled != on:
        process.intake_enabled = on
        db.session.add(Event(type="process.intake_switched", process_id=process.id, actor=actor, data={"on": on}))
