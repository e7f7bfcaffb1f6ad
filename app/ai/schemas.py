"""What the API gives of an AI Prompt Stage Run: its proposal and its model calls (never a key)."""
from __future__ import annotations

from marshmallow import Schema

from app import fields


class ModelCallSchema(Schema):
    id = fields.Integer()
    attempt = fields.Integer(metadata={"description": "the Stage Run's attempt the call belongs to"})
    connection = fields.String(metadata={"description": "the administrator's AI connection, by name"})
    model = fields.String()
    outcome = fields.String(metadata={"description": "ok | invalid_output | rate_limited | http_error | malformed | "
                                                     "timeout | unreachable | blocked"})
    http_status = fields.Integer(allow_none=True)
    prompt_tokens = fields.Integer()
    completion_tokens = fields.Integer()
    duration_ms = fields.Float()
    messages = fields.List(fields.Dict(), metadata={"description": "the prompt as sent: [{role, content}]"})
    response = fields.String(metadata={"description": "the answer's text (or the server's reply), cut at 20,000 characters"})
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ProposalSchema(Schema):
    values = fields.Dict(metadata={"description": "the proposed Field values (the Stage's writes)"})
    status = fields.String(metadata={"description": "pending | accepted | rejected"})
    edited = fields.List(fields.String(), metadata={"description": "Fields the approver changed"})
    written = fields.Dict(metadata={"description": "what was written when accepted"})


class TotalsSchema(Schema):
    calls = fields.Integer()
    prompt_tokens = fields.Integer()
    completion_tokens = fields.Integer()
    duration_ms = fields.Float()


class AIRunSchema(Schema):
    run = fields.Integer()
    status = fields.String()
    proposal = fields.Nested(ProposalSchema, allow_none=True)
    totals = fields.Nested(TotalsSchema)
    calls = fields.List(fields.Nested(ModelCallSchema))
