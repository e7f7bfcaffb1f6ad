"""Who may see and change what: the one place deciding, for a staff user (signed in or through an
API token), a portal participant (a magic link) or the system (jobs, Routes: None), which Tasks,
Stage Runs, Fields, Processes, Tables, Splits, webhooks and tokens they may read and change.

- `decide(who, operation, obj, **context)` is the one decision function (decisions.py); every
  operation (app.tasks.operations, app.tasks.moves, app.tables.operations, app.splits,
  app.inbound.webhooks, app.builder) calls `check(...)` itself, so no surface (REST API, pages, CSV, portal,
  Socket.IO) can forget it. Invisible -> 404, visible but not allowed -> 403 with the reason.
- refs.py: who is who (role references, Stage visibility, RAID roles, privileged users);
  tasks.py: which Tasks, Stage Runs and Fields a staff user sees and writes, the queue's SQL;
  runs.py: acting on Stage Runs (RAID, four-eyes, reassignment, participants);
  files.py: uploading, reading and reviewing stored files;
  accounts.py: people and Teams (admins manage them; who sees whom);
  objects.py: Tasks as a whole, Processes (start, move, migrate, design, watch), Splits, Tables,
  webhooks, tokens; participants.py: what a magic link shows.

docs/security.md ("Authorization") lists every control with the test that attacks it."""
from app.permissions import accounts as _accounts, ai as _ai, bookings as _bookings, files as _files, imports as _imports, objects as _objects, runs as _runs  # noqa: F401  (register the rules)
from app.permissions.bookings import BookingGrant
from app.permissions.decisions import RULES, Decision, allowed, check, decide
from app.permissions.objects import may_start
from app.permissions.participants import (PortalStage, participant_fields, participant_stages, participant_view,
                                          portal_stage)
from app.permissions.refs import (all_field_keys, approver_refs, can_design, check_can_design, definition_of, is_admin, is_participant, is_staff,
                                  is_system, manager_of, matches, privileged_for, refs_of, roles_in, stage_for,
                                  stage_visible, team_of)
from app.permissions.runs import four_eyes, may_work
from app.permissions.tasks import (can_see_task, current_runs, filter_values, queue_condition, queue_roles,
                                   stage_index, task_writable_fields, version_reads, visible_fields,
                                   visible_runs, visible_version_ids, writable_fields)


def can_act(user, run, action: str) -> bool:
    """May `user` perform `action` ("complete", "approve", "view", …) on a Stage Run?"""
    return allowed(user, f"run.{action}", run)


__all__ = ["BookingGrant", "RULES", "Decision", "allowed", "check", "decide", "can_act", "may_start", "PortalStage",
           "participant_fields", "participant_stages", "participant_view", "portal_stage", "all_field_keys",
           "approver_refs", "can_design", "check_can_design", "definition_of", "is_admin", "is_participant", "is_staff", "is_system", "manager_of",
           "matches", "privileged_for", "refs_of", "roles_in", "stage_for", "stage_visible",
           "team_of", "four_eyes", "may_work", "can_see_task", "current_runs", "filter_values", "queue_condition",
           "queue_roles", "stage_index", "task_writable_fields", "version_reads", "visible_fields", "visible_runs",
           "visible_version_ids", "writable_fields"]
