"""Role references: who a Stage, a start rule or an alert names. `user:<email>`, `team:<name>`,
`role:<admin|designer|staff|manager>`, plus `automation` (a Stage's Responsible only) and `owner`
(alert targets: the Process's Team), and for a Stage's Responsible the assignment references
`field:<key>`, `round_robin:team:<name>`, `least_loaded:team:<name>`. One parser, one matcher."""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum



class Role(StrEnum):
    """A user's role (what they may do across Procly; a Stage's RAID roles are something else)."""
    admin = "admin"
    designer = "designer"
    staff = "staff"
    manager = "manager"


ROLE_NAMES = tuple(r.value for r in Role)
KINDS = ("user", "team", "role")
AUTOMATION = "automation"
OWNER = "owner"
_VALID = re.compile(r"^(user:[^@\s:]+@[^@\s]+\.[^@\s]+|team:\S.*|role:(%s))$" % "|".join(ROLE_NAMES))


@dataclass(frozen=True)
class Ref:
    kind: str     # user | team | role
    value: str


def parse(text) -> Ref | None:
    """The reference in `text`, or None when it is not `<user|team|role>:<value>` with a value."""
    kind, sep, value = str(text).partition(":")
    if not sep or kind not in KINDS or not value:
        return None
    return Ref(kind, value)


# assignment from data (a Stage's Responsible only): the person a Field names, or one member of a Team
# picked in turn or by fewest open Stage Runs, resolved when the Stage Run becomes ready
_DYNAMIC = re.compile(r"^(field:[a-z][a-z0-9_]*|(round_robin|least_loaded):team:\S.*)$")


def is_valid(text: str, *, automation: bool = False) -> bool:
    """A well-formed reference as a definition accepts it (`automation` and the assignment
    references where allowed: a Stage's Responsible)."""
    return (automation and (text == AUTOMATION or bool(_DYNAMIC.match(text or "")))) or bool(_VALID.match(text or ""))


def is_dynamic(text: str) -> bool:
    """An assignment reference (`field:`, `round_robin:team:`, `least_loaded:team:`)."""
    return bool(_DYNAMIC.match(str(text or "")))


def dynamic_refs(stage: dict) -> list[str]:
    """The assignment references among a Stage's Responsible."""
    return [r for r in ((stage.get("roles") or {}).get("responsible") or []) if is_dynamic(r)]


def of_user(user) -> set[str]:
    """The references that name a user: their email (lower case), role and Teams."""
    refs = {f"user:{user.email.lower()}", f"role:{user.role}"}
    refs.update(f"team:{t.name}" for t in user.teams)
    return refs


def matches(user, refs: Iterable[str] | None, *, admins: bool = False) -> bool:
    """Whether one of `refs` names `user` (emails compare case-insensitively; Teams and roles exactly).
    `admins`: an admin matches every list, even an empty one."""
    if user is None:
        return False
    if admins and str(user.role) == "admin":
        return True
    if not refs:
        return False
    mine = of_user(user)
    return any(r in mine or (str(r).startswith("user:") and str(r).lower() in mine) for r in refs)


def escalation_targets(stage: dict) -> tuple[str, ...]:
    """The one escalation policy, for failures, SLA escalations and rework loops alike: the Stage's
    `escalate_to` if set, else its Delegators, else "owner" (the owning Team)."""
    return tuple(stage.get("escalate_to") or (stage.get("roles") or {}).get("delegator") or ()) or ("owner",)
