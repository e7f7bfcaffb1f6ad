"""Rules for Tasks as a whole, Processes, Tables, Splits, webhooks and API tokens.

- Process definitions, Tables and Splits are readable by every signed-in user (they hold no Task
  data); changing them is for admins and the designers of the owning Team.
- A Process's live activity (its Socket.IO room, the builder's live counts) is for whoever may see
  its Tasks: admins, members of the owning Team, and anyone who sees one of its Stages.
- Starting Tasks: the Process definition's `start.roles` (default: the owning Team), admins and the
  owning Team's designers; a start sets only `start.writes` (see app.definitions.definition.start_spec).
  Through a Split: the same on every variant.
- Moving Tasks by hand: on the source Task, its Process's privileged users, the owning Team's
  managers or a Responsible of one of its open Stage Runs; on the target Process, its privileged
  users, its Team's managers or whoever may start Tasks there.
- Cancelling a Task: admins, the owning Team's designers and managers.
- Signalling a Task: who may cancel it, and whoever may start Tasks in its current Process (the
  integration that started it).
- Migrating Versions: admins, designers and managers of the owning Team.
- Tables: admins and the designers of the owning Team (none = admins only) change Fields.
- Tokens: only their owner sees or revokes them."""
from __future__ import annotations


from app import lookups
from app.extensions import db
from app.models import ApiToken, Process, Split, Table, Task, Team, Version
from app.vocab.statuses import OPEN as OPEN_STATUSES
from app.permissions.decisions import ALLOW, Decision, forbid, hide, rule
from app.permissions.refs import (is_admin, is_staff, manager_of, matches, member_of, privileged_for, roles_in,
                                  stage_for, stage_visible, team_of)
from app.permissions.tasks import can_see_task, current_runs, task_writable_fields
from app.definitions.definition import start_spec


def _signed_in(who, what: str) -> Decision | None:
    return None if is_staff(who) else hide(f"No {what}.")


# --- Tasks ------------------------------------------------------------------------------------------

@rule("task.view", "task.invite", "task.write", "task.move", "task.cancel", "task.signal")
def task_rule(who, task: Task, *, operation: str, values: dict | None = None) -> Decision:
    if not is_staff(who) or not can_see_task(who, task):
        return hide(f"No task {task.id}.")
    if operation == "task.write":
        refused = sorted(set(values or {}) - task_writable_fields(who, task))
        if refused:
            return forbid(f"You may not write {', '.join(refused)} on task {task.id}.",
                          {f"values.{k}": ["not writable by you here"] for k in refused})
    if operation == "task.move":
        team = team_of(task)
        if not (privileged_for(who, team) or manager_of(who, team) or any(
                "responsible" in roles_in(who, stage_for(r), team) and stage_visible(who, stage_for(r), team)
                for r in current_runs(task) if r.status in OPEN_STATUSES)):
            return forbid(f"You may not move task {task.id}: that is for its Responsible, the owning Team's "
                          "managers and designers.")
    if operation == "task.cancel":
        team = team_of(task)
        if not (privileged_for(who, team) or manager_of(who, team)):
            return forbid(f"You may not cancel task {task.id}: that is for the owning Team's managers and designers.")
    if operation == "task.signal":
        team = team_of(task)
        if not (privileged_for(who, team) or manager_of(who, team) or may_start(who, task.process)[0]):
            return forbid(f"You may not signal task {task.id}: that is for whoever may start Tasks in its Process "
                          "and the owning Team's managers.")
    return ALLOW


# --- Processes ----------------------------------------------------------------------------------------

@rule("process.view")
def process_view(who, process: Process, **_) -> Decision:
    return _signed_in(who, f'process "{process.key}"') or ALLOW


@rule("process.design")
def process_design(who, process: Process, **_) -> Decision:
    if (d := _signed_in(who, f'process "{process.key}"')) is not None:
        return d
    if privileged_for(who, process.team_id):
        return ALLOW
    return forbid(f'You may not change process "{process.key}": it belongs to another team.')


@rule("process.watch")
def process_watch(who, process: Process, **_) -> Decision:
    if (d := _signed_in(who, f'process "{process.key}"')) is not None:
        return d
    if privileged_for(who, process.team_id) or member_of(who, process.team_id):
        return ALLOW
    version = _version(process)
    if version is not None and any(stage_visible(who, s, process.team_id) for s in version.definition["stages"]):
        return ALLOW
    return forbid(f'You may not watch process "{process.key}": none of its Stages is visible to you.')


def _version(process: Process, number: int | None = None) -> Version | None:
    number = number or process.current_version
    if not number:
        return None
    return lookups.find_version(process.id, number)


def may_start(user, process: Process, version: Version | None = None) -> tuple[bool, list[str], list[str]]:
    """(allowed by roles, roles, writes) of a start in `process` on `version` (default: current)."""

    version = version or _version(process)
    if version is None:
        return True, [], []     # nothing to start on: the operation refuses it with its own error
    roles, writes = start_spec(version.definition, process.team.name)
    return privileged_for(user, process.team_id) or matches(user, roles), roles, writes


@rule("process.start")
def process_start(who, process: Process, *, values: dict | None = None, version: Version | None = None,
                  prefix: str = "", **_) -> Decision:
    if (d := _signed_in(who, f'process "{process.key}"')) is not None:
        return d
    ok, roles, writes = may_start(who, process, version)
    if not ok:
        return forbid(f'You may not start Tasks in process "{process.key}" (starts are for {", ".join(roles)}).',
                      {f"{prefix}process": ["you may not start Tasks here"]})
    if roles or writes:
        refused = sorted(set(values or {}) - set(writes))
        if refused:
            return forbid(f'A start in process "{process.key}" may not set {", ".join(refused)}.',
                          {f"{prefix}values.{k}": ["not in this Process's start writes"] for k in refused})
    return ALLOW


@rule("process.intake")
def process_intake(who, process: Process, **_) -> Decision:
    """Switching a Process's public intake form on or off: admins only (it lets anyone start Tasks)."""
    if (d := _signed_in(who, f'process "{process.key}"')) is not None:
        return d
    return ALLOW if is_admin(who) else forbid("Only an admin may switch the public intake form on or off.")


@rule("intake.submit")
def intake_submit(who, process: Process, *, values: dict | None = None, prefix: str = "", **_) -> Decision:
    """A start by anyone, signed in or not, through the public intake form: only while it is switched
    on, and setting only the Process's start writes."""
    version = _version(process)
    if not process.intake_enabled or process.archived_at is not None or version is None:
        return hide(f'No public intake form for process "{process.key}".')
    writes = start_spec(version.definition, process.team.name)[1]
    refused = sorted(set(values or {}) - set(writes))
    if refused:
        return forbid(f'The intake form of "{process.key}" may not set {", ".join(refused)}.',
                      {f"{prefix}values.{k}": ["not in this Process's start writes"] for k in refused})
    return ALLOW


@rule("outbox.read")
def outbox_read(who, _outbox=None, **_) -> Decision:
    """The development mailbox (outgoing mail, magic links included): admins only."""
    if (d := _signed_in(who, "mailbox")) is not None:
        return d
    return ALLOW if is_admin(who) else forbid("Only an admin may read the development mailbox.")


@rule("process.move_into")
def process_move_into(who, process: Process, **_) -> Decision:
    if (d := _signed_in(who, f'process "{process.key}"')) is not None:
        return d
    if privileged_for(who, process.team_id) or manager_of(who, process.team_id) or may_start(who, process)[0]:
        return ALLOW
    return forbid(f'You may not move Tasks into process "{process.key}".', {"target": [process.key]})


@rule("process.migrate")
def process_migrate(who, process: Process, **_) -> Decision:
    if (d := _signed_in(who, f'process "{process.key}"')) is not None:
        return d
    if privileged_for(who, process.team_id) or manager_of(who, process.team_id):
        return ALLOW
    return forbid(f'You may not migrate the Tasks of process "{process.key}": it belongs to another team.')


# --- Splits -----------------------------------------------------------------------------------------

@rule("split.view")
def split_view(who, split: Split, **_) -> Decision:
    return _signed_in(who, f'split "{split.key}"') or ALLOW


@rule("split.design", "split.weights")
def split_design(who, split: Split, *, operation: str, **_) -> Decision:
    if (d := _signed_in(who, f'split "{split.key}"')) is not None:
        return d
    if privileged_for(who, split.team_id) or (operation == "split.weights" and manager_of(who, split.team_id)):
        return ALLOW
    return forbid(f'You may not change split "{split.key}": it belongs to another team.')


@rule("split.start")
def split_start(who, split: Split, *, values: dict | None = None, prefix: str = "", **_) -> Decision:
    """A start through a Split must be allowed on every variant: where it lands is chance."""
    for variant in split.variants:
        d = process_start(who, variant.process, values=values, version=_version(variant.process, variant.version),
                          prefix=prefix)
        if not d.allowed:
            return d
    return ALLOW


# --- webhooks, Tables, tokens -------------------------------------------------------------------------

@rule("webhook.create")
def webhook_create(who, target, **_) -> Decision:
    """An inbound webhook starts Tasks with its creator's rights: creating one is designing its target."""
    return split_design(who, target, operation="split.design") if isinstance(target, Split) \
        else process_design(who, target)


@rule("table.view")
def table_view(who, table: Table, **_) -> Decision:
    return _signed_in(who, f'table "{table.key}"') or ALLOW


@rule("table.edit")
def table_edit(who, table: Table, **_) -> Decision:
    if (d := _signed_in(who, f'table "{table.key}"')) is not None:
        return d
    if privileged_for(who, table.team_id):
        return ALLOW
    if table.team_id is None:
        return forbid(f'Table "{table.key}" belongs to no team: only admins change it.')
    team = db.session.get(Team, table.team_id)
    return forbid(f'You may not change table "{table.key}": it belongs to team {team.name}.')


@rule("table.create", "split.create", "process.create")
def team_create(who, team: Team | None, *, operation: str, **_) -> Decision:
    """Creating a Table, Split or Process for a Team: its designers and admins."""
    what = operation.split(".")[0]
    if (d := _signed_in(who, what)) is not None:
        return d
    if is_admin(who) or (team is not None and privileged_for(who, team.id)):
        return ALLOW
    if team is None:
        return forbid(f"Only admins create a {what} that belongs to no team.", {"team": ["required"]})
    return forbid(f'You are not a designer of team "{team.name}".', {"team": [team.name]})


@rule("token.view", "token.revoke")
def token_rule(who, token: ApiToken, **_) -> Decision:
    if not is_staff(who) or token.user_id != who.id:
        return hide(f"No token {token.id}.")
    return ALLOW


@rule("token.revoke_any")
def token_admin_rule(who, token: ApiToken, **_) -> Decision:
    """Admins revoke anyone's token (the admin token list); others only their own (token.revoke)."""
    if is_staff(who) and is_admin(who):
        return ALLOW
    return forbid("Only admins may revoke other people's tokens.")


# --- Secrets -----------------------------------------------------------------------------------------

@rule("secret.manage")
def secret_manage(who, team: Team, **_) -> Decision:
    """A Team's secrets (names and metadata; values are never shown): its designers and admins.
    Other members see that they may not; anyone else does not learn the Team's secrets exist."""
    if (d := _signed_in(who, "secret")) is not None:
        return d
    if privileged_for(who, team.id):
        return ALLOW
    if member_of(who, team.id):
        return forbid(f'Only designers of team "{team.name}" and admins manage its secrets.')
    return hide("No secret.")
