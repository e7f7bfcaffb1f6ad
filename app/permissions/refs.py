"""Who is who: the kinds of caller, role references, and what a Stage's definition says about a
staff user (internal visibility, RAID roles). Plain functions over a User and a Stage dict."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.errors import Forbidden
from app.models import Field, Process, Role, StageRun, Version
from app.runtime import context
from app.vocab import refs as role_refs
from app.models.portal import MagicLink
from app.models import User


# --- kinds of caller ----------------------------------------------------------------------------

def is_system(who) -> bool:
    """Jobs, the CLI, Routes and the demo act with no user at all: the runtime trusts them."""
    return who is None


def is_participant(who) -> bool:

    return isinstance(who, MagicLink)


def is_staff(who) -> bool:
    """A signed-in (or bearer-token) active User."""

    return isinstance(who, User) and bool(getattr(who, "is_authenticated", False)) and who.active


def is_admin(user) -> bool:
    return is_staff(user) and str(user.role) == "admin"


def privileged_for(user, team_id: int | None) -> bool:
    """Admins everywhere; designers on the Processes (Tables, Splits) of their Teams. A privileged
    user sees every Stage and Field of that Process and may work every Stage Run of it."""
    if not is_staff(user):
        return False
    return is_admin(user) or (team_id is not None and can_design(user, team_id))


def manager_of(user, team_id: int | None) -> bool:
    return is_staff(user) and str(user.role) == "manager" and team_id in user.team_ids


def member_of(user, team_id: int | None) -> bool:
    return is_staff(user) and team_id in user.team_ids


def team_of(obj) -> int | None:
    """The owning Team of a Process, or of the Process a Task / Stage Run / Version belongs to."""
    if isinstance(obj, Process):
        return obj.team_id
    process = db.session.get(Process, obj.process_id)
    return process.team_id if process is not None else None


# --- definitions ----------------------------------------------------------------------------------

definition = context.definition          # the runtime's process-wide cache of immutable Version documents
definition_of = context.definition_of


def stage_for(run: StageRun) -> dict:
    return next(s for s in definition_of(run)["stages"] if s["key"] == run.stage_key)


def all_field_keys(table_id: int) -> set[str]:
    return set(db.session.scalars(select(Field.key).where(Field.table_id == table_id)))


def version_teams() -> dict[int, int]:
    """Version id -> owning Team id of its Process, in one query."""
    return dict(db.session.execute(select(Version.id, Process.team_id).join(Process, Process.id == Version.process_id)).all())


# --- role references and RAID -----------------------------------------------------------------------

refs_of = role_refs.of_user


def matches(user, refs) -> bool:
    """Does one of `refs` name this staff user (app.vocab.refs.matches; participants and the system never)?"""
    return is_staff(user) and role_refs.matches(user, refs)


def approvers_of(stage: dict, run_status: str) -> list[str]:
    """Who may decide a run's approval: the gate's approvers at an approval gate, the Stage's
    approval approvers when awaiting approval, plus the Stage's RAID Approver role in both cases."""
    refs: list[str] = list((stage.get("roles") or {}).get("approver") or [])
    if run_status == "gated" and stage.get("gate"):
        refs += list(stage["gate"].get("approvers") or [])
    else:
        refs += list((stage.get("approval") or {}).get("approvers") or [])
    return refs


def approver_refs(stage: dict) -> list[str]:
    refs = list((stage.get("roles") or {}).get("approver") or [])
    refs += list((stage.get("approval") or {}).get("approvers") or [])
    gate = stage.get("gate") or {}
    if gate.get("type") == "approval":
        refs += list(gate.get("approvers") or [])
    return refs


def stage_visible(user, stage: dict, team_id: int | None = None) -> bool:
    """May this staff user see this Stage (its runs, thread, reads)? `team_id`: the owning Team of
    the Stage's Process (its privileged users see every Stage); None = judge by the Stage alone."""
    if not is_staff(user):
        return False
    if is_admin(user) or (team_id is not None and privileged_for(user, team_id)):
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


def roles_in(user, stage: dict, team_id: int | None = None, run=None) -> set[str]:
    """RAID roles of `user` on a Stage (and, given, one of its runs): responsible / approver /
    informed / delegator. On a Stage assigned from data (field:, round_robin:, least_loaded:) the
    run's assignee is its Responsible."""
    roles = stage.get("roles") or {}
    found = {name for name in ("responsible", "approver", "informed", "delegator") if matches(user, roles.get(name))}
    if run is not None and user is not None and run.claimed_by_id == getattr(user, "id", None) \
            and role_refs.dynamic_refs(stage):
        found.add("responsible")
    if matches(user, approver_refs(stage)):
        found.add("approver")
    if not [r for r in roles.get("responsible") or [] if r != "automation"] and stage_visible(user, stage, team_id):
        found.add("responsible")  # nobody named: any staff who sees it may work it
    return found


# --- designers ----------------------------------------------------------------------------------

def can_design(user, team_id: int) -> bool:
    """Designers edit and publish only the Processes (and Splits) of their Teams; admins all."""
    if user.role == Role.admin:
        return True
    return user.role == Role.designer and team_id in user.team_ids


def check_can_design(user, process: Process) -> None:
    if not can_design(user, process.team_id):
        raise Forbidden(f'You may not change process "{process.key}": it belongs to another team.')
