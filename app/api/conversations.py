"""/api/v1/conversations/<run_id>: the emails of an Email conversation Stage Run, staff replies,
and marking it done. Thin views over app.conversations.operations, which asks app.permissions
(invisible -> 404; replying and finishing need the Stage's Responsible role -> else 403)."""
from __future__ import annotations

from flask_smorest import Blueprint

from app.api import schemas as s
from app.auth.access import actor, login_required_api, require_login
from app.conversations import operations
from app.conversations.schemas import ConversationSchema, MailMessageSchema, ReplySchema

blp = Blueprint("conversations", __name__,
                description="Email conversations of Stage Runs (stage type email_conversation): the thread, "
                            "staff replies, finishing")


@blp.route("/<int:run_id>")
@login_required_api
@blp.response(200, ConversationSchema)
def get_conversation(run_id):
    """The emails of the run, oldest first: sent (out) and verified replies (in, HTML sanitised)."""
    run, messages = operations.conversation(run_id, require_login())
    return {"run": run.id, "status": run.status, "messages": messages}


@blp.route("/<int:run_id>/replies", methods=["POST"])
@login_required_api
@blp.arguments(ReplySchema)
@blp.response(201, MailMessageSchema)
def reply(data, run_id):
    """Reply to the conversation (plain text): sent through the outbox with a fresh reply address,
    threaded under the last email. Only while the run is in progress (else 409)."""
    return operations.reply(run_id, data["body"], require_login(), actor())


@blp.route("/<int:run_id>/done", methods=["POST"])
@login_required_api
@blp.response(200, s.StageRunSchema)
def done(run_id):
    """Mark the conversation done: the run completes (needs the right to complete it)."""
    return operations.mark_done(run_id, require_login(), actor())
