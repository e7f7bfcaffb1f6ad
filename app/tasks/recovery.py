"""Recovery in bulk: select failed Stage Runs (listed, or by Process and Stage among the Tasks a
user may see) and give each a new attempt, all or nothing."""
from __future__ import annotations

from sqlalchemy import select

from app import permissions
from app.errors import Invalid
from app.extensions import db
from app.lookups import find_process
from app.models import StageRun
from app.tasks import operations
from app.vocab.statuses import StageRunStatus

RETRY_MAX = 5000


def failed_runs(user, *, run_ids: list[int] | None = None, process: str | None = None,
                stage: str | None = None) -> list[int]:
    """The Stage Runs a bulk retry selects: listed ids (each checked when retried), or the failed runs
    of a Process (and Stage) among the Tasks `user` may see."""
    if run_ids:
        return list(dict.fromkeys(run_ids))
    if not process:
        raise Invalid("Select runs by run_ids, or by process (and stage).", {"run_ids": ["select some runs"]})
    proc = find_process(process)
    if proc is None:
        raise Invalid(f'No process "{process}".', {"process": ["no such process"]})
    q = select(StageRun).where(StageRun.process_id == proc.id, StageRun.status == StageRunStatus.failed)
    if stage:
        q = q.where(StageRun.stage_key == stage)
    runs = db.session.scalars(q.order_by(StageRun.id).limit(RETRY_MAX)).all()
    return [r.id for r in runs if permissions.allowed(user, "run.view", r)]


def retry_runs(run_ids: list[int], user, actor: str) -> list[int]:
    """A new attempt for each failed run, all or nothing: one that may not be retried (403/404) or is
    no longer failed (409) retries none."""
    if len(run_ids) > RETRY_MAX:
        raise Invalid(f"At most {RETRY_MAX} runs at a time.", {"run_ids": [f"at most {RETRY_MAX}"]})
    for run_id in run_ids:
        operations.act(run_id, "retry", actor, user=user)    # 404 / 403 / 409 (not failed) abort the whole request
    return run_ids
