"""/api/v1/processes: Processes, their draft, Versions, diff, rollback, export/import."""
from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from app.api import schemas as s
from app.auth.access import login_required_api, require_login, roles_required
from app.permissions import check_can_design
from app.processes import operations as ops
from app.processes import versioning as v
from app import stages
from app.processes.queries import draft_payload, draft_view, process_list
from app.extensions import db
from app.models import Role

blp = Blueprint("processes", __name__, description="Processes, drafts and immutable Versions")


@blp.route("")
class Processes(MethodView):
    @login_required_api
    @blp.response(200, s.ProcessSchema(many=True))
    def get(self):
        return process_list(archived=request.args.get("archived") == "true")

    @roles_required(Role.designer)
    @blp.arguments(s.ProcessCreateSchema)
    @blp.response(201, s.ProcessSchema)
    def post(self, data):
        process = ops.create_process(data, require_login())
        return process


@blp.route("/<key>")
class ProcessItem(MethodView):
    @login_required_api
    @blp.response(200, s.ProcessSchema)
    def get(self, key):
        return v.get_process(key)

    @roles_required(Role.designer)
    @blp.arguments(s.ProcessUpdateSchema)
    @blp.response(200, s.ProcessSchema)
    def patch(self, data, key):
        process = ops.update_process(v.get_process(key), data, require_login())
        return process


@blp.route("/<key>/archive", methods=["POST", "DELETE"])
@roles_required(Role.designer)
@blp.response(200, s.ProcessSchema)
def archive(key):
    """POST archives the Process (no new Tasks start on it); DELETE restores it."""
    process = ops.set_archived(v.get_process(key), request.method == "POST", require_login())
    return process


@blp.route("/<key>/duplicate", methods=["POST"])
@roles_required(Role.designer)
@blp.arguments(s.DuplicateSchema)
@blp.response(201, s.ProcessSchema)
def duplicate(data, key):
    user = require_login()
    source = v.get_process(key)
    check_can_design(user, source)
    process = ops.duplicate_process(source, data["key"], data["name"], user)
    return process


@blp.route("/<key>/draft")
class DraftItem(MethodView):
    @login_required_api
    @blp.response(200, s.DraftSchema)
    def get(self, key):
        payload = draft_payload(v.get_process(key))
        return payload

    @roles_required(Role.designer)
    @blp.arguments(s.DraftSaveSchema)
    @blp.response(200, s.DraftSchema)
    @blp.alt_response(409, description="the draft changed since `revision`")
    def put(self, data, key):
        user = require_login()
        process = v.get_process(key)
        check_can_design(user, process)
        draft, errors = v.save_draft(process, data["definition"], data["revision"], user)
        return draft_view(draft, errors)


@blp.route("/<key>/publish", methods=["POST"])
@roles_required(Role.designer)
@blp.arguments(s.PublishSchema)
@blp.response(201, s.VersionSchema)
@blp.alt_response(422, description="the draft has validation errors (each with its JSON path)")
def publish(data, key):
    user = require_login()
    process = v.get_process(key)
    check_can_design(user, process)
    version = v.publish(process, user, data["note"])
    return version


@blp.route("/<key>/versions")
@login_required_api
@blp.response(200, s.VersionSummarySchema(many=True))
def versions(key):
    process = v.get_process(key)
    return db.session.scalars(select(v.Version).where(v.Version.process_id == process.id)
                              .order_by(v.Version.number.desc())).all()


@blp.route("/<key>/versions/<int:number>")
@login_required_api
@blp.response(200, s.VersionSchema)
def version(key, number):
    return v.get_version(v.get_process(key), number)


@blp.route("/<key>/diff")
@login_required_api
@blp.arguments(s.DiffQuerySchema, location="query")
@blp.response(200)
def diff(args, key):
    """Structured diff between two Versions: Stages and Routes added / removed / changed."""
    process = v.get_process(key)
    old, new = v.get_version(process, args["from_"]), v.get_version(process, args["to"])
    return {"from": old.number, "to": new.number, **v.diff(old.definition, new.definition)}


@blp.route("/<key>/rollback", methods=["POST"])
@roles_required(Role.designer)
@blp.arguments(s.RollbackSchema)
@blp.response(201, s.VersionSchema)
def rollback(data, key):
    user = require_login()
    process = v.get_process(key)
    check_can_design(user, process)
    version = v.rollback(process, data["version"], user, data["note"])
    return version


@blp.route("/<key>/export")
@login_required_api
@blp.response(200)
def export(key):
    """The Process as JSON: its Table's Fields, every Version, and the draft."""
    return v.export_process(v.get_process(key))


@blp.route("/import", methods=["POST"])
@roles_required(Role.designer)
@blp.arguments(s.ExportSchema)
@blp.arguments(s.ImportQuerySchema, location="query")
@blp.response(201, s.ProcessSchema)
def import_(doc, args):
    """Create a Process from an export (request body: the exported JSON). All or nothing: a Version
    whose content hash does not match its definition aborts the import."""
    user = require_login()
    process = v.import_process(doc, user, key=args.get("key"), team=args.get("team"))
    check_can_design(user, process)
    return process


@blp.route("/stage-types")
@login_required_api
@blp.response(200, s.StageTypeSchema(many=True))
def stage_types():
    """Every registered stage type with the JSON Schema of its config (the builder renders forms from it)."""
    return stages.current().describe()
