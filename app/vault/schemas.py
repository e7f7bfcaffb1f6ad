"""The one schema of a secret for the API and the page: the value is load-only, never dumped."""
from marshmallow import Schema, validate

from app import fields
from app.infra.redaction import MIN_LENGTH

SECRET_NAME = fields.SECRET_NAME

VALUE = validate.Length(min=MIN_LENGTH, max=8192)


class SecretSchema(Schema):
    id = fields.Integer(dump_only=True)
    team = fields.Function(lambda s: s.team.name, dump_only=True)
    name = fields.String(dump_only=True)
    description = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)
    updated_by = fields.String(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True, allow_none=True)


class SecretCreateSchema(Schema):
    team = fields.String(required=True, validate=validate.Length(min=1, max=120),
                         metadata={"description": "the owning Team's name"})
    name = fields.String(required=True, validate=SECRET_NAME)
    value = fields.String(required=True, load_only=True, validate=VALUE,
                          metadata={"description": "the secret; never returned or shown again"})
    description = fields.String(load_default="", validate=validate.Length(max=200))


class SecretReplaceSchema(Schema):
    value = fields.String(required=True, load_only=True, validate=VALUE,
                          metadata={"description": "the new value (replaces the old one)"})
    description = fields.String(validate=validate.Length(max=200))


class SecretQuerySchema(Schema):
    team = fields.String(metadata={"description": "only this Team's secrets"})
