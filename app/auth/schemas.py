"""The schemas of API tokens: the REST API loads and dumps with them (and documents them in
OpenAPI); the pages load their forms and dump their boot data with the same ones."""
from marshmallow import Schema, validate

from app import fields
from app.fields import NAME


class TokenCreateSchema(Schema):
    name = fields.String(required=True, validate=NAME)
    scope = fields.String(load_default="read", validate=validate.OneOf(["read", "write", "admin"]),
                          metadata={"description": "read: GET/HEAD only; write: also changes; admin: also "
                                                   "admin-only operations (admins only). A token may not "
                                                   "create a token with more scope than its own."})
    expires_at = fields.DateTime(load_default=None, allow_none=True,
                                 metadata={"description": "optional; a token created with a token never "
                                                          "outlives it"})


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked = fields.Function(lambda t: t.revoked_at is not None)
    secret = fields.String(dump_only=True, metadata={"description": "shown once, at creation"})
    scope = fields.String()
    expires_at = fields.DateTime(allow_none=True)
    parent_id = fields.Integer(allow_none=True, metadata={"description": "the token that created this one"})
    user_id = fields.Integer()
    active = fields.Function(lambda t: t.why_inactive is None, metadata={"description": "usable right now"})
    inactive_reason = fields.Function(lambda t: t.why_inactive, allow_none=True)
