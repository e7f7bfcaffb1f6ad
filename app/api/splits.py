"""/api/v1/splits: weighted A/B Splits between Process variants."""
from flask.views import MethodView
from flask_smorest import Blueprint
from sqlalchemy import select

from app import splits as ops
from app.api import schemas as s
from app.auth.access import actor, login_required_api, require_login, roles_required
from app.extensions import db
from app.models import Role, Split

blp = Blueprint("splits", __name__, description="Weighted, sticky A/B Splits")


@blp.route("")
class Splits(MethodView):
    @login_required_api
    @blp.response(200, s.SplitSchema(many=True))
    def get(self):
        return [ops.split_payload(x) for x in db.session.scalars(select(Split).order_by(Split.name))]

    @roles_required(Role.designer)
    @blp.arguments(s.SplitSchema)
    @blp.response(201, s.SplitSchema)
    def post(self, data):
        split = ops.create_split(data, require_login())
        return ops.split_payload(split)


@blp.route("/<key>")
class SplitItem(MethodView):
    @login_required_api
    @blp.response(200, s.SplitSchema)
    def get(self, key):
        return ops.split_payload(ops.get_split(key))

    @roles_required(Role.designer, Role.manager)
    @blp.arguments(s.WeightsSchema)
    @blp.response(200, s.SplitSchema)
    def patch(self, data, key):
        """Change variant weights; Tasks already assigned keep their variant. The change is audited."""
        split = ops.get_split(key)
        ops.set_weights(split, data["weights"], require_login(), actor(), data["reason"])
        return ops.split_payload(split)
