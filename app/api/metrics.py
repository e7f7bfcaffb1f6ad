"""/api/v1/metrics: dashboard figures as JSON (and CSV per chart). Managers, designers, admins."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, validate

from app import fields
from app.metrics import ab, report
from app.metrics import queries as q
from app.models import Role
from app.auth.access import roles_required

blp = Blueprint("metrics", __name__, description="Metrics for dashboards: lead/cycle/wait times, WIP, "
                                                 "throughput, error and SLA rates, Route usage, A/B")
READERS = (Role.manager, Role.designer)


class MetricsQuerySchema(Schema):
    process = fields.String(metadata={"description": "Process key"})
    version = fields.Integer(metadata={"description": "Version number (with process)"})
    variant = fields.Integer(metadata={"description": "Split variant id"})
    stage = fields.String(metadata={"description": "Stage key"})
    from_ = fields.String(data_key="from", metadata={"description": "ISO date/date-time (default: the last 7 days: today and the 6 days before, UTC)"})
    to = fields.String(metadata={"description": "ISO date/date-time, exclusive (a date includes that day)"})
    bucket = fields.String(validate=validate.OneOf(["day", "hour"]), load_default="day")


class ABQuerySchema(MetricsQuerySchema):
    stage = fields.String(metadata={"description": "Stage key to compare cycle/wait time on"})


class PercentilesSchema(Schema):
    p50 = fields.Float(allow_none=True)
    p90 = fields.Float(allow_none=True)
    p95 = fields.Float(allow_none=True)
    avg = fields.Float(allow_none=True)
    n = fields.Integer()


class VisitCountsSchema(Schema):
    started = fields.Integer()
    completed = fields.Integer()
    moved = fields.Integer()
    cancelled = fields.Integer()
    running = fields.Integer()


class SLASchema(Schema):
    with_sla = fields.Integer()
    breached = fields.Integer()
    breach_rate = fields.Float(allow_none=True)
    reminders = fields.Integer()
    escalations = fields.Integer()


class ApprovalSchema(PercentilesSchema):
    approved = fields.Integer()
    rejected = fields.Integer()


class StageMetricsSchema(Schema):
    stage_key = fields.String()
    stage_name = fields.String(metadata={"description": "the Stage's name in its newest Version"})
    runs = fields.Integer()
    completed = fields.Integer()
    failed = fields.Integer()
    error_rate = fields.Float(allow_none=True)
    wip = fields.Integer(metadata={"description": "open Stage Runs now"})
    queued = fields.Integer(metadata={"description": "open runs not started yet (queue length)"})
    cycle = fields.Nested(PercentilesSchema, metadata={"description": "started → finished, seconds"})
    wait = fields.Nested(PercentilesSchema, metadata={"description": "ready → started, seconds"})
    staff_seconds = fields.Float(allow_none=True)
    staff_seconds_avg = fields.Float(allow_none=True)
    sla = fields.Nested(SLASchema, allow_none=True)
    approval = fields.Nested(ApprovalSchema, allow_none=True)
    time_seconds = fields.Float(allow_none=True)
    time_share = fields.Float(allow_none=True, metadata={"description": "share of total wait + cycle time"})
    rank_time = fields.Integer()
    rank_queue = fields.Integer()


class SummarySchema(Schema):
    visits = fields.Nested(VisitCountsSchema)
    lead_time = fields.Nested(PercentilesSchema)
    runs = fields.Integer()
    failed = fields.Integer()
    error_rate = fields.Float(allow_none=True)
    wip = fields.Integer()
    queued = fields.Integer()
    sla = fields.Nested(SLASchema)
    staff_seconds = fields.Float(allow_none=True)


class BucketSchema(Schema):
    bucket = fields.String()
    completed = fields.Integer()


class LeadTimeSchema(PercentilesSchema):
    process_id = fields.Integer()
    version_id = fields.Integer()
    label = fields.String()


class RouteUsageSchema(Schema):
    process_id = fields.Integer()
    process = fields.String(allow_none=True)
    route_key = fields.String(allow_none=True)
    route_name = fields.String(allow_none=True,
                               metadata={"description": "the Route's name (\"Moved by hand\" for a manual move)"})
    target_process_id = fields.Integer(allow_none=True)
    target_process = fields.String(allow_none=True)
    count = fields.Integer()


class AIUsageSchema(Schema):
    calls = fields.Integer(metadata={"description": "requests to AI models (AI Prompt Stages)"})
    runs = fields.Integer(metadata={"description": "AI Prompt Stage Runs that called a model"})
    prompt_tokens = fields.Integer()
    completion_tokens = fields.Integer()
    model_seconds = fields.Float(allow_none=True, metadata={"description": "time spent waiting for the models"})


class DashboardSchema(Schema):
    filters = fields.Dict()
    ai = fields.Nested(AIUsageSchema)
    summary = fields.Nested(SummarySchema)
    stages = fields.List(fields.Nested(StageMetricsSchema))
    throughput = fields.List(fields.Nested(BucketSchema))
    lead_times = fields.List(fields.Nested(LeadTimeSchema))
    routes = fields.List(fields.Nested(RouteUsageSchema))


class VariantSchema(Schema):
    key = fields.String()
    variant_id = fields.Integer()
    process = fields.String()
    process_name = fields.String()
    version = fields.Integer(allow_none=True)
    weight = fields.Integer()
    started = fields.Integer()
    finished = fields.Integer(metadata={"description": "completed + routed away"})
    completed = fields.Integer()
    routed_away = fields.Integer()
    completion_rate = fields.Float(allow_none=True)
    completion_ci = fields.List(fields.Float(), allow_none=True, metadata={"description": "Wilson 95 %"})
    lead_time = fields.Nested(PercentilesSchema)
    stage = fields.Dict(allow_none=True)


class ComparisonSchema(Schema):
    base = fields.String()
    variant = fields.String()
    verdict = fields.String()
    more_tasks_needed = fields.Integer(allow_none=True)
    rate_diff = fields.Dict(allow_none=True, metadata={"description": "variant - base, 95 % CI, p-value"})
    lead_time_test = fields.Dict(allow_none=True, metadata={"description": "Mann-Whitney U, normal approx."})


class ABSchema(Schema):
    split = fields.String()
    name = fields.String()
    variants = fields.List(fields.Nested(VariantSchema))
    comparisons = fields.List(fields.Nested(ComparisonSchema))


class OptionsSchema(Schema):
    processes = fields.List(fields.Dict())
    splits = fields.List(fields.Dict())
    default_process = fields.String(allow_none=True, metadata={
        "description": "the Process the dashboard opens on: the first Split's first variant, else the first"})


def _filters(args: dict) -> q.Filters:
    args = dict(args)
    if "from_" in args:
        args["from"] = args.pop("from_")
    return report.filters_from(args)


@blp.route("/dashboard")
class Dashboard(MethodView):
    @roles_required(*READERS)
    @blp.arguments(MetricsQuerySchema, location="query")
    @blp.response(200, DashboardSchema)
    def get(self, args):
        """Everything the default dashboard view shows, in one call."""
        return report.dashboard(_filters(args))


@blp.route("/summary")
class Summary(MethodView):
    @roles_required(*READERS)
    @blp.arguments(MetricsQuerySchema, location="query")
    @blp.response(200, SummarySchema)
    def get(self, args):
        """Tasks started/completed/moved, lead time percentiles, error rate, WIP, SLA, staff time."""
        s = q.summary(_filters(args))
        s.pop("stages")
        return s


@blp.route("/stages")
class Stages(MethodView):
    @roles_required(*READERS)
    @blp.arguments(MetricsQuerySchema, location="query")
    @blp.response(200, StageMetricsSchema(many=True))
    def get(self, args):
        """Per Stage, ranked as bottlenecks (share of total time, then queue length)."""
        return q.stages(_filters(args))


@blp.route("/throughput")
class Throughput(MethodView):
    @roles_required(*READERS)
    @blp.arguments(MetricsQuerySchema, location="query")
    @blp.response(200, BucketSchema(many=True))
    def get(self, args):
        """Completed visits per day or hour."""
        return q.throughput(_filters(args))


@blp.route("/lead-times")
class LeadTimes(MethodView):
    @roles_required(*READERS)
    @blp.arguments(MetricsQuerySchema, location="query")
    @blp.response(200, LeadTimeSchema(many=True))
    def get(self, args):
        """Lead time (visit entered → left, completed) percentiles per Process Version."""
        return q.lead_time_by_version(_filters(args))


@blp.route("/routes")
class Routes(MethodView):
    @roles_required(*READERS)
    @blp.arguments(MetricsQuerySchema, location="query")
    @blp.response(200, RouteUsageSchema(many=True))
    def get(self, args):
        """Route usage: visits moved out by Route key and target Process."""
        return q.routes(_filters(args))


@blp.route("/options")
class Options(MethodView):
    @roles_required(*READERS)
    @blp.response(200, OptionsSchema)
    def get(self):
        """Processes (with Versions and Stages) and Splits (with variants) to filter on."""
        return report.options()


@blp.route("/ab/<split_key>")
class AB(MethodView):
    @roles_required(*READERS)
    @blp.arguments(ABQuerySchema, location="query")
    @blp.response(200, ABSchema)
    def get(self, args, split_key):
        """A Split's variants side by side: completion rate (Wilson 95 %), lead time (Mann-Whitney U),
        optional Stage metric, plain-language verdict and Tasks still needed (80 % power)."""
        args.pop("variant", None)
        return ab.compare(split_key, _filters(args), args.get("stage"))


@blp.route("/csv/<chart>")
class ChartCSV(MethodView):
    @roles_required(*READERS)
    @blp.arguments(MetricsQuerySchema, location="query")
    @blp.doc(responses={"200": {"description": "the chart's numbers", "content": {"text/csv": {}}}})
    def get(self, args, chart):
        """One chart's numbers as CSV: throughput, lead_times, stages, wip, rates, routes."""
        if chart not in report.CHARTS:
            report.chart_rows(chart, {})   # raises NotFound
        body = report.to_csv(report.chart_rows(chart, report.dashboard(_filters(args))))
        return Response(body, mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="procly-{chart}.csv"'})
