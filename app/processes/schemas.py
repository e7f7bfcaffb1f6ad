"""The schemas of Processes, drafts, Versions, export/import and stage types: the REST API loads and dumps with them (and documents them in
OpenAPI); the pages load their forms and dump their boot data with the same ones."""
from marshmallow import Schema, validate

from app import fields
from app.fields import KEY, NAME
from app.tables.schemas import FieldSchema


class ProcessCreateSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    table = fields.String(required=True, metadata={"description": "Table key"})
    team = fields.String(required=True, metadata={"description": "owning Team name"})


RETENTION_DAYS = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=36500), metadata={
    "description": "finished Tasks are archived or purged this many days after they finished; null = kept for ever"})
RETENTION_ACTION = fields.String(allow_none=True, validate=validate.OneOf(["archive", "purge"]), metadata={
    "description": "archive: keep the record, Stage Runs and Events, drop Field values, files and messages; "
                   "purge: delete the Task with its files and Events"})


class ProcessUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    description = fields.String(validate=validate.Length(max=2000))
    team = fields.String()
    retention_days = RETENTION_DAYS
    retention_action = RETENTION_ACTION


class ProcessSchema(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    table = fields.Function(lambda p: p.table.key)
    team = fields.Function(lambda p: p.team.name)
    current_version = fields.Integer(allow_none=True)
    archived = fields.Function(lambda p: p.archived_at is not None)
    created_at = fields.DateTime()
    retention_days = fields.Integer(allow_none=True)
    retention_action = fields.String(allow_none=True)


class DuplicateSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)


class DraftSchema(Schema):
    definition = fields.Dict(required=True)
    revision = fields.Integer(dump_only=True)
    updated_by = fields.String(dump_only=True, allow_none=True, metadata={"description": "name of the last editor"})
    updated_at = fields.DateTime(dump_only=True)
    errors = fields.List(fields.Dict(), dump_only=True)


class DraftSaveSchema(Schema):
    definition = fields.Dict(required=True)
    revision = fields.Integer(required=True, metadata={"description": "the revision this save is based on"})


class PublishSchema(Schema):
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class RollbackSchema(Schema):
    version = fields.Integer(required=True, validate=validate.Range(min=1))
    note = fields.String(load_default="", validate=validate.Length(max=2000))


class VersionSchema(Schema):
    number = fields.Integer()
    content_hash = fields.String()
    author = fields.Function(lambda v: v.author.name if v.author else None)
    published_at = fields.DateTime()
    note = fields.String()
    definition = fields.Dict()


class VersionSummarySchema(VersionSchema):
    class Meta:
        exclude = ("definition",)


class DiffQuerySchema(Schema):
    from_ = fields.Integer(required=True, data_key="from", validate=validate.Range(min=1))
    to = fields.Integer(required=True, validate=validate.Range(min=1))


class ImportQuerySchema(Schema):
    key = fields.String(validate=KEY, metadata={"description": "import under this key instead"})
    team = fields.String(metadata={"description": "owning Team (defaults to the exported one)"})


class StageTypeSchema(Schema):
    key = fields.String()
    name = fields.String()
    icon = fields.String()
    description = fields.String()
    automated = fields.Boolean()
    config_schema = fields.Dict()
    needs = fields.Dict(metadata={"description": "what the type needs: egress, secrets, sandbox, files"})
    available = fields.Boolean(metadata={"description": "false when this machine cannot run the type (e.g. no "
                                                        "code sandbox): its Stages fail with the reason"})
    unavailable_reason = fields.String(allow_none=True)
    limits = fields.Dict(metadata={"description": "Code: the sandbox caps, default and maximum"})
    connections = fields.List(fields.Dict(), metadata={
        "description": "AI Prompt: the administrator's AI connections (name, label, model, host, the API key's "
                       "secret name — never its value)"})


class ExportProcessSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    team = fields.String(required=True)


class ExportTableSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    fields = fields.List(fields.Nested(FieldSchema), load_default=list)


class ExportVersionSchema(Schema):
    number = fields.Integer(required=True, validate=validate.Range(min=1))
    note = fields.String(load_default="", validate=validate.Length(max=2000))
    content_hash = fields.String(required=True, validate=validate.Length(equal=64))
    published_at = fields.DateTime(load_default=None, allow_none=True)
    definition = fields.Dict(required=True)


class ExportSchema(Schema):
    """A Process as exported by GET /processes/<key>/export (and accepted by POST /processes/import)."""

    format = fields.String(required=True, validate=validate.Equal("procly.process/1"))
    process = fields.Nested(ExportProcessSchema, required=True)
    table = fields.Nested(ExportTableSchema, required=True)
    versions = fields.List(fields.Nested(ExportVersionSchema), load_default=list)
    draft = fields.Dict(load_default=None, allow_none=True)
