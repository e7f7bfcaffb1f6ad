"""Create and edit Tables and their Fields. Operations flush; the request commits.

Each change asks app.permissions ("table.create", "table.edit"): a Table belongs to a Team whose
designers (and admins) change it; `user` None is the system (demo, import of a whole Process)."""
from __future__ import annotations

from sqlalchemy import func, select

from app import permissions
from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import Event, Field, Table, Task, Team
from app import lookups


get_table = lookups.get_table


UNIT_MAX = 16


def _check_options(type_: str, options: dict, path: str) -> None:
    if type_ == "choice":
        errors = choice_option_errors(options)
        if errors:
            raise Invalid("A choice field needs a non-empty list of choices.",
                          {f"{path}options.{k}": v for k, v in errors.items()})
    unit = options.get("unit")
    if unit is not None and (type_ != "number" or not isinstance(unit, str) or len(unit) > UNIT_MAX):
        raise Invalid(f"A unit is words of at most {UNIT_MAX} characters, for a number field.",
                      {f"{path}options.unit": [f"a text of at most {UNIT_MAX} characters, on a number field only"]})
    multiline = options.get("multiline")
    if multiline is not None and (type_ != "text" or not isinstance(multiline, bool)):
        raise Invalid("Several lines is a yes/no option of a text field.",
                      {f"{path}options.multiline": ["true or false, on a text field only"]})


def _strings(x) -> bool:
    return isinstance(x, list) and all(isinstance(c, str) and c.strip() for c in x)


def choice_option_errors(options: dict) -> dict[str, list[str]]:
    """The options of a choice Field: `choices` (the values offered, in order), `labels` (value → the
    words people see; default the value), `retired` (values no longer offered; Tasks keep them)."""
    choices, labels, retired = options.get("choices"), options.get("labels", {}), options.get("retired", [])
    errors: dict[str, list[str]] = {}
    if not _strings(choices) or not choices:
        errors["choices"] = ["must be a non-empty list of strings (type at least one option)"]
    elif len(set(choices)) != len(choices):
        errors["choices"] = ["two options have the same value"]
    if not _strings(retired):
        errors["retired"] = ["must be a list of strings"]
    elif _strings(choices) and set(retired) & set(choices):
        errors["retired"] = ["an option cannot be offered and retired at once"]
    if not isinstance(labels, dict) or not all(isinstance(v, str) and v.strip() for v in labels.values()):
        errors["labels"] = ["must map each option to a non-empty label"]
    elif _strings(choices) and _strings(retired) and set(labels) - set(choices) - set(retired):
        errors["labels"] = [f'no option "{k}"' for k in sorted(set(labels) - set(choices) - set(retired))]
    return errors


def option_usage(table: Table, key: str) -> dict[str, int]:
    """How many Tasks of the Table hold each value of a Field (retiring an option warns with it)."""
    get_field(table, key)
    value = Task.values[key].as_string()
    rows = db.session.execute(select(value, func.count()).where(Task.table_id == table.id, value.is_not(None))
                              .group_by(value)).all()
    return {v: n for v, n in rows}


def owning_team(name: str | None, user) -> Team | None:
    """The Team a new Table belongs to: the one named, else the creator's only Team (if they have
    exactly one and are not an admin); None = admins only."""
    if name:
        team = db.session.scalar(select(Team).where(Team.name == name))
        if team is None:
            raise Invalid(f'No team "{name}".', {"team": ["no such team"]})
        return team
    if user is not None and not permissions.is_admin(user) and len(user.teams) == 1:
        return user.teams[0]
    if user is not None and not permissions.is_admin(user):
        raise Invalid("Name the team the table belongs to.", {"team": ["required"]})
    return None


def create_table(data: dict, actor: str, user=None) -> Table:
    team = owning_team(data.get("team_name"), user)
    permissions.check(user, "table.create", team)
    if db.session.scalar(select(Table.id).where(Table.key == data["key"])):
        raise Conflict(f'A table "{data["key"]}" already exists.', {"key": ["already exists"]})
    table = Table(key=data["key"], name=data["name"], team_id=team.id if team else None)
    seen = set()
    for i, f in enumerate(data.get("fields", [])):
        if f["key"] in seen:
            raise Invalid("Field keys must be unique.", {f"fields[{i}].key": [f'duplicate "{f["key"]}"']})
        seen.add(f["key"])
        _check_options(f["type"], f["options"], f"fields[{i}].")
        table.fields.append(Field(position=i, **f))
    db.session.add(table)
    db.session.flush()
    db.session.add(Event(type="table.created", actor=actor, data={"table": table.key}))
    return table


def rename_table(table: Table, name: str, actor: str, user=None) -> Table:
    permissions.check(user, "table.edit", table)
    before, table.name = table.name, name
    db.session.add(Event(type="table.renamed", actor=actor, data={"table": table.key, "before": before,
                                                                  "after": name}))
    return table


def add_field(table: Table, data: dict, actor: str, user=None) -> Field:
    permissions.check(user, "table.edit", table)
    if any(f.key == data["key"] for f in table.fields):
        raise Conflict(f'Field "{data["key"]}" already exists.', {"key": ["already exists"]})
    _check_options(data["type"], data["options"], "")
    last = db.session.scalar(select(func.max(Field.position)).where(Field.table_id == table.id))
    position = 0 if last is None else last + 1  # not `last or -1`: position 0 is a real position
    field = Field(table=table, position=position, **data)
    db.session.add(field)
    db.session.flush()
    db.session.add(Event(type="field.added", actor=actor, data={"table": table.key, "field": field.key}))
    return field


def get_field(table: Table, key: str) -> Field:
    for f in table.fields:
        if f.key == key:
            return f
    raise NotFound(f'No field "{key}" in table "{table.key}".')


def update_field(table: Table, key: str, data: dict, actor: str, user=None) -> Field:
    permissions.check(user, "table.edit", table)
    field = get_field(table, key)
    before = {k: getattr(field, k) for k in data}
    type_ = data.get("type", field.type)
    _check_options(type_, data.get("options", field.options or {}), "")
    for k, v in data.items():
        setattr(field, k, v)
    db.session.add(Event(type="field.changed", actor=actor,
                         data={"table": table.key, "field": key, "before": before, "after": data}))
    return field


def delete_field(table: Table, key: str, actor: str, user=None) -> None:
    """Remove a column. Drafts that use it show a validation error until fixed; published
    Versions keep working (their Tasks simply have no value for it)."""
    permissions.check(user, "table.edit", table)
    field = get_field(table, key)
    table.fields.remove(field)
    db.session.add(Event(type="field.deleted", actor=actor, data={"table": table.key, "field": key}))
