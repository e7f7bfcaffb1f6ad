"""/api/v1/runs (act on Stage Runs), /api/v1/moves and /api/v1/migrations (move Tasks by hand,
migrate Versions) and /api/v1/webhooks (inbound, HMAC-signed Task starts). Thin views over
app.tasks.operations, app.tasks.moves and app.inbound.webhooks, which ask app.permissions themselves
(invisible -> 404, not allowed -> 403 with the reason)."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, validate

from app import fields
from app.api import schemas as s
from app.api.idempotency import idempotent
from app.auth.access import actor, login_required_api, require_login, roles_required
from app.extensions import db
from app.models import Role
from app.tasks import moves, recovery
from app.tasks import operations as service
from app.inbound.webhooks import caller_scope as webhook_scope
from app.vocab.statuses import TaskStatus
from app.errors import NotFound
from app.models import User
from app.inbound.webhooks import create_webhook as create
from app.inbound.webhooks import HEADER, receive

blp = Blueprint("runs", __name__, description="Act on Stage Runs: complete, approve, reject, advance, "
                                              "pause, resume, retry, claim, release")
moves_blp = Blueprint("moves", __name__, description="Move Tasks by hand to another Process (rollback, recovery)")
migrations_blp = Blueprint("migrations", __name__, description="Migrate running Tasks to a newer Version")
webhooks_blp = Blueprint("webhooks", __name__, description="Inbound webhooks that start Tasks (HMAC-SHA256 signed)")


class CompleteSchema(Schema):
    values = fields.Dict(load_default=dict, metadata={"description": "Field writes (only the Stage's writes)"})


class CommentSchema(Schema):
    comment = fields.String(load_default="", validate=validate.Length(max=5000))


class ApproveSchema(CommentSchema):
    values = fields.Dict(load_default=None, metadata={
        "description": "a run holding proposed values (an AI Prompt's answer): the approver's edits, written with "
                       "the rest of the proposal (only the Stage's writes: else 403)"})


class ClaimSchema(Schema):
    assignee = fields.Integer(load_default=None, allow_none=True,
                              metadata={"description": "user id to assign to (Delegators); default: yourself"})


def _act(run_id: int, action: str, **kw):
    return service.act(run_id, action, actor(), user=require_login(), **kw)


@blp.route("/<int:run_id>")
@login_required_api
@blp.response(200, s.StageRunSchema)
def get_run(run_id):
    """One Stage Run (404 unless you may see its Stage)."""
    return service.get_run(run_id, require_login())


@blp.route("/<int:run_id>/complete", methods=["POST"])
@login_required_api
@blp.arguments(CompleteSchema)
@blp.response(200, s.StageRunSchema)
def complete(data, run_id):
    """Complete a pending/started/in-progress run, writing Fields (only the Stage's `writes`: else 403).
    A Stage requiring approval goes to awaiting_approval instead."""
    return _act(run_id, "complete", values=data["values"])


def _decision(action: str):
    def view(data, run_id):
        return _act(run_id, action, comment=data["comment"], values=data.get("values"))

    view.__name__ = action
    view.__doc__ = (f"{action.title()} a run awaiting approval or held at an approval gate. Needs the Stage's "
                    "approver role (user:/team:/role: refs; admins always), else 403. A run holding proposed values "
                    "(AI Prompt) writes them when approved (with `values` as edits) and discards them when rejected.")
    return view


for _action in ("approve", "reject"):
    blp.route(f"/<int:run_id>/{_action}", methods=["POST"], endpoint=_action)(
        login_required_api(blp.arguments(ApproveSchema if _action == "approve" else CommentSchema)(
            blp.response(200, s.StageRunSchema)(_decision(_action)))))


def _simple(action: str, doc: str):
    def view(run_id):
        return _act(run_id, action)

    view.__name__ = action
    view.__doc__ = doc
    return view


for _action, _doc in (("advance", "Pass a run's gate (manual advance, approval gate, condition override)."),
                      ("pause", "Pause an in-progress run (its staff time stops)."),
                      ("resume", "Resume a paused run."),
                      ("retry", "Retry a failed run (a new attempt).")):
    blp.route(f"/<int:run_id>/{_action}", methods=["POST"], endpoint=_action)(
        login_required_api(blp.response(200, s.StageRunSchema)(_simple(_action, _doc))))


def _withdraw(to: str, doc: str):
    def view(data, run_id):
        return service.withdraw_run(run_id, to, require_login(), actor(), data["reason"])

    view.__name__ = {"skipped": "skip", "cancelled": "cancel"}[to]
    view.__doc__ = doc
    return view


for _to, _doc in (("skipped", "Skip an open or failed run that is not needed, with a reason: the lane goes on. "
                               "For a Delegator of the Stage or the owning Team's managers (else 403)."),
                  ("cancelled", "Cancel (withdraw) an open or failed run, with a reason: the lane goes on without "
                                "it. For a Delegator of the Stage or the owning Team's managers (else 403).")):
    _name = {"skipped": "skip", "cancelled": "cancel"}[_to]
    blp.route(f"/<int:run_id>/{_name}", methods=["POST"], endpoint=_name)(
        login_required_api(blp.arguments(s.ReasonSchema)(blp.response(200, s.StageRunSchema)(_withdraw(_to, _doc)))))


class RetrySelectionSchema(Schema):
    run_ids = fields.List(fields.Integer(), load_default=None, validate=validate.Length(max=5000))
    process = fields.String(load_default=None, metadata={"description": "select: failed runs of this Process"})
    stage = fields.String(load_default=None, metadata={"description": "select: failed runs of this Stage"})


class RetryResultSchema(Schema):
    retried = fields.List(fields.Integer(), metadata={"description": "the Stage Runs given a new attempt"})


@blp.route("/retry", methods=["POST"])
@login_required_api
@blp.arguments(RetrySelectionSchema)
@blp.response(200, RetryResultSchema)
def retry_many(data):
    """Retry failed Stage Runs in bulk: listed by id, or every failed run of a Process (and Stage)
    you may see. Each needs your right to retry it (else 403, nothing retried); a listed run that is
    not failed: 409. Up to 5,000 at a time; each gets a new attempt and goes back to its worker."""
    user = require_login()
    ids = recovery.failed_runs(user, run_ids=data["run_ids"], process=data["process"], stage=data["stage"])
    return {"retried": recovery.retry_runs(ids, user, actor())}


@blp.route("/<int:run_id>/claim", methods=["POST"])
@login_required_api
@blp.arguments(ClaimSchema)
@blp.response(200, s.StageRunSchema)
def claim(data, run_id):
    """Claim a run (a pending run starts); time tracking starts now. With `assignee`: a Delegator
    assigns it to someone who may work the Stage (else 403)."""

    assignee = None
    if data.get("assignee"):
        assignee = db.session.get(User, data["assignee"])
        if assignee is None:
            raise NotFound(f"No user {data['assignee']}.")
    return service.claim(run_id, require_login(), actor(), assignee=assignee)


@blp.route("/<int:run_id>/release", methods=["POST"])
@login_required_api
@blp.response(200, s.StageRunSchema)
def release(run_id):
    """Release a claimed run (its staff time is kept); someone else's claim: Delegators only."""
    return service.release(run_id, actor(), require_login())


# --- moves and migrations -------------------------------------------------------------------------

class MoveTargetSchema(Schema):
    """{"process": key, "stage": optional key} or {"split": key}"""

    process = fields.String(load_default=None)
    stage = fields.String(load_default=None, metadata={"description": "the target Process's Stage to enter at"})
    split = fields.String(load_default=None)


class MoveSchema(Schema):
    task_ids = fields.List(fields.Integer(), load_default=None)
    process = fields.String(load_default=None, metadata={"description": "select: Tasks in this Process"})
    version = fields.Integer(load_default=None, metadata={"description": "select: on this Version (needs process)"})
    stage = fields.String(load_default=None, metadata={"description": "select: with an open run of this Stage"})
    status = fields.String(load_default=TaskStatus.running)
    target = fields.Nested(MoveTargetSchema, required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class MoveResultSchema(Schema):
    moved = fields.List(fields.Integer())


@moves_blp.route("", methods=["POST"])
@login_required_api
@moves_blp.arguments(MoveSchema)
@moves_blp.response(200, MoveResultSchema)
def move(data):
    """Move selected Tasks (ids, or a Process / Version / Stage / status filter) to a target Process
    (optionally a Stage) with a reason: open runs close as moved, the target lane starts."""
    user = require_login()
    ids = moves.select_tasks(task_ids=data["task_ids"], process=data["process"], version=data["version"],
                             stage=data["stage"], status=data["status"], user=user)
    target = data["target"] or {}
    return {"moved": moves.move_tasks(ids, process_key=target.get("process"), split_key=target.get("split"),
                                      stage_key=target.get("stage"), reason=data["reason"], actor=actor(),
                                      user=user)}


class MigrationSchema(Schema):
    process = fields.String(required=True)
    to_version = fields.Integer(required=True)
    mapping = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict,
                          metadata={"description": "old stage key → new stage key"})
    task_ids = fields.List(fields.Integer(), load_default=None)
    retry_failed = fields.Boolean(load_default=True, metadata={
        "description": "run Stage Runs that had failed on the old Version again on the new one (default on)"})


class MigrationResultSchema(Schema):
    migrated = fields.List(fields.Integer())


@migrations_blp.route("", methods=["POST"])
@roles_required(Role.designer, Role.manager)
@migrations_blp.arguments(MigrationSchema)
@migrations_blp.response(200, MigrationResultSchema)
def migrate(data):
    """Migrate running Tasks to a newer Version, mapping open Stage Runs by key. 409 (nothing changed)
    lists Tasks whose open Stages the new Version lacks and `mapping` does not cover. Runs that had
    failed run again on the new Version unless `retry_failed` is false."""
    return {"migrated": moves.migrate_tasks(data["process"], data["to_version"], data["mapping"], actor=actor(),
                                            task_ids=data["task_ids"], user=require_login(),
                                            retry_failed=data["retry_failed"])}


# --- webhooks -------------------------------------------------------------------------------------

class WebhookCreateSchema(Schema):
    key = fields.String(required=True, validate=validate.Length(min=2, max=64))
    name = fields.String(load_default="", validate=validate.Length(max=120))
    process = fields.String(load_default=None)
    split = fields.String(load_default=None)
    signal = fields.String(load_default=None, validate=validate.Length(min=1, max=64), metadata={
        "description": "set: each call sends this signal to the Task its body's `key` names, instead of starting one"})


class WebhookSchema(Schema):
    key = fields.String()
    name = fields.String()
    process = fields.String(attribute="process_key", allow_none=True)
    split = fields.String(attribute="split_key", allow_none=True)
    signal = fields.String(allow_none=True)
    url = fields.String()
    secret = fields.String(metadata={"description": "shown once, at creation"})


@webhooks_blp.route("", methods=["POST"])
@roles_required(Role.designer)
@webhooks_blp.arguments(WebhookCreateSchema)
@webhooks_blp.response(201, WebhookSchema)
def create_webhook(data):
    """Create an inbound webhook for a Process or Split. The secret is in this response only."""

    hook, secret = create(data, require_login())
    return {"key": hook.key, "name": hook.name, "process_key": hook.process_key, "split_key": hook.split_key,
            "signal": hook.signal, "url": f"/api/v1/webhooks/{hook.key}", "secret": secret}


@webhooks_blp.route("/<key>", methods=["POST"], endpoint="inbound")
@idempotent(webhook_scope)
@webhooks_blp.doc(security=[], parameters=[{"in": "header", "name": "X-Procly-Signature", "required": True,
                                            "schema": {"type": "string"},
                                            "description": "sha256=<hex HMAC-SHA256 of the raw body>"}])
@webhooks_blp.response(201, s.TaskSchema)
@webhooks_blp.alt_response(200, schema=s.TaskSchema, success=True,
                           description="a Task with this `key` was already started in that Process (nothing "
                                       "changed), or a signal webhook's Task took the signal")
def inbound(key):
    """Start a Task from a signed call (body {"key"?, "values"}). 401 on a missing or bad signature.
    A `key` already started in the target Process answers 200 with that Task (nothing changes).
    A webhook with a `signal` sends it to the Task its body's `key` names (200; no such Task: 404)."""

    task, created = receive(key, request.get_data(cache=True), request.headers.get(HEADER))
    return task, 201 if created else 200


blueprints = (blp, moves_blp, migrations_blp, webhooks_blp)
