"""Which Tasks, Stage Runs and Fields a staff user may see and write, and the SQL of their queue.

- Admins, and designers of the owning Team ("privileged" on that Process), see every Task and
  every Field of it and may act on every Stage Run of it.
- Everyone else (staff, managers, designers of other Teams) sees a Stage when its
  `visibility.internal` lists one of their Teams or their role (empty lists = all staff), or when a
  RAID role of the Stage names them. They see a Task when they see at least one Stage of its
  current Process, and read the union of the `reads` of those Stages.
- Writes go through an *open* Stage Run only, limited to that Stage's `writes`.
"""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import StageRun, Task
from app.vocab.statuses import OPEN as OPEN_STATUSES
from app.permissions.refs import (all_field_keys, definition, approver_refs, definition_of, is_admin, is_participant,
                                  is_staff, matches, privileged_for, roles_in, stage_for, stage_visible, team_of,
                                  version_teams)
from app.runtime.shell import open_visit
from app.vocab.statuses import TaskStatus
from app.models.portal import Participant
from sqlalchemy import and_, false, or_


def _stages(task: Task) -> list[dict]:
    return definition_of(task)["stages"]


def can_see_task(user, task: Task) -> bool:
    if not is_staff(user):
        return False
    team = team_of(task)
    return privileged_for(user, team) or any(stage_visible(user, s, team) for s in _stages(task))


def visible_version_ids(user) -> set[int] | None:
    """Versions whose Tasks the user may see; None = all (admins)."""
    if is_admin(user):
        return None
    if not is_staff(user):
        return set()
    ids = set()
    for vid, team in version_teams().items():
        if privileged_for(user, team) or any(stage_visible(user, s, team) for s in definition(vid)["stages"]):
            ids.add(vid)
    return ids


def visible_fields(user, task: Task) -> set[str]:
    """Field keys the user may read on this Task: union of reads of the Stages they see."""
    if not can_see_task(user, task):
        return set()
    return version_reads(user, task.version_id, team_of(task), task.table_id)


def version_reads(user, version_id: int, team_id: int | None, table_id: int) -> set[str]:
    """Field keys `user` reads on a Task of this Version they may see (the board asks once per
    Version instead of once per Task): every Field when privileged, else the reads of the Stages they see."""
    if privileged_for(user, team_id):
        return all_field_keys(table_id)
    keys: set[str] = set()
    for s in definition(version_id)["stages"]:
        if stage_visible(user, s, team_id):
            keys.update(s.get("reads") or [])
    return keys


def filter_values(values: dict | None, keys: set[str]) -> dict:
    return {k: v for k, v in (values or {}).items() if k in keys}


def current_runs(task: Task) -> list[StageRun]:
    visit = open_visit(task)
    if visit is None:
        return []
    return list(db.session.scalars(select(StageRun).where(StageRun.visit_id == visit.id).order_by(StageRun.id)))


def visible_runs(user, task: Task) -> list[StageRun]:
    runs = db.session.scalars(select(StageRun).where(StageRun.task_id == task.id).order_by(StageRun.id)).all()
    out = []
    for run in runs:
        try:
            if stage_visible(user, stage_for(run), team_of(run)):
                out.append(run)
        except StopIteration:
            continue
    return out


def writable_fields(actor, run: StageRun) -> set[str]:
    """Fields `actor` (a User, or a Participant / their magic link) may write through this Stage
    Run right now."""

    if run.status not in OPEN_STATUSES or run.task.status != TaskStatus.running:
        return set()
    stage = stage_for(run)
    writes = set(stage.get("writes") or [])
    if isinstance(actor, Participant) or is_participant(actor):
        ext = (stage.get("visibility") or {}).get("external", "none")
        return writes if ext == "action" and run.status not in ("blocked", "gated", "awaiting_approval") else set()
    team = team_of(run)
    if not stage_visible(actor, stage, team):
        return set()
    if privileged_for(actor, team) or "responsible" in roles_in(actor, stage, team, run):
        return writes
    return set()


def task_writable_fields(user, task: Task) -> set[str]:
    """Fields the user may write on the Task through any open Stage Run of its current Process."""
    keys: set[str] = set()
    if task.status != TaskStatus.running or not can_see_task(user, task):
        return keys
    for run in current_runs(task):
        keys |= writable_fields(user, run)
    return keys


# --- the queue ("My work") ---------------------------------------------------------------------------

_INDEX: dict[int, tuple[dict, dict]] = {}


def stage_index(version_id: int) -> dict[str, dict]:
    """Per Version, stage_key -> {stage, responsible refs, approver refs}; rebuilt whenever the
    runtime's definition cache hands out a different document (e.g. after its cache_clear)."""
    document = definition(version_id)
    cached = _INDEX.get(version_id)
    if cached is not None and cached[0] is document:
        return cached[1]
    index = {s["key"]: {"stage": s, "responsible": tuple((s.get("roles") or {}).get("responsible") or ()),
                        "approver": tuple(approver_refs(s))} for s in document["stages"]}
    _INDEX[version_id] = (document, index)
    return index


def queue_condition(user):
    """SQL condition on StageRun selecting the runs of `user`'s queue ("My work"), the same rule as
    `queue_roles` + `stage_visible`: on a Stage they see, runs they are Responsible for (named, via a
    Team or role) or have claimed, except while awaiting approval; runs awaiting approval when they
    are an Approver. Role refs are matched once per (Version, Stage), never per run."""

    visible: dict[int, list[str]] = {}
    responsible: dict[int, list[str]] = {}
    approver: dict[int, list[str]] = {}
    for vid, team in version_teams().items():
        for key, info in stage_index(vid).items():
            if not stage_visible(user, info["stage"], team):
                continue
            visible.setdefault(vid, []).append(key)
            if matches(user, info["responsible"]):
                responsible.setdefault(vid, []).append(key)
            if matches(user, info["approver"]):
                approver.setdefault(vid, []).append(key)

    def pairs(by_version: dict[int, list[str]]):
        if not by_version:
            return false()
        return or_(*[and_(StageRun.version_id == vid, StageRun.stage_key.in_(keys))
                     for vid, keys in sorted(by_version.items())])

    return or_(
        and_(StageRun.status != "awaiting_approval",
             or_(pairs(responsible), and_(StageRun.claimed_by_id == user.id, pairs(visible)))),
        and_(StageRun.status == "awaiting_approval", pairs(approver)))


def queue_roles(user, run: StageRun) -> set[str]:
    """Why a run is in a user's queue: responsible / approver named directly or via team/role."""
    stage = stage_for(run)
    roles = stage.get("roles") or {}
    found = set()
    if matches(user, roles.get("responsible")) or run.claimed_by_id == user.id:
        found.add("responsible")
    if run.status == "awaiting_approval" or stage.get("approval") or (stage.get("gate") or {}).get("type") == "approval":
        if matches(user, approver_refs(stage)):
            found.add("approver")
    return found

