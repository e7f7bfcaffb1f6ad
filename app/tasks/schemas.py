"""The schemas of Tasks and Stage Runs: the REST API loads and dumps with them (and documents them in
OpenAPI); the pages load their forms and dump their boot data with the same ones."""
from marshmallow import Schema, validate

from app import fields
from app.vocab.statuses import TaskStatus


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


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000),
                           metadata={"description": "why (kept in the Task's history)"})


class CancelTasksSchema(ReasonSchema):
    task_ids = fields.List(fields.Integer(), required=True, validate=validate.Length(min=1, max=1000))


class CancelledSchema(Schema):
    cancelled = fields.List(fields.Integer())


class EventQuerySchema(Schema):
    type = fields.List(fields.String(validate=validate.Length(max=48)), load_default=None,
                       metadata={"description": "only Events of these types (repeat the parameter)"})
    before = fields.Integer(load_default=None, metadata={"description": "the `next` of the previous page"})
    limit = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class EventSchema(Schema):
    id = fields.Integer()
    type = fields.String(metadata={"description": "task.created, task.moved, stage.status, approval.approved, …"})
    at = fields.DateTime()
    actor = fields.String(metadata={"description": "who did it, by name (Procly for the system)"})
    text = fields.String(metadata={"description": "the Event as a plain sentence"})
    stage = fields.String(allow_none=True)
    stage_run = fields.Integer(allow_none=True)
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    data = fields.Dict(metadata={"description": "the Event's details (Fields you may not read removed)"})


class EventPageSchema(Schema):
    items = fields.List(fields.Nested(EventSchema))
    next = fields.Integer(allow_none=True, metadata={"description": "pass as `before` for the next page"})


SIGNAL_NAME = validate.Regexp(r"^[a-z][a-z0-9_.-]{0,63}$", error="a signal name: lowercase letters, digits, '.', '-', '_'")


class SignalSchema(Schema):
    name = fields.String(required=True, validate=SIGNAL_NAME, metadata={"description": "e.g. payment_received"})
    values = fields.Dict(load_default=dict, metadata={"description": "Field writes (the waiting Stage's writes)"})


class SignalByKeySchema(SignalSchema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=128),
                        metadata={"description": "the key the Task was started with"})
    process = fields.String(load_default=None, metadata={"description": "the Process it started in (when keys "
                                                                           "repeat across Processes)"})


class SignalResultSchema(Schema):
    task = fields.Integer()
    signal = fields.String()
    outcome = fields.String(metadata={"description": "delivered (a waiting Stage took it), kept (for the Stage, "
                                                     "until it is ready) or dropped (the Stage keeps no early signal)"})
    stage_run = fields.Integer(allow_none=True)
