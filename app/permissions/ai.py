"""Who may read what an AI Prompt Stage Run asked and was answered (its model calls: the prompt with
the readable Fields' values, the answer, tokens and time) and the proposal it holds: staff who see the
run and are its Stage's Responsible or an approver of it (the RAID Approver role, the approval's
approvers; when none is named, the owning Team's managers), the owning Team's managers, and admins
and designers of the owning Team. Not participants, not Informed staff, not other staff who merely
see the run. The API key is never part of it."""
from __future__ import annotations

from app.models import StageRun
from app.permissions.decisions import ALLOW, Decision, forbid, hide, rule
from app.permissions.refs import (approvers_of, is_participant, manager_of, matches, privileged_for, roles_in,
                                  stage_for, team_of)
from app.permissions.runs import run_rule


@rule("run.view_ai")
def view_ai_rule(who, run: StageRun, *, operation: str) -> Decision:
    if is_participant(who):
        return hide(f"No stage run {run.id}.")
    seen = run_rule(who, run, operation="run.view")
    if not seen:
        return seen
    stage, team = stage_for(run), team_of(run)
    refs = approvers_of(stage, "awaiting_approval")
    if privileged_for(who, team) or manager_of(who, team) or "responsible" in roles_in(who, stage, team, run) \
            or (refs and matches(who, refs)):
        return ALLOW
    return forbid(f"What the AI of stage {run.stage_key!r} was asked and answered is for its Responsible, its "
                  "approvers and the owning Team's managers.")
