"""Rules for people and Teams.

- Managing users (invite, change role or Teams, deactivate, reactivate, send a password reset) and
  Teams (create, rename) is for admins only. An admin may not deactivate or demote themselves (the
  last admin would lock everyone out); another admin does it.
- Everyone signed in sees the people they may assign work to: the active members of their own Teams
  (admins: every active user), as a narrow listing (name, email, Teams). Others are not revealed.
- A Team's member list shows to admins and to its members; its name to everyone signed in (Process
  definitions name Teams)."""
from __future__ import annotations

from app.models import Team, User
from app.permissions.decisions import ALLOW, Decision, forbid, hide, rule
from app.permissions.refs import is_admin, is_staff


@rule("user.manage")
def user_manage(who, target: User | None, *, change: str = "", **_) -> Decision:
    """`target` None: the user list or an invitation. `change`: "deactivate" or "role" refuse one's own."""
    if not is_staff(who):
        return hide("No user.")
    if not is_admin(who):
        return forbid("Only admins manage users.")
    if target is not None and target.id == who.id and change in ("deactivate", "role"):
        return forbid("You may not deactivate yourself or change your own role: ask another admin.",
                      {"role" if change == "role" else "user": ["not for your own account"]})
    return ALLOW


@rule("team.manage")
def team_manage(who, team: Team | None, **_) -> Decision:
    if not is_staff(who):
        return hide("No team.")
    if not is_admin(who):
        return forbid("Only admins manage Teams.")
    return ALLOW


@rule("person.view")
def person_view(who, person: User, **_) -> Decision:
    """Whom `who` may assign work to: admins everyone active; others the active members of their Teams."""
    if not is_staff(who) or not person.active:
        return hide(f"No person {person.id}.")
    if is_admin(who) or person.id == who.id or (who.team_ids & person.team_ids):
        return ALLOW
    return hide(f"No person {person.id}.")


@rule("team.members")
def team_members(who, team: Team, **_) -> Decision:
    if not is_staff(who):
        return hide("No team.")
    if is_admin(who) or team.id in who.team_ids:
        return ALLOW
    return forbid(f'Only members of team "{team.name}" and admins see its members.')
