"""What a participant (an outsider with a magic link into one Task) sees and may do.

Participants see only their one Task: Stages with external `status` show a status, `action`
Stages their form (the Stage's writes) and the values of that Stage's reads."""
from __future__ import annotations

from dataclasses import dataclass

from app.models import StageRun, Task
from app.permissions.refs import approver_refs, definition_of
from app.permissions.tasks import current_runs, filter_values, writable_fields


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
    for stage in definition_of(task)["stages"]:
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


def portal_stage(link, run: StageRun) -> PortalStage | None:
    """The PortalStage of `run` as the link's participant sees it, or None when they do not."""
    if run.task_id != link.task_id:
        return None
    return next((ps for ps in participant_stages(link.participant, link.task) if ps.run.id == run.id), None)


def participant_fields(participant, task: Task) -> set[str]:
    keys: set[str] = set()
    for ps in participant_stages(participant, task):
        keys |= ps.reads
    return keys


def participant_view(link) -> dict:
    """The portal's whole view of a link's Task: status Stages, action Stages, readable values."""
    task = link.task
    stages = participant_stages(link.participant, task)
    keys: set[str] = set().union(*(ps.reads for ps in stages))   # participant_fields, from the same runs
    return {"task": task, "stages": stages, "values": filter_values(task.values, keys)}
