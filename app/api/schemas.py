"""The REST API's schemas in one namespace for its views (`from app.api import schemas as s`): each
feature package's own `schemas.py` (shared with the pages), plus the API's error shape."""
from marshmallow import Schema

from app import fields
from app.auth.schemas import TokenCreateSchema, TokenSchema
from app.fields import KEY, NAME
from app.models import Role
from app.processes.schemas import (DiffQuerySchema, DraftSaveSchema, DraftSchema, DuplicateSchema, ExportProcessSchema,
                                   ExportSchema, ExportTableSchema, ExportVersionSchema, ImportQuerySchema,
                                   ProcessCreateSchema, ProcessSchema, ProcessUpdateSchema, PublishSchema,
                                   RollbackSchema, StageTypeSchema, VersionSchema, VersionSummarySchema)
from app.splits.schemas import SplitSchema, VariantSchema, WeightsSchema
from app.tables.schemas import FieldSchema, FieldUpdateSchema, TableSchema, TableUpdateSchema
from app.tasks.schemas import (CancelledSchema, CancelTasksSchema, EventPageSchema, EventQuerySchema, ReasonSchema,
                               SignalByKeySchema, SignalResultSchema, SignalSchema,
                               StageRunSchema, TaskBatchSchema, TaskCreateSchema, TaskDetailSchema, TaskPageSchema,
                               TaskQuerySchema, TaskSchema, TaskUpdateSchema)

__all__ = ["KEY", "NAME", "ROLES", "ErrorBodySchema", "ApiErrorSchema", "TokenCreateSchema", "TokenSchema",
           "DiffQuerySchema", "DraftSaveSchema", "DraftSchema", "DuplicateSchema", "ExportProcessSchema", "ExportSchema",
           "ExportTableSchema", "ExportVersionSchema", "ImportQuerySchema", "ProcessCreateSchema", "ProcessSchema",
           "ProcessUpdateSchema", "PublishSchema", "RollbackSchema", "StageTypeSchema", "VersionSchema",
           "VersionSummarySchema", "SplitSchema", "VariantSchema", "WeightsSchema", "FieldSchema", "FieldUpdateSchema",
           "TableSchema", "TableUpdateSchema", "StageRunSchema", "TaskBatchSchema", "TaskCreateSchema",
           "TaskDetailSchema", "TaskPageSchema", "TaskQuerySchema", "TaskSchema", "TaskUpdateSchema", "CancelledSchema",
           "CancelTasksSchema", "EventPageSchema", "EventQuerySchema", "ReasonSchema", "SignalByKeySchema",
           "SignalResultSchema", "SignalSchema"]


ROLES = [r.value for r in Role]


class ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"example": "invalid"})
    message = fields.String(required=True)
    details = fields.Raw(metadata={"description": "field path → messages, or structured context"})


class ApiErrorSchema(Schema):
    """Every 4xx under /api: {"error": {"code", "message", "details"}}."""

    error = fields.Nested(ErrorBodySchema, required=True)
