"""Assignment from data: a Stage whose Responsible is `field:<key>`, `round_robin:team:<name>` or
`least_loaded:team:<name>` gets its person when its Stage Run becomes ready — the user the Field
names (by email, or id), or one member of the Team, picked in turn or by fewest open Stage Runs.
The run is then assigned to them (`claimed_by_id`, not yet started): it is in their "My work", and
they — with privileged users, and anyone a Delegator reassigns it to — may work it."""
from __future__ import annotations

from sqlalchemy import func, select

from app.extensions import db
from app.models import StageRun, Team, User
from app.vocab import refs
from app.vocab.statuses import OPEN


def _active(users) -> list[User]:
    return sorted((u for u in users if u.active), key=lambda u: u.id)


def _from_field(value) -> User | None:
    if isinstance(value, int) and not isinstance(value, bool):
        user = db.session.get(User, value)
    elif isinstance(value, str) and "@" in value:
        user = db.session.scalar(select(User).where(func.lower(User.email) == value.strip().lower()))
    else:
        return None
    return user if user is not None and user.active else None


def _round_robin(members: list[User], run: StageRun) -> User:
    """The member after the one who got this Stage last (in this Process), by user id."""
    last = db.session.scalar(select(StageRun.claimed_by_id).where(
        StageRun.process_id == run.process_id, StageRun.stage_key == run.stage_key, StageRun.id != run.id,
        StageRun.claimed_by_id.in_([m.id for m in members])).order_by(StageRun.id.desc()).limit(1))
    ids = [m.id for m in members]
    return members[(ids.index(last) + 1) % len(members)] if last in ids else members[0]


def _least_loaded(members: list[User]) -> User:
    load = dict(db.session.execute(select(StageRun.claimed_by_id, func.count()).where(
        StageRun.claimed_by_id.in_([m.id for m in members]), StageRun.status.in_(OPEN))
        .group_by(StageRun.claimed_by_id)).all())
    return min(members, key=lambda m: (load.get(m.id, 0), m.id))


def pick(stage: dict, values: dict, run: StageRun) -> tuple[User | None, str]:
    """(the person, how) for a run of a Stage with an assignment reference; (None, why not) when
    nobody can be found — the Task then needs a person to assign it."""
    ref = refs.dynamic_refs(stage)[0]
    kind, _, rest = ref.partition(":")
    if kind == "field":
        user = _from_field(values.get(rest))
        return (user, f"named in {rest}") if user else (None, f"{rest} names no active user")
    team = db.session.scalar(select(Team).where(Team.name == rest.removeprefix("team:")))
    members = _active(team.members) if team else []
    if not members:
        return None, f"{rest} has no active members"
    if kind == "round_robin":
        return _round_robin(members, run), f"in turn within {rest}"
    return _least_loaded(members), f"fewest open steps within {rest}"
