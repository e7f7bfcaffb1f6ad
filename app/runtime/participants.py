"""A participant's part in the engine: staff invited one (the open Stage Runs whose type waits for a
participant now wait on them), or their answer came (back to in progress). Both lock the Task and
apply through a Transition, like every other change."""
from __future__ import annotations

from app import stages
from app.extensions import db
from app.models import StageRun
from app.runtime.context import stage_of
from app.runtime.shell import Transition, lock_task


_TO_WAITING = {"pending": ("started", "in_progress", "waiting_on_participant"),
               "started": ("in_progress", "waiting_on_participant"),
               "in_progress": ("waiting_on_participant",)}


def wait_on_participant(task_id: int, actor: str, *, participant_id: int | None = None) -> list[StageRun]:
    """A participant was invited: the open Stage Runs of the current Process that are ready or being
    worked (pending / started / in progress) and whose type waits for a participant now wait on them."""
    t = Transition(lock_task(task_id), actor=actor)
    changed = []
    for run in list(t.runs.values()):
        path = _TO_WAITING.get(run.status)
        if not path:
            continue
        try:
            stage = stage_of(t.definition, run.stage_key)
        except StopIteration:
            continue
        type_ = stages.get(stage["type"])
        if type_ is None or not type_.waits_for_participant(stage):
            continue
        for status in path:
            t.set_status(run, status, reason="participant invited", participant=participant_id)
        changed.append(run)
    t.finish()
    return changed


def resume_from_participant(run_id: int, actor: str) -> StageRun | None:
    """Back to work (in progress) for a run that waited on the participant: their submission, or
    staff completing it in their place. No-op for a run in any other status."""
    run = db.session.get(StageRun, run_id)
    if run is None or run.status != "waiting_on_participant":
        return run
    t = Transition(lock_task(run.task_id), actor=actor)
    run = t.runs.get(run_id)
    if run is not None and run.status == "waiting_on_participant":
        t.set_status(run, "in_progress", reason="participant answered" if actor.startswith("participant:")
                     else "resumed by staff")
        t.finish()
    return run
