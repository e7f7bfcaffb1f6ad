"""People and Teams: invite, change name / role / Teams, deactivate, reactivate, send a password
reset; create Teams (not renamed: definitions name them). Each asks app.permissions, flushes, and writes an Event (ids, roles
and Team names; never a password or a link). A deactivated user's sessions and API tokens end with
them at once: the session version moves on and every token is revoked."""
from __future__ import annotations

from sqlalchemy import func, select, update

from app import clock
from app.auth import links
from app.auth.passwords import end_sessions
from app.errors import Conflict, Invalid, NotFound
from app.extensions import db
from app.models import NO_PASSWORD, ApiToken, Event, Team, User
from app.permissions import allowed, check
from app.tasks.operations import release_claims_of


def _event(type_: str, actor: str, **data) -> None:
    db.session.add(Event(type=type_, actor=actor, data=data))


def get_user(who, user_id: int) -> User:
    user = db.session.get(User, user_id)
    check(who, "user.manage", None)          # non-admins learn nothing, not even that the id exists
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


def list_users(who) -> list[User]:
    check(who, "user.manage", None)
    return list(db.session.scalars(select(User).order_by(User.active.desc(), func.lower(User.name), User.id)))


def list_people(who) -> list[User]:
    """Whom `who` may assign work to (app.permissions "person.view"): a narrow listing."""
    return [u for u in db.session.scalars(select(User).where(User.active.is_(True)).order_by(func.lower(User.name)))
            if allowed(who, "person.view", u)]


def teams_named(names: list[str]) -> list[Team]:
    found = {t.name: t for t in db.session.scalars(select(Team).where(Team.name.in_(names or [""])))}
    unknown = [n for n in names if n not in found]
    if unknown:
        raise Invalid(f"No team {', '.join(repr(n) for n in unknown)}.", {"teams": [f"unknown team {n!r}" for n in unknown]})
    return [found[n] for n in dict.fromkeys(names)]


def invite(who, data: dict, actor: str) -> User:
    """A new user without a password, emailed a single-use link to choose one."""
    check(who, "user.manage", None)
    email = data["email"].strip().lower()
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)) is not None:
        raise Conflict(f"{email} already has an account.", {"email": ["already has an account"]})
    user = User(email=email, name=data["name"].strip(), role=data.get("role") or "staff", password_hash=NO_PASSWORD,
                teams=teams_named(data.get("teams") or []))
    db.session.add(user)
    db.session.flush()
    _event("user.invited", actor, user=user.id, role=user.role, teams=[t.name for t in user.teams])
    links.issue(user, links.INVITE, actor)
    return user


def update_user(who, user_id: int, data: dict, actor: str) -> User:
    """Change a user's name, role and / or Teams (each change its own Event)."""
    user = get_user(who, user_id)
    if "role" in data and data["role"] != user.role:
        check(who, "user.manage", user, change="role")
        _event("user.role_changed", actor, user=user.id, before=user.role, after=data["role"])
        user.role = data["role"]
    if "teams" in data:
        teams = teams_named(data["teams"])
        before, after = sorted(t.name for t in user.teams), sorted(t.name for t in teams)
        if before != after:
            user.teams = teams
            _event("user.teams_changed", actor, user=user.id, before=before, after=after)
    if "name" in data and data["name"].strip() != user.name:
        user.name = data["name"].strip()
        _event("user.renamed", actor, user=user.id)
    return user


def deactivate(who, user_id: int, actor: str) -> User:
    """The user can no longer sign in; their open sessions, API tokens and password links end now, and
    the Stage Runs they had claimed go back to their queues (the time worked so far is kept)."""
    user = get_user(who, user_id)
    check(who, "user.manage", user, change="deactivate")
    if not user.active:
        return user
    now = clock.now()
    user.active = False
    end_sessions(user)
    revoked = db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                                 .values(revoked_at=now).execution_options(synchronize_session="fetch")).rowcount
    links.end_all(user)
    released = release_claims_of(user, actor, reason="deactivated")
    _event("user.deactivated", actor, user=user.id, tokens_revoked=revoked, claims_released=released)
    return user


def reactivate(who, user_id: int, actor: str) -> User:
    """Signing in works again (with their password; revoked tokens stay revoked)."""
    user = get_user(who, user_id)
    if not user.active:
        user.active = True
        _event("user.reactivated", actor, user=user.id)
    return user


def send_reset(who, user_id: int, actor: str) -> User:
    """An admin sends the user a link to choose a new password (an invitation again if they never chose one)."""
    user = get_user(who, user_id)
    if not user.active:
        raise Invalid(f"{user.name} is deactivated: reactivate them first.", {"user": ["deactivated"]},
                      status=409, code="conflict")
    links.issue(user, links.RESET if user.has_password else links.INVITE, actor)
    return user


def forgot(email: str) -> None:
    """The sign-in page's "forgot password": a reset link to an active account's address, at most one
    per RESET_EVERY window; the answer never says whether the address has an account."""
    user = db.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()[:254]))
    if user is None or not user.active or not user.has_password or links.recently_sent(user):
        return
    links.issue(user, links.RESET, "system:forgot")


# --- Teams ---------------------------------------------------------------------------------------------

def list_teams(who) -> list[Team]:
    """Every Team's name (definitions name them); members where "team.members" allows (a transient
    `shown_members` the schema dumps)."""
    teams = list(db.session.scalars(select(Team).order_by(func.lower(Team.name))))
    for team in teams:
        team.shown_members = [{"id": u.id, "name": u.name} for u in sorted(team.members, key=lambda u: u.name.lower())] \
            if allowed(who, "team.members", team) else None
    return teams


def create_team(who, data: dict, actor: str) -> Team:
    check(who, "team.manage", None)
    _name_free(data["name"])
    team = Team(name=data["name"].strip())
    db.session.add(team)
    db.session.flush()
    _event("team.created", actor, team=team.id, name=team.name)
    return team


def _name_free(name: str) -> None:
    if db.session.scalar(select(Team.id).where(func.lower(Team.name) == name.strip().lower())) is not None:
        raise Conflict(f'A team named "{name.strip()}" exists already.', {"name": ["already taken"]})
