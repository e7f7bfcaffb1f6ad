"""The one schema of a stored file, for the API, the staff page and the portal."""
from marshmallow import Schema, validate

from app import fields


class StoredFileSchema(Schema):
    id = fields.Integer(dump_only=True)
    task = fields.Integer(attribute="task_id", dump_only=True)
    run = fields.Integer(attribute="stage_run_id", dump_only=True, allow_none=True)
    field = fields.String(attribute="field_key", dump_only=True)
    name = fields.String(dump_only=True, metadata={"description": "sanitised file name (display only)"})
    content_type = fields.String(dump_only=True, metadata={"description": "detected from the content"})
    size = fields.Integer(dump_only=True)
    sha256 = fields.String(dump_only=True)
    review_status = fields.String(dump_only=True, allow_none=True,
                                  metadata={"description": "pending / accepted / rejected; null = no review"})
    created_at = fields.DateTime(dump_only=True)
    removed = fields.Boolean(dump_only=True, metadata={"description": "withdrawn before the Stage completed"})
    purged = fields.Boolean(dump_only=True, metadata={"description": "bytes deleted (retention); downloads answer 410"})


class ReviewSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(["accepted", "rejected"]))
