"""Request and response schemas of the REST API (they also generate the OpenAPI document)."""
from marshmallow import Schema, validate

from app import fields
from app.models import FieldType, Role
from app.vocab.statuses import TaskStatus

KEY = validate.Regexp(r"^[a-z][a-z0-9_-]{0,63}$", error="must be a lowercase key: letters, digits, - and _")
NAME = validate.Length(min=1, max=120)


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


class ProcessCreateSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    name = fields.String(required=True, validate=NAME)
    description = fields.String(load_default="", validate=validate.Length(max=2000))
    table = fields.String(required=True, metadata={"description": "Table key"})
    team = fields.String(required=True, metadata={"description": "owning Team name"})


class ProcessUpdateSchema(Schema):
    name = fields.String(validate=NAME)
    description = fields.String(validate=validate.Length(max=2000))
    team = fields.String()


class ProcessSchema(Schema):
    key = fields.String()
    name = fields.String()
    description = fields.String()
    table = fields.Function(lambda p: p.table.key)
    team = fields.Function(lambda p: p.team.name)
    current_version = fields.Integer(allow_none=True)
    archived = fields.Function(lambda p: p.archived_at is not None)
    created_at = fields.DateTime()


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


class VariantSchema(Schema):
    key = fields.String(required=True, validate=KEY)
    process = fields.String(required=True, metadata={"description": "Process key"})
    version = fields.Integer(allow_none=True, load_default=None, validate=validate.Range(min=1))
    weight = fields.Integer(required=True, validate=validate.Range(min=0, max=10000))
    share = fields.Float(dump_only=True, metadata={"description": "share of assigned Tasks so far"})


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


class TaskCreateSchema(Schema):
    process = fields.String(metadata={"description": "Process key (exactly one of process / split)"})
    split = fields.String(metadata={"description": "Split key"})
    key = fields.String(validate=validate.Length(min=1, max=128),
                        metadata={"description": "your key for the Task; sticky Split assignment uses it"})
    values = fields.Dict(load_default=dict)


class TaskBatchSchema(Schema):
    tasks = fields.List(fields.Nested(TaskCreateSchema), required=True, validate=validate.Length(min=1, max=1000))


class TaskUpdateSchema(Schema):
    values = fields.Dict(required=True)


class StageRunSchema(Schema):
    id = fields.Integer()
    stage_key = fields.String()
    status = fields.String()
    attempt = fields.Integer()
    ready_at = fields.DateTime()
    started_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    due_at = fields.DateTime(allow_none=True)
    approval_status = fields.String(allow_none=True)
    process = fields.Function(lambda r: r.process_id)


class TaskSchema(Schema):
    id = fields.Integer()
    key = fields.String()
    process = fields.Function(lambda t: t.process.key)
    version = fields.Function(lambda t: t.version.number)
    variant = fields.Function(lambda t: t.variant.key if t.variant else None)
    status = fields.String()
    needs_attention = fields.Boolean()
    values = fields.Dict()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class TaskDetailSchema(TaskSchema):
    stage_runs = fields.List(fields.Nested(StageRunSchema))


class TaskQuerySchema(Schema):
    process = fields.String()
    version = fields.Integer()
    status = fields.String(validate=validate.OneOf([s.value for s in TaskStatus]))
    stage = fields.String(metadata={"description": "Tasks with an open Stage Run in this Stage"})
    needs_attention = fields.Boolean()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class TaskPageSchema(Schema):
    items = fields.List(fields.Nested(TaskSchema))
    page = fields.Integer()
    per_page = fields.Integer()
    total = fields.Integer()


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


class StageTypeSchema(Schema):
    key = fields.String()
    name = fields.String()
    icon = fields.String()
    description = fields.String()
    automated = fields.Boolean()
    config_schema = fields.Dict()
    needs = fields.Dict(metadata={"description": "what the type needs: egress, secrets, sandbox, files"})


ROLES = [r.value for r in Role]


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "invalid"})
    message = fields.String(required=True)
    details = fields.Raw(metadata={"description": "field path → messages, or structured context"})


class ApiErrorSchema(Schema):
    """Every 4xx under /api: {"error": {"code", "message", "details"}}."""

    error = fields.Nested(ErrorBodySchema, required=True)


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
