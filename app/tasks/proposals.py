"""Proposed values of a Stage Run (an AI Prompt's answer, `Performed(proposed=True)`): held on the run
(`run.data["proposal"]`) while it awaits approval; the approver's decision settles them. Accepting
writes them — with the approver's edits, checked against the Stage's `writes` and the Fields' types
like any input — in the same transaction as the approval; rejecting discards them: nothing of the
proposal is ever written."""
from __future__ import annotations

from sqlalchemy import select

from app.errors import Forbidden, Invalid
from app.extensions import db
from app.models import Field, StageRun
from app.runtime.shell import Transition
from app.tables.values import validate_values


def pending(run: StageRun) -> dict | None:
    """The run's proposal while it waits for a decision (None otherwise)."""
    proposal = (run.data or {}).get("proposal")
    return proposal if proposal and proposal.get("status") == "pending" else None


def settle(t: Transition, run: StageRun, stage: dict, approved: bool, edits: dict | None) -> dict:
    """Accept (with `edits`) or reject the run's pending proposal; returns what was written."""
    proposal = pending(run)
    if proposal is None:
        if edits:
            raise Invalid("This Stage Run has no proposed values to edit.", {"values": ["nothing is proposed here"]})
        return {}
    if not approved:
        if edits:
            raise Invalid("Rejecting a proposal takes no values.", {"values": ["give no values to reject"]})
        run.data = {**(run.data or {}), "proposal": {**proposal, "status": "rejected"}}
        t.event("proposal.rejected", run, stage=run.stage_key, fields=sorted(proposal["values"]))
        return {}
    edits = dict(edits or {})
    outside = sorted(set(edits) - set(stage["writes"]))
    if outside:
        raise Forbidden(f"Stage {run.stage_key!r} may not write {', '.join(outside)}.",
                        {f"values.{k}": ["not in this Stage's writes"] for k in outside})
    fields = {f.key: f for f in db.session.scalars(select(Field).where(Field.table_id == t.task.table_id))}
    clean, errors = validate_values(fields, edits, allowed=set(stage["writes"]))
    if errors:
        raise Invalid("Some values are invalid.", {f"values.{k}": v for k, v in errors.items()})
    edited = sorted(k for k, v in clean.items() if proposal["values"].get(k, object()) != v)
    written = {**proposal["values"], **clean}
    t.task.values = {**(t.task.values or {}), **written}
    run.data = {**(run.data or {}), "proposal": {**proposal, "status": "accepted", "edited": edited,
                                                 "written": written}}
    t.event("proposal.accepted", run, stage=run.stage_key, fields=sorted(written), edited=edited)
    t.event("task.values_changed", run, fields=sorted(written), stage=run.stage_key)
    return written
