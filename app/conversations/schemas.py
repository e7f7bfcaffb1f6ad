"""The API's shapes of a conversation (app.api.conversations)."""
from __future__ import annotations

from marshmallow import Schema, validate

from app import fields


class AttachmentSchema(Schema):
    name = fields.String()
    type = fields.String()
    size = fields.Integer()
    file = fields.Integer(metadata={"description": "the Task file it was kept as (GET /api/v1/files/<id>)"})
    refused = fields.String(metadata={"description": "why it was not kept (kind, size, or no Field to keep it in)"})


class MailMessageSchema(Schema):
    id = fields.Integer()
    direction = fields.String(metadata={"description": "out (sent by Procly) or in (a verified reply)"})
    sender = fields.String()
    recipient = fields.String()
    subject = fields.String()
    text = fields.String(attribute="body_text", metadata={"description": "plain text, quoted history removed"})
    html = fields.String(attribute="body_html", allow_none=True,
                         metadata={"description": "sanitised HTML (replies) or the HTML part sent"})
    attachments = fields.List(fields.Nested(AttachmentSchema))
    author_user_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class ConversationSchema(Schema):
    run = fields.Integer()
    status = fields.String()
    messages = fields.List(fields.Nested(MailMessageSchema))


class ReplySchema(Schema):
    body = fields.String(required=True, validate=validate.Length(min=1, max=20_000))
