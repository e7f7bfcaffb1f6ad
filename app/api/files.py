"""/api/v1/runs/<id>/files (upload into a File upload Stage Run, list its files) and /api/v1/files
(one file, its content, review, withdraw) and /api/v1/tasks/<id>/files (a Task's files). Thin views over app.files, which asks
app.permissions itself: invisible -> 404, not allowed -> 403 with the reason.

Uploads are a **raw request body** (not multipart): the bytes of one file, with its name in the
`X-Filename` header (percent-encoded UTF-8) or the `name` query argument. The body is streamed to a
spool file in 64 KiB chunks and refused (413) as soon as it passes the Stage's limit; a declared
`Content-Length` above the limit is refused before a byte is read. The request size limit of the
rest of the API (MAX_CONTENT_LENGTH) does not apply to this one route: the Stage's limit does."""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from app import lookups
from app.auth.access import actor, login_required_api, require_login
from app.files import downloads, operations
from app.files.names import request_filename
from app.files.schemas import ReviewSchema, StoredFileSchema
from app.permissions import check

blp = Blueprint("files", __name__, description="Stored files: read, download, review, withdraw")
run_files_blp = Blueprint("run_files", __name__, description="Upload files into a File upload Stage Run")
task_files_blp = Blueprint("task_files", __name__, description="A Task's files (its file export)")

UPLOAD_DOC = {
    "parameters": [
        {"in": "header", "name": "X-Filename", "schema": {"type": "string"},
         "description": "the file's name, percent-encoded UTF-8 (sanitised: folders, control characters dropped)"},
        {"in": "query", "name": "name", "schema": {"type": "string"}, "description": "alternative to X-Filename"}],
    "requestBody": {"required": True, "description": "the file's bytes (any Content-Type; the type is detected "
                    "from the content)", "content": {"application/octet-stream": {"schema": {
                        "type": "string", "format": "binary"}}}},
    "responses": {"409": {"description": "too many files, or the run is not a File upload Stage"},
                  "413": {"description": "larger than the Stage's limit (refused early)"},
                  "415": {"description": "a kind of file the Stage does not allow (detected from the content)"},
                  "422": {"description": "an empty file"}},
}




@run_files_blp.route("/<int:run_id>/files")
class RunFilesView(MethodView):
    """A File upload Stage Run's files (one URL rule for both methods: a huge id is 404 for each)."""

    @login_required_api
    @run_files_blp.doc(**UPLOAD_DOC)
    @run_files_blp.response(201, StoredFileSchema)
    def post(self, run_id):
        """Upload one file into the Stage Run's file Field (the Stage's `writes`, its kinds, size and count)."""
        user = require_login()
        run = lookups.get_run(run_id)
        check(user, "run.view", run)
        return operations.upload(run_id, user, request.stream.read, filename=request_filename(),
                                 content_length=request.content_length, actor=actor())

    @login_required_api
    @run_files_blp.response(200, StoredFileSchema(many=True))
    def get(self, run_id):
        """The live files of a Stage Run (those you may read)."""
        user = require_login()
        run = lookups.get_run(run_id)
        check(user, "run.view", run)
        return [f for f in operations.live_files(run.id) if _readable(user, f)]


def _readable(user, f) -> bool:
    try:
        check(user, "file.read", f)
    except Exception:  # noqa: BLE001 - a NotFound/Forbidden just leaves the file out
        return False
    return True


@task_files_blp.route("/<int:task_id>/files", methods=["GET"])
@login_required_api
@task_files_blp.response(200, StoredFileSchema(many=True))
def task_files(task_id):
    """Every file of a Task you may read (its Fields' files, including withdrawn and purged ones): the
    Task's file export."""
    user = require_login()
    task = lookups.get_task(task_id)
    check(user, "task.view", task)
    return downloads.task_files(task, user)


@blp.route("/<int:file_id>")
class FileView(MethodView):
    """One stored file (one URL rule for both methods: a huge id is 404 for each)."""

    @login_required_api
    @blp.response(200, StoredFileSchema)
    def get(self, file_id):
        """One file's record (404 unless you may read its Field)."""
        return operations.get_file(file_id, require_login())

    @login_required_api
    @blp.response(200, StoredFileSchema)
    def delete(self, file_id):
        """Withdraw a file from its open Stage Run (who may upload there)."""
        return operations.remove(file_id, require_login(), actor())


@blp.route("/<int:file_id>/content", methods=["GET"])
@login_required_api
@blp.doc(parameters=[{"in": "query", "name": "inline", "schema": {"type": "boolean"},
                      "description": "images and PDFs inline (previews); everything else is an attachment"}],
         responses={"200": {"description": "the file's bytes", "content": {"application/octet-stream": {}}},
                    "410": {"description": "withdrawn or deleted under the retention rules"}})
def content(file_id):
    """Download a file: as an attachment with nosniff (inline previews only for images and PDFs)."""
    f = operations.get_file(file_id, require_login())
    return downloads.response(f, inline=request.args.get("inline") in ("1", "true"))


@blp.route("/<int:file_id>/review", methods=["POST"])
@login_required_api
@blp.arguments(ReviewSchema)
@blp.response(200, StoredFileSchema)
def review(data, file_id):
    """Accept or reject a file waiting for review (who may complete its Stage Run)."""
    return operations.review(file_id, require_login(), data["status"], actor())
