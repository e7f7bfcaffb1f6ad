"""Who may see and change what: the one place deciding, for a staff user (signed in or through an
API token) or a portal participant, which Tasks, Stage Runs and Fields they may read and write.

Rules (docs/definition.md, PRODUCT.md "What a Stage adds around its step"):

- Admins and designers see every Task and every Field; they may act on any Stage Run.
- Staff and managers see a Stage when its `visibility.internal` lists one of their Teams or their
  role (empty lists = all staff), or when a RAID role of the Stage names them. They see a Task when
  they see at least one Stage of its current Process, and read the union of the `reads` of those
  Stages.
- RAID: Responsible works a Stage Run (claim, complete, pause, …), Approver approves/rejects,
  Informed only sees, Delegator reassigns. Role refs: `user:<email>`, `team:<name>`, `role:<r>`.
  A Stage with no Responsible may be worked by any staff who sees it.
- Writes go through an *open* Stage Run only, limited to that Stage's `writes`.
- Participants (portal) see only their one Task: Stages with external `status` show a status,
  `action` Stages their form (the Stage's writes) and the values of that Stage's reads.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Field, StageRun, Task, Version
from app.models.tasks import OPEN_STATUSES

PRIVILEGED = ("admin", "designer")
ACTIONS_RESPONSIBLE = {"complete", "start", "pause", "resume", "claim", "release", "comment", "write"}
ACTIONS_APPROVER = {"approve", "reject"}


# --- definitions ------------------------------------------------------------------------------

def _definition(version_id: int) -> dict:
    # the runtime's process-wide cache of immutable Version documents
    from app.runtime.shell import _definition as cached

    return cached(version_id)


def definition_of(obj) -> dict:
    return _definition(obj.version_id)


def stage_for(run: StageRun) -> dict:
    return next(s for s in definition_of(run)["stages"] if s["key"] == run.stage_key)


def _stages(task: Task) -> list[dict]:
    return definition_of(task)["stages"]


def all_field_keys(table_id: int) -> set[str]:
    return set(db.session.scalars(select(Field.key).where(Field.table_id == table_id)))


# --- who is who -------------------------------------------------------------------------------

def is_privileged(user) -> bool:
    return getattr(user, "role", None) in PRIVILEGED


def refs_of(user) -> set[str]:
    """The role refs that name a staff user."""
    refs = {f"user:{user.email.lower()}", f"role:{user.role}"}
    refs.update(f"team:{t.name}" for t in user.teams)
    return refs


def matches(user, refs) -> bool:
    mine = refs_of(user)
    return any(r in mine or (r.startswith("user:") and r.lower() in mine) for r in refs or ())


def roles_in(user, stage: dict) -> set[str]:
    """RAID roles of `user` on a Stage: responsible / approver / informed / delegator."""
    roles = stage.get("roles") or {}
    found = {name for name in ("responsible", "approver", "informed", "delegator") if matches(user, roles.get(name))}
    if matches(user, approver_refs(stage)):
        found.add("approver")
    if not [r for r in roles.get("responsible") or [] if r != "automation"] and stage_visible(user, stage):
        found.add("responsible")  # nobody named: any staff who sees it may work it
    return found


def approver_refs(stage: dict) -> list[str]:
    refs = list((stage.get("roles") or {}).get("approver") or [])
    refs += list((stage.get("approval") or {}).get("approvers") or [])
    gate = stage.get("gate") or {}
    if gate.get("type") == "approval":
        refs += list(gate.get("approvers") or [])
    return refs


def stage_visible(user, stage: dict) -> bool:
    """May this staff user see this Stage (its runs, thread, reads)?"""
    if is_privileged(user):
        return True
    internal = (stage.get("visibility") or {}).get("internal") or {}
    teams, roles = internal.get("teams") or [], internal.get("roles") or []
    if not teams and not roles:
        return True
    if user.role in roles or any(t.name in teams for t in user.teams):
        return True
    raid = stage.get("roles") or {}
    return any(matches(user, raid.get(k)) for k in ("responsible", "approver", "informed", "delegator")) \
        or matches(user, approver_refs(stage))


# --- Tasks and Fields for staff -----------------------------------------------------------------

def can_see_task(user, task: Task) -> bool:
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    return is_privileged(user) or any(stage_visible(user, s) for s in _stages(task))


def can_see_process(user, process) -> bool:
    """May a staff user see a Process's lane (its live `process:<id>` room of Task ids and statuses)?
    Admins and designers always; others when they see a Stage of one of its Versions, the rule that
    makes its Tasks visible to them (`can_see_task`)."""
    if user is None or not getattr(user, "is_authenticated", True):
        return False
    if is_privileged(user):
        return True
    version_ids = db.session.scalars(select(Version.id).where(Version.process_id == process.id))
    return any(stage_visible(user, s) for vid in version_ids for s in _definition(vid)["stages"])


def visible_version_ids(user) -> set[int] | None:
    """Versions whose Tasks the user may see; None = all (privileged)."""
    if is_privileged(user):
        return None
    ids = set()
    for vid in db.session.scalars(select(Version.id)):
        if any(stage_visible(user, s) for s in _definition(vid)["stages"]):
            ids.add(vid)
    return ids


def visible_fields(user, task: Task) -> set[str]:
    """Field keys the user may read on this Task: union of reads of the Stages they see."""
    if not can_see_task(user, task):
        return set()
    if is_privileged(user):
        return all_field_keys(task.table_id)
    keys: set[str] = set()
    for s in _stages(task):
        if stage_visible(user, s):
            keys.update(s.get("reads") or [])
    return keys


def filter_values(values: dict | None, keys: set[str]) -> dict:
    return {k: v for k, v in (values or {}).items() if k in keys}


def current_runs(task: Task) -> list[StageRun]:
    from app.runtime.shell import open_visit

    visit = open_visit(task)
    if visit is None:
        return []
    return list(db.session.scalars(select(StageRun).where(StageRun.visit_id == visit.id).order_by(StageRun.id)))


def visible_runs(user, task: Task) -> list[StageRun]:
    runs = db.session.scalars(select(StageRun).where(StageRun.task_id == task.id).order_by(StageRun.id)).all()
    out = []
    for run in runs:
        try:
            if stage_visible(user, stage_for(run)):
                out.append(run)
        except StopIteration:
            continue
    return out


def writable_fields(actor, run: StageRun) -> set[str]:
    """Fields `actor` (User or Participant) may write through this Stage Run right now."""
    if run.status not in OPEN_STATUSES or run.task.status != "running":
        return set()
    stage = stage_for(run)
    writes = set(stage.get("writes") or [])
    from app.models.portal import Participant

    if isinstance(actor, Participant):
        ext = (stage.get("visibility") or {}).get("external", "none")
        return writes if ext == "action" and run.status not in ("blocked", "gated", "awaiting_approval") else set()
    if is_privileged(actor) or "responsible" in roles_in(actor, stage):
        return writes
    return set()


def task_writable_fields(user, task: Task) -> set[str]:
    """Fields the user may write on the Task through any open Stage Run of its current Process."""
    keys: set[str] = set()
    if task.status != "running" or not can_see_task(user, task):
        return keys
    for run in current_runs(task):
        keys |= writable_fields(user, run)
    return keys


def can_act(user, run: StageRun, action: str) -> bool:
    """May a staff user perform `action` on a Stage Run?"""
    try:
        stage = stage_for(run)
    except StopIteration:
        return False
    if not stage_visible(user, stage):
        return False
    if is_privileged(user):
        return True
    roles = roles_in(user, stage)
    if action in ACTIONS_APPROVER:
        return "approver" in roles
    if action == "reassign":
        return "delegator" in roles or user.role == "manager"
    if action == "advance":
        return bool(roles & {"responsible", "approver"})
    if action in ("retry", "move"):
        return "responsible" in roles or user.role == "manager"
    if action in ACTIONS_RESPONSIBLE:
        return "responsible" in roles or "delegator" in roles and action in ("claim", "release")
    if action == "view":
        return True
    return False


_INDEX: dict[int, tuple[dict, dict]] = {}


def stage_index(version_id: int) -> dict[str, dict]:
    """Per Version, stage_key -> {stage, responsible refs, approver refs}; rebuilt whenever the
    runtime's definition cache hands out a different document (e.g. after its cache_clear)."""
    definition = _definition(version_id)
    cached = _INDEX.get(version_id)
    if cached is not None and cached[0] is definition:
        return cached[1]
    index = {s["key"]: {"stage": s, "responsible": tuple((s.get("roles") or {}).get("responsible") or ()),
                        "approver": tuple(approver_refs(s))} for s in definition["stages"]}
    _INDEX[version_id] = (definition, index)
    return index


def queue_condition(user):
    """SQL condition on StageRun selecting the runs of `user`'s queue ("My work"), the same rule as
    `queue_roles` + `stage_visible`: on a Stage they see, runs they are Responsible for (named, via a
    Team or role) or have claimed, except while awaiting approval; runs awaiting approval when they
    are an Approver. Role refs are matched once per (Version, Stage), never per run."""
    from sqlalchemy import and_, false, or_

    visible: dict[int, list[str]] = {}
    responsible: dict[int, list[str]] = {}
    approver: dict[int, list[str]] = {}
    for vid in db.session.scalars(select(Version.id)):
        for key, info in stage_index(vid).items():
            if not stage_visible(user, info["stage"]):
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


# --- participants -------------------------------------------------------------------------------

@dataclass
class PortalStage:
    run: StageRun
    stage: dict
    mode: str                 # "status" or "action"
    reads: set[str]
    writes: set[str]
    can_approve: bool


def participant_stages(participant, task: Task) -> list[PortalStage]:
    """What a participant sees of their Task: external Stages of the current Process, newest run each."""
    latest: dict[str, StageRun] = {}
    for run in current_runs(task):
        latest[run.stage_key] = run
    out = []
    for stage in _stages(task):
        ext = (stage.get("visibility") or {}).get("external", "none")
        run = latest.get(stage["key"])
        if ext == "none" or run is None or run.status == "skipped":
            continue
        ref = f"user:{participant.email.lower()}"
        approver = run.status == "awaiting_approval" and ref in [r.lower() for r in approver_refs(stage)]
        mode = "action" if ext == "action" else "status"
        out.append(PortalStage(run, stage, mode, set(stage.get("reads") or []) if mode == "action" else set(),
                               writable_fields(participant, run), approver))
    return out


def participant_fields(participant, task: Task) -> set[str]:
    keys: set[str] = set()
    for ps in participant_stages(participant, task):
        keys |= ps.reads
    return keys


def participant_view(link) -> dict:
    """The portal's whole view of a link's Task: status Stages, action Stages, readable values."""
    task = link.task
    stages = participant_stages(link.participant, task)
    return {"task": task, "stages": stages,
            "values": filter_values(task.values, participant_fields(link.participant, task))}
