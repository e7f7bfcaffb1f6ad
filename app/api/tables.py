"""/api/v1/tables: the spreadsheet's Tables and typed Fields. A Table belongs to a Team: only its
designers and admins change it (decided in app.tables.operations through app.permissions)."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from app.api.schemas import FieldSchema, FieldUpdateSchema, TableSchema, TableUpdateSchema
from app.auth.access import actor, login_required_api, require_login, roles_required
from app.extensions import db
from app.models import Role, Table
from app.tables import operations as ops
from app.tables.schemas import FieldUsageSchema

blp = Blueprint("tables", __name__, description="Tables and their typed Fields")


@blp.route("")
class Tables(MethodView):
    @login_required_api
    @blp.response(200, TableSchema(many=True))
    def get(self):
        return db.session.scalars(select(Table).order_by(Table.name)).all()

    @roles_required(Role.designer)
    @blp.arguments(TableSchema)
    @blp.response(201, TableSchema)
    def post(self, data):
        table = ops.create_table(data, actor(), require_login())
        return table


@blp.route("/<key>")
class TableItem(MethodView):
    @login_required_api
    @blp.response(200, TableSchema)
    def get(self, key):
        return ops.get_table(key)

    @roles_required(Role.designer)
    @blp.arguments(TableUpdateSchema)
    @blp.response(200, TableSchema)
    def patch(self, data, key):
        table = ops.rename_table(ops.get_table(key), data["name"], actor(), require_login())
        return table


@blp.route("/<key>/fields")
class Fields(MethodView):
    @roles_required(Role.designer)
    @blp.arguments(FieldSchema)
    @blp.response(201, FieldSchema)
    def post(self, data, key):
        field = ops.add_field(ops.get_table(key), data, actor(), require_login())
        return field


@blp.route("/<key>/fields/<field_key>")
class FieldItem(MethodView):
    @roles_required(Role.designer)
    @blp.arguments(FieldUpdateSchema)
    @blp.response(200, FieldSchema)
    def patch(self, data, key, field_key):
        field = ops.update_field(ops.get_table(key), field_key, data, actor(), require_login())
        return field

    @roles_required(Role.designer)
    @blp.response(204)
    def delete(self, key, field_key):
        ops.delete_field(ops.get_table(key), field_key, actor(), require_login())


@blp.route("/<key>/fields/<field_key>/usage")
class FieldUsage(MethodView):
    @login_required_api
    @blp.response(200, FieldUsageSchema)
    def get(self, key, field_key):
        """How many Tasks hold each value of a Field: the builder warns with it before an option is retired."""
        return {"field": field_key, "counts": ops.option_usage(ops.get_table(key), field_key)}
