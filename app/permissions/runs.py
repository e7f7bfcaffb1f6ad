"""Rules for acting on a Stage Run: RAID roles, four-eyes, reassignment, participants.

- Invisible (the Task or the Stage is hidden from the caller) -> 404 for every action.
- Admins and designers of the owning Team work every Stage Run of their Processes.
- Responsible: claim, start, complete, pause, resume, write, reply (an email conversation). A Stage naming no Responsible may be
  worked by anyone who sees it.
- Approver: approve / reject (the Stage's approval approvers or, at an approval gate, the gate's,
  plus the RAID Approver role); a Stage naming no approver is decided by the owning Team's managers.
  Four-eyes (`approval.four_eyes`, on by default): whoever completed the Stage may not decide its
  approval — admins included.
- Delegator: claim, release someone else's claim, reassign — and only to a person who may work the
  Stage (sees it and is its Responsible).
- skip / cancel (withdraw one run, with a reason): a Delegator of the Stage or a manager of the owning
  Team (and privileged users); not its Responsible, whose work it is.
- retry: Responsible or a manager of the owning Team. advance: at an approval gate an Approver,
  at a manual or condition gate the Responsible or an Approver.
- Participants (magic links): only the external Stages of their one Task; `action` Stages may be
  completed (within the Stage's writes), approvals decided when the approval names them, and an
  email conversation of an `action` Stage answered in the portal (run.reply)."""
from __future__ import annotations

from app.models import MagicLink, StageRun
from app.permissions.participants import portal_stage
from app.permissions.decisions import ALLOW, Decision, forbid, hide, rule
from app.permissions.refs import (approvers_of, is_participant, is_staff, manager_of, matches, privileged_for, roles_in,
                                  stage_for, stage_visible, team_of)
from app.permissions.tasks import can_see_task
from app.vocab.refs import dynamic_refs

RESPONSIBLE = ("run.start", "run.complete", "run.pause", "run.resume", "run.write", "run.reply")
DECISIONS = ("run.approve", "run.reject")
WITHDRAW = ("run.skip", "run.cancel")
ALL_RUN_ACTIONS = ("run.view", "run.comment", *RESPONSIBLE, *DECISIONS, "run.claim", "run.release", "run.reassign",
                   "run.advance", "run.retry", *WITHDRAW)


def four_eyes(stage: dict) -> bool:
    """Whether the Stage's approval must be decided by someone other than who completed it."""
    return bool((stage.get("approval") or {}).get("four_eyes", True))


def _verb(operation: str) -> str:
    return operation.split(".", 1)[1]


def _participant(link, run: StageRun, operation: str, values: dict | None) -> Decision:
    ps = portal_stage(link, run) if MagicLink.refusal(link) is None else None
    if ps is None:
        return hide(f"No stage run {run.id}.")
    if operation in ("run.view", "run.comment"):
        return ALLOW
    if operation == "run.complete" and ps.mode == "action":
        refused = sorted(set(values or {}) - ps.writes)
        if refused:
            return forbid(f"This step may not change {', '.join(refused)}.",
                          {f"values.{k}": ["not in this Stage's writes"] for k in refused})
        return ALLOW
    if operation in DECISIONS and ps.can_approve:
        return ALLOW
    if operation == "run.reply" and ps.mode == "action":   # answering an email conversation in the portal
        return ALLOW
    return forbid(f"You may not {_verb(operation)} this step.")


def _who_decides(user, run: StageRun, stage: dict, team: int | None, operation: str) -> Decision:
    refs = approvers_of(stage, run.status)
    if not (privileged_for(user, team) or (matches(user, refs) if refs else manager_of(user, team))):
        named = ", ".join(refs) or "the owning Team's managers"
        return forbid(f"Only an approver of stage {run.stage_key!r} may decide it ({named}).", {"approvers": refs})
    if run.status == "awaiting_approval" and four_eyes(stage) and run.completed_by_id == user.id:
        return forbid(f"Four-eyes: you completed stage {run.stage_key!r}, so someone else must "
                      f"{_verb(operation)} it.", {"approval": ["four_eyes"]})
    return ALLOW


def may_work(user, stage: dict, team: int | None) -> bool:
    """Could `user` be the one working this Stage (the target of a reassignment)?"""
    return is_staff(user) and stage_visible(user, stage, team) and (
        privileged_for(user, team) or "responsible" in roles_in(user, stage, team)
        or bool(dynamic_refs(stage)))    # assigned from data: a Delegator may hand it to anyone who sees it


@rule(*ALL_RUN_ACTIONS)
def run_rule(who, run: StageRun, *, operation: str, values: dict | None = None, assignee=None) -> Decision:
    if is_participant(who):
        return _participant(who, run, operation, values)
    try:
        stage = stage_for(run)
    except StopIteration:
        return hide(f"No stage run {run.id}.")
    team = team_of(run)
    if not is_staff(who) or not can_see_task(who, run.task) or not stage_visible(who, stage, team):
        return hide(f"No stage run {run.id}.")
    if operation in ("run.view", "run.comment"):
        return ALLOW
    if operation in DECISIONS:
        return _who_decides(who, run, stage, team, operation)
    if operation == "run.reassign" or (operation == "run.claim" and assignee is not None and assignee.id != who.id):
        return _reassign(who, run, stage, team, assignee)
    privileged = privileged_for(who, team)
    roles = roles_in(who, stage, team, run)
    if operation == "run.advance":
        gate = stage.get("gate") or {}
        if gate.get("type") == "approval":
            return _who_decides(who, run, stage, team, operation)
        ok = privileged or bool(roles & {"responsible", "approver"})
    elif operation == "run.retry":
        ok = privileged or "responsible" in roles or manager_of(who, team)
    elif operation in WITHDRAW:
        ok = privileged or "delegator" in roles or manager_of(who, team)
    elif operation == "run.claim":
        ok = privileged or bool(roles & {"responsible", "delegator"})
    elif operation == "run.release":
        ok = privileged or "delegator" in roles or (
            "responsible" in roles and run.claimed_by_id in (None, who.id))
    else:   # RESPONSIBLE
        ok = privileged or "responsible" in roles
    if ok:
        return ALLOW
    named = ", ".join((stage.get("roles") or {}).get("responsible") or []) or "its Responsible"
    return forbid(f"You may not {_verb(operation)} stage {run.stage_key!r}: that is for {named}.",
                  {"roles": sorted(roles)})


def _reassign(who, run: StageRun, stage: dict, team: int | None, assignee) -> Decision:
    if not (privileged_for(who, team) or "delegator" in roles_in(who, stage, team)):
        delegators = ", ".join((stage.get("roles") or {}).get("delegator") or []) or "nobody"
        return forbid(f"Only a Delegator of stage {run.stage_key!r} may reassign it ({delegators}).")
    if assignee is None:    # may they reassign at all (the page shows the form)
        return ALLOW
    if not may_work(assignee, stage, team):
        who_ = getattr(assignee, "email", None) or "Nobody"
        return forbid(f"{who_} cannot work stage {run.stage_key!r}.", {"assignee": ["may not work this Stage"]})
    return ALLOW
