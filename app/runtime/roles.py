"""Role references of a Stage (`user:<email>`, `team:<name>`, `role:<role>`, `automation`) matched
against a signed-in User. Admins match every reference list."""
from __future__ import annotations

from collections.abc import Iterable


def matches(user, refs: Iterable[str]) -> bool:
    """True when `user` is covered by one of `refs` (or is an admin)."""
    if user is None:
        return False
    if str(user.role) == "admin":
        return True
    email = (user.email or "").lower()
    teams = {t.name for t in user.teams}
    for ref in refs or ():
        kind, _, value = str(ref).partition(":")
        if kind == "user" and value.lower() == email:
            return True
        if kind == "team" and value in teams:
            return True
        if kind == "role" and value == str(user.role):
            return True
    return False


def approvers_of(stage: dict, run_status: str) -> list[str]:
    """Who may decide a run's approval: the gate's approvers at an approval gate, the Stage's
    approval approvers when awaiting approval, plus the Stage's RAID Approver role in both cases."""
    refs: list[str] = list((stage.get("roles") or {}).get("approver") or [])
    if run_status == "gated" and stage.get("gate"):
        refs += list(stage["gate"].get("approvers") or [])
    else:
        refs += list((stage.get("approval") or {}).get("approvers") or [])
    return refs
