"""Moving Processes between installs: `flask procly export` / `flask procly import`.

A bundle is one JSON document: `{"format": "procly.bundle/1", "processes": [...], "tasks": {...}}`.
Each entry of `processes` is the per-Process export of app.processes.versioning (key, name, Team,
Table with its Fields, every Version with its content hash, the draft). With Tasks, `tasks` holds
the Tasks now in those Processes with their visits, Stage Runs, SLA timers, threads, comments and
Events, as rows whose references are portable: a Process by key, a Version by (key, number), a user
by email (none where the other install has no such user), a Table by key; rows of the bundle refer
to each other by their ids in the file, renumbered on import. The Splits among those Processes
travel too; stored files (and their bytes), bookings, participants and their magic links do not.

Import is all or nothing: the caller commits only when `import_bundle` returned; any problem (not
JSON, another format, a field missing, a Process key that exists already, an altered Version, a
Route to a Process that is neither in the file nor in this install) raises Invalid / Conflict naming
where, and nothing is written."""
from __future__ import annotations

from datetime import datetime, timezone

from marshmallow import Schema, ValidationError, validate
from sqlalchemy import func, inspect, select

from app import clock, fields
from app.errors import Conflict, Invalid
from app.extensions import db
from app.fields import KEY, NAME
from app.lookups import find_process, find_split
from app.models import (Comment, Draft, Event, Process, Split, SplitVariant, StageRun, StageTimer, Table, Task,
                        TaskVisit, Team, Thread, User, Version)
from app.processes.schemas import ExportSchema
from app.processes.versioning import EMPTY, export_process, get_draft, publish
from app.tables.operations import create_table

FORMAT = "procly.bundle/1"
# (bundle section, model), parents before children: each row's references resolve to rows already written
MODELS = (("tasks", Task), ("visits", TaskVisit), ("runs", StageRun), ("timers", StageTimer),
          ("threads", Thread), ("comments", Comment), ("events", Event))
LOCAL = {"tasks", "task_visits", "stage_runs", "threads"}     # referred to by their id in the file
OPTIONAL = {"splits", "split_variants", "users"}     # none where the other install lacks them


class TaskRowsSchema(Schema):
    tasks = fields.List(fields.Dict(), load_default=list)
    visits = fields.List(fields.Dict(), load_default=list)
    runs = fields.List(fields.Dict(), load_default=list)
    timers = fields.List(fields.Dict(), load_default=list)
    threads = fields.List(fields.Dict(), load_default=list)
    comments = fields.List(fields.Dict(), load_default=list)
    events = fields.List(fields.Dict(), load_default=list)


class VariantRowSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    process = fields.String(required=True, validate=KEY)
    version = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    weight = fields.Integer(required=True, validate=validate.Range(min=0, max=1000))


class SplitRowSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    table = fields.String(required=True, validate=KEY)
    team = fields.String(required=True, validate=NAME)
    variants = fields.List(fields.Nested(VariantRowSchema), required=True, validate=validate.Length(min=1))


class BundleSchema(Schema):
    format = fields.String(required=True, validate=validate.Equal(FORMAT, error=f'must be "{FORMAT}"'))
    exported_at = fields.String(load_default=None, allow_none=True)
    processes = fields.List(fields.Nested(ExportSchema), required=True, validate=validate.Length(min=1))
    splits = fields.List(fields.Nested(SplitRowSchema), load_default=list)
    tasks = fields.Nested(TaskRowsSchema, load_default=None, allow_none=True)


# --- export ----------------------------------------------------------------------------------------

def export_bundle(keys: list[str] | None = None, *, with_tasks: bool = False) -> dict:
    q = select(Process).order_by(Process.key)
    if keys:
        q = q.where(Process.key.in_(keys))
    processes = list(db.session.scalars(q))
    missing = sorted(set(keys or []) - {p.key for p in processes})
    if missing:
        raise Invalid(f"No process {', '.join(missing)}.", {"processes": missing})
    doc = {"format": FORMAT, "exported_at": clock.iso(clock.now()),
           "processes": [export_process(p) for p in processes], "splits": _export_splits({p.key for p in processes})}
    if with_tasks:
        doc["tasks"] = _export_tasks([p.id for p in processes])
    return doc


def _export_splits(keys: set[str]) -> list[dict]:
    """The Splits whose every variant is a Process of the bundle."""
    out = []
    for split in db.session.scalars(select(Split).order_by(Split.key)):
        variants = sorted(split.variants, key=lambda v: v.position)
        if variants and all(v.process.key in keys for v in variants):
            out.append({"key": split.key, "name": split.name, "table": db.session.get(Table, split.table_id).key,
                        "team": db.session.get(Team, split.team_id).name,
                        "variants": [{"key": v.key, "process": v.process.key, "version": v.version, "weight": v.weight}
                                     for v in variants]})
    return out


def _export_tasks(process_ids: list[int]) -> dict:
    task_ids = select(Task.id).where(Task.process_id.in_(process_ids))
    run_ids = select(StageRun.id).where(StageRun.task_id.in_(task_ids))
    thread_ids = select(Thread.id).where(Thread.stage_run_id.in_(run_ids))
    wheres = {"tasks": Task.id.in_(task_ids), "visits": TaskVisit.task_id.in_(task_ids),
              "runs": StageRun.id.in_(run_ids), "timers": StageTimer.stage_run_id.in_(run_ids),
              "threads": Thread.id.in_(thread_ids), "comments": Comment.thread_id.in_(thread_ids),
              "events": Event.task_id.in_(task_ids)}
    refs = _Refs()
    return {name: [_portable(row, refs) for row in db.session.scalars(select(model).where(wheres[name])
                                                                      .order_by(model.id))]
            for name, model in MODELS}


class _Refs:
    """Portable names of the rows outside the bundle's Task rows, cached."""

    def __init__(self):
        self.cache: dict = {}

    def out(self, table: str, value: int):
        key = (table, value)
        if key not in self.cache:
            if table == "processes":
                self.cache[key] = db.session.get(Process, value).key
            elif table == "versions":
                v = db.session.get(Version, value)
                self.cache[key] = [v.process.key, v.number]
            elif table == "users":
                self.cache[key] = db.session.get(User, value).email
            elif table == "tables":
                self.cache[key] = db.session.get(Table, value).key
            elif table == "splits":
                self.cache[key] = db.session.get(Split, value).key
            elif table == "split_variants":
                v = db.session.get(SplitVariant, value)
                self.cache[key] = [v.split.key, v.key]
            else:
                self.cache[key] = None
        return self.cache[key]


def _portable(row, refs: _Refs) -> dict:
    out = {}
    for attr in inspect(type(row)).column_attrs:
        col, value = attr.columns[0], getattr(row, attr.key)
        fk = next(iter(col.foreign_keys), None)
        if fk is not None and value is not None and fk.column.table.name not in LOCAL:
            value = refs.out(fk.column.table.name, value)
        elif isinstance(value, datetime):
            value = clock.iso(value)
        out[attr.key] = value
    return out


# --- import ----------------------------------------------------------------------------------------

def _problems(err: ValidationError) -> list[str]:
    def walk(msgs, prefix=""):
        if isinstance(msgs, dict):
            return [line for k, v in msgs.items()
                    for line in walk(v, f"{prefix}[{k}]" if isinstance(k, int) else f"{prefix}.{k}" if prefix else str(k))]
        if isinstance(msgs, list) and msgs and all(isinstance(m, str) for m in msgs):
            return [f"{prefix}: {' '.join(msgs)}"]
        return [line for i, m in enumerate(msgs) for line in walk(m, f"{prefix}[{i}]")]
    return walk(err.messages)


def import_bundle(doc, *, with_tasks: bool = True) -> dict:
    """Create the bundle's Processes (with their Teams and Tables where missing) and, with
    `with_tasks`, their Tasks. Flushes only; raises Invalid / Conflict before anything is committed."""
    if not isinstance(doc, dict):
        raise Invalid("Not a Procly export: the file holds no JSON object.", {"format": ["missing"]})
    try:
        data = BundleSchema().load(doc)
    except ValidationError as err:
        lines = _problems(err)
        raise Invalid("The file is not a valid Procly export: " + "; ".join(lines[:10]), {"problems": lines}) from None
    keys = [p["process"]["key"] for p in data["processes"]]
    taken = sorted(k for k in keys if find_process(k) is not None)
    dupes = sorted({k for k in keys if keys.count(k) > 1})
    if taken or dupes:
        raise Conflict(f"Process(es) {', '.join(taken or dupes)} "
                       + ("exist already in this install: nothing was imported." if taken else "appear twice in the file."),
                       {"processes": taken or dupes})
    teams = _ensure_teams({p["process"]["team"] for p in data["processes"]} | {s["team"] for s in data["splits"]})
    created = _import_processes(data["processes"])
    splits = _import_splits(data["splits"])
    summary = {"processes": _publish_all(created), "splits": splits, "teams_created": teams, "tasks": 0}
    if with_tasks and data.get("tasks"):
        summary["tasks"] = _import_tasks(data["tasks"])
    db.session.add(Event(type="process.bundle_imported", actor="system:import",
                         data={k: v for k, v in summary.items()}))
    return summary


def _ensure_teams(names: set[str]) -> list[str]:
    created = []
    for name in sorted(names):
        if db.session.scalar(select(Team.id).where(Team.name == name)) is None:
            db.session.add(Team(name=name))
            created.append(name)
    db.session.flush()
    return created


def _import_processes(docs: list[dict]) -> list[tuple]:
    """Every Process row first, each with a draft holding its newest definition (so Routes between
    them, in circles too, find their targets and Stages), then the Splits, then every Version in
    order (same content hashes), then the exported drafts."""
    created = []
    for d in docs:
        meta, tmeta = d["process"], d["table"]
        team = db.session.scalar(select(Team).where(Team.name == meta["team"]))
        table = db.session.scalar(select(Table).where(Table.key == tmeta["key"])) or create_table(
            {"key": tmeta["key"], "name": tmeta["name"], "team_name": team.name, "fields": tmeta["fields"]},
            "system:import")
        process = Process(key=meta["key"], name=meta["name"], description=meta["description"], table_id=table.id,
                          team_id=team.id)
        versions = sorted(d["versions"], key=lambda v: v["number"])
        process.draft = Draft(definition=versions[-1]["definition"] if versions else (d["draft"] or EMPTY), revision=1)
        db.session.add(process)
        created.append((process, versions, d["draft"]))
    db.session.flush()
    return created


def _publish_all(created: list) -> list[str]:
    for process, versions, draft in created:
        for v in versions:
            try:
                version = publish(process, None, v["note"], definition=v["definition"])
            except Invalid as exc:
                errors = [f"{e['path']}: {e['message']}" for e in (exc.details or {}).get("errors", [])
                          if isinstance(e, dict)]
                raise Invalid(f"Process {process.key}, Version {v['number']}: {exc.message} "
                              + "; ".join(errors[:10]), {process.key: exc.details}) from None
            if version.number != v["number"] or version.content_hash != v["content_hash"]:
                raise Invalid(f"Process {process.key}, Version {v['number']}: it does not match its content hash "
                              "(the file was altered) or a Version is missing.",
                              {process.key: [f"Version {v['number']}: content hash mismatch"]})
        if draft is not None:
            get_draft(process).definition = draft
        db.session.add(Event(type="process.imported", process_id=process.id, actor="system:import",
                             data={"versions": len(versions)}))
    return [p.key for p, _, _ in created]


def _import_splits(rows: list[dict]) -> list[str]:
    for i, row in enumerate(rows):
        if find_split(row["key"]) is not None:
            raise Conflict(f'A split "{row["key"]}" exists already in this install.', {f"splits[{i}].key": ["exists"]})
        table = db.session.scalar(select(Table).where(Table.key == row["table"]))
        team = db.session.scalar(select(Team).where(Team.name == row["team"]))
        split = Split(key=row["key"], name=row["name"], table_id=table.id if table else None, team_id=team.id)
        for n, v in enumerate(row["variants"]):
            process = find_process(v["process"])
            if process is None or table is None:
                raise Invalid(f'Split {row["key"]}: variant {v["key"]} names process "{v["process"]}", which is not '
                              "in the file.", {f"splits[{i}].variants[{n}].process": ["unknown"]})
            split.variants.append(SplitVariant(key=v["key"], process_id=process.id, version=v["version"],
                                               weight=v["weight"], position=n))
        db.session.add(split)
    db.session.flush()
    return [r["key"] for r in rows]


def _import_tasks(rows: dict) -> int:
    ids: dict[str, dict] = {t: {} for t in LOCAL}
    cache: dict = {}
    for name, model in MODELS:
        table = model.__tablename__
        for i, row in enumerate(rows.get(name) or []):
            obj = model(**_restore(row, model, ids, cache, f"tasks.{name}[{i}]"))
            db.session.add(obj)
            db.session.flush()
            if table in LOCAL:
                ids[table][row.get("id")] = obj.id
    return len(rows.get("tasks") or [])


def _restore(row: dict, model, ids: dict, cache: dict, at: str) -> dict:
    if not isinstance(row, dict):
        raise Invalid(f"{at}: not an object.", {at: ["not an object"]})
    kwargs = {}
    for attr in inspect(model).column_attrs:
        col = attr.columns[0]
        if col.primary_key or attr.key not in row:
            continue
        value = row[attr.key]
        fk = next(iter(col.foreign_keys), None)
        if fk is not None and value is not None:
            value = _resolve(fk.column.table.name, value, ids, cache, f"{at}.{attr.key}")
        elif value is not None and _is_datetime(col):
            value = _naive_utc(value, f"{at}.{attr.key}")
        kwargs[attr.key] = value
    return kwargs


def _naive_utc(value, at: str) -> datetime:
    """Stored timestamps are naive UTC; the file has RFC 3339 with an offset."""
    try:
        when = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise Invalid(f"{at}: not a date and time.", {at: ["not a date and time"]}) from None
    return when.astimezone(timezone.utc).replace(tzinfo=None) if when.tzinfo else when


def _is_datetime(col) -> bool:
    try:
        return col.type.python_type is datetime
    except NotImplementedError:
        return False


def _resolve(table: str, value, ids: dict, cache: dict, at: str):
    if table in LOCAL:
        if value not in ids[table]:
            raise Invalid(f"{at}: refers to row {value!r} of {table}, which is not in the file before it.",
                          {at: ["unknown reference"]})
        return ids[table][value]
    key = (table, value if not isinstance(value, list) else tuple(value))
    if key not in cache:
        found = None
        if table == "processes":
            found = db.session.scalar(select(Process.id).where(Process.key == value))
        elif table == "versions" and isinstance(value, list) and len(value) == 2:
            found = db.session.scalar(select(Version.id).join(Process).where(Process.key == value[0],
                                                                             Version.number == value[1]))
        elif table == "tables":
            found = db.session.scalar(select(Table.id).where(Table.key == value))
        elif table == "users":
            found = db.session.scalar(select(User.id).where(func.lower(User.email) == str(value).lower()))
        elif table == "splits":
            found = db.session.scalar(select(Split.id).where(Split.key == value))
        elif table == "split_variants" and isinstance(value, list) and len(value) == 2:
            found = db.session.scalar(select(SplitVariant.id).join(Split).where(Split.key == value[0],
                                                                                SplitVariant.key == value[1]))
        if found is None and table in OPTIONAL:
            cache[key] = None
            return None
        if found is None:
            raise Invalid(f"{at}: no {table[:-1]} {value!r} in the file or in this install.", {at: ["unknown"]})
        cache[key] = found
    return cache[key]
