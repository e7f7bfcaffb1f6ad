"""Rules for CSV imports of Tasks.

- Importing into a Process is starting Tasks there: "import.start" asks "process.start" with the
  file's columns as the values (only the Process's start writes may be columns).
- An import (its progress and rejected rows, which quote Field values) is seen by whoever uploaded
  it, admins, and the owning Team's designers and managers; to anyone else it does not exist (404)."""
from __future__ import annotations

from app.models import Process, TaskImport
from app.permissions.decisions import ALLOW, Decision, hide, rule
from app.permissions.objects import process_start
from app.permissions.refs import is_staff, manager_of, privileged_for


@rule("import.start")
def import_start(who, process: Process, *, values: dict | None = None, prefix: str = "", **_) -> Decision:
    return process_start(who, process, values=values, prefix=prefix)


@rule("import.view")
def import_view(who, imp: TaskImport, **_) -> Decision:
    if is_staff(who) and (imp.created_by_id == getattr(who, "id", None) or privileged_for(who, imp.process.team_id)
                          or manager_of(who, imp.process.team_id)):
        return ALLOW
    return hide(f"No import {imp.id}.")
