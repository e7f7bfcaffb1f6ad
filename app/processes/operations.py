"""Create, change, duplicate and archive Processes."""
from __future__ import annotations

import copy

from sqlalchemy import select

from app import clock, permissions
from app.processes import retention
from app.processes.versioning import EMPTY, get_draft
from app.errors import Conflict, Invalid
from app.extensions import db
from app.models import Draft, Event, Process, Table, Team, User
from app.lookups import find_process


def _team(name: str, user: User) -> Team:
    team = db.session.scalar(select(Team).where(Team.name == name))
    if team is None:
        raise Invalid(f'No team "{name}".', {"team": ["no such team"]})
    permissions.check(user, "process.create", team)
    return team


def _unique_key(key: str) -> None:
    if find_process(key) is not None:
        raise Conflict(f'A process "{key}" already exists.', {"key": ["already exists"]})


def create_process(data: dict, user: User) -> Process:
    _unique_key(data["key"])
    table = db.session.scalar(select(Table).where(Table.key == data["table"]))
    if table is None:
        raise Invalid(f'No table "{data["table"]}".', {"table": ["no such table"]})
    team = _team(data["team"], user)
    process = Process(key=data["key"], name=data["name"], description=data["description"],
                      table_id=table.id, team_id=team.id)
    process.draft = Draft(definition=dict(EMPTY), revision=1, updated_by_id=user.id)
    db.session.add(process)
    db.session.flush()
    db.session.add(Event(type="process.created", process_id=process.id, actor=f"user:{user.id}",
                         data={"key": process.key}))
    return process


def update_process(process: Process, data: dict, user: User) -> Process:
    permissions.check(user, "process.design", process)
    if "team" in data:
        process.team_id = _team(data.pop("team"), user).id
    if "retention_days" in data or "retention_action" in data:
        data["retention_days"], data["retention_action"] = retention.validate(
            data.get("retention_days", process.retention_days), data.get("retention_action", process.retention_action))
    for k, v in data.items():
        setattr(process, k, v)
    db.session.add(Event(type="process.changed", process_id=process.id, actor=f"user:{user.id}", data=data))
    return process


def duplicate_process(process: Process, key: str, name: str, user: User) -> Process:
    """A new Process whose draft is a copy of this one's draft (not its Versions)."""
    permissions.check(user, "process.design", process)
    _unique_key(key)
    copy_ = Process(key=key, name=name, description=process.description, table_id=process.table_id,
                    team_id=process.team_id)
    copy_.draft = Draft(definition=copy.deepcopy(get_draft(process).definition), revision=1, updated_by_id=user.id)
    db.session.add(copy_)
    db.session.flush()
    db.session.add(Event(type="process.duplicated", process_id=copy_.id, actor=f"user:{user.id}",
                         data={"from": process.key}))
    return copy_


def set_archived(process: Process, archived: bool, user: User) -> Process:
    permissions.check(user, "process.design", process)
    process.archived_at = clock.now() if archived else None
    db.session.add(Event(type="process.archived" if archived else "process.restored", process_id=process.id,
                         actor=f"user:{user.id}"))
    return process
