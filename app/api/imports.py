"""/api/v1/imports: CSV imports of Tasks — upload a file for a Process, follow its progress, read
or download the rows it refused. Thin views over app.tasks.imports, which asks app.permissions:
importing is starting Tasks in the Process ("import.start"); an import is seen by who uploaded it,
admins and the owning Team's designers and managers ("import.view"), by no one else (404).

The upload is a **raw request body** (the CSV file's bytes, `Content-Type: text/csv`), its name in
`X-Filename` (percent-encoded UTF-8) or `?name=`, the Process in `?process=`."""
from __future__ import annotations

from flask import Response, request
from flask_smorest import Blueprint
from marshmallow import Schema, validate

from app import fields
from app.auth.access import login_required_api, require_login
from app.files.names import request_filename
from app.tasks import imports

blp = Blueprint("imports", __name__, description="CSV imports of Tasks, with their progress and refused rows")


class ImportErrorSchema(Schema):
    row = fields.Integer(metadata={"description": "the row as a spreadsheet numbers it (the header is row 1)"})
    field = fields.String(metadata={"description": "the Field's name (empty: the row as a whole)"})
    message = fields.String()


class ImportSchema(Schema):
    id = fields.Integer()
    process = fields.Function(lambda i: i.process.key)
    process_name = fields.Function(lambda i: i.process.name)
    filename = fields.String()
    state = fields.String(metadata={"description": "queued, running, done (or failed: `error` says why)"})
    error = fields.String(allow_none=True)
    total = fields.Integer(attribute="total_rows")
    processed = fields.Integer(attribute="processed_rows")
    started = fields.Integer(attribute="started_rows", metadata={"description": "rows that started a Task"})
    failed = fields.Integer(attribute="failed_rows", metadata={"description": "rows refused (nothing written)"})
    created_at = fields.DateTime()
    finished_at = fields.DateTime(allow_none=True)


class ImportPageSchema(ImportSchema):
    errors = fields.List(fields.Nested(ImportErrorSchema))
    errors_total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


class ImportQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


class UploadQuerySchema(Schema):
    process = fields.String(required=True, metadata={"description": "the Process's key"})
    name = fields.String(metadata={"description": "the file's name (or X-Filename)"})


UPLOAD_DOC = {
    "requestBody": {"required": True, "description": "the CSV file (UTF-8; its first row names the Fields, by "
                    "name or key)", "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}}},
    "responses": {"413": {"description": "larger than the request size limit"},
                  "415": {"description": "not a .csv file"}},
}


@blp.route("", methods=["POST"])
@login_required_api
@blp.arguments(UploadQuerySchema, location="query")
@blp.doc(**UPLOAD_DOC)
@blp.response(202, ImportSchema)
def upload(args):
    """Import a CSV file of Tasks into a Process: checked now (a CSV, UTF-8, columns that are Fields a
    start may set), imported by a worker in chunks; follow it at GET /imports/<id>."""
    user = require_login()
    return imports.create_import(args["process"], request_filename(), request.get_data(cache=False), user)


@blp.route("/<int:import_id>", methods=["GET"])
@login_required_api
@blp.arguments(ImportQuerySchema, location="query")
@blp.response(200, ImportPageSchema)
def progress(args, import_id):
    """An import's progress (rows processed, started, refused) and a page of its refused rows."""
    imp = imports.get_import(import_id, require_login())
    errors, total = imports.errors_page(imp, args["page"], args["per_page"])
    return _Page(imp, errors=errors, errors_total=total, page=args["page"], per_page=args["per_page"])


class _Page:
    """An import with one page of its refused rows."""

    def __init__(self, imp, **extra):
        self._imp = imp
        self.__dict__.update(extra)

    def __getattr__(self, name):
        return getattr(self._imp, name)


@blp.route("/<int:import_id>/errors.csv", methods=["GET"])
@login_required_api
@blp.response(200, {"type": "string"}, content_type="text/csv")
def error_report(import_id):
    """The refused rows as a CSV file: row, field, message."""
    imp = imports.get_import(import_id, require_login())
    return Response(imports.error_report(imp), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="import-{imp.id}-errors.csv"'})
