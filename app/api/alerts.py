"""/api/v1/alerts/rules: per-Process alert rules (event type, severity, channel, targets).
Admins, and designers of the Team owning the Process, list and change them."""
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema
from sqlalchemy import select

from app import alerts as ops
from app.alerts.schemas import AlertRuleSchema, AlertRuleUpdateSchema
from app import fields
from app.auth.access import actor, login_required_api, require_login
from app.extensions import db
from app.models import Process
from app.models.notifications import AlertRule

blp = Blueprint("alerts", __name__, description="Alert rules: who hears about failures, SLA breaches and more")

class AlertRuleQuerySchema(Schema):
    process = fields.String(metadata={"description": "only this Process's rules"})


@blp.route("/rules")
class Rules(MethodView):
    @login_required_api
    @blp.arguments(AlertRuleQuerySchema, location="query")
    @blp.response(200, AlertRuleSchema(many=True))
    def get(self, args):
        """The rules of the Processes you manage (or of one Process)."""
        user = require_login()
        if args.get("process"):
            return [ops.dump_rule(r) for r in ops.rules_of(ops.get_process(args["process"], user))]
        procs = {p.id for p in db.session.scalars(select(Process)) if ops.can_manage_rules(user, p)}
        rows = db.session.scalars(select(AlertRule).where(AlertRule.process_id.in_(procs or [-1]))
                                  .order_by(AlertRule.id)).all()
        return [ops.dump_rule(r) for r in rows]

    @login_required_api
    @blp.arguments(AlertRuleSchema)
    @blp.response(201, AlertRuleSchema)
    def post(self, data):
        """Add a rule to a Process."""
        process = ops.get_process(data.pop("process"), require_login())
        rule = ops.create_rule(process, data, actor())
        return ops.dump_rule(rule)


@blp.route("/rules/<int:rule_id>")
class RuleItem(MethodView):
    @login_required_api
    @blp.response(200, AlertRuleSchema)
    def get(self, rule_id):
        return ops.dump_rule(ops.get_rule(rule_id, require_login()))

    @login_required_api
    @blp.arguments(AlertRuleUpdateSchema)
    @blp.response(200, AlertRuleSchema)
    def patch(self, data, rule_id):
        """Change a rule (only the fields given)."""
        rule = ops.update_rule(ops.get_rule(rule_id, require_login()), data, actor())
        return ops.dump_rule(rule)

    @login_required_api
    @blp.response(204)
    def delete(self, rule_id):
        ops.delete_rule(ops.get_rule(rule_id, require_login()), actor())
