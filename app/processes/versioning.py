"""Drafts, publishing immutable Versions, diff, rollback, export/import.

Operations flush and write Events; the request (or CLI command) commits once."""
from __future__ import annotations

import copy

from sqlalchemy import func, select

from app import clock, permissions
from app.definitions.definition import content_hash
from app.cel.expressions import FieldInfo
from app.definitions.validation import Context, validate_definition, validate_for_publish
from app.errors import Conflict, Invalid
from app.extensions import db
from app.models import Draft, Event, Process, Split, Table, Team, User, Version
from app import lookups
from app.lookups import find_process
from app.tables.operations import create_table

EMPTY = {"stages": [], "routes": []}


get_process, get_version = lookups.get_process, lookups.get_version


def current_version(process: Process) -> Version | None:
    return get_version(process, process.current_version) if process.current_version else None


def context_for(process: Process) -> Context:
    """What a definition is checked against: the Table's Fields and the other Processes and Splits."""
    fields = {f.key: FieldInfo(f.key, f.type, f.options or {}) for f in process.table.fields}
    others: dict[str, frozenset[str]] = {}
    rows = db.session.execute(
        select(Process.key, Process.id, Process.current_version, Process.table_id).where(Process.id != process.id)
    ).all()
    published = {
        pid: defn for pid, defn in db.session.execute(
            select(Version.process_id, Version.definition).join(Process, Process.id == Version.process_id)
            .where(Version.number == Process.current_version, Process.id != process.id)
        ).all()
    }
    drafts = dict(db.session.execute(select(Draft.process_id, Draft.definition)).all())
    for key, pid, _, _ in rows:
        defn = published.get(pid) or drafts.get(pid) or EMPTY
        others[key] = frozenset(s.get("key") for s in defn.get("stages", []) if isinstance(s, dict))
    split_rows = db.session.execute(select(Split.key, Split.table_id)).all()
    # a Route moves the Task itself: its target must work on the same Table
    other_table = frozenset([key for key, _, _, table in rows if table != process.table_id]
                            + [key for key, table in split_rows if table != process.table_id])
    return Context(fields=fields, process_key=process.key, processes=others,
                   splits=frozenset(key for key, _ in split_rows), other_table=other_table)


def error_list(errors) -> list[dict]:
    return [{"path": e.path, "message": e.message} for e in errors]


def peek_draft(process: Process) -> Draft:
    """The draft to show, without writing one: a Process that has none yet shows its current Version
    (or an empty document) as revision 1, which `get_draft` creates on the first save."""
    if process.draft is not None:
        return process.draft
    base = current_version(process)
    return Draft(definition=copy.deepcopy(base.definition) if base else dict(EMPTY), revision=1,
                 updated_at=clock.now())


def get_draft(process: Process) -> Draft:
    if process.draft is None:
        base = current_version(process)
        process.draft = Draft(definition=copy.deepcopy(base.definition) if base else dict(EMPTY), revision=1)
        db.session.flush()
    return process.draft


def save_draft(process: Process, definition: dict, revision: int, user: User | None) -> tuple[Draft, list]:
    """Save any number of times; a save based on a stale revision is refused (no silent overwrite).
    The draft is kept even when invalid, so no work is lost; its errors are returned."""
    permissions.check(user, "process.design", process)
    draft = get_draft(process)
    if revision != draft.revision:
        who = draft.updated_by.name if draft.updated_by else "someone"
        raise Conflict(f"The draft was changed by {who} (revision {draft.revision}); reload or compare.",
                       {"revision": draft.revision, "updated_by": who,
                        "updated_at": clock.iso(draft.updated_at)}, code="stale_draft")
    _, errors = validate_definition(definition, context_for(process))
    too_complex = [e for e in errors if e.too_complex]
    if too_complex:
        raise Invalid(f"Not saved: {too_complex[0]}.", {"errors": error_list(too_complex)},
                      code="expression_too_complex")
    draft.definition = definition
    draft.revision += 1
    draft.updated_by = user  # the relationship, not just the id: the response names the new editor
    draft.updated_at = clock.now()
    db.session.flush()
    return draft, errors


def publish(process: Process, user: User | None, note: str, definition: dict | None = None) -> Version:
    """Validate the draft and freeze it as Version N+1. Touches no other Process."""
    permissions.check(user, "process.design", process)
    doc = definition if definition is not None else get_draft(process).definition
    normalized, errors = validate_for_publish(doc, context_for(process))
    if errors:
        raise Invalid(f"The definition has {len(errors)} error(s); nothing was published.",
                      {"errors": error_list(errors)}, code="invalid_definition")
    number = (db.session.scalar(select(func.max(Version.number)).where(Version.process_id == process.id)) or 0) + 1
    version = Version(process_id=process.id, number=number, definition=normalized,
                      content_hash=content_hash(normalized), author_id=user.id if user else None,
                      note=note, published_at=clock.now())
    db.session.add(version)
    process.current_version = number
    draft = get_draft(process)
    draft.definition = copy.deepcopy(normalized)
    draft.revision += 1
    db.session.flush()
    db.session.add(Event(type="process.published", process_id=process.id,
                         actor=f"user:{user.id}" if user else "system",
                         data={"version": number, "content_hash": version.content_hash, "note": note}))
    return version


def rollback(process: Process, number: int, user: User | None, note: str) -> Version:
    """Publish a copy of an earlier Version as the newest one."""
    old = get_version(process, number)
    return publish(process, user, note or f"Roll back to Version {number}", definition=copy.deepcopy(old.definition))


def _by_key(items: list) -> dict:
    return {i.get("key"): (pos, i) for pos, i in enumerate(items) if isinstance(i, dict)}


def _diff_items(old: list, new: list) -> dict:
    a, b = _by_key(old), _by_key(new)
    changed = {}
    for key in a.keys() & b.keys():
        (pa, ia), (pb, ib) = a[key], b[key]
        keys = sorted(k for k in ia.keys() | ib.keys() if ia.get(k) != ib.get(k))
        if pa != pb:
            keys.append("position")
        if keys:
            changed[key] = keys
    order = [i.get("key") for i in new if isinstance(i, dict)]
    return {
        "added": [k for k in order if k not in a],
        "removed": [i.get("key") for i in old if isinstance(i, dict) and i.get("key") not in b],
        "changed": {k: changed[k] for k in sorted(changed, key=lambda k: order.index(k))},
    }


def diff(old: dict, new: dict) -> dict:
    """Structured diff: Stages and Routes added / removed / changed (with the changed keys)."""
    return {"stages": _diff_items(old.get("stages", []), new.get("stages", [])),
            "routes": _diff_items(old.get("routes", []), new.get("routes", []))}


EXPORT_FORMAT = "procly.process/1"


def export_process(process: Process) -> dict:
    versions = db.session.scalars(select(Version).where(Version.process_id == process.id)
                                  .order_by(Version.number)).all()
    return {
        "format": EXPORT_FORMAT,
        "process": {"key": process.key, "name": process.name, "description": process.description,
                    "team": process.team.name},
        "table": {"key": process.table.key, "name": process.table.name,
                  "fields": [{"key": f.key, "name": f.name, "type": f.type, "required": f.required,
                              "options": f.options or {}} for f in process.table.fields]},
        "versions": [{"number": v.number, "note": v.note, "content_hash": v.content_hash,
                      "published_at": clock.iso(v.published_at), "definition": v.definition} for v in versions],
        "draft": process.draft.definition if process.draft else None,
    }


def import_process(doc: dict, user: User | None, *, key: str | None = None, team: str | None = None) -> Process:
    """Create a Process from an export: same Versions (same content hashes), same draft."""
    if not isinstance(doc, dict) or doc.get("format") != EXPORT_FORMAT:
        raise Invalid(f'Not a Procly process export (expected "format": "{EXPORT_FORMAT}").', {"format": ["unknown"]})
    meta, tmeta = doc.get("process") or {}, doc.get("table") or {}
    key = key or meta.get("key")
    if not key or find_process(key) is not None:
        raise Conflict(f'A process "{key}" already exists; import it under another key.', {"key": ["already exists"]})
    team_row = db.session.scalar(select(Team).where(Team.name == (team or meta.get("team"))))
    if team_row is None:
        raise Invalid(f'No team "{team or meta.get("team")}".', {"team": ["no such team"]})
    table = db.session.scalar(select(Table).where(Table.key == tmeta.get("key")))
    if table is None:

        table = create_table({"key": tmeta.get("key"), "name": tmeta.get("name") or tmeta.get("key"),
                              "team_name": team_row.name, "fields": tmeta.get("fields", [])},
                             f"user:{user.id}" if user else "system", user)
    process = Process(key=key, name=meta.get("name") or key, description=meta.get("description", ""),
                      table_id=table.id, team_id=team_row.id)
    db.session.add(process)
    db.session.flush()
    for v in sorted(doc.get("versions") or [], key=lambda v: v.get("number", 0)):
        version = publish(process, user, v.get("note", ""), definition=v.get("definition") or {})
        if v.get("content_hash") and version.content_hash != v["content_hash"]:
            raise Invalid("An exported Version does not match its content hash; the file was altered.",
                          {"versions": [f"Version {v.get('number')}: content hash mismatch"]})
    if doc.get("draft") is not None:
        get_draft(process).definition = doc["draft"]
    db.session.add(Event(type="process.imported", process_id=process.id,
                         actor=f"user:{user.id}" if user else "system", data={"versions": len(doc.get("versions") or [])}))
    return process
