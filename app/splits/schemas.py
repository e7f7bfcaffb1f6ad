"""The schemas of Splits and their variants: the REST API loads and dumps with them (and documents them in
OpenAPI); the pages load their forms and dump their boot data with the same ones."""
from marshmallow import Schema, validate

from app import fields
from app.fields import KEY, NAME


class VariantSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    process = fields.String(required=True, metadata={"description": "Process key"})
    version = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1))
    weight = fields.Integer(required=True, validate=validate.Range(min=0, max=10000))
    share = fields.Float(dump_only=True, metadata={"description": "share of assigned Tasks so far"})
    tasks = fields.Integer(dump_only=True, metadata={"description": "Tasks assigned to the variant so far"})
    process_name = fields.String(dump_only=True)


class SplitSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    table = fields.String(required=True)
    team = fields.String(required=True)
    variants = fields.List(fields.Nested(VariantSchema), required=True, validate=validate.Length(min=1))


class WeightsSchema(Schema):
    weights = fields.Dict(keys=fields.String(), values=fields.Integer(validate=validate.Range(min=0, max=10000)),
                          required=True, metadata={"description": "variant key → weight"})
    reason = fields.String(load_default="", validate=validate.Length(max=500))
