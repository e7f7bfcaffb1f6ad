"""/api/v1/ai/runs/<run_id>: what an AI Prompt Stage Run asked and was answered — its proposal, its
model calls (prompt, answer, tokens, time) and their totals. Accepting, editing and rejecting a
proposal are the run's approve / reject actions (/api/v1/runs/<id>/approve with `values`). A thin
view over app.ai.queries, which asks app.permissions (`run.view_ai`: invisible -> 404, not the
Stage's Responsible, approver or the Team's manager -> 403)."""
from __future__ import annotations

from flask_smorest import Blueprint

from app.ai import queries
from app.ai.schemas import AIRunSchema
from app.auth.access import login_required_api, require_login

blp = Blueprint("ai", __name__, description="AI Prompt Stage Runs: the proposal, the prompt and the answer of "
                                            "each model call, token usage and time")


@blp.route("/runs/<int:run_id>")
@login_required_api
@blp.response(200, AIRunSchema)
def get_ai_run(run_id):
    """The run's proposal and model calls, oldest first (for its Responsible, approvers and the owning
    Team's managers)."""
    return queries.run_record(run_id, require_login())
