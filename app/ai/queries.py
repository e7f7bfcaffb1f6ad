"""What staff read of an AI Prompt Stage Run: its proposal, its model calls (prompt, answer, tokens,
time) and their totals — only for those app.permissions allows (`run.view_ai`)."""
from __future__ import annotations

from sqlalchemy import select

from app import lookups, permissions
from app.extensions import db
from app.models import ModelCall, StageRun


def calls_of(run_id: int) -> list[ModelCall]:
    return list(db.session.scalars(select(ModelCall).where(ModelCall.stage_run_id == run_id).order_by(ModelCall.id)))


def totals(calls: list[ModelCall]) -> dict:
    return {"calls": len(calls), "prompt_tokens": sum(c.prompt_tokens for c in calls),
            "completion_tokens": sum(c.completion_tokens for c in calls),
            "duration_ms": round(sum(c.duration_ms for c in calls), 1)}


def record(run: StageRun) -> dict:
    calls = calls_of(run.id)
    return {"run": run.id, "status": run.status, "proposal": (run.data or {}).get("proposal"),
            "totals": totals(calls), "calls": calls}


def run_record(run_id: int, user) -> dict:
    """The AI record of a run `user` may read (404 invisible, 403 not theirs to read)."""
    run = lookups.get_run(run_id)
    permissions.check(user, "run.view_ai", run)
    return record(run)


def visible_record(user, run: StageRun) -> dict | None:
    """For the Task page: the record, or None when `user` may not read it."""
    return record(run) if permissions.allowed(user, "run.view_ai", run) else None
