"""Rules for uploaded files (app.files): who may upload into a Stage Run's file Field, read a
stored file, and review it.

- file.upload (a StageRun, `field`): the run must be visible (else 404) and its Stage must write the
  Field through this run for the caller right now: the Responsible / privileged staff of an open run,
  or the participant of an external `action` Stage (the same rule as any Field write).
- file.read (a StoredFile): staff who see the Task and read the Field (a `reads` of a Stage they
  see, or the whole Process for its designers and admins), or who may write it through the file's
  own open Stage Run; a participant of the file's Task whose portal shows the Field (an `action`
  Stage reading it) or who may upload into the file's Stage Run. Another Task, another Team, or
  a Field not readable: 404 for what is invisible, 403 when the Task is visible but the Field is not.
- file.review (a StoredFile): staff who may complete the file's Stage Run; never participants."""
from __future__ import annotations

from app.extensions import db
from app.models import StageRun, Task
from app.models.files import StoredFile
from app.models.portal import MagicLink
from app.permissions.decisions import ALLOW, RULES, Decision, forbid, hide, rule
from app.permissions.participants import participant_stages
from app.permissions.refs import is_participant, is_staff
from app.permissions.tasks import can_see_task, visible_fields, writable_fields


def _writes_through(who, run: StageRun, field: str) -> bool:
    actor = who.participant if is_participant(who) else who
    return field in writable_fields(actor, run)


@rule("file.upload")
def upload_rule(who, run: StageRun, *, operation: str, field: str = "") -> Decision:
    seen = RULES["run.view"](who, run, operation="run.view")
    if not seen:
        return seen
    if not _writes_through(who, run, field):
        return forbid("You may not upload files into this step now.",
                      {"field": ["not writable by you through this Stage Run"]})
    return ALLOW


def _participant_reads(link: MagicLink, f: StoredFile) -> Decision:
    if MagicLink.refusal(link) is not None or link.task_id != f.task_id:
        return hide(f"No file {f.id}.")
    for ps in participant_stages(link.participant, link.task):
        if ps.mode == "action" and (f.field_key in ps.reads or (ps.run.id == f.stage_run_id and f.field_key in ps.writes)):
            return ALLOW
    return hide(f"No file {f.id}.")


@rule("file.read")
def read_rule(who, f: StoredFile, *, operation: str) -> Decision:
    if is_participant(who):
        return _participant_reads(who, f)
    task = db.session.get(Task, f.task_id)
    if not is_staff(who) or task is None or not can_see_task(who, task):
        return hide(f"No file {f.id}.")
    if f.field_key in visible_fields(who, task):
        return ALLOW
    run = db.session.get(StageRun, f.stage_run_id) if f.stage_run_id else None
    if run is not None and _writes_through(who, run, f.field_key):
        return ALLOW
    return forbid("You may not read this Field.", {"field": [f.field_key]})


@rule("file.review")
def review_rule(who, f: StoredFile, *, operation: str) -> Decision:
    if is_participant(who):
        return hide(f"No file {f.id}.")
    run = db.session.get(StageRun, f.stage_run_id) if f.stage_run_id else None
    if run is None:
        return hide(f"No file {f.id}.")
    seen = read_rule(who, f, operation="file.read")
    if not seen:
        return seen
    return RULES["run.complete"](who, run, operation="run.complete")
