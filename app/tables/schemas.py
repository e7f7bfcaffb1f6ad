"""The schemas of Tables and their typed Fields: the REST API loads and dumps with them (and documents them in
OpenAPI); the pages load their forms and dump their boot data with the same ones."""
from marshmallow import Schema, validate

from app import fields
from app.fields import KEY, NAME
from app.models import FieldType


class FieldSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    type = fields.String(required=True, validate=validate.OneOf([t.value for t in FieldType]))
    required = fields.Boolean(load_default=False)
    options = fields.Dict(load_default=dict)
    position = fields.Integer(dump_only=True)


class FieldUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    type = fields.String(validate=validate.OneOf([t.value for t in FieldType]))
    required = fields.Boolean()
    options = fields.Dict()
    position = fields.Integer(validate=validate.Range(min=0))


class TableSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    team = fields.String(attribute="team_name", load_default=None, allow_none=True,
                         metadata={"description": "owning Team: its designers change the Fields (default: your "
                                                  "only Team; none = admins only)"})
    fields = fields.List(fields.Nested(FieldSchema), load_default=list)


class TableUpdateSchema(Schema):
    name = fields.String(required=True, validate=NAME)


class FieldUsageSchema(Schema):
    field = fields.String()
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "value → number of Tasks holding it"})
